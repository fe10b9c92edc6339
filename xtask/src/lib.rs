//! The xtask library: building the image and tools, network namespaces, and
//! helpers shared by the xtask commands and the end-to-end tests in tests/.

pub mod bench;
pub mod build;
pub mod deps;
pub mod dnstool;
pub mod fuzz;
pub mod gitclient;
pub mod gitread;
pub mod netns;
pub mod pebble;
pub mod qemu;
pub mod sshd;
pub mod sshremote;
pub mod util;
pub mod zones;
