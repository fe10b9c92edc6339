//! gitns-net: the platform trait (the only way to the hardware) and the
//! smoltcp glue: a `Device` over the platform, interface setup and the poll
//! step of the main loop.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod arp;
pub mod device;
pub mod frame;
pub mod held;
pub mod iface;
pub mod metrics;
pub mod neigh;
pub mod platform;
pub mod udp_out;

pub use frame::FrameHook;
pub use iface::{Net, NetConfig};
pub use platform::{BlockError, NetError, Platform};
pub use smoltcp;
