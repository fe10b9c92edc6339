//! A split virtqueue (virtio 1.x, 2.7) with one fixed buffer per
//! descriptor: descriptor `i` always points at slot `i` of the queue's own
//! buffer area. A request may chain several descriptors (virtio-blk's
//! header, data, status); the chain's links are kept on our side too.
//!
//! The device shares the rings with us, so nothing it writes is trusted:
//! a used element's id must name a descriptor the device currently owns,
//! its length must fit the buffer we posted, and the used index may not run
//! ahead of what we made available. The descriptor table is only ever
//! written by us, never read back, so a device scribbling on it changes
//! nothing we do. Every access to ring memory is an index reduced modulo
//! the queue size into an allocation of the right size.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{fence, Ordering};

/// Bytes per buffer slot: a 12-byte virtio-net header and an Ethernet
/// frame of MTU 1500 (+ VLAN tag) fit.
pub const SLOT: usize = 2048;
/// The descriptor continues in `next`.
const DESC_F_NEXT: u16 = 1;
/// The descriptor may be written by the device (receive buffers).
const DESC_F_WRITE: u16 = 2;
/// used.flags: the device does not want to be notified.
const USED_F_NO_NOTIFY: u16 = 1;

/// What the device did wrong with a used element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The id is out of range or not a descriptor the device owns; the
    /// element is skipped.
    BadId(u32),
    /// The length exceeds the buffer posted with `id`; the buffer is
    /// returned to the driver with its contents ignored.
    BadLength { id: u16, len: u32 },
    /// The used index ran more than a queue's worth ahead: the queue is
    /// dead from now on.
    Overrun,
}

/// One used element that passed the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Used {
    pub id: u16,
    pub len: u32,
}

/// Who holds a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Driver,
    /// First of a chain the device holds: bytes it may write, next link.
    Head {
        writable: u32,
        next: Option<u16>,
    },
    /// Later link of a chain.
    Member {
        next: Option<u16>,
    },
}

/// The rings (descriptor table, available ring, used ring) in one zeroed
/// page-aligned allocation, and the buffer slots.
pub struct Queue {
    size: u16,
    rings: *mut u8,
    layout: Layout,
    avail_off: usize,
    used_off: usize,
    bufs: Vec<u8>,
    /// Who holds each descriptor (our record, never the device's table).
    owner: Vec<Owner>,
    avail_idx: u16,
    last_used: u16,
    broken: bool,
}

impl Queue {
    /// A queue of `size` descriptors (a power of two, 1..=32768).
    pub fn new(size: u16) -> Queue {
        assert!(size.is_power_of_two() && size <= 32768, "virtqueue size");
        let n = size as usize;
        let avail_off = 16 * n;
        let used_off = (avail_off + 6 + 2 * n).next_multiple_of(4);
        let total = used_off + 6 + 8 * n;
        let layout = Layout::from_size_align(total, 4096).expect("virtqueue layout");
        // SAFETY: the layout has a non-zero size.
        let rings = unsafe { alloc_zeroed(layout) };
        assert!(!rings.is_null(), "virtqueue allocation");
        Queue {
            size,
            rings,
            layout,
            avail_off,
            used_off,
            bufs: vec![0; n * SLOT],
            owner: vec![Owner::Driver; n],
            avail_idx: 0,
            last_used: 0,
            broken: false,
        }
    }

    pub fn size(&self) -> u16 {
        self.size
    }

    /// Guest-physical (= virtual, identity mapped) ring addresses for the
    /// device: (descriptor table, available ring, used ring).
    pub fn addresses(&self) -> (u64, u64, u64) {
        let b = self.rings as u64;
        (b, b + self.avail_off as u64, b + self.used_off as u64)
    }

    /// True once the device broke the ring protocol.
    pub fn broken(&self) -> bool {
        self.broken
    }

    fn write16(&mut self, off: usize, v: u16) {
        debug_assert!(off + 2 <= self.layout.size());
        // SAFETY: every caller passes an offset inside the ring allocation
        // (indices are reduced modulo `size`), 2-aligned by the layout.
        unsafe { core::ptr::write_volatile(self.rings.add(off) as *mut u16, v.to_le()) }
    }

    fn read16(&self, off: usize) -> u16 {
        debug_assert!(off + 2 <= self.layout.size());
        // SAFETY: as write16.
        u16::from_le(unsafe { core::ptr::read_volatile(self.rings.add(off) as *const u16) })
    }

    fn read32(&self, off: usize) -> u32 {
        debug_assert!(off + 4 <= self.layout.size());
        // SAFETY: as write16; used elements are 4-aligned (used_off is).
        u32::from_le(unsafe { core::ptr::read_volatile(self.rings.add(off) as *const u32) })
    }

    /// Slot `id`'s bytes. `id` must be below `size` (the callers' ids come
    /// from `pop_used`, which checked it, or from their own bookkeeping).
    pub fn buf(&self, id: u16) -> &[u8] {
        let at = (id as usize % self.size as usize) * SLOT;
        &self.bufs[at..at + SLOT]
    }

    /// Slot `id`'s bytes, writable (only while the driver owns it).
    pub fn buf_mut(&mut self, id: u16) -> &mut [u8] {
        let at = (id as usize % self.size as usize) * SLOT;
        &mut self.bufs[at..at + SLOT]
    }

    /// True when the driver owns descriptor `id`.
    pub fn is_ours(&self, id: u16) -> bool {
        self.owner.get(id as usize) == Some(&Owner::Driver)
    }

    /// Hand descriptor `id` (its slot, `len` bytes) to the device, writable
    /// by it when `device_writes`. False when `id` is not ours to give.
    pub fn post(&mut self, id: u16, len: u32, device_writes: bool) -> bool {
        self.post_chain(&[(id, len, device_writes)])
    }

    /// Hand a chain of descriptors (id, bytes of its slot, device writes)
    /// to the device as one request. False (and nothing posted) when a
    /// descriptor is not ours, repeats, or a length exceeds its slot.
    pub fn post_chain(&mut self, parts: &[(u16, u32, bool)]) -> bool {
        let valid = !self.broken
            && !parts.is_empty()
            && parts.iter().enumerate().all(|(k, &(id, len, _))| {
                self.is_ours(id) && len as usize <= SLOT && !parts[..k].iter().any(|p| p.0 == id)
            });
        if !valid {
            return false;
        }
        let mut writable = 0u32;
        for (k, &(id, len, device_writes)) in parts.iter().enumerate() {
            let next = parts.get(k + 1).map(|p| p.0);
            let flags = if device_writes { DESC_F_WRITE } else { 0 }
                | if next.is_some() { DESC_F_NEXT } else { 0 };
            let addr = self.bufs.as_ptr() as u64 + id as u64 * SLOT as u64;
            let d = 16 * id as usize;
            // SAFETY: descriptor `id` < size (is_ours checked it) lies inside
            // the ring allocation; 16-byte entries at a 4096-aligned base
            // are 8-aligned.
            unsafe {
                let p = self.rings.add(d);
                core::ptr::write_volatile(p as *mut u64, addr.to_le());
                core::ptr::write_volatile(p.add(8) as *mut u32, len.to_le());
                core::ptr::write_volatile(p.add(12) as *mut u16, flags.to_le());
                core::ptr::write_volatile(p.add(14) as *mut u16, next.unwrap_or(0).to_le());
            }
            if device_writes {
                writable += len;
            }
            self.owner[id as usize] = Owner::Member { next };
        }
        let head = parts[0].0;
        self.owner[head as usize] = Owner::Head {
            writable,
            next: parts.get(1).map(|p| p.0),
        };
        let slot = self.avail_idx as usize % self.size as usize;
        self.write16(self.avail_off + 4 + 2 * slot, head);
        // The ring entry (and descriptors) before the index that publishes it.
        fence(Ordering::SeqCst);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.write16(self.avail_off + 2, self.avail_idx);
        true
    }

    /// Give every descriptor of the chain from `head` back to the driver,
    /// following our own links (at most `size` steps).
    fn release(&mut self, head: u16) {
        let mut at = Some(head);
        for _ in 0..self.size {
            let Some(id) = at else { break };
            at = match self.owner[id as usize] {
                Owner::Head { next, .. } | Owner::Member { next } => next,
                Owner::Driver => None,
            };
            self.owner[id as usize] = Owner::Driver;
        }
    }

    /// True when the device has used elements we have not taken.
    pub fn has_used(&self) -> bool {
        !self.broken && self.read16(self.used_off + 2) != self.last_used
    }

    /// False when the device asked not to be notified (used.flags).
    pub fn wants_notify(&self) -> bool {
        fence(Ordering::SeqCst);
        self.read16(self.used_off) & USED_F_NO_NOTIFY == 0
    }

    /// Take the next used element, checked (see the module comment).
    pub fn pop_used(&mut self) -> Option<Result<Used, QueueError>> {
        if self.broken {
            return None;
        }
        let used_idx = self.read16(self.used_off + 2);
        if used_idx == self.last_used {
            return None;
        }
        if used_idx.wrapping_sub(self.last_used) > self.size {
            self.broken = true;
            return Some(Err(QueueError::Overrun));
        }
        // The index before the element it publishes.
        fence(Ordering::SeqCst);
        let e = self.used_off + 4 + 8 * (self.last_used as usize % self.size as usize);
        let (id, len) = (self.read32(e), self.read32(e + 4));
        self.last_used = self.last_used.wrapping_add(1);
        let Some(Owner::Head { writable, .. }) = usize::try_from(id)
            .ok()
            .and_then(|i| self.owner.get(i).copied())
        else {
            return Some(Err(QueueError::BadId(id)));
        };
        let id = id as u16;
        self.release(id);
        if len > writable {
            return Some(Err(QueueError::BadLength { id, len }));
        }
        Some(Ok(Used { id, len }))
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout. (Only a queue whose
        // device was reset may be dropped: the driver never drops a live one.)
        unsafe { dealloc(self.rings, self.layout) }
    }
}

/// A device model over a queue's memory, for tests: it reads the
/// available ring as a device would and writes whatever used elements the
/// test asks for, well-formed or not. Also built with the `fake-device`
/// feature, for the fuzz target `virtio_queue`.
#[cfg(any(test, feature = "fake-device"))]
pub mod fake {
    use super::*;

    pub struct FakeDevice {
        pub last_avail: u16,
        pub used_idx: u16,
    }

    impl FakeDevice {
        pub fn new() -> FakeDevice {
            FakeDevice {
                last_avail: 0,
                used_idx: 0,
            }
        }

        /// The next available descriptor: (id, buffer address, len, flags).
        pub fn take(&mut self, q: &Queue) -> Option<(u16, u64, u32, u16)> {
            let (desc, avail, _) = q.addresses();
            // SAFETY (test): addresses of the live queue's allocation.
            unsafe {
                let idx = core::ptr::read_volatile((avail + 2) as *const u16);
                if idx == self.last_avail {
                    return None;
                }
                let slot = self.last_avail as u64 % q.size() as u64;
                let id = core::ptr::read_volatile((avail + 4 + 2 * slot) as *const u16);
                self.last_avail = self.last_avail.wrapping_add(1);
                let d = desc + 16 * id as u64;
                Some((
                    id,
                    core::ptr::read_volatile(d as *const u64),
                    core::ptr::read_volatile((d + 8) as *const u32),
                    core::ptr::read_volatile((d + 12) as *const u16),
                ))
            }
        }

        /// Write bytes into a buffer the device was given.
        pub fn write_buf(&self, addr: u64, data: &[u8]) {
            // SAFETY (test): `addr` came from a descriptor of the queue and
            // `data` fits the posted length (the test's responsibility).
            unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) }
        }

        /// Publish a used element, whatever its values.
        pub fn put_used(&mut self, q: &Queue, id: u32, len: u32) {
            let (_, _, used) = q.addresses();
            let e = used + 4 + 8 * (self.used_idx as u64 % q.size() as u64);
            self.used_idx = self.used_idx.wrapping_add(1);
            // SAFETY (test): inside the live queue's used ring.
            unsafe {
                core::ptr::write_volatile(e as *mut u32, id);
                core::ptr::write_volatile((e + 4) as *mut u32, len);
                core::ptr::write_volatile((used + 2) as *mut u16, self.used_idx);
            }
        }

        /// Set the used index directly (to make it run ahead).
        pub fn set_used_idx(&mut self, q: &Queue, idx: u16) {
            self.used_idx = idx;
            let (_, _, used) = q.addresses();
            // SAFETY (test): the used ring's index field.
            unsafe { core::ptr::write_volatile((used + 2) as *mut u16, idx) }
        }

        /// Overwrite descriptor `id` (a device scribbling on the table).
        pub fn scribble_desc(&self, q: &Queue, id: u16, addr: u64, len: u32) {
            let (desc, _, _) = q.addresses();
            let d = desc + 16 * id as u64;
            // SAFETY (test): inside the descriptor table.
            unsafe {
                core::ptr::write_volatile(d as *mut u64, addr);
                core::ptr::write_volatile((d + 8) as *mut u32, len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeDevice;
    use super::*;

    #[test]
    fn posted_buffers_come_back_in_order() {
        let mut q = Queue::new(8);
        let mut dev = FakeDevice::new();
        for id in 0..8 {
            assert!(q.post(id, SLOT as u32, true));
        }
        assert!(
            !q.post(3, 10, true),
            "a descriptor the device owns is not posted twice"
        );
        let (id, addr, len, flags) = dev.take(&q).unwrap();
        assert_eq!((id, len, flags), (0, SLOT as u32, DESC_F_WRITE));
        dev.write_buf(addr, b"frame");
        dev.put_used(&q, id as u32, 5);
        assert!(q.has_used());
        assert_eq!(q.pop_used(), Some(Ok(Used { id: 0, len: 5 })));
        assert_eq!(&q.buf(0)[..5], b"frame");
        assert_eq!(q.pop_used(), None);
        assert!(q.is_ours(0) && !q.is_ours(1));
    }

    #[test]
    fn indices_wrap_around_many_times() {
        let mut q = Queue::new(4);
        let mut dev = FakeDevice::new();
        for round in 0..70_000u32 {
            let id = (round % 4) as u16;
            assert!(q.post(id, 100, false));
            let (got, _, len, _) = dev.take(&q).unwrap();
            assert_eq!((got, len), (id, 100));
            dev.put_used(&q, got as u32, 0);
            assert_eq!(q.pop_used(), Some(Ok(Used { id, len: 0 })));
        }
    }

    #[test]
    fn ids_out_of_range_or_not_posted_are_rejected() {
        let mut q = Queue::new(8);
        let mut dev = FakeDevice::new();
        assert!(q.post(1, 64, true));
        dev.put_used(&q, 8, 10);
        dev.put_used(&q, u32::MAX, 10);
        dev.put_used(&q, 0x1_0001, 10); // would alias id 1 if truncated to u16
        dev.put_used(&q, 2, 10); // in range, but never posted
        dev.put_used(&q, 1, 10);
        dev.put_used(&q, 1, 10); // twice
        assert_eq!(q.pop_used(), Some(Err(QueueError::BadId(8))));
        assert_eq!(q.pop_used(), Some(Err(QueueError::BadId(u32::MAX))));
        assert_eq!(q.pop_used(), Some(Err(QueueError::BadId(0x1_0001))));
        assert_eq!(q.pop_used(), Some(Err(QueueError::BadId(2))));
        assert_eq!(q.pop_used(), Some(Ok(Used { id: 1, len: 10 })));
        assert_eq!(q.pop_used(), Some(Err(QueueError::BadId(1))));
        assert_eq!(q.pop_used(), None);
        assert!(!q.broken());
    }

    #[test]
    fn lengths_beyond_the_posted_buffer_are_rejected() {
        let mut q = Queue::new(4);
        let mut dev = FakeDevice::new();
        assert!(q.post(0, 100, true));
        assert!(q.post(1, SLOT as u32, true));
        dev.put_used(&q, 0, 101);
        dev.put_used(&q, 1, u32::MAX);
        assert_eq!(
            q.pop_used(),
            Some(Err(QueueError::BadLength { id: 0, len: 101 }))
        );
        assert_eq!(
            q.pop_used(),
            Some(Err(QueueError::BadLength {
                id: 1,
                len: u32::MAX
            }))
        );
        // The buffers are the driver's again and can be reposted.
        assert!(q.is_ours(0) && q.is_ours(1));
        assert!(q.post(0, 100, true));
    }

    #[test]
    fn a_used_index_running_ahead_kills_the_queue() {
        let mut q = Queue::new(4);
        let mut dev = FakeDevice::new();
        assert!(q.post(0, 10, true));
        dev.set_used_idx(&q, 5);
        assert_eq!(q.pop_used(), Some(Err(QueueError::Overrun)));
        assert!(q.broken());
        assert_eq!(q.pop_used(), None);
        assert!(!q.has_used());
        assert!(!q.post(1, 10, true));
    }

    #[test]
    fn chains_come_back_whole_and_members_are_not_heads() {
        let mut q = Queue::new(8);
        let mut dev = FakeDevice::new();
        assert!(
            !q.post_chain(&[(0, 16, false), (0, 1, true)]),
            "repeated id"
        );
        assert!(
            !q.post_chain(&[(0, 16, false), (8, 1, true)]),
            "id out of range"
        );
        assert!(q.is_ours(0), "a refused chain posts nothing");
        assert!(q.post_chain(&[(0, 16, false), (1, 512, true), (2, 1, true)]));
        let (head, _, _, flags) = dev.take(&q).unwrap();
        assert_eq!((head, flags), (0, DESC_F_NEXT));
        // A member's id is not a used element; more than the writable
        // 513 bytes is a lie.
        dev.put_used(&q, 1, 1);
        dev.put_used(&q, 0, 514);
        assert_eq!(q.pop_used(), Some(Err(QueueError::BadId(1))));
        assert_eq!(
            q.pop_used(),
            Some(Err(QueueError::BadLength { id: 0, len: 514 }))
        );
        assert!((0..3).all(|id| q.is_ours(id)), "the whole chain is back");
        assert!(q.post_chain(&[(2, 16, false), (0, 1, true)]));
        dev.take(&q).unwrap();
        dev.put_used(&q, 2, 1);
        assert_eq!(q.pop_used(), Some(Ok(Used { id: 2, len: 1 })));
        assert!(q.is_ours(0) && q.is_ours(2));
    }

    #[test]
    fn a_scribbled_descriptor_table_changes_nothing() {
        let mut q = Queue::new(4);
        let mut dev = FakeDevice::new();
        assert!(q.post(2, 64, true));
        dev.scribble_desc(&q, 2, 0xdead_0000, 1 << 30);
        dev.take(&q).unwrap();
        dev.put_used(&q, 2, 1 << 20);
        assert_eq!(
            q.pop_used(),
            Some(Err(QueueError::BadLength {
                id: 2,
                len: 1 << 20
            }))
        );
        assert_eq!(q.buf(2).len(), SLOT);
    }
}
