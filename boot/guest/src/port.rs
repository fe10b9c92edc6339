//! x86 I/O port instructions, for the PC devices used under QEMU (COM1,
//! CMOS RTC, PIT, PCI configuration, isa-debug-exit, ACPI PM1a).
//!
//! Port I/O touches no memory; what a port does is the device's business, so
//! these are safe to call from the PC platform code. Under hvt they are
//! never called: there the only ports are hypercalls (hypercall.rs).

/// Read a byte from `port`.
pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: `in` reads a device register; it has no memory effects.
    unsafe {
        core::arch::asm!("in al, dx", out("al") v, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    v
}

/// Write a byte to `port`.
pub fn outb(port: u16, v: u8) {
    // SAFETY: `out` writes a device register; it has no memory effects on
    // the guest (the PC devices we talk to do no DMA on these writes).
    unsafe {
        core::arch::asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack, preserves_flags))
    };
}

/// Write a 16-bit word to `port`.
pub fn outw(port: u16, v: u16) {
    // SAFETY: as `outb`.
    unsafe {
        core::arch::asm!("out dx, ax", in("dx") port, in("ax") v, options(nomem, nostack, preserves_flags))
    };
}

/// Read a 32-bit word from `port`.
#[allow(dead_code)] // PCI configuration reads (virtio) use it.
pub fn inl(port: u16) -> u32 {
    let v: u32;
    // SAFETY: as `inb`.
    unsafe {
        core::arch::asm!("in eax, dx", out("eax") v, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    v
}

/// Write a 32-bit word to `port`.
pub fn outl(port: u16, v: u32) {
    // SAFETY: as `outb`.
    unsafe {
        core::arch::asm!("out dx, eax", in("dx") port, in("eax") v, options(nomem, nostack, preserves_flags))
    };
}
