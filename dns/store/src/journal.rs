//! The journal: the UPDATEs acknowledged since the archive was written, as
//! records after it in its slot (magic, generation, sequence number, the
//! serials before and after, the UPDATE message, a checksum; padded to
//! whole sectors); and the archive written into a slot, which starts a
//! new one.

use crate::archive::{self, File};
use crate::device::{Device, DeviceError, SECTOR};
use crate::format::{checksum, digest, u32_at, Layout, SlotHeader, CHECKSUM};
use alloc::vec::Vec;
use gitns_dns::name::Name;

const REC_MAGIC: &[u8; 8] = b"gitnsJR1";
/// Magic, generation, sequence, from, to, message length.
const REC_HEAD: usize = 8 + 8 + 4 + 4 + 4 + 4;
/// Largest record message (a DNS message over TCP).
pub(crate) const MAX_MESSAGE: usize = 65_535;
/// The journal may grow to the archive's size, and to this much at least.
pub(crate) const MIN_JOURNAL: u64 = 1 << 20;

/// Where the journal stands: what the next append needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    pub(crate) generation: u64,
    /// The slot the archive and the records are in.
    pub(crate) slot: usize,
    /// Device offsets of the slot's start and end.
    start: u64,
    end: u64,
    /// Bytes of the archive.
    archive: u64,
    /// Offset of the next record.
    pub(crate) tail: u64,
    pub(crate) next_seq: u32,
    /// Slot 0 holds an archive without a slot header (the tools', or the
    /// single-slot format): appends are not allowed, and the fold into
    /// slot 1 must leave `0 .. tail` alone.
    pub(crate) bare: bool,
    /// Zones changed by records since the archive was written: written
    /// again when it is.
    pub dirty: Vec<Name>,
    /// No more appends: the next UPDATE writes the archive again (its last
    /// write failed, or a record did not replay).
    pub fold_needed: bool,
}

/// One acknowledged UPDATE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The zone's serial before and after.
    pub from: u32,
    pub to: u32,
    pub message: Vec<u8>,
}

/// Why a record was not appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The journal is full: write the archive again (which folds it in).
    Full,
    /// The device failed.
    Io,
}

/// Write the archive of `files` into `slot`, then its header (the switch
/// to it, one sector); the journal to append to after it.
pub fn write_archive(
    dev: &mut dyn Device,
    files: &[File],
    generation: u64,
    slot: usize,
) -> Result<Journal, DeviceError> {
    let cap = dev.capacity().ok_or(DeviceError)?;
    let image = archive::write(files, 0);
    let Some(l) = Layout::of(cap).filter(|l| image.len() as u64 <= l.slot) else {
        log::error!(
            "zone cache of {} bytes does not fit a slot of the storage device ({cap} bytes \
             hold two slots: make it at least {} bytes)",
            image.len(),
            2 * image.len() + 2 * SECTOR
        );
        return Err(DeviceError);
    };
    dev.write_at(l.start(slot), &image)?;
    let head = SlotHeader {
        generation,
        archive: image.len() as u64,
        digest: digest(files),
    };
    dev.write_at(l.header(slot), &head.encode())?;
    Ok(Journal::empty(generation, &l, slot, head.archive))
}

impl Journal {
    /// A journal without records after an archive of `archive` bytes in
    /// `slot`.
    pub(crate) fn empty(generation: u64, l: &Layout, slot: usize, archive: u64) -> Journal {
        Journal {
            generation,
            slot,
            start: l.start(slot),
            end: l.start(slot) + l.slot,
            archive,
            tail: l.start(slot) + archive,
            next_seq: 0,
            bare: false,
            dirty: Vec::new(),
            fold_needed: false,
        }
    }

    /// The sectors of record `r` as number `seq` of this generation.
    fn encode(&self, seq: u32, r: &Record) -> Vec<u8> {
        let mut b = Vec::with_capacity(REC_HEAD + r.message.len() + CHECKSUM + SECTOR);
        b.extend_from_slice(REC_MAGIC);
        b.extend_from_slice(&self.generation.to_le_bytes());
        b.extend_from_slice(&seq.to_le_bytes());
        b.extend_from_slice(&r.from.to_le_bytes());
        b.extend_from_slice(&r.to.to_le_bytes());
        b.extend_from_slice(&(r.message.len() as u32).to_le_bytes());
        b.extend_from_slice(&r.message);
        let c = checksum(&b);
        b.extend_from_slice(&c);
        b.resize(b.len().div_ceil(SECTOR) * SECTOR, 0);
        b
    }

    /// Append `r` (an UPDATE of `zone`) and wait until it is durable.
    pub fn append(
        &mut self,
        dev: &mut dyn Device,
        zone: &Name,
        r: &Record,
    ) -> Result<(), AppendError> {
        if r.message.len() > MAX_MESSAGE || self.fold_needed || self.bare {
            return Err(AppendError::Full);
        }
        let b = self.encode(self.next_seq, r);
        let end = self.tail + b.len() as u64;
        let records = end - (self.start + self.archive);
        if records > self.archive.max(MIN_JOURNAL) || end > self.end {
            return Err(AppendError::Full);
        }
        dev.write_at(self.tail, &b)
            .map_err(|DeviceError| AppendError::Io)?;
        self.tail = end;
        self.next_seq += 1;
        self.owe(zone);
        Ok(())
    }

    /// `zone` is to be printed into the archive when it is written again.
    pub(crate) fn owe(&mut self, zone: &Name) {
        if !self.dirty.contains(zone) {
            self.dirty.push(zone.clone());
        }
    }

    /// Take the next record of this generation at the tail, if whole.
    fn read_next(&mut self, dev: &mut dyn Device) -> Option<Record> {
        let mut first = [0u8; SECTOR];
        if self.tail + SECTOR as u64 > self.end || dev.read_at(self.tail, &mut first).is_err() {
            return None;
        }
        if &first[..8] != REC_MAGIC
            || first[8..16] != self.generation.to_le_bytes()
            || u32_at(&first, 16) != self.next_seq
        {
            return None;
        }
        let mlen = u32_at(&first, 28) as usize;
        if mlen > MAX_MESSAGE {
            return None;
        }
        let len = (REC_HEAD + mlen + CHECKSUM).div_ceil(SECTOR) * SECTOR;
        if self.tail + len as u64 > self.end {
            return None;
        }
        let mut b = alloc::vec![0u8; len];
        b[..SECTOR].copy_from_slice(&first);
        if len > SECTOR {
            dev.read_at(self.tail + SECTOR as u64, &mut b[SECTOR..])
                .ok()?;
        }
        let body = REC_HEAD + mlen;
        if b[body..body + CHECKSUM] != checksum(&b[..body]) {
            return None;
        }
        self.tail += len as u64;
        self.next_seq += 1;
        Some(Record {
            from: u32_at(&b, 20),
            to: u32_at(&b, 24),
            message: b[REC_HEAD..body].to_vec(),
        })
    }

    /// Every record from the tail on, in order.
    pub(crate) fn read_all(&mut self, dev: &mut dyn Device) -> Vec<Record> {
        let mut records = Vec::new();
        while let Some(r) = self.read_next(dev) {
            records.push(r);
        }
        records
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::device::testing::disk;
    use alloc::string::{String, ToString};

    pub(crate) fn files(serial: u32) -> Vec<(String, Vec<u8>)> {
        let text = alloc::format!("$TTL 60\n@ SOA ns hm {serial} 2 3 4 5\n@ NS ns\n");
        alloc::vec![("example.org".to_string(), text.into_bytes())]
    }

    pub(crate) fn rec(i: u32, size: usize) -> Record {
        Record {
            from: i,
            to: i + 1,
            message: alloc::vec![i as u8; size],
        }
    }

    pub(crate) fn zone() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    #[test]
    fn a_failed_write_is_an_error_and_moves_nothing() {
        let mut d = disk(1 << 20);
        let mut j = write_archive(&mut d, &files(1), 1, 0).unwrap();
        let before = j.clone();
        d.fail = true;
        assert_eq!(j.append(&mut d, &zone(), &rec(0, 10)), Err(AppendError::Io));
        assert_eq!(j, before);
        assert!(write_archive(&mut d, &files(1), 2, 0).is_err());
        // Too large for the device.
        let mut small = disk(1024);
        assert!(write_archive(&mut small, &files(1), 1, 0).is_err());
    }
}
