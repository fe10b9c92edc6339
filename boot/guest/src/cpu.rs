//! CPU instructions the platform needs: TSC, CPUID, RDSEED/RDRAND.

use core::arch::x86_64::{__cpuid, __cpuid_count, _rdtsc};

/// Read the time-stamp counter.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC is available on every x86_64 CPU and has no memory effects.
    unsafe { _rdtsc() }
}

/// True when the CPU offers RDRAND (CPUID.1:ECX bit 30).
pub fn has_rdrand() -> bool {
    // SAFETY: CPUID is always available on x86_64.
    let r = __cpuid(1);
    r.ecx & (1 << 30) != 0
}

/// True when the CPU offers RDSEED (CPUID.(7,0):EBX bit 18).
pub fn has_rdseed() -> bool {
    // SAFETY: CPUID is always available on x86_64.
    let max = __cpuid(0).eax;
    if max < 7 {
        return false;
    }
    // SAFETY: leaf 7 exists (checked above).
    let r = __cpuid_count(7, 0);
    r.ebx & (1 << 18) != 0
}

/// One 64-bit value from RDSEED, retried a bounded number of times.
pub fn rdseed64() -> Option<u64> {
    for _ in 0..1024 {
        let mut v: u64;
        let ok: u8;
        // SAFETY: only called after `has_rdseed()`; writes two registers.
        unsafe {
            core::arch::asm!("rdseed {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok,
                options(nomem, nostack));
        }
        if ok != 0 {
            return Some(v);
        }
        core::hint::spin_loop();
    }
    None
}

/// One 64-bit value from RDRAND, retried a bounded number of times.
pub fn rdrand64() -> Option<u64> {
    for _ in 0..64 {
        let mut v: u64;
        let ok: u8;
        // SAFETY: only called after `has_rdrand()`; writes two registers.
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok,
                options(nomem, nostack));
        }
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

/// CPUID leaf `leaf` (subleaf 0): (eax, ebx, ecx, edx).
pub fn cpuid(leaf: u32) -> (u32, u32, u32, u32) {
    // CPUID is always available on x86_64; unknown leaves return the data
    // of the highest basic leaf, never fault.
    let r = __cpuid_count(leaf, 0);
    (r.eax, r.ebx, r.ecx, r.edx)
}
