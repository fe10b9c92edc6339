//! Ending the guest under QEMU.
//!
//! Status 0 powers off through ACPI (QEMU then exits 0). Any other status
//! goes to the isa-debug-exit device at port 0xf4 (`-device
//! isa-debug-exit,iobase=0xf4,iosize=4`), and QEMU exits with
//! `(status << 1) | 1`, truncated to 8 bits by the host: the status is
//! `code >> 1` for odd codes, exact for 0-127 (255 arrives as 127).
//! Whatever is missing, the next way is tried, and the vCPU finally stops
//! with interrupts off.

use crate::port::{outl, outw};

/// isa-debug-exit, the port xtask and the tests configure.
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

fn acpi_poweroff() {
    // PM1a control: SLP_EN (bit 13) with SLP_TYP 0, QEMU's S5. q35 (ICH9,
    // PMBASE 0x600 as SeaBIOS sets it) then i440fx (PIIX4, PMBASE 0xb000).
    outw(0x604, 0x2000);
    outw(0xb004, 0x2000);
}

/// Stop the machine with `status`.
pub fn exit(status: i32) -> ! {
    let code = (status & 0xff) as u32;
    if code == 0 {
        acpi_poweroff();
        // QEMU shuts down from its main loop, after this write returns:
        // give it about a second (3e9 TSC ticks; the clock may not be set
        // up yet) before the fallback, which would exit 1.
        let t0 = crate::cpu::rdtsc();
        while crate::cpu::rdtsc().wrapping_sub(t0) < 3_000_000_000 {
            core::hint::spin_loop();
        }
        outl(DEBUG_EXIT_PORT, 0);
    } else {
        outl(DEBUG_EXIT_PORT, code);
        acpi_poweroff();
    }
    loop {
        // SAFETY: stops this vCPU with interrupts off; nothing follows.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}
