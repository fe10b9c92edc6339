//! The global allocator over [end of image, mem_size - stack): TLSF
//! (two-level segregated fit, O(1) allocation and free), so that a heap
//! fragmented by loading a large zone does not slow every later allocation
//! (a first-fit free list did: 90k -> 17k queries/s).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};
use embedded_alloc::TlsfHeap as Heap;

/// The TLSF heap, counting the bytes handed out (embedded-alloc's own
/// `used()` walks every block, and in 0.7.0 borrows its cell twice).
struct Counting {
    heap: Heap,
    used: AtomicUsize,
    size: AtomicUsize,
    /// Size and alignment of the last allocation the heap refused (0: the
    /// last allocation succeeded), for the out-of-memory report.
    failed_size: AtomicUsize,
    failed_align: AtomicUsize,
}

#[global_allocator]
static HEAP: Counting = Counting {
    heap: Heap::empty(),
    used: AtomicUsize::new(0),
    size: AtomicUsize::new(0),
    failed_size: AtomicUsize::new(0),
    failed_align: AtomicUsize::new(0),
};

impl Counting {
    /// Note the outcome of an allocation of `layout`: a null pointer is
    /// kept for [`exhausted`]; a success after one clears it (a fallible
    /// allocation such as `try_reserve` may have been refused and handled).
    fn outcome(&self, p: *mut u8, layout: Layout) {
        if p.is_null() {
            self.failed_size
                .store(layout.size().max(1), Ordering::Relaxed);
            self.failed_align.store(layout.align(), Ordering::Relaxed);
        } else if self.failed_size.load(Ordering::Relaxed) != 0 {
            self.failed_size.store(0, Ordering::Relaxed);
        }
    }
}

/// An allocation the heap refused and nothing has succeeded since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exhausted {
    pub size: usize,
    pub align: usize,
    /// Heap bytes in use and the heap's size when it happened.
    pub used: usize,
    pub heap: usize,
}

/// The refused allocation, if the last one was refused.
pub fn exhausted() -> Option<Exhausted> {
    let size = HEAP.failed_size.load(Ordering::Relaxed);
    (size != 0).then(|| Exhausted {
        size,
        align: HEAP.failed_align.load(Ordering::Relaxed),
        used: HEAP.used.load(Ordering::Relaxed),
        heap: HEAP.size.load(Ordering::Relaxed),
    })
}

// SAFETY: every call is forwarded unchanged to the TLSF heap, which upholds
// GlobalAlloc's contract; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            self.used.fetch_add(layout.size(), Ordering::Relaxed);
        }
        self.outcome(p, layout);
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.heap.dealloc(ptr, layout) };
        self.used.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.heap.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.used.fetch_add(new_size, Ordering::Relaxed);
            self.used.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: the caller guarantees new_size is a valid size for layout's alignment.
        self.outcome(p, unsafe {
            Layout::from_size_align_unchecked(new_size, layout.align())
        });
        p
    }
}

/// Bytes kept below the top of memory for the stack (which starts at
/// mem_size - 8 and grows down).
pub const STACK_SIZE: u64 = 1 << 20;

/// Why the heap could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLittleMemory {
    pub mem_size: u64,
    pub needed: u64,
}

/// Hand [start, mem_size - STACK_SIZE) to the allocator.
pub(crate) fn init(start: u64, mem_size: u64) -> Result<u64, TooLittleMemory> {
    let start = (start + 4095) & !4095;
    let top = mem_size.saturating_sub(STACK_SIZE);
    let min_heap = 1 << 20;
    if top < start + min_heap {
        return Err(TooLittleMemory {
            mem_size,
            needed: start + min_heap + STACK_SIZE,
        });
    }
    let size = top - start;
    // SAFETY: [start, top) is guest RAM above the loaded image and below the
    // stack area; nothing else uses it, and init is called once at boot.
    unsafe { HEAP.heap.init(start as usize, size as usize) };
    HEAP.size.store(size as usize, Ordering::Relaxed);
    Ok(size)
}

/// Heap bytes in use and free.
pub fn usage() -> (usize, usize) {
    let used = HEAP.used.load(Ordering::Relaxed);
    (used, HEAP.size.load(Ordering::Relaxed).saturating_sub(used))
}

/// The image runs on one vCPU with interrupts off (under QEMU they are on
/// only inside the idle `hlt`, and their handlers touch no Rust state): a
/// critical section needs no locking.
struct SingleCpu;
critical_section::set_impl!(SingleCpu);

// SAFETY: one vCPU, interrupts off outside the idle `hlt` (idle.rs), no
// preemption: nothing can run concurrently with the section, so
// acquire/release have nothing to do.
unsafe impl critical_section::Impl for SingleCpu {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        false
    }

    unsafe fn release(_: critical_section::RawRestoreState) {}
}
