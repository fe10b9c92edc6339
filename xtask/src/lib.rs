//! The xtask library: building the image and tools, network namespaces, and
//! helpers shared by the xtask commands and the end-to-end tests in tests/.

pub mod bench;
pub mod build;
pub mod deny;
pub mod deps;
pub mod fuzz;
pub mod gitclient;
pub mod githttp;
pub mod netns;
pub mod pebble;
pub mod qemu;
pub mod sshd;
pub mod sshremote;
pub mod util;
pub mod zones;

/// The operator tools live in their own crate (xtask/tools, the `gitns`
/// binary); xtask and the tests use them from there.
pub use gitns_tools::{dnstool, gitread};
