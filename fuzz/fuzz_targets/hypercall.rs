//! Hypercalls from a hostile guest through gitns-hvt's real dispatcher, on
//! plain guest memory with a net device (socket pair) and a block device
//! (memfd): whatever the arguments (addresses past memory, lengths that
//! wrap, unknown numbers, huge counts), the tender answers or stops the VM
//! with an error, never panics. Input: records of [selector][gpa u32][n][n
//! bytes written at gpa] (boot/tender/src/harness.rs).
#![no_main]

use gitns_tender::harness::Machine;
use libfuzzer_sys::fuzz_target;
use std::sync::Once;

static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // PUTS writes the guest's bytes to stdout: send them nowhere.
    QUIET.call_once(|| {
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
            // SAFETY: dup2 of two open fds; stdout then points at /dev/null.
            unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1) };
        }
    });
    let mut m = Machine::new().expect("harness machine");
    m.run(data);
});
