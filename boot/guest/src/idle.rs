//! Idling under QEMU: the local APIC timer and `hlt`. The PVH entry sets
//! up the IDT (idt.rs) and the APIC (apic.rs); under hvt neither exists,
//! nothing here runs and `poll` is a hypercall.
//!
//! [`sleep`] halts until the APIC timer (armed for the time given) or a
//! device interrupt ends the `hlt`; interrupts are enabled only inside
//! that `sti; hlt; cli` window, so the rest of the image runs as before,
//! with interrupts off.

/// True when [`sleep`] halts (the APIC timer is set up).
pub fn ready() -> bool {
    #[cfg(all(feature = "rt", not(test)))]
    return crate::apic::ready();
    #[cfg(not(all(feature = "rt", not(test))))]
    false
}

/// Halt for at most `ns` nanoseconds, less when an interrupt comes first.
/// Only called when [`ready`].
pub fn sleep(ns: u64) {
    #[cfg(all(feature = "rt", not(test)))]
    {
        crate::apic::arm(ns);
        crate::idt::wait();
        crate::apic::disarm();
    }
    #[cfg(not(all(feature = "rt", not(test))))]
    let _ = ns;
}
