//! Which machine the image booted on: a Solo5 hvt tender (the `_start`
//! entry) or a PC under QEMU (the PVH entry). Set once at entry, before
//! anything prints; console, exit and clocks ask it.

use core::sync::atomic::{AtomicBool, Ordering};

static PC: AtomicBool = AtomicBool::new(false);

/// Called by the PVH entry before any other code.
pub(crate) fn set_pc() {
    PC.store(true, Ordering::Relaxed);
}

/// True when booted through the PVH entry (QEMU).
pub fn is_pc() -> bool {
    PC.load(Ordering::Relaxed)
}
