//! The guest's split virtqueue (boot/guest/src/virtio/queue.rs) against a
//! hostile device: the input interleaves the driver posting buffers and
//! chains with a device (the queue's own test model) taking them and
//! publishing used elements with any id, length and used index, and
//! scribbling on the descriptor table. Never panics, and the queue agrees
//! with a model of who holds each descriptor:
//! - a used element is accepted only for the head of a chain the device
//!   holds, with a length within the bytes it may write; accepted or
//!   refused for its length, the whole chain is the driver's again;
//! - any other id is refused (BadId) and changes no ownership;
//! - a used index more than a queue ahead breaks the queue for good.
#![no_main]

use gitns_guest::virtio::queue::fake::FakeDevice;
use gitns_guest::virtio::queue::{Queue, QueueError, Used, SLOT};
use libfuzzer_sys::fuzz_target;

/// Bytes drawn from the front of the input.
#[path = "common/source.rs"]
mod source;
use source::Source;

/// Who holds each descriptor, as the driver should see it.
#[derive(Clone, Debug, PartialEq)]
enum Held {
    Driver,
    /// Head of a chain the device holds: its ids and writable bytes.
    Head(Vec<u16>, u32),
    Member,
}

struct Harness {
    q: Queue,
    dev: FakeDevice,
    held: Vec<Held>,
    /// Heads the device took from the available ring.
    taken: Vec<(u16, u64, u32)>,
}

impl Harness {
    fn post(&mut self, parts: &[(u16, u32, bool)]) {
        let ok = self.q.post_chain(parts);
        let valid = !self.q.broken()
            && parts.iter().enumerate().all(|(k, &(id, len, _))| {
                self.held.get(id as usize) == Some(&Held::Driver)
                    && len as usize <= SLOT
                    && !parts[..k].iter().any(|p| p.0 == id)
            });
        assert_eq!(ok, valid, "post_chain({parts:?})");
        if ok {
            let ids: Vec<u16> = parts.iter().map(|p| p.0).collect();
            let writable = parts.iter().filter(|p| p.2).map(|p| p.1).sum();
            for &id in &ids[1..] {
                self.held[id as usize] = Held::Member;
            }
            let head = ids[0] as usize;
            self.held[head] = Held::Head(ids, writable);
        }
    }

    /// The device takes the next available head and may write its buffer.
    fn take(&mut self, s: &mut Source) {
        let Some((id, addr, len, _flags)) = self.dev.take(&self.q) else {
            return;
        };
        let n = usize::from(s.byte().unwrap_or(0)).min(len as usize).min(SLOT);
        // Only into the slot the driver posted (the table may be scribbled).
        if (id as usize) < self.held.len() && addr == self.q.buf(id).as_ptr() as u64 {
            self.dev.write_buf(addr, &vec![0xa5; n]);
        }
        self.taken.push((id, addr, len));
    }

    fn pop(&mut self) {
        let size = self.q.size() as usize;
        for _ in 0..=size {
            let was_broken = self.q.broken();
            let Some(r) = self.q.pop_used() else { break };
            assert!(!was_broken, "a broken queue yields elements");
            match r {
                Ok(Used { id, len }) => {
                    let Held::Head(ids, w) = self.held[id as usize].clone() else {
                        panic!("accepted id {id} the device does not hold");
                    };
                    assert!(len <= w, "accepted length {len} beyond {w}");
                    self.release(&ids);
                    assert_eq!(self.q.buf(id).len(), SLOT);
                }
                Err(QueueError::BadLength { id, len }) => {
                    let Held::Head(ids, w) = self.held[id as usize].clone() else {
                        panic!("BadLength for id {id} the device does not hold");
                    };
                    assert!(len > w);
                    self.release(&ids);
                }
                Err(QueueError::BadId(id)) => {
                    let head = usize::try_from(id)
                        .ok()
                        .and_then(|i| self.held.get(i))
                        .is_some_and(|h| matches!(h, Held::Head(..)));
                    assert!(!head, "refused id {id} of a chain the device holds");
                }
                Err(QueueError::Overrun) => assert!(self.q.broken()),
            }
        }
    }

    fn release(&mut self, ids: &[u16]) {
        for &i in ids {
            self.held[i as usize] = Held::Driver;
        }
    }

    /// The queue's view of ownership is the model's.
    fn agree(&self) {
        for (i, h) in self.held.iter().enumerate() {
            assert_eq!(self.q.is_ours(i as u16), *h == Held::Driver, "owner of {i}");
        }
        if self.q.broken() {
            assert!(!self.q.has_used());
        }
    }
}

fn parts(s: &mut Source, size: u16) -> Option<Vec<(u16, u32, bool)>> {
    let n = 1 + s.byte()? % 3;
    (0..n)
        .map(|_| {
            let id = u16::from(s.byte()?) % (size + 2);
            let len = u32::from(s.u16()?) % (SLOT as u32 + 64);
            Some((id, len, s.byte()? & 1 == 1))
        })
        .collect()
}

fn step(h: &mut Harness, s: &mut Source) -> Option<()> {
    let size = h.q.size();
    match s.byte()? % 8 {
        0 | 1 => {
            let p = parts(s, size)?;
            h.post(&p);
        }
        2 => h.take(s),
        3 => {
            let (id, len) = (s.u32()?, s.u32()?);
            h.dev.put_used(&h.q, id, len);
        }
        4 => {
            // A taken element back, with its length or a lie.
            if !h.taken.is_empty() {
                let (id, _, len) = h.taken.remove(s.byte()? as usize % h.taken.len());
                let lie = s.byte()?;
                let len = if lie & 1 == 0 { len.min(u32::from(lie)) } else { len.wrapping_add(u32::from(lie)) };
                h.dev.put_used(&h.q, u32::from(id), len);
            }
        }
        5 => {
            let idx = h.dev.used_idx.wrapping_add(s.u16()? % (2 * size + 2));
            h.dev.set_used_idx(&h.q, idx);
        }
        6 => {
            let (id, addr, len) = (u16::from(s.byte()?) % size, u64::from(s.u32()?), s.u32()?);
            h.dev.scribble_desc(&h.q, id, addr, len);
        }
        _ => h.pop(),
    }
    h.agree();
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let mut s = Source(data);
    let size = 1u16 << (s.byte().unwrap_or(3) % 5);
    let mut h = Harness {
        q: Queue::new(size),
        dev: FakeDevice::new(),
        held: vec![Held::Driver; size as usize],
        taken: Vec::new(),
    };
    for _ in 0..512 {
        if step(&mut h, &mut s).is_none() {
            break;
        }
    }
    h.pop();
    h.agree();
});
