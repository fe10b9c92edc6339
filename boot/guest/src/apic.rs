//! The local APIC under QEMU (xAPIC, MMIO at the address of the APIC base
//! MSR): software-enabled with the spurious vector, LINT0 masked, and its
//! timer in one-shot mode to end the idle `hlt` at the poll deadline. The
//! timer's rate is counted against the TSC clock (already calibrated
//! against the PIT) at boot. The legacy 8259 PICs are masked: SeaBIOS left
//! them on real-mode vectors (IRQ 0 would arrive as vector 8, a "double
//! fault").

/// Registers (offsets in the xAPIC page, SDM vol. 3, 11.4.1).
const ID: u32 = 0x20;
const TPR: u32 = 0x80;
const EOI: u32 = 0xb0;
const SVR: u32 = 0xf0;
const LVT_TIMER: u32 = 0x320;
const LVT_LINT0: u32 = 0x350;
const TIMER_INITIAL: u32 = 0x380;
const TIMER_CURRENT: u32 = 0x390;
const TIMER_DIVIDE: u32 = 0x3e0;
/// IA32_APIC_BASE.
const MSR_APIC_BASE: u32 = 0x1b;
const LVT_MASKED: u32 = 1 << 16;

/// Timer ticks for `ns` nanoseconds at `hz`, at least 1 and at most what
/// the 32-bit initial count holds.
pub fn ticks(ns: u64, hz: u64) -> u32 {
    let t = (ns as u128 * hz as u128 / 1_000_000_000).clamp(1, u32::MAX as u128);
    t as u32
}

/// The MMIO base from an IA32_APIC_BASE value: None when the APIC is
/// disabled globally (bit 11) or in x2APIC mode (bit 10), or outside the
/// mapped 4 GiB.
pub fn base_of(msr: u64) -> Option<u64> {
    let base = msr & 0xf_ffff_f000;
    (msr & (1 << 11) != 0 && msr & (1 << 10) == 0 && base < (4 << 30) && base != 0).then_some(base)
}

#[cfg(all(feature = "rt", not(test)))]
pub use rt::{arm, disarm, id, init, ready};

#[cfg(all(feature = "rt", not(test)))]
mod rt {
    use super::*;
    use crate::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};
    use crate::{clock, port::outb};
    use core::sync::atomic::{AtomicU64, Ordering};

    /// MMIO base, 0 until `init` succeeded.
    static BASE: AtomicU64 = AtomicU64::new(0);
    /// Timer ticks per second (divide by 1).
    static HZ: AtomicU64 = AtomicU64::new(0);

    fn read(reg: u32) -> u32 {
        let base = BASE.load(Ordering::Relaxed);
        // SAFETY: `base` is the xAPIC page (checked by base_of, identity
        // mapped below 4 GiB); a register read has no effect on memory.
        unsafe { core::ptr::read_volatile((base + reg as u64) as *const u32) }
    }

    fn write(reg: u32, v: u32) {
        let base = BASE.load(Ordering::Relaxed);
        // SAFETY: as `read`; what a register write does is the APIC's.
        unsafe { core::ptr::write_volatile((base + reg as u64) as *mut u32, v) }
    }

    fn rdmsr(msr: u32) -> u64 {
        let (lo, hi): (u32, u32);
        // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU (CPUID.1:EDX.APIC
        // is checked first); reading it has no side effect.
        unsafe {
            core::arch::asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi,
                options(nomem, nostack, preserves_flags))
        };
        (hi as u64) << 32 | lo as u64
    }

    /// Mask both 8259 PICs (after moving them to vectors 0x20-0x2f, so a
    /// spurious IRQ 7/15 they may still raise is not taken for an
    /// exception).
    fn mask_pics() {
        for (cmd, data, offset, wiring) in [(0x20, 0x21, 0x20, 4), (0xa0, 0xa1, 0x28, 2)] {
            outb(cmd, 0x11); // ICW1: init, ICW4 follows
            outb(data, offset); // ICW2: vector offset
            outb(data, wiring); // ICW3: cascade
            outb(data, 0x01); // ICW4: 8086 mode
            outb(data, 0xff); // OCW1: every line masked
        }
    }

    /// Set the APIC up and count its timer against the TSC: false when
    /// there is no usable xAPIC (then the platform keeps spinning).
    pub fn init() -> bool {
        mask_pics();
        if crate::cpu::cpuid(1).3 & (1 << 9) == 0 {
            return false;
        }
        let Some(base) = base_of(rdmsr(MSR_APIC_BASE)) else {
            return false;
        };
        BASE.store(base, Ordering::Relaxed);
        write(TPR, 0);
        write(LVT_LINT0, LVT_MASKED);
        write(SVR, 0x100 | SPURIOUS_VECTOR as u32);
        // Divide by 1.
        write(TIMER_DIVIDE, 0b1011);

        // Count down from the top for 5 ms of TSC time, timer masked.
        write(LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);
        let t0 = clock::monotonic_ns();
        write(TIMER_INITIAL, u32::MAX);
        while clock::monotonic_ns() - t0 < 5_000_000 {
            core::hint::spin_loop();
        }
        let left = read(TIMER_CURRENT);
        let ns = clock::monotonic_ns() - t0;
        write(TIMER_INITIAL, 0);
        let counted = (u32::MAX - left) as u64;
        if left == 0 || counted == 0 {
            BASE.store(0, Ordering::Relaxed);
            return false;
        }
        HZ.store(counted * 1_000_000_000 / ns.max(1), Ordering::Relaxed);
        // One-shot, unmasked: it fires only when `arm` starts it.
        write(LVT_TIMER, TIMER_VECTOR as u32);
        crate::idt::set_eoi(base + EOI as u64);
        true
    }

    /// True once `init` succeeded.
    pub fn ready() -> bool {
        BASE.load(Ordering::Relaxed) != 0
    }

    /// This CPU's APIC id (the destination of device interrupts).
    pub fn id() -> u8 {
        (read(ID) >> 24) as u8
    }

    /// Fire the timer interrupt in `ns` nanoseconds (one shot).
    pub fn arm(ns: u64) {
        write(TIMER_INITIAL, ticks(ns, HZ.load(Ordering::Relaxed)));
    }

    /// Stop the timer (a count of 0 stops it).
    pub fn disarm() {
        write(TIMER_INITIAL, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_clamped() {
        assert_eq!(ticks(1_000_000, 1_000_000_000), 1_000_000);
        assert_eq!(ticks(0, 1_000_000_000), 1);
        assert_eq!(ticks(10_000_000_000, 1_000_000_000), u32::MAX);
        assert_eq!(ticks(10_000_000, 100_000_000), 1_000_000);
    }

    #[test]
    fn base_needs_the_xapic_enabled() {
        assert_eq!(base_of(0xfee0_0900), Some(0xfee0_0000));
        assert_eq!(base_of(0xfee0_0100), None); // disabled
        assert_eq!(base_of(0xfee0_0d00), None); // x2APIC
        assert_eq!(base_of(0x1_0000_0900), None); // above 4 GiB
    }
}
