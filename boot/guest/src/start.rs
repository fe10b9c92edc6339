//! `_start` and the first Rust code of the image.

use crate::virtio::{blk::VirtioBlk, VirtioNet};
use crate::{block, clock, console, entropy, heap, net, platform, rng};
use gitns_abi::{BootInfo, CMDLINE_SIZE};

// Entry per the hvt ABI: long mode, RDI = boot info, RSP = mem_size - 8, no
// IDT, no interrupts. Align the stack, enable SSE (CR0.EM clear, CR0.MP set,
// CR4.OSFXSR | CR4.OSXMMEXCPT) before any Rust code runs, initialise the
// x87/MXCSR state, then call into Rust. The red zone is safe: nothing
// interrupts us.
core::arch::global_asm!(
    ".section .text._start,\"ax\",@progbits",
    ".global _start",
    "_start:",
    "and rsp, -16",
    "mov rax, cr0",
    "and rax, ~(1 << 2)",
    "or rax, (1 << 1)",
    "mov cr0, rax",
    "mov rax, cr4",
    "or rax, (3 << 9)",
    "mov cr4, rax",
    "fninit",
    "push 0x1f80",
    "ldmxcsr [rsp]",
    "add rsp, 8",
    "xor rbp, rbp",
    "call {entry}",
    "2: hlt",
    "jmp 2b",
    entry = sym gitns_guest_entry,
);

extern "Rust" {
    /// Defined by the image with [`crate::main!`].
    fn gitns_image_main(platform: &mut platform::Hvt, cmdline: &str) -> i32;
}

extern "C" {
    /// End of the image (linker script).
    static _end: u8;
}

/// First Rust function under hvt: clocks from the boot info and WALLTIME,
/// devices from the manifest, then the common start.
extern "C" fn gitns_guest_entry(bi: *const BootInfo) -> ! {
    // SAFETY: the tender wrote the boot info at this address before entry.
    let bi = unsafe { core::ptr::read(bi) };
    clock::init(bi.cpu_cycle_freq, clock::walltime_hypercall());
    run(Boot {
        mem_size: bi.mem_size,
        kernel_end: bi.kernel_end,
        cmdline: cmdline_of(bi.cmdline),
        net: net::find(bi.mft, "service"),
        storage: block::find(bi.mft, "storage"),
        host_features: bi.host_features,
    })
}

/// What an entry (hvt or PVH) found out about the machine.
pub(crate) struct Boot {
    pub mem_size: u64,
    pub kernel_end: u64,
    pub cmdline: &'static str,
    pub net: Option<net::NetDevice>,
    pub storage: Option<block::BlockDevice>,
    pub host_features: u32,
}

/// The common start after either entry (clocks already set): heap, RNG,
/// devices, then the image's main.
pub(crate) fn run(b: Boot) -> ! {
    if let Some(s) = b.storage.filter(|s| !block::sector_size_ok(s.block_size)) {
        let _ = core::fmt::Write::write_fmt(
            &mut console::Console,
            format_args!(
                "gitns: storage: sector size {} is not supported (a power of two of at least 512)\n",
                s.block_size
            ),
        );
        crate::halt::halt(gitns_abi::exit::CONFIG)
    }
    let heap_size = init_heap(b.kernel_end, b.mem_size);
    let mut rng = cpu_rng();
    entropy::install(&mut rng);
    let (net, blk) = if crate::machine::is_pc() {
        virtio_devices()
    } else {
        (None, None)
    };
    let mut hvt = platform::Hvt::new(
        rng,
        b.net,
        b.storage,
        b.cmdline,
        b.mem_size,
        heap_size,
        b.host_features,
    )
    .with_virtio(net, blk);
    if b.cmdline
        .split_ascii_whitespace()
        .any(|w| w == EXHAUST_HEAP)
    {
        exhaust_heap()
    }
    // SAFETY: the image defines this function with `gitns_guest::main!`.
    let status = unsafe { gitns_image_main(&mut hvt, b.cmdline) };
    crate::halt::halt(status)
}

/// The heap between the end of the image (or of what the loader placed
/// after it) and the end of memory; its size. Halts when memory is short.
fn init_heap(kernel_end: u64, mem_size: u64) -> u64 {
    // SAFETY: `_end` is a linker-defined symbol; only its address is used.
    let image_end = core::ptr::addr_of!(_end) as u64;
    match heap::init(kernel_end.max(image_end), mem_size) {
        Ok(size) => size,
        Err(e) => {
            // core::fmt needs no heap, so it works before there is one.
            let _ = core::fmt::Write::write_fmt(
                &mut console::Console,
                format_args!(
                    "gitns: not enough guest memory: need at least {} MiB (use --mem)\n",
                    e.needed.div_ceil(1 << 20)
                ),
            );
            crate::halt::halt(gitns_abi::exit::UNSUPPORTED)
        }
    }
}

/// The CPU's random number generator; halts without one (no crypto
/// without entropy).
fn cpu_rng() -> rng::Rng {
    match rng::Rng::from_cpu() {
        Ok(r) => r,
        Err(e) => {
            console::write(match e {
                rng::RngError::NoHardwareEntropy => {
                    b"gitns: refusing to start: the CPU offers neither RDSEED nor RDRAND, and gitns never runs crypto without entropy\n"
                        as &[u8]
                }
                rng::RngError::EntropyExhausted => b"gitns: refusing to start: RDSEED/RDRAND keep failing\n",
            });
            crate::halt::halt(gitns_abi::exit::UNSUPPORTED)
        }
    }
}

/// The virtio network and block devices of a PC (QEMU), each None when
/// absent or unusable (reported on the console).
fn virtio_devices() -> (Option<VirtioNet>, Option<VirtioBlk>) {
    let report = |what: &str, e: &str| {
        for part in ["gitns: ", what, ": ", e, "\n"] {
            console::write(part.as_bytes());
        }
    };
    let irq = crate::apic::ready().then(|| (crate::apic::id(), crate::idt::NET_VECTOR));
    let net = crate::virtio::probe(irq)
        .unwrap_or_else(|e| {
            report("virtio-net", e);
            None
        })
        .inspect(|v| {
            if crate::apic::ready() && !v.irq {
                report(
                    "virtio-net",
                    "no MSI-X: the idle guest looks for frames every 1 ms",
                );
            }
        });
    let blk = crate::virtio::blk::probe().unwrap_or_else(|e| {
        report("virtio-blk", e);
        None
    });
    (net, blk)
}

/// Test-only image argument: allocate without bound, so that tests see the
/// out-of-memory exit (panic.rs) and the tender's restart of it.
const EXHAUST_HEAP: &str = "--test-exhaust-heap";

fn exhaust_heap() -> ! {
    console::write(
        b"gitns: --test-exhaust-heap: allocating 1 MiB blocks until the heap runs out\n",
    );
    let mut held: alloc::vec::Vec<alloc::vec::Vec<u8>> = alloc::vec::Vec::new();
    loop {
        held.push(alloc::vec![0x5a; 1 << 20]);
        core::hint::black_box(&held);
    }
}

fn cmdline_of(addr: u64) -> &'static str {
    if addr == 0 {
        return "";
    }
    // SAFETY: the tender writes a NUL-terminated string of at most
    // CMDLINE_SIZE bytes at `addr`, which stays untouched for the guest's life.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, CMDLINE_SIZE) };
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(0);
    core::str::from_utf8(&bytes[..len]).unwrap_or("")
}
