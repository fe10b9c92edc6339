//! Panic handling: print message and location, halt with status 255.

use crate::console::Console;
use core::fmt::Write;

/// Keeps the first bytes of a formatted message.
struct Prefix {
    buf: [u8; 32],
    len: usize,
}

impl Write for Prefix {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The message of Rust's allocation error handler (`handle_alloc_error`,
/// which panics without unwinding on a target without std).
const ALLOC_FAILED: &[u8] = b"memory allocation of ";

#[panic_handler]
fn on_panic(info: &core::panic::PanicInfo) -> ! {
    let mut head = Prefix {
        buf: [0; 32],
        len: 0,
    };
    let _ = write!(head, "{}", info.message());
    if head.buf[..head.len].starts_with(ALLOC_FAILED) {
        if let Some(e) = crate::heap::exhausted() {
            out_of_memory(e)
        }
    }
    let mut c = Console;
    let _ = write!(c, "\ngitns: PANIC: {}", info.message());
    if let Some(loc) = info.location() {
        let _ = write!(c, " at {}:{}:{}", loc.file(), loc.line(), loc.column());
    }
    let _ = c.write_str("\n");
    crate::halt::halt(gitns_abi::exit::ABORT)
}

/// Abort with a message (no unwinding exists in the image).
pub fn abort(msg: &str) -> ! {
    let mut c = Console;
    let _ = write!(c, "\ngitns: ABORT: {msg}\n");
    crate::halt::halt(gitns_abi::exit::ABORT)
}

/// The heap is exhausted: say what was asked for, how full the heap was and
/// what the image was doing (its last log line), and exit with a status of
/// its own (a crash: `--restart-on-fail` brings the image back).
fn out_of_memory(e: crate::heap::Exhausted) -> ! {
    // Taken before this report writes anything (it would become the line).
    let (line, n) = crate::console::last_line();
    let mut c = Console;
    let _ = write!(
        c,
        "\ngitns: out of memory: an allocation of {} bytes (align {}) failed with {} of {} heap bytes in use ({} free); last log line: ",
        e.size,
        e.align,
        e.used,
        e.heap,
        e.heap.saturating_sub(e.used)
    );
    crate::console::write(if n == 0 { b"(none)" } else { &line[..n] });
    let _ = write!(
        c,
        "\ngitns: exiting with status {} (heap exhausted)\n",
        gitns_abi::exit::HEAP_EXHAUSTED
    );
    crate::halt::halt(gitns_abi::exit::HEAP_EXHAUSTED)
}
