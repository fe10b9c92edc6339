//! Panic handling: print message and location, halt with status 255.

use crate::console::Console;
use core::fmt::Write;

#[panic_handler]
fn on_panic(info: &core::panic::PanicInfo) -> ! {
    let mut c = Console;
    let _ = write!(c, "\ngitns: PANIC: {}", info.message());
    if let Some(loc) = info.location() {
        let _ = write!(c, " at {}:{}:{}", loc.file(), loc.line(), loc.column());
    }
    let _ = c.write_str("\n");
    crate::platform::halt(gitns_abi::exit::ABORT)
}

/// Abort with a message (no unwinding exists in the image).
pub fn abort(msg: &str) -> ! {
    let mut c = Console;
    let _ = write!(c, "\ngitns: ABORT: {msg}\n");
    crate::platform::halt(gitns_abi::exit::ABORT)
}
