//! The gitns guest platform on the Solo5 hvt ABI (version 2), and on a PC
//! under QEMU through the PVH entry (pvh.rs): one image, two entries.
//!
//! `_start` (start.rs) aligns the stack, enables SSE and calls
//! [`start::gitns_guest_entry`], which sets up the heap, clocks and RNG and
//! then calls the image's main function, declared with [`main!`]. Everything
//! the appliance needs goes through [`Hvt`], the implementation of
//! [`gitns_net::Platform`].
#![cfg_attr(not(test), no_std)]
// Without the runtime (host builds of the workspace) the boot-time helpers are unused.
#![cfg_attr(not(feature = "rt"), allow(dead_code))]
extern crate alloc;

mod apic;
mod batch;
pub mod block;
pub mod clock;
pub mod console;
mod cpu;
#[cfg(all(feature = "rt", not(test)))]
mod entropy;
mod halt;
#[cfg(all(feature = "rt", not(test)))]
mod heap;
mod hypercall;
mod idle;
mod idt;
mod machine;
mod manifest;
#[cfg(all(feature = "rt", not(test)))]
mod mem;
pub mod net;
#[cfg(all(feature = "rt", not(test)))]
mod panic;
mod pcexit;
mod pit;
mod platform;
mod port;
pub mod pvh;
pub mod rng;
pub mod rtc;
mod serial;
#[cfg(all(feature = "rt", not(test)))]
mod start;
pub mod virtio;

pub use platform::Hvt;

/// Exit statuses shared by the image and the tender.
pub use gitns_abi::exit;

/// Declare the image's main function: `fn(&mut Hvt, cmdline: &str) -> i32`.
/// Its return value becomes the guest's exit status.
#[macro_export]
macro_rules! main {
    ($f:path) => {
        #[no_mangle]
        pub fn gitns_image_main(platform: &mut $crate::Hvt, cmdline: &str) -> i32 {
            $f(platform, cmdline)
        }
    };
}
