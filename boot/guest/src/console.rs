//! Console output through the PUTS hypercall.

use crate::hypercall;
use gitns_abi::hypercall::{Nr, Puts};

/// Write bytes to the tender's console (its standard output).
pub fn write(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
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
