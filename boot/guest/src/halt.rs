//! Ending the guest: the hvt HALT hypercall, or under QEMU the PC's exit
//! devices (pcexit.rs). A leaf the platform, the interrupt handlers and
//! the panic handler all end through.

use crate::hypercall;
use gitns_abi::hypercall::{Halt, Nr};

/// Halt the guest with an exit status.
pub fn halt(status: i32) -> ! {
    if crate::machine::is_pc() {
        crate::pcexit::exit(status)
    }
    let mut arg = Halt {
        cookie: 0,
        exit_status: status,
    };
    loop {
        hypercall::call(Nr::Halt, &mut arg);
    }
}
