//! The PVH entry: how QEMU (`-kernel gitns.hvt`) boots the same image.
//!
//! QEMU finds the Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY (type 18) and
//! enters `pvh_start` in 32-bit protected mode, paging off, with the
//! physical address of `struct hvm_start_info` in EBX and no stack. The stub
//! below builds identity page tables for the low 4 GiB (2 MiB pages: RAM
//! plus the PCI hole where the firmware puts virtio BARs), enables PAE,
//! long mode, SSE and paging, loads a GDT of its own and enters 64-bit code
//! on a small boot stack. Rust then copies the command line, finds the top
//! of the RAM holding the image in the start_info memory map, moves the
//! stack there (1 MiB, as under hvt) and runs the common platform code.

/// hvm_start_info magic ("xEn3" with the high bit of the last byte set).
const START_INFO_MAGIC: u32 = 0x336e_c578;
/// The page tables map this much; RAM above is not used.
const MAPPED: u64 = 4 << 30;
/// Where the image is loaded (linker script).
const IMAGE_BASE: u64 = 0x10_0000;
/// Memory map entry type of usable RAM.
const E820_RAM: u32 = 1;

/// One hvm_memmap_table_entry.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct MemmapEntry {
    pub addr: u64,
    pub size: u64,
    pub kind: u32,
    pub reserved: u32,
}

/// The end of the RAM region holding `at`, capped to the mapped 4 GiB.
pub fn ram_top(map: &[MemmapEntry], at: u64) -> Option<u64> {
    map.iter()
        .filter(|e| e.kind == E820_RAM)
        .find(|e| e.addr <= at && at < e.addr.saturating_add(e.size))
        .map(|e| e.addr.saturating_add(e.size).min(MAPPED))
}

/// Take `--wall-clock=SECONDS` (seconds since the epoch) out of the command
/// line, blanking it, so the appliance never sees a platform option.
pub fn take_wall_clock(cmdline: &mut [u8]) -> Option<u64> {
    const KEY: &[u8] = b"--wall-clock=";
    let mut i = 0;
    while i < cmdline.len() {
        let start = i == 0 || cmdline[i - 1] == b' ';
        if start && cmdline[i..].starts_with(KEY) {
            let end = cmdline[i..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(cmdline.len(), |n| i + n);
            let value = core::str::from_utf8(&cmdline[i + KEY.len()..end])
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            cmdline[i..end].fill(b' ');
            return value;
        }
        i += 1;
    }
    None
}

/// The entry itself: only in the image (its 32-bit code cannot link into a
/// host test binary).
#[cfg(all(feature = "rt", not(test)))]
mod entry {
    use super::*;
    use crate::{apic, clock, console, idt, machine, pcexit, pit, rtc, serial, start};
    use core::cell::UnsafeCell;
    use core::ffi::c_void;

    // The note QEMU looks for. QEMU reads the entry as a pointer-sized value
    // after the 4-aligned name, so it is a `.quad` in this ELF64 image.
    core::arch::global_asm!(
        ".pushsection .note.xen.pvh,\"a\",@note",
        ".balign 4",
        ".long 4",  // namesz: "Xen\0"
        ".long 8",  // descsz
        ".long 18", // XEN_ELFNOTE_PHYS32_ENTRY
        ".asciz \"Xen\"",
        ".balign 4",
        ".quad pvh_start",
        ".popsection",
    );

    // 32-bit entry -> long mode. AT&T syntax for the far jump.
    core::arch::global_asm!(
        ".pushsection .text.pvh_start,\"ax\",@progbits",
        ".code32",
        ".global pvh_start",
        "pvh_start:",
        "cli",
        "cld",
        "movl %ebx, %esi",
        // Zero PML4 and PDPT (adjacent pages).
        "movl $pvh_pml4, %edi",
        "xorl %eax, %eax",
        "movl $2048, %ecx",
        "rep stosl",
        "movl $(pvh_pdpt + 0x7), %eax",
        "movl %eax, pvh_pml4",
        // PDPT[0..4] -> the four page directories.
        "movl $(pvh_pd + 0x7), %eax",
        "movl $pvh_pdpt, %edi",
        "movl $4, %ecx",
        "1:",
        "movl %eax, (%edi)",
        "movl $0, 4(%edi)",
        "addl $4096, %eax",
        "addl $8, %edi",
        "loop 1b",
        // 2048 PD entries: 2 MiB pages, present | writable | user | large.
        "movl $pvh_pd, %edi",
        "xorl %ecx, %ecx",
        "2:",
        "movl %ecx, %eax",
        "shll $21, %eax",
        "orl $0x87, %eax",
        "movl %eax, (%edi,%ecx,8)",
        "movl %ecx, %eax",
        "shrl $11, %eax",
        "movl %eax, 4(%edi,%ecx,8)",
        "incl %ecx",
        "cmpl $2048, %ecx",
        "jb 2b",
        "movl $pvh_pml4, %eax",
        "movl %eax, %cr3",
        // CR4: PAE | OSFXSR | OSXMMEXCPT (the hvt ABI's 0x620).
        "movl %cr4, %eax",
        "orl $0x620, %eax",
        "movl %eax, %cr4",
        // EFER.LME
        "movl $0xc0000080, %ecx",
        "rdmsr",
        "orl $0x100, %eax",
        "wrmsr",
        // CR0: PG | NE | MP | PE, EM clear.
        "movl %cr0, %eax",
        "andl $~0x4, %eax",
        "orl $0x80000023, %eax",
        "movl %eax, %cr0",
        "lgdt pvh_gdt_ptr",
        "ljmp $0x08, $3f",
        ".code64",
        "3:",
        "movl $0x10, %eax",
        "movw %ax, %ds",
        "movw %ax, %es",
        "movw %ax, %ss",
        "movw %ax, %fs",
        "movw %ax, %gs",
        "movq $pvh_stack_top, %rsp",
        "fninit",
        "pushq $0x1f80",
        "ldmxcsr (%rsp)",
        "addq $8, %rsp",
        "movl %esi, %edi",
        "xorl %ebp, %ebp",
        "call {entry}",
        "4: hlt",
        "jmp 4b",
        // gitns_pvh_switch(rsp, arg, f): run f(arg) on a new stack.
        ".global gitns_pvh_switch",
        "gitns_pvh_switch:",
        "movq %rdi, %rsp",
        "andq $-16, %rsp",
        "movq %rsi, %rdi",
        "xorl %ebp, %ebp",
        "call *%rdx",
        "ud2",
        ".popsection",
        // GDT: null, 64-bit code (0x08), data (0x10); accessed bits preset.
        ".pushsection .rodata.pvh_gdt,\"a\",@progbits",
        ".balign 16",
        "pvh_gdt:",
        ".quad 0",
        ".quad 0x00af9b000000ffff",
        ".quad 0x00cf93000000ffff",
        "pvh_gdt_ptr:",
        ".word pvh_gdt_ptr - pvh_gdt - 1",
        ".long pvh_gdt",
        ".popsection",
        // Page tables and the boot stack: .bss, untouched under hvt.
        ".pushsection .bss.pvh,\"aw\",@nobits",
        ".balign 4096",
        "pvh_pml4: .skip 4096",
        "pvh_pdpt: .skip 4096",
        "pvh_pd: .skip 16384",
        "pvh_stack: .skip 16384",
        "pvh_stack_top:",
        ".popsection",
        entry = sym gitns_pvh_entry,
        options(att_syntax),
    );

    extern "C" {
        fn gitns_pvh_switch(
            rsp: u64,
            arg: *const c_void,
            f: extern "C" fn(*const c_void) -> !,
        ) -> !;
        /// End of the image (linker script).
        static _end: u8;
    }

    /// What the PVH entry found, handed across the stack switch.
    #[repr(C)]
    struct Boot {
        mem_size: u64,
        cmdline: &'static str,
        wall_s: Option<u64>,
    }

    /// The command line's home: start_info's copy may sit in RAM the heap takes.
    struct CmdlineBuf(UnsafeCell<[u8; gitns_abi::CMDLINE_SIZE]>);
    // SAFETY: written once by the PVH entry before anything reads it; one vCPU.
    unsafe impl Sync for CmdlineBuf {}
    static CMDLINE: CmdlineBuf = CmdlineBuf(UnsafeCell::new([0; gitns_abi::CMDLINE_SIZE]));

    fn fail(msg: &str) -> ! {
        console::write(msg.as_bytes());
        pcexit::exit(gitns_abi::exit::UNSUPPORTED)
    }

    /// First Rust code under PVH, on the boot stack.
    extern "C" fn gitns_pvh_entry(start_info: u64) -> ! {
        machine::set_pc();
        serial::init();
        // From here a CPU exception is reported on COM1 and ends the guest
        // with status 255, as a panic does (without an IDT it was a triple
        // fault, which QEMU under -no-reboot ends as a clean exit 0).
        idt::install();
        // SAFETY: the loader passed the physical (= virtual, identity mapped)
        // address of a struct hvm_start_info; its first field is the magic.
        let magic = unsafe { core::ptr::read_volatile(start_info as *const u32) };
        if magic != START_INFO_MAGIC {
            fail("gitns: PVH entry without a valid hvm_start_info\n");
        }
        // SAFETY: a valid start_info (magic checked): version at 4,
        // cmdline_paddr at 0x18, memmap_paddr at 0x28, memmap_entries at 0x30.
        let (version, cmdline_pa, memmap_pa, entries) = unsafe {
            let p = start_info as *const u8;
            (
                core::ptr::read_unaligned(p.add(4) as *const u32),
                core::ptr::read_unaligned(p.add(0x18) as *const u64),
                core::ptr::read_unaligned(p.add(0x28) as *const u64),
                core::ptr::read_unaligned(p.add(0x30) as *const u32),
            )
        };
        // SAFETY: nothing else has touched CMDLINE yet (see CmdlineBuf).
        let buf = unsafe { &mut *CMDLINE.0.get() };
        if cmdline_pa != 0 && cmdline_pa < MAPPED {
            for (i, b) in buf.iter_mut().take(gitns_abi::CMDLINE_SIZE - 1).enumerate() {
                // SAFETY: the NUL-terminated string at cmdline_pa is read up to
                // its terminator (or our buffer's size), inside the mapped 4 GiB.
                let c = unsafe { core::ptr::read_volatile((cmdline_pa as *const u8).add(i)) };
                if c == 0 {
                    break;
                }
                *b = c;
            }
        }
        let wall_s = take_wall_clock(buf);
        let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let cmdline = core::str::from_utf8(&buf[..len]).unwrap_or("").trim();
        if version < 1 || memmap_pa == 0 || entries == 0 {
            fail("gitns: PVH start_info has no memory map (version 0)\n");
        }
        // SAFETY: start_info version >= 1 describes `entries` memmap entries at
        // memmap_pa; at most 128 are read.
        let map = unsafe {
            core::slice::from_raw_parts(memmap_pa as *const MemmapEntry, entries.min(128) as usize)
        };
        let Some(mem_size) = ram_top(map, IMAGE_BASE) else {
            fail("gitns: the PVH memory map has no RAM at 1 MiB\n");
        };
        let boot = Boot {
            mem_size,
            cmdline,
            wall_s,
        };
        // SAFETY: the new stack is the top of the RAM region holding the image,
        // which the heap leaves alone (heap::STACK_SIZE); `boot` lives on this
        // boot stack, which is never reused, so the pointer stays valid.
        unsafe { gitns_pvh_switch(mem_size - 8, (&raw const boot).cast(), pvh_main) }
    }

    /// Clocks, then the common platform start.
    extern "C" fn pvh_main(boot: *const c_void) -> ! {
        // SAFETY: the `Boot` gitns_pvh_entry passed (see its SAFETY note).
        let boot = unsafe { &*boot.cast::<Boot>() };
        let hz = pit::tsc_hz().unwrap_or_else(|| {
            console::write(b"gitns: no PIT and no hypervisor TSC leaf; assuming a 1 GHz TSC\n");
            1_000_000_000
        });
        let wall = match boot.wall_s {
            Some(s) => s.saturating_mul(1_000_000_000),
            None => rtc::now_ns(),
        };
        clock::init(hz, wall);
        if !apic::init() {
            console::write(b"gitns: no usable local APIC: the idle guest spins\n");
        }
        // SAFETY: `_end` is a linker-defined symbol; only its address is used.
        let image_end = core::ptr::addr_of!(_end) as u64;
        start::run(start::Boot {
            mem_size: boot.mem_size,
            kernel_end: image_end,
            cmdline: boot.cmdline,
            net: None,
            storage: None,
            host_features: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(addr: u64, size: u64, kind: u32) -> MemmapEntry {
        MemmapEntry {
            addr,
            size,
            kind,
            reserved: 0,
        }
    }

    #[test]
    fn ram_top_is_the_end_of_the_region_holding_the_image() {
        let map = [
            e(0, 0x9fc00, 1),
            e(0x9fc00, 0x400, 2),
            e(0x10_0000, 0x7fe_0000 - 0x10_0000, 1),
            e(0x7fe_0000, 0x2_0000, 2),
            e(0x1_0000_0000, 1 << 30, 1),
        ];
        assert_eq!(ram_top(&map, IMAGE_BASE), Some(0x7fe_0000));
        assert_eq!(ram_top(&map[..2], IMAGE_BASE), None);
        let big = [e(0, 8 << 30, 1)];
        assert_eq!(ram_top(&big, IMAGE_BASE), Some(MAPPED));
    }

    #[test]
    fn wall_clock_option_is_taken_out() {
        let mut c = *b"--ipv4=10.0.0.2/24 --wall-clock=1796457971 --udp-echo=7";
        assert_eq!(take_wall_clock(&mut c), Some(1_796_457_971));
        let s = core::str::from_utf8(&c).unwrap();
        assert_eq!(
            s.split_whitespace().collect::<Vec<_>>(),
            ["--ipv4=10.0.0.2/24", "--udp-echo=7"]
        );
        let mut c = *b"--no-wall-clock=5";
        assert_eq!(take_wall_clock(&mut c), None);
        let mut c = *b"--wall-clock=x";
        assert_eq!(take_wall_clock(&mut c), None);
        assert!(c.iter().all(|&b| b == b' '));
    }
}
