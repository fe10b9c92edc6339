//! gitns-net: the platform trait (the only way to the hardware) and the
//! smoltcp glue: a `Device` over the platform, interface setup and the poll
//! loop helpers.
#![no_std]
extern crate alloc;

pub mod platform;

pub use platform::{NetError, Platform};
