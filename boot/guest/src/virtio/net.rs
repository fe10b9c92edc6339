//! virtio-net frames over two split virtqueues (receiveq 0, transmitq 1),
//! transport-agnostic: the PCI side (mod.rs) notifies when told to.
//!
//! VIRTIO_F_VERSION_1 without MRG_RXBUF: every buffer starts with the
//! 12-byte `virtio_net_hdr` (all zero on transmit: no offloads
//! negotiated). Receive buffers stay posted; each frame taken is copied out
//! and its buffer posted again at once.

use super::queue::{Queue, QueueError, SLOT};
use alloc::vec::Vec;

/// Size of struct virtio_net_hdr with VERSION_1.
pub const HDR: usize = 12;

/// Counters of what the device got wrong (for the logs and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub bad_ids: u64,
    pub bad_lengths: u64,
    pub short_frames: u64,
}

/// The two queues and the transmit descriptors we hold.
pub struct NetQueues {
    pub rx: Queue,
    pub tx: Queue,
    tx_free: Vec<u16>,
    /// Receive buffers were posted since the last notification.
    pub rx_posted: bool,
    /// Frames were queued since the last notification.
    pub tx_queued: bool,
    pub faults: Faults,
}

impl NetQueues {
    /// Queues of the given sizes, every receive buffer posted.
    pub fn new(rx_size: u16, tx_size: u16) -> NetQueues {
        let mut rx = Queue::new(rx_size);
        for id in 0..rx_size {
            rx.post(id, SLOT as u32, true);
        }
        NetQueues {
            rx,
            tx: Queue::new(tx_size),
            tx_free: (0..tx_size).rev().collect(),
            rx_posted: true,
            tx_queued: false,
            faults: Faults::default(),
        }
    }

    fn count(&mut self, e: QueueError) -> Option<u16> {
        match e {
            QueueError::BadId(_) | QueueError::Overrun => {
                self.faults.bad_ids += 1;
                None
            }
            QueueError::BadLength { id, .. } => {
                self.faults.bad_lengths += 1;
                Some(id)
            }
        }
    }

    /// Take back transmit buffers the device is done with.
    fn reclaim_tx(&mut self) {
        while let Some(r) = self.tx.pop_used() {
            let id = match r {
                Ok(u) => Some(u.id),
                Err(e) => self.count(e),
            };
            if let Some(id) = id {
                self.tx_free.push(id);
            }
        }
    }

    /// Queue one frame; false when it does not fit or every transmit
    /// buffer is in flight.
    pub fn send(&mut self, frame: &[u8]) -> bool {
        if frame.len() > SLOT - HDR {
            return false;
        }
        self.reclaim_tx();
        let Some(id) = self.tx_free.pop() else {
            return false;
        };
        let buf = self.tx.buf_mut(id);
        buf[..HDR].fill(0);
        buf[HDR..HDR + frame.len()].copy_from_slice(frame);
        if !self.tx.post(id, (HDR + frame.len()) as u32, false) {
            self.tx_free.push(id);
            return false;
        }
        self.tx_queued = true;
        true
    }

    /// Copy the next received frame into `out`: its length (frames longer
    /// than `out` are cut), or None when none is waiting.
    pub fn recv(&mut self, out: &mut [u8]) -> Option<usize> {
        while let Some(r) = self.rx.pop_used() {
            let (id, len) = match r {
                Ok(u) => (u.id, u.len as usize),
                Err(e) => {
                    if let Some(id) = self.count(e) {
                        self.repost(id);
                    }
                    continue;
                }
            };
            if len < HDR {
                self.faults.short_frames += 1;
                self.repost(id);
                continue;
            }
            // len <= the posted SLOT (checked by pop_used).
            let n = (len - HDR).min(out.len());
            out[..n].copy_from_slice(&self.rx.buf(id)[HDR..HDR + n]);
            self.repost(id);
            return Some(n);
        }
        None
    }

    fn repost(&mut self, id: u16) {
        if self.rx.post(id, SLOT as u32, true) {
            self.rx_posted = true;
        }
    }

    /// True when a received frame is waiting.
    pub fn rx_ready(&self) -> bool {
        self.rx.has_used()
    }

    /// True once the device broke either ring.
    pub fn broken(&self) -> bool {
        self.rx.broken() || self.tx.broken()
    }
}

#[cfg(test)]
mod tests {
    use super::super::queue::fake::FakeDevice;
    use super::*;

    fn deliver(dev: &mut FakeDevice, q: &NetQueues, frame: &[u8]) -> u16 {
        let (id, addr, len, _) = dev.take(&q.rx).expect("a posted rx buffer");
        assert!(HDR + frame.len() <= len as usize);
        let mut b = alloc::vec![0u8; HDR];
        b.extend_from_slice(frame);
        dev.write_buf(addr, &b);
        dev.put_used(&q.rx, id as u32, b.len() as u32);
        id
    }

    #[test]
    fn frames_cross_both_ways_in_batches() {
        let mut q = NetQueues::new(8, 8);
        let (mut rxd, mut txd) = (FakeDevice::new(), FakeDevice::new());
        for i in 0..20u8 {
            let id = deliver(&mut rxd, &q, &[i; 60]);
            let mut out = [0u8; 1514];
            assert_eq!(q.recv(&mut out), Some(60));
            assert_eq!(out[..60], [i; 60]);
            assert!(!q.rx.is_ours(id), "reposted at once");
        }
        // Eight frames queued before the device looks: one notification's worth.
        for i in 0..8u8 {
            assert!(q.send(&[i; 100]));
        }
        assert!(!q.send(&[9; 100]), "every tx buffer in flight");
        for i in 0..8u8 {
            let (id, addr, len, flags) = txd.take(&q.tx).unwrap();
            assert_eq!((len, flags), (HDR as u32 + 100, 0));
            // SAFETY (test): the buffer the driver posted, `len` bytes.
            let b = unsafe { core::slice::from_raw_parts(addr as *const u8, len as usize) };
            assert_eq!(b[..HDR], [0; HDR]);
            assert_eq!(b[HDR..], [i; 100]);
            txd.put_used(&q.tx, id as u32, 0);
        }
        assert!(q.send(&[9; 100]), "reclaimed");
        assert!(!q.send(&[0; SLOT]), "too big");
    }

    #[test]
    fn a_lying_device_cannot_push_the_copy_out_of_bounds() {
        let mut q = NetQueues::new(8, 4);
        let mut dev = FakeDevice::new();
        let mut out = [0u8; 1514];
        // Length beyond the buffer: dropped, buffer reposted.
        let (id, ..) = dev.take(&q.rx).unwrap();
        dev.put_used(&q.rx, id as u32, SLOT as u32 + 1);
        // Shorter than the header.
        let (id2, ..) = dev.take(&q.rx).unwrap();
        dev.put_used(&q.rx, id2 as u32, 3);
        // Ids out of range (every receive id in range is the device's:
        // buffers are reposted at once; duplicates are the queue's tests).
        dev.put_used(&q.rx, 8, 60);
        dev.put_used(&q.rx, 70_000, 60);
        assert_eq!(q.recv(&mut out), None);
        assert_eq!(
            q.faults,
            Faults {
                bad_ids: 2,
                bad_lengths: 1,
                short_frames: 1
            }
        );
        assert!(!q.rx.is_ours(id) && !q.rx.is_ours(id2), "both reposted");
        // A good frame after all that still arrives, cut to the caller's buffer.
        deliver(&mut dev, &q, &[7; 200]);
        deliver(&mut dev, &q, &[8; 200]);
        let mut small = [0u8; 50];
        assert_eq!(q.recv(&mut small), Some(50));
        assert_eq!(small, [7; 50]);
        assert_eq!(q.recv(&mut out), Some(200));
    }

    #[test]
    fn bad_tx_completions_do_not_duplicate_buffers() {
        let mut q = NetQueues::new(4, 4);
        let mut dev = FakeDevice::new();
        assert!(q.send(b"a") && q.send(b"b") && q.send(b"c") && q.send(b"d"));
        let (id, ..) = dev.take(&q.tx).unwrap();
        dev.put_used(&q.tx, id as u32, 0);
        dev.put_used(&q.tx, id as u32, 0); // the same buffer twice
        dev.put_used(&q.tx, 9, 0);
        assert!(q.send(b"e"));
        assert!(!q.send(b"f"), "only one buffer came back");
        assert_eq!(q.faults.bad_ids, 2);
    }

    #[test]
    fn an_overrun_marks_the_device_broken() {
        let mut q = NetQueues::new(4, 4);
        let mut dev = FakeDevice::new();
        dev.set_used_idx(&q.rx, 100);
        assert_eq!(q.recv(&mut [0u8; 64]), None);
        assert!(q.broken());
        assert!(!q.rx_ready());
    }
}
