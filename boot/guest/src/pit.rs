//! TSC frequency under QEMU: count TSC ticks while PIT channel 2 (1.193182
//! MHz, gated through port 0x61) counts down 10 ms. Falls back to the
//! hypervisor's TSC leaf (CPUID 0x40000010, KVM/VMware) when the PIT does
//! not answer.

use crate::cpu;
use crate::port::{inb, outb};

const PIT_HZ: u64 = 1_193_182;
/// 10 ms of PIT ticks.
const COUNT: u16 = (PIT_HZ / 100) as u16;

/// TSC ticks per second, or None when neither source works.
pub fn tsc_hz() -> Option<u64> {
    calibrate_pit().or_else(hypervisor_leaf)
}

fn calibrate_pit() -> Option<u64> {
    // Gate channel 2 on, speaker off.
    outb(0x61, (inb(0x61) & !0x02) | 0x01);
    // Channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary.
    outb(0x43, 0xb0);
    outb(0x42, COUNT as u8);
    outb(0x42, (COUNT >> 8) as u8);
    let t0 = cpu::rdtsc();
    // OUT2 (port 0x61 bit 5) rises at terminal count. Bounded: no PIT, no hang.
    let mut done = false;
    for _ in 0..50_000_000u32 {
        if inb(0x61) & 0x20 != 0 {
            done = true;
            break;
        }
    }
    let ticks = cpu::rdtsc().wrapping_sub(t0);
    (done && ticks > 0).then(|| ticks * PIT_HZ / COUNT as u64)
}

fn hypervisor_leaf() -> Option<u64> {
    let max = cpu::cpuid(0x4000_0000).0;
    if max < 0x4000_0010 {
        return None;
    }
    let khz = cpu::cpuid(0x4000_0010).0 as u64;
    (khz > 0).then_some(khz * 1000)
}
