//! gitns: the appliance. Command-line configuration and the main loop that
//! moves bytes between the network stack and the protocol cores. Generic over
//! [`gitns_net::Platform`], so the same code runs in the hvt image and as a
//! Linux process (boot/unix).
#![no_std]
extern crate alloc;

use gitns_net::Platform;

/// Run the appliance; returns the exit status.
pub fn run<P: Platform>(platform: &mut P, cmdline: &str) -> i32 {
    platform.console_write(b"gitns: hello, cmdline: ");
    platform.console_write(cmdline.as_bytes());
    platform.console_write(b"\n");
    0
}
