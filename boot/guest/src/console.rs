//! Console output: the PUTS hypercall under hvt, COM1 under QEMU.

use crate::{hypercall, machine, serial};
use gitns_abi::hypercall::{Nr, Puts};

/// Write bytes to the console (the tender's standard output, or COM1).
pub fn write(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if machine::is_pc() {
        return serial::write(bytes);
    }
    let mut arg = Puts {
        data: bytes.as_ptr() as u64,
        len: bytes.len() as u64,
    };
    hypercall::call(Nr::Puts, &mut arg);
}

/// A `core::fmt::Write` sink on the console.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write(s.as_bytes());
        Ok(())
    }
}
