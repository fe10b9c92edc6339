//! The interrupt descriptor table under QEMU (PVH entry only; the hvt
//! entry keeps running without one, as the hvt ABI has it).
//!
//! Interrupts are enabled only inside the `sti; hlt; cli` window of
//! [`wait`], so the handlers need not save state the rest of the image
//! could see: a CPU exception (vectors 0-31) is fatal at any time and ends
//! the guest like a panic (message on COM1, status 255); any other vector
//! only ends the `hlt`: its handler acknowledges the local APIC (EOI) and
//! returns, and the platform looks at its rings again. The APIC's spurious
//! vector returns without EOI, as the SDM asks.

/// Vector of the local APIC timer.
pub const TIMER_VECTOR: u8 = 0x20;
/// Vector of the virtio-net receive queue (MSI-X).
pub const NET_VECTOR: u8 = 0x21;
/// The local APIC's spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 0xff;
/// The code segment of the PVH GDT (pvh.rs).
const CODE_SELECTOR: u16 = 0x08;
/// Present, DPL 0, 64-bit interrupt gate (IF cleared on entry).
const INTERRUPT_GATE: u8 = 0x8e;

/// The two quadwords of a 64-bit interrupt gate to `handler`, IST 0.
pub fn gate(handler: u64) -> [u64; 2] {
    let lo = (handler & 0xffff)
        | (CODE_SELECTOR as u64) << 16
        | (INTERRUPT_GATE as u64) << 40
        | ((handler >> 16) & 0xffff) << 48;
    [lo, handler >> 32]
}

/// Exception names for the message (SDM vol. 3, 6.15).
pub fn exception_name(vector: u64) -> &'static str {
    const NAMES: [&str; 32] = [
        "divide error (#DE)",
        "debug (#DB)",
        "NMI",
        "breakpoint (#BP)",
        "overflow (#OF)",
        "BOUND range exceeded (#BR)",
        "invalid opcode (#UD)",
        "device not available (#NM)",
        "double fault (#DF)",
        "coprocessor segment overrun",
        "invalid TSS (#TS)",
        "segment not present (#NP)",
        "stack-segment fault (#SS)",
        "general protection (#GP)",
        "page fault (#PF)",
        "reserved",
        "x87 floating-point error (#MF)",
        "alignment check (#AC)",
        "machine check (#MC)",
        "SIMD floating-point (#XM)",
        "virtualization (#VE)",
        "control protection (#CP)",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "hypervisor injection (#HV)",
        "VMM communication (#VC)",
        "security (#SX)",
        "reserved",
    ];
    NAMES.get(vector as usize).copied().unwrap_or("unknown")
}

#[cfg(all(feature = "rt", not(test)))]
pub use rt::{install, set_eoi, wait};

#[cfg(all(feature = "rt", not(test)))]
mod rt {
    use super::*;
    use crate::console::Console;
    use core::cell::UnsafeCell;
    use core::fmt::Write;
    use core::sync::atomic::{AtomicU64, Ordering};

    /// Address of the local APIC's EOI register, 0 before [`crate::apic`]
    /// set it up; read by the wake-up handler.
    #[no_mangle]
    static GITNS_LAPIC_EOI: AtomicU64 = AtomicU64::new(0);

    /// Tell the wake-up handler where to acknowledge interrupts.
    pub fn set_eoi(addr: u64) {
        GITNS_LAPIC_EOI.store(addr, Ordering::Relaxed);
    }

    // Exception stubs: push a zero error code where the CPU pushes none,
    // then the vector, and go to the common fatal path. The vectors with an
    // error code: 8, 10-14, 17, 21, 29, 30.
    core::arch::global_asm!(
        ".pushsection .text.gitns_idt,\"ax\",@progbits",
        ".irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
        "gitns_exc_\\n:",
        ".if (\\n == 8) || (\\n >= 10 && \\n <= 14) || (\\n == 17) || (\\n == 21) || (\\n == 29) || (\\n == 30)",
        ".else",
        "push 0",
        ".endif",
        "push \\n",
        "jmp gitns_exc_common",
        ".endr",
        // Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS.
        "gitns_exc_common:",
        "mov rdi, [rsp]",
        "mov rsi, [rsp + 8]",
        "mov rdx, [rsp + 16]",
        "and rsp, -16",
        "call {fatal}",
        "ud2",
        // Any other vector: EOI (when the APIC is set up) and return.
        "gitns_irq_wake:",
        "push rax",
        "mov rax, [rip + GITNS_LAPIC_EOI]",
        "test rax, rax",
        "jz 1f",
        "mov dword ptr [rax], 0",
        "1:",
        "pop rax",
        "iretq",
        "gitns_irq_spurious:",
        "iretq",
        ".popsection",
        ".pushsection .rodata.gitns_idt,\"a\",@progbits",
        ".balign 8",
        "gitns_exc_table:",
        ".irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
        ".quad gitns_exc_\\n",
        ".endr",
        ".popsection",
        fatal = sym exception,
    );

    extern "C" {
        static gitns_exc_table: [u64; 32];
        fn gitns_irq_wake();
        fn gitns_irq_spurious();
    }

    /// A CPU exception: report it and end the guest as a panic does.
    extern "C" fn exception(vector: u64, error: u64, rip: u64) -> ! {
        let mut c = Console;
        let _ = write!(
            c,
            "\ngitns: CPU EXCEPTION {vector}: {} (error code {error:#x}) at rip {rip:#x}",
            exception_name(vector)
        );
        if vector == 14 {
            let cr2: u64;
            // SAFETY: reading CR2 (the faulting address) has no side effect.
            unsafe { core::arch::asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack)) };
            let _ = write!(c, ", address {cr2:#x}");
        }
        let _ = c.write_str("\n");
        crate::halt::halt(gitns_abi::exit::ABORT)
    }

    #[repr(C, align(16))]
    struct Table(UnsafeCell<[[u64; 2]; 256]>);
    // SAFETY: written once by `install` before the IDT is loaded; one vCPU.
    unsafe impl Sync for Table {}
    static IDT: Table = Table(UnsafeCell::new([[0; 2]; 256]));

    /// Fill and load the IDT. Interrupts stay disabled.
    pub fn install() {
        // SAFETY: called once at PVH boot, before `lidt`: nothing else
        // reads or writes the table.
        let idt = unsafe { &mut *IDT.0.get() };
        // SAFETY: a table of 32 addresses in .rodata (above).
        let exc = unsafe { &*core::ptr::addr_of!(gitns_exc_table) };
        for (v, entry) in idt.iter_mut().enumerate() {
            let handler = match v {
                0..32 => exc[v],
                v if v == SPURIOUS_VECTOR as usize => gitns_irq_spurious as *const () as u64,
                _ => gitns_irq_wake as *const () as u64,
            };
            *entry = gate(handler);
        }
        #[repr(C, packed)]
        struct Pointer {
            limit: u16,
            base: u64,
        }
        let ptr = Pointer {
            limit: (core::mem::size_of::<[[u64; 2]; 256]>() - 1) as u16,
            base: idt.as_ptr() as u64,
        };
        // SAFETY: the table is static, filled with gates to the handlers
        // above, and stays in place for the guest's life.
        unsafe {
            core::arch::asm!("lidt [{}]", in(reg) &ptr, options(readonly, nostack, preserves_flags))
        };
    }

    /// Halt until an interrupt: `sti; hlt` (an interrupt pending already,
    /// or arriving between the two, ends the `hlt` at once), then `cli`.
    /// Interrupts are off again when this returns.
    pub fn wait() {
        // SAFETY: the IDT is loaded (install) before the platform waits;
        // the handlers of the vectors that can arrive return with every
        // register as it was. Not `nostack`: the CPU pushes the interrupt
        // frame below RSP, so the compiler keeps nothing in the red zone
        // across this block.
        unsafe { core::arch::asm!("sti", "hlt", "cli") };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_splits_the_handler_address() {
        let [lo, hi] = gate(0x1234_5678_9abc_def0);
        assert_eq!(lo & 0xffff, 0xdef0);
        assert_eq!((lo >> 16) & 0xffff, 0x08);
        assert_eq!((lo >> 32) & 0xff, 0); // IST 0
        assert_eq!((lo >> 40) & 0xff, 0x8e);
        assert_eq!(lo >> 48, 0x9abc);
        assert_eq!(hi, 0x1234_5678);
    }

    #[test]
    fn exceptions_have_names() {
        assert_eq!(exception_name(14), "page fault (#PF)");
        assert_eq!(exception_name(31), "reserved");
        assert_eq!(exception_name(32), "unknown");
    }
}
