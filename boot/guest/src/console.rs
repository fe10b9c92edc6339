//! Console output: the PUTS hypercall under hvt, COM1 under QEMU.

use crate::{hypercall, machine, serial};
use core::cell::UnsafeCell;
use gitns_abi::hypercall::{Nr, Puts};

/// Bytes of console output kept, for a fatal message to say what the
/// image was doing (its last log line).
const TAIL: usize = 256;

struct Tail(UnsafeCell<([u8; TAIL], usize)>);

// SAFETY: the image runs on one vCPU and no interrupt handler writes to
// the console, so the cell is never accessed from two places at once.
unsafe impl Sync for Tail {}

static LAST: Tail = Tail(UnsafeCell::new(([0; TAIL], 0)));

/// Keep the last [`TAIL`] bytes written.
fn remember(bytes: &[u8]) {
    // SAFETY: see `Tail`: no other access is live during this call.
    let (buf, len) = unsafe { &mut *LAST.0.get() };
    let b = &bytes[bytes.len().saturating_sub(TAIL)..];
    let keep = (*len).min(TAIL - b.len());
    buf.copy_within(*len - keep..*len, 0);
    buf[keep..keep + b.len()].copy_from_slice(b);
    *len = keep + b.len();
}

/// A copy of the last complete line written to the console (without its
/// newline), or of what is left of it in the kept tail: (bytes, length).
pub fn last_line() -> ([u8; TAIL], usize) {
    // SAFETY: see `Tail`; the borrow ends inside this function.
    let (buf, len) = unsafe { &*LAST.0.get() };
    let text = &buf[..*len];
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let start = text.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    let mut out = [0u8; TAIL];
    out[..text.len() - start].copy_from_slice(&text[start..]);
    (out, text.len() - start)
}

/// Write bytes to the console (the tender's standard output, or COM1).
pub fn write(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    remember(bytes);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_line() {
        remember(b"first line\nsecond ");
        remember(b"line\n");
        let line = |(b, n): ([u8; TAIL], usize)| b[..n].to_vec();
        assert_eq!(line(last_line()), b"second line");
        let long = [b'x'; 600];
        remember(&long);
        remember(b"\nend\n");
        assert_eq!(line(last_line()), b"end");
        remember(&long);
        assert_eq!(last_line().1, TAIL);
    }
}
