//! Clocks: monotonic from the TSC scaled by its frequency (the boot info's
//! cpu_cycle_freq under hvt, PIT calibration under QEMU), wall clock read
//! once at boot (WALLTIME under hvt, the CMOS RTC or `--wall-clock` under
//! QEMU) plus the monotonic offset.

use crate::{cpu, hypercall};
use core::sync::atomic::{AtomicU64, Ordering};
use gitns_abi::hypercall::{Nr, Walltime};

static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per TSC tick as a 32.32 fixed-point number.
static NS_PER_TICK_FP: AtomicU64 = AtomicU64::new(0);
static WALL_AT_BOOT_NS: AtomicU64 = AtomicU64::new(0);

/// Set the clocks up: TSC ticks per second and the wall clock now.
pub(crate) fn init(freq_hz: u64, wall_now_ns: u64) {
    let freq = freq_hz.max(1);
    NS_PER_TICK_FP.store(
        ((1_000_000_000u128 << 32) / freq as u128) as u64,
        Ordering::Relaxed,
    );
    TSC_AT_BOOT.store(cpu::rdtsc(), Ordering::Relaxed);
    WALL_AT_BOOT_NS.store(wall_now_ns, Ordering::Relaxed);
}

/// The tender's wall clock (hvt only).
pub(crate) fn walltime_hypercall() -> u64 {
    let mut arg = Walltime::default();
    hypercall::call(Nr::Walltime, &mut arg);
    arg.nsecs
}

/// Nanoseconds since boot.
pub fn monotonic_ns() -> u64 {
    let ticks = cpu::rdtsc().wrapping_sub(TSC_AT_BOOT.load(Ordering::Relaxed));
    ticks_to_ns(ticks, NS_PER_TICK_FP.load(Ordering::Relaxed))
}

/// Nanoseconds since the Unix epoch.
pub fn wall_ns() -> u64 {
    WALL_AT_BOOT_NS
        .load(Ordering::Relaxed)
        .saturating_add(monotonic_ns())
}

fn ticks_to_ns(ticks: u64, ns_per_tick_fp: u64) -> u64 {
    ((ticks as u128 * ns_per_tick_fp as u128) >> 32) as u64
}

/// The 32.32 scale for a frequency (exposed for tests).
#[cfg(test)]
fn scale(freq: u64) -> u64 {
    ((1_000_000_000u128 << 32) / freq as u128) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_of_ticks_is_one_second() {
        for freq in [1_000_000_000u64, 2_100_000_000, 3_333_333_333] {
            let ns = ticks_to_ns(freq, scale(freq));
            assert!((999_999_990..=1_000_000_000).contains(&ns), "{freq}: {ns}");
        }
    }

    #[test]
    fn ten_years_of_ticks_do_not_overflow() {
        let freq = 3_000_000_000u64;
        let ticks = freq * 86_400 * 3650;
        let ns = ticks_to_ns(ticks, scale(freq));
        assert!(ns / 1_000_000_000 >= 86_400 * 3650 - 1);
    }
}
