//! The global allocator over [end of image, mem_size - stack).

use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

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
    unsafe { HEAP.lock().init(start as *mut u8, size as usize) };
    Ok(size)
}

/// Heap bytes in use and free.
#[allow(dead_code)]
pub fn usage() -> (usize, usize) {
    let h = HEAP.lock();
    (h.used(), h.free())
}
