//! What a device holds: the slot of the newest valid header (its archive
//! has the digest the header names) with the records of its generation
//! while their checksums hold, else the bare archive of slot 0 (written
//! by the tools, or by the single-slot format before 2026-12-07, whose
//! records are read too).

use crate::archive::{self, File};
use crate::device::{Device, SECTOR};
use crate::format::{digest, u64_at, Layout, SlotHeader, BARE_MAGIC};
use crate::journal::{Journal, Record};
use alloc::string::String;
use alloc::vec::Vec;

/// What the device holds: the archive's files, and the journal after it
/// (None when there is nothing to append to: no device, or nothing valid
/// on it) with its records in order.
#[derive(Default)]
pub struct Contents {
    pub files: Vec<File>,
    pub journal: Option<(Journal, Vec<Record>)>,
}

/// Read the device (none: nothing): the slot of the newest valid header,
/// else the bare archive of slot 0.
pub fn read(dev: &mut dyn Device) -> Result<Contents, String> {
    let Some(capacity) = dev.capacity() else {
        return Ok(Contents::default());
    };
    if let Some(l) = Layout::of(capacity) {
        let mut heads: Vec<(usize, SlotHeader)> = (0..2)
            .filter_map(|i| {
                let mut s = [0u8; SECTOR];
                dev.read_at(l.header(i), &mut s).ok()?;
                SlotHeader::decode(&s).map(|h| (i, h))
            })
            .collect();
        heads.sort_by_key(|(_, h)| core::cmp::Reverse(h.generation));
        for (slot, h) in heads {
            match read_slot(&l, slot, &h, dev) {
                Some(c) => return Ok(c),
                None => log::warn!(
                    "storage: slot {slot} (generation {}) does not hold the archive its header names",
                    h.generation
                ),
            }
        }
    }
    read_bare(capacity, dev)
}

/// The files of `slot` if they are the ones `h` names, and its journal.
fn read_slot(l: &Layout, slot: usize, h: &SlotHeader, dev: &mut dyn Device) -> Option<Contents> {
    let start = l.start(slot);
    let limits = archive::Limits::default();
    let (files, end) = archive::read(l.slot, limits, |o, b| dev.read_at(start + o, b)).ok()?;
    if end != Some(h.archive) || digest(&files) != h.digest {
        return None;
    }
    let mut j = Journal::empty(h.generation, l, slot, h.archive);
    let records = j.read_all(dev);
    Some(Contents {
        files,
        journal: Some((j, records)),
    })
}

/// Slot 0 as a bare archive, and the single-slot format's journal after
/// it when its header names these files.
fn read_bare(capacity: u64, dev: &mut dyn Device) -> Result<Contents, String> {
    let limits = archive::Limits::default();
    let (files, end) = archive::read(capacity, limits, |o, b| dev.read_at(o, b))
        .map_err(|e| alloc::format!("storage: {e:?}"))?;
    let Some(archive) = end else {
        return Ok(Contents {
            files,
            journal: None,
        });
    };
    let l = Layout {
        slot: capacity / SECTOR as u64 * SECTOR as u64,
        headers: 0,
    };
    let mut j = Journal::empty(0, &l, 0, archive);
    (j.bare, j.fold_needed) = (true, true);
    let mut head = [0u8; SECTOR];
    let mut records = Vec::new();
    if archive + SECTOR as u64 <= capacity
        && dev.read_at(archive, &mut head).is_ok()
        && &head[..8] == BARE_MAGIC
        && head[16..48] == digest(&files)
    {
        j.generation = u64_at(&head, 8);
        j.tail = archive + SECTOR as u64;
        records = j.read_all(dev);
    }
    Ok(Contents {
        files,
        journal: Some((j, records)),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::device::testing::{disk, Failing};
    use crate::device::DeviceError;
    use crate::journal::tests::{files, rec, zone};
    use crate::journal::{write_archive, AppendError, MAX_MESSAGE, MIN_JOURNAL};

    pub(crate) fn read_back(d: &Failing) -> Contents {
        read(&mut d.mem.clone()).unwrap()
    }

    #[test]
    fn no_device_holds_nothing() {
        struct None_;
        impl Device for None_ {
            fn capacity(&self) -> Option<u64> {
                None
            }
            fn read_at(&mut self, _: u64, _: &mut [u8]) -> Result<(), DeviceError> {
                Err(DeviceError)
            }
            fn write_at(&mut self, _: u64, _: &[u8]) -> Result<(), DeviceError> {
                Err(DeviceError)
            }
        }
        let c = read(&mut None_).unwrap();
        assert!(c.files.is_empty() && c.journal.is_none());
    }

    #[test]
    fn records_come_back_in_order_after_their_archive() {
        let mut d = disk(1 << 20);
        let mut j = write_archive(&mut d, &files(1), 7, 0).unwrap();
        let back = read_back(&d);
        assert_eq!(back.files, files(1));
        assert_eq!(back.journal, Some((j.clone(), alloc::vec![])));
        for i in 0..5 {
            j.append(&mut d, &zone(), &rec(i, 100 + 300 * i as usize))
                .unwrap();
        }
        assert_eq!(j.dirty, alloc::vec![zone()]);
        let (j2, recs) = read_back(&d).journal.unwrap();
        assert_eq!(
            recs,
            (0..5)
                .map(|i| rec(i, 100 + 300 * i as usize))
                .collect::<Vec<_>>()
        );
        // Read back, it appends where the writer would have.
        assert_eq!((j2.tail, j2.next_seq), (j.tail, j.next_seq));
    }

    #[test]
    fn a_torn_record_ends_the_journal() {
        let mut d = disk(1 << 20);
        let mut j = write_archive(&mut d, &files(1), 7, 0).unwrap();
        j.append(&mut d, &zone(), &rec(0, 10)).unwrap();
        let torn_at = j.tail as usize;
        j.append(&mut d, &zone(), &rec(1, 1000)).unwrap();
        j.append(&mut d, &zone(), &rec(2, 10)).unwrap();
        d.mem.bytes[torn_at + 600] ^= 1;
        let (j2, recs) = read_back(&d).journal.unwrap();
        assert_eq!(recs, alloc::vec![rec(0, 10)]);
        assert_eq!(j2.tail as usize, torn_at, "the next append overwrites it");
    }

    #[test]
    fn records_of_another_archive_or_generation_are_not_read() {
        let mut d = disk(1 << 20);
        let mut j = write_archive(&mut d, &files(1), 7, 0).unwrap();
        j.append(&mut d, &zone(), &rec(0, 10)).unwrap();
        // The operator writes another archive of the same length over it:
        // the header no longer names these files, slot 0 reads as bare.
        let other = archive::write(&files(2), 0);
        d.mem.bytes[..other.len()].copy_from_slice(&other);
        let back = read_back(&d);
        assert_eq!(back.files, files(2));
        let (j, recs) = back.journal.unwrap();
        assert!(j.bare && j.fold_needed && recs.is_empty());
        // A new generation after the same files: the old records end it.
        let stale = d.mem.bytes.clone();
        let j = write_archive(&mut d, &files(1), 8, 0).unwrap();
        let h = d.mem.bytes.len() - 2 * SECTOR;
        d.mem.bytes[j.tail as usize..h].copy_from_slice(&stale[j.tail as usize..h]);
        assert_eq!(read_back(&d).journal.unwrap().1, alloc::vec![]);
        // A device that never had a journal: a bare archive, nothing
        // appended to it.
        let mut d = disk(1 << 20);
        let a = archive::write(&files(1), 0);
        d.mem.bytes[..a.len()].copy_from_slice(&a);
        let (mut j, recs) = read_back(&d).journal.unwrap();
        assert!(j.bare && recs.is_empty());
        assert_eq!(
            j.append(&mut d, &zone(), &rec(0, 10)),
            Err(AppendError::Full)
        );
    }

    #[test]
    fn the_journal_is_full_at_the_device_end_or_its_budget() {
        let mut d = disk(64 * 1024);
        let mut j = write_archive(&mut d, &files(1), 1, 0).unwrap();
        let mut n = 0;
        let e = loop {
            match j.append(&mut d, &zone(), &rec(n, 4000)) {
                Ok(()) => n += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(e, AppendError::Full);
        assert!(n > 5);
        assert_eq!(read_back(&d).journal.unwrap().1.len(), n as usize);
        // The budget: the archive's size, 1 MiB at least.
        let mut d = disk(8 << 20);
        let mut j = write_archive(&mut d, &files(1), 1, 0).unwrap();
        let mut bytes = 0;
        while j.append(&mut d, &zone(), &rec(0, 60_000)).is_ok() {
            bytes += 60_000;
        }
        assert!(
            bytes <= MIN_JOURNAL && bytes > MIN_JOURNAL - 70_000,
            "{bytes}"
        );
        assert_eq!(
            j.append(&mut d, &zone(), &rec(0, MAX_MESSAGE + 1)),
            Err(AppendError::Full)
        );
    }
}
