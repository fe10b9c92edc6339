//! The hvt hypercall instruction: `out` of the argument's address to
//! port 0x500 + nr (DESIGN.md "Boot ABI").

use gitns_abi::hypercall::Nr;

/// Issue hypercall `nr` with argument struct `arg`.
///
/// Guest memory is identity mapped and below 4 GiB, so the struct's address
/// is its 32-bit guest-physical address.
#[inline(always)]
pub fn call<T>(nr: Nr, arg: &mut T) {
    let addr = arg as *mut T as usize;
    debug_assert!(addr <= u32::MAX as usize);
    // SAFETY: `out` only exits to the tender, which reads and writes `*arg`
    // (a live, exclusively borrowed struct of the layout the tender expects
    // for `nr`) before resuming us; the default asm! memory clobber makes the
    // compiler assume `*arg` changed.
    unsafe {
        core::arch::asm!("out dx, eax", in("dx") nr.port(), in("eax") addr as u32,
            options(nostack, preserves_flags));
    }
}
