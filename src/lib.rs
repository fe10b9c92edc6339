//! gitns: the appliance. Command-line configuration and the main loop that
//! moves bytes between the network stack and the protocol cores. Generic over
//! [`gitns_net::Platform`], so the same code runs in the hvt image and as a
//! Linux process (boot/unix).
#![no_std]
extern crate alloc;
