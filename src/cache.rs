//! The zone cache on the storage device: a ustar archive of the zone and
//! key files, then a journal of the UPDATEs acknowledged since the archive
//! was written, so an UPDATE costs a few sectors instead of the whole
//! archive (a 1,000,000-name zone printed, archived and written for each
//! UPDATE held the appliance 0.5-2 s).
//!
//! Crash safety: the device holds two slots, and one header per slot in
//! its last two sectors. A slot is an archive followed by its journal's
//! records. The archive is written again (a fold, or new files from git)
//! into the slot not in use, and only then its header, in a write of its
//! own: until that sector is durable the other slot, with every record
//! acknowledged so far, is what a restart reads. So a crash at any write,
//! or a torn sector, leaves the state before or the state after it.
//!
//! Layout, in 512-byte sectors, on a device of C bytes (C rounded down to
//! a sector):
//! - slot 0 at `0 .. S`, slot 1 at `S .. 2S`, with S = (C - 1024) / 2
//!   rounded down to a sector;
//! - the header of slot 0 at `C - 1024`, of slot 1 at `C - 512`: magic,
//!   generation, archive length, digest of the files, checksum;
//! - in a slot: the archive ([`tar::write`]: the files, two zero blocks),
//!   then records, each magic, generation, sequence number, the serials
//!   before and after, the UPDATE message, a checksum; padded to whole
//!   sectors.
//!
//! Reading takes the valid header of the newest generation whose archive
//! has the digest it names (else the other), then the records of that
//! generation in sequence while their checksums hold: a torn last record
//! was never acknowledged. Once the journal outgrows the archive it is
//! folded in: the archive is written again, in the other slot, with the
//! changed zones, and a new generation starts.
//!
//! A device without a valid header holds a bare archive in slot 0: written
//! by the tools (`xtask::zones::pack`), or by a gitns before 2026-12-07
//! whose journal followed the archive (`gitnsJH1`: its records are read
//! and replayed). Nothing is appended to it; the first UPDATE folds into
//! slot 1, which must not overlap what slot 0 holds.

use crate::server::Store;
use crate::tar;
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::zoneset::ZoneSet;
use sha2::{Digest, Sha256};

const SECTOR: usize = tar::BLOCK;
const SLOT_MAGIC: &[u8; 8] = b"gitnsSH1";
/// The journal header of the single-slot format (before 2026-12-07).
const BARE_MAGIC: &[u8; 8] = b"gitnsJH1";
const REC_MAGIC: &[u8; 8] = b"gitnsJR1";
/// Magic, generation, sequence, from, to, message length.
const REC_HEAD: usize = 8 + 8 + 4 + 4 + 4 + 4;
const CHECKSUM: usize = 16;
/// Magic, generation, archive length, digest: the checksummed part of a
/// slot header.
const SLOT_HEAD: usize = 8 + 8 + 8 + 32;
/// Largest record message (a DNS message over TCP).
const MAX_MESSAGE: usize = 65_535;
/// The journal may grow to the archive's size, and to this much at least.
const MIN_JOURNAL: u64 = 1 << 20;

/// Where the two slots and their headers lie on a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    /// Bytes of a slot.
    slot: u64,
    /// Offset of slot 0's header; slot 1's follows it.
    headers: u64,
}

impl Layout {
    fn of(capacity: u64) -> Option<Layout> {
        let s = SECTOR as u64;
        let headers = (capacity / s).checked_sub(2)? * s;
        let slot = headers / 2 / s * s;
        (slot >= 2 * s).then_some(Layout { slot, headers })
    }

    fn start(&self, slot: usize) -> u64 {
        slot as u64 * self.slot
    }

    fn header(&self, slot: usize) -> u64 {
        self.headers + (slot * SECTOR) as u64
    }
}

/// Where the journal stands: what the next append needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    generation: u64,
    /// The slot the archive and the records are in.
    slot: usize,
    /// Device offsets of the slot's start and end.
    start: u64,
    end: u64,
    /// Bytes of the archive.
    archive: u64,
    /// Offset of the next record.
    tail: u64,
    next_seq: u32,
    /// Slot 0 holds an archive without a slot header (the tools', or the
    /// single-slot format): appends are not allowed, and the fold into
    /// slot 1 must leave `0 .. tail` alone.
    bare: bool,
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

/// The digest of a file set, as the header holds it.
fn digest(files: &[(String, Vec<u8>)]) -> [u8; 32] {
    let mut h = Sha256::new();
    for (name, data) in files {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    h.finalize().into()
}

fn checksum(b: &[u8]) -> [u8; CHECKSUM] {
    let d: [u8; 32] = Sha256::digest(b).into();
    let mut c = [0u8; CHECKSUM];
    c.copy_from_slice(&d[..CHECKSUM]);
    c
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// A slot header as read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SlotHeader {
    generation: u64,
    archive: u64,
    digest: [u8; 32],
}

impl SlotHeader {
    fn encode(&self) -> [u8; SECTOR] {
        let mut s = [0u8; SECTOR];
        s[..8].copy_from_slice(SLOT_MAGIC);
        s[8..16].copy_from_slice(&self.generation.to_le_bytes());
        s[16..24].copy_from_slice(&self.archive.to_le_bytes());
        s[24..SLOT_HEAD].copy_from_slice(&self.digest);
        let c = checksum(&s[..SLOT_HEAD]);
        s[SLOT_HEAD..SLOT_HEAD + CHECKSUM].copy_from_slice(&c);
        s
    }

    /// The header in `s`, if whole (a torn or foreign sector is None).
    fn decode(s: &[u8; SECTOR]) -> Option<SlotHeader> {
        if &s[..8] != SLOT_MAGIC || s[SLOT_HEAD..SLOT_HEAD + CHECKSUM] != checksum(&s[..SLOT_HEAD])
        {
            return None;
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&s[24..SLOT_HEAD]);
        Some(SlotHeader {
            generation: u64_at(s, 8),
            archive: u64_at(s, 16),
            digest,
        })
    }
}

/// Write the archive of `files` into `slot`, then its header (the switch
/// to it, one sector); the journal to append to after it.
pub fn write_archive(
    store: &mut dyn Store,
    files: &[(String, Vec<u8>)],
    generation: u64,
    slot: usize,
) -> Result<Journal, ()> {
    let cap = store.capacity().ok_or(())?;
    let image = crate::dns::archive(files);
    let Some(l) = Layout::of(cap).filter(|l| image.len() as u64 <= l.slot) else {
        log::error!(
            "zone cache of {} bytes does not fit a slot of the storage device ({cap} bytes \
             hold two slots: make it at least {} bytes)",
            image.len(),
            2 * image.len() + 2 * SECTOR
        );
        return Err(());
    };
    store.write_at(l.start(slot), &image)?;
    let head = SlotHeader {
        generation,
        archive: image.len() as u64,
        digest: digest(files),
    };
    store.write_at(l.header(slot), &head.encode())?;
    Ok(Journal::empty(generation, &l, slot, head.archive))
}

impl Journal {
    /// A journal without records after an archive of `archive` bytes in
    /// `slot`.
    fn empty(generation: u64, l: &Layout, slot: usize, archive: u64) -> Journal {
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
        store: &mut dyn Store,
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
        store
            .write_at(self.tail, &b)
            .map_err(|()| AppendError::Io)?;
        self.tail = end;
        self.next_seq += 1;
        self.owe(zone);
        Ok(())
    }

    /// `zone` is to be printed into the archive when it is written again.
    fn owe(&mut self, zone: &Name) {
        if !self.dirty.contains(zone) {
            self.dirty.push(zone.clone());
        }
    }

    /// Take the next record of this generation at the tail, if whole.
    fn read_next(
        &mut self,
        read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), ()>,
    ) -> Option<Record> {
        let mut first = [0u8; SECTOR];
        if self.tail + SECTOR as u64 > self.end || read_at(self.tail, &mut first).is_err() {
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
            read_at(self.tail + SECTOR as u64, &mut b[SECTOR..]).ok()?;
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
    fn read_all(
        &mut self,
        read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), ()>,
    ) -> Vec<Record> {
        let mut records = Vec::new();
        while let Some(r) = self.read_next(read_at) {
            records.push(r);
        }
        records
    }
}

/// What the device holds: the archive's files, and the journal after it
/// (None when there is nothing to append to: no device, or nothing valid
/// on it) with its records in order.
#[derive(Default)]
pub struct Contents {
    pub files: Vec<(String, Vec<u8>)>,
    pub journal: Option<(Journal, Vec<Record>)>,
}

/// Read the device of `capacity` bytes through `read_at`: the slot of the
/// newest valid header, else the bare archive of slot 0.
pub fn read(
    capacity: u64,
    mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), ()>,
) -> Result<Contents, String> {
    if let Some(l) = Layout::of(capacity) {
        let mut heads: Vec<(usize, SlotHeader)> = (0..2)
            .filter_map(|i| {
                let mut s = [0u8; SECTOR];
                read_at(l.header(i), &mut s).ok()?;
                SlotHeader::decode(&s).map(|h| (i, h))
            })
            .collect();
        heads.sort_by_key(|(_, h)| core::cmp::Reverse(h.generation));
        for (slot, h) in heads {
            match read_slot(&l, slot, &h, &mut read_at) {
                Some(c) => return Ok(c),
                None => log::warn!(
                    "storage: slot {slot} (generation {}) does not hold the archive its header names",
                    h.generation
                ),
            }
        }
    }
    read_bare(capacity, &mut read_at)
}

/// The files of `slot` if they are the ones `h` names, and its journal.
fn read_slot(
    l: &Layout,
    slot: usize,
    h: &SlotHeader,
    read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), ()>,
) -> Option<Contents> {
    let start = l.start(slot);
    let (files, end) =
        tar::read(l.slot, tar::Limits::default(), |o, b| read_at(start + o, b)).ok()?;
    let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.name, f.data)).collect();
    if end != Some(h.archive) || digest(&files) != h.digest {
        return None;
    }
    let mut j = Journal::empty(h.generation, l, slot, h.archive);
    let records = j.read_all(read_at);
    Some(Contents {
        files,
        journal: Some((j, records)),
    })
}

/// Slot 0 as a bare archive, and the single-slot format's journal after
/// it when its header names these files.
fn read_bare(
    capacity: u64,
    read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), ()>,
) -> Result<Contents, String> {
    let (files, end) = tar::read(capacity, tar::Limits::default(), &mut *read_at)
        .map_err(|e| alloc::format!("storage: {e:?}"))?;
    let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.name, f.data)).collect();
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
        && read_at(archive, &mut head).is_ok()
        && &head[..8] == BARE_MAGIC
        && head[16..48] == digest(&files)
    {
        j.generation = u64_at(&head, 8);
        j.tail = archive + SECTOR as u64;
        records = j.read_all(read_at);
    }
    Ok(Contents {
        files,
        journal: Some((j, records)),
    })
}

/// The zone cache as the appliance keeps it: the archive's files and the
/// journal after them.
#[derive(Default)]
pub struct Cache {
    pub files: Vec<(String, Vec<u8>)>,
    pub journal: Option<Journal>,
    /// Writes the device refused (host disk full, I/O error): each an
    /// UPDATE not acknowledged (SERVFAIL) or an archive not switched to.
    pub failed_writes: u64,
}

impl Cache {
    /// Make an UPDATE of `zone` (now in `zs`) durable before it is
    /// acknowledged: append its record, or, when the journal is full or
    /// there is none, write the archive again with the changed zones (a
    /// new generation, numbered from the wall clock `now_ns`).
    pub fn commit(
        &mut self,
        store: &mut dyn Store,
        zs: &ZoneSet,
        zone: &Name,
        record: &Record,
        now_ns: u64,
    ) -> Result<(), ()> {
        if let Some(j) = self.journal.as_mut() {
            match j.append(store, zone, record) {
                Ok(()) => return Ok(()),
                Err(AppendError::Io) => {
                    self.failed_writes += 1;
                    log::error!("storage: the journal write failed: the UPDATE of {zone} is not acknowledged");
                    return Err(());
                }
                Err(AppendError::Full) => {}
            }
        }
        let mut zones = self
            .journal
            .as_ref()
            .map_or(Vec::new(), |j| j.dirty.clone());
        if !zones.contains(zone) {
            zones.push(zone.clone());
        }
        let files = with_zones(&self.files, zs, &zones);
        self.switch(store, files, now_ns)
    }

    /// Write the archive of the files again, with a new journal (the zones
    /// came from the git remote: the files are what it holds).
    pub fn rewrite(&mut self, store: &mut dyn Store, now_ns: u64) -> Result<(), ()> {
        let files = core::mem::take(&mut self.files);
        let r = self.switch(store, files.clone(), now_ns);
        if r.is_err() {
            self.files = files;
        }
        r
    }

    /// Write `files` into the slot not in use and switch to it. On a
    /// failure the slot in use, and its journal, stay what a restart
    /// reads; what they owe is folded at the next UPDATE.
    fn switch(
        &mut self,
        store: &mut dyn Store,
        files: Vec<(String, Vec<u8>)>,
        now_ns: u64,
    ) -> Result<(), ()> {
        let generation = self.generation(now_ns);
        let slot = self.journal.as_ref().map_or(0, |j| 1 - j.slot);
        let written = match self.journal.as_ref().filter(|j| j.bare) {
            Some(j) if !bare_fits(store, j.tail) => Err(()),
            _ => write_archive(store, &files, generation, slot),
        };
        match written {
            Ok(j) => {
                self.journal = Some(j);
                self.files = files;
                Ok(())
            }
            Err(()) => {
                self.failed_writes += 1;
                log::error!(
                    "storage: writing the archive into slot {slot} failed: the device keeps \
                     the previous one, folded again at the next UPDATE"
                );
                if let Some(j) = self.journal.as_mut() {
                    (j.fold_needed, j.generation) = (true, j.generation.max(generation));
                }
                Err(())
            }
        }
    }

    /// A generation number no journal on the device has had: the wall
    /// clock, above the last.
    fn generation(&self, now_ns: u64) -> u64 {
        let last = self.journal.as_ref().map_or(0, |j| j.generation);
        now_ns.max(last + 1)
    }
}

/// Slot 1 starts after the `used` bytes of a bare slot 0 (else writing
/// it could destroy records that are acknowledged).
fn bare_fits(store: &dyn Store, used: u64) -> bool {
    let cap = store.capacity().unwrap_or(0);
    let fits = Layout::of(cap).is_some_and(|l| used <= l.start(1));
    if !fits {
        log::error!(
            "storage: the device ({cap} bytes) is too small to write a new archive beside the \
             {used} bytes it holds: make it at least {} bytes",
            4 * used + 2 * SECTOR as u64
        );
    }
    fits
}

/// `files` with each zone of `zones` printed from `zs` (its file keeps its
/// name, a new one is named after the zone).
fn with_zones(files: &[(String, Vec<u8>)], zs: &ZoneSet, zones: &[Name]) -> Vec<(String, Vec<u8>)> {
    let mut out = files.to_vec();
    for zone in zones {
        let Some(z) = zs.zone(zone) else { continue };
        let text = gitns_dns::zone::printer::print(z).into_bytes();
        let file = crate::dns::zone_file_name(files, zone);
        match out.iter_mut().find(|(n, _)| *n == file) {
            Some((_, data)) => *data = text,
            None => out.push((file, text)),
        }
    }
    out
}

/// Apply `records` to the zones loaded from the archive they follow, in
/// order; the zones they change are the journal's dirty ones. Stops at
/// the first that does not apply (it belongs to other data): the zones as
/// replayed so far are then written as a new archive by the next UPDATE.
pub fn replay(zs: &mut ZoneSet, journal: &mut Journal, records: &[Record]) -> Result<(), String> {
    for (i, r) in records.iter().enumerate() {
        let zone = zs.replay_update(&r.message, r.from, r.to).map_err(|e| {
            journal.fold_needed = true;
            if let Ok(m) = gitns_dns::update::parse(&r.message) {
                journal.owe(&m.zone);
            }
            alloc::format!("journal record {i} does not apply ({e:?}): not replaying the rest")
        })?;
        journal.owe(&zone);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// A device in memory.
    struct Disk {
        bytes: Vec<u8>,
        fail: bool,
    }

    impl Store for Disk {
        fn capacity(&self) -> Option<u64> {
            Some(self.bytes.len() as u64)
        }

        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), ()> {
            if self.fail {
                return Err(());
            }
            let o = offset as usize;
            self.bytes[o..o + data.len()].copy_from_slice(data);
            Ok(())
        }
    }

    fn disk(size: usize) -> Disk {
        Disk {
            bytes: alloc::vec![0; size],
            fail: false,
        }
    }

    fn files(serial: u32) -> Vec<(String, Vec<u8>)> {
        let text = alloc::format!("$TTL 60\n@ SOA ns hm {serial} 2 3 4 5\n@ NS ns\n");
        alloc::vec![("example.org".to_string(), text.into_bytes())]
    }

    fn rec(i: u32, size: usize) -> Record {
        Record {
            from: i,
            to: i + 1,
            message: alloc::vec![i as u8; size],
        }
    }

    fn zone() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    fn read_back(d: &Disk) -> Contents {
        read(d.bytes.len() as u64, |o, b| {
            let o = o as usize;
            b.copy_from_slice(&d.bytes[o..o + b.len()]);
            Ok(())
        })
        .unwrap()
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
        d.bytes[torn_at + 600] ^= 1;
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
        let other = crate::dns::archive(&files(2));
        d.bytes[..other.len()].copy_from_slice(&other);
        let back = read_back(&d);
        assert_eq!(back.files, files(2));
        let (j, recs) = back.journal.unwrap();
        assert!(j.bare && j.fold_needed && recs.is_empty());
        // A new generation after the same files: the old records end it.
        let stale = d.bytes.clone();
        let j = write_archive(&mut d, &files(1), 8, 0).unwrap();
        let h = d.bytes.len() - 2 * SECTOR;
        d.bytes[j.tail as usize..h].copy_from_slice(&stale[j.tail as usize..h]);
        assert_eq!(read_back(&d).journal.unwrap().1, alloc::vec![]);
        // A device that never had a journal: a bare archive, nothing
        // appended to it.
        let mut d = disk(1 << 20);
        let a = crate::dns::archive(&files(1));
        d.bytes[..a.len()].copy_from_slice(&a);
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

    /// An UPDATE of example.org adding `owner` A `ip` (RFC 2136 2).
    fn add_a(owner: &str, ip: [u8; 4]) -> Vec<u8> {
        let name = |s: &str| Name::parse(s, &Name::root()).unwrap().wire().to_vec();
        let mut m = alloc::vec![0, 7, 0x28, 0, 0, 1, 0, 0, 0, 1, 0, 0];
        m.extend(name("example.org."));
        m.extend([0, 6, 0, 1]);
        m.extend(name(owner));
        m.extend([0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend(ip);
        m
    }

    /// The zones of `files(1)` and a cache of them without a journal.
    fn fresh() -> (ZoneSet, Cache) {
        let (zs, _) = ZoneSet::load(&files(1), None);
        let c = Cache {
            files: files(1),
            ..Cache::default()
        };
        (zs, c)
    }

    /// Apply UPDATE number `i` to `zs` in place: its journal record.
    fn update(zs: &mut ZoneSet, i: u32) -> Record {
        let msg = add_a(&alloc::format!("h{i}.example.org."), [192, 0, 2, i as u8]);
        let from = zs.zone(&zone()).unwrap().serial().unwrap();
        zs.update_in_place(&gitns_dns::update::parse(&msg).unwrap())
            .unwrap();
        let to = zs.zone(&zone()).unwrap().serial().unwrap();
        Record {
            from,
            to,
            message: msg,
        }
    }

    #[test]
    fn updates_survive_appends_folds_and_a_restart() {
        // A device so small that the journal fills and is folded in
        // several times.
        let mut d = disk(64 * 1024);
        let (mut zs, mut c) = fresh();
        let mut folds = 0;
        for i in 0..400u32 {
            let r = update(&mut zs, i);
            let before = c.journal.as_ref().map(|j| j.generation);
            c.commit(&mut d, &zs, &zone(), &r, 1).unwrap();
            folds += (c.journal.as_ref().map(|j| j.generation) != before) as u32;
            // After every acknowledged UPDATE a restart serves it.
            if i % 37 == 0 || i == 399 {
                let (back, _, cache) = crate::dns::load_cache(read_back(&d), None);
                assert_eq!(back.zone(&zone()), zs.zone(&zone()), "after {i}");
                assert_eq!(
                    cache.journal.as_ref().map(|j| j.tail),
                    c.journal.as_ref().map(|j| j.tail)
                );
            }
        }
        assert!(folds >= 3, "{folds} folds");
    }

    #[test]
    fn after_a_failed_fold_the_next_update_folds_with_what_was_owed() {
        let mut d = disk(256 * 1024);
        let (mut zs, mut c) = fresh();
        let r = update(&mut zs, 0);
        c.commit(&mut d, &zs, &zone(), &r, 1).unwrap();
        let r = update(&mut zs, 1);
        c.commit(&mut d, &zs, &zone(), &r, 1).unwrap();
        assert_eq!(c.journal.as_ref().unwrap().next_seq, 1, "appended");
        // The device fails while the journal is folded in.
        c.journal.as_mut().unwrap().fold_needed = true;
        d.fail = true;
        let r = update(&mut zs, 2);
        assert!(c.commit(&mut d, &zs, &zone(), &r, 1).is_err());
        let j = c.journal.as_ref().unwrap();
        assert!(j.fold_needed && j.dirty.contains(&zone()));
        d.fail = false;
        c.commit(&mut d, &zs, &zone(), &r, 1).unwrap();
        let (back, _, _) = crate::dns::load_cache(read_back(&d), None);
        assert_eq!(back.zone(&zone()), zs.zone(&zone()));
        assert!(!c.journal.as_ref().unwrap().fold_needed);
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

    /// How a crash at one write leaves what it was writing.
    #[derive(Clone, Copy, Debug)]
    enum Crash {
        /// Nothing of it reached the device.
        Before,
        /// Its first half did (cut inside a sector).
        Torn,
        /// All of it, with a byte of its last sector wrong.
        Garbled,
    }

    /// A device that dies at its write number `at` (from 0): that write
    /// fails as `crash` says, and every one after it fails too.
    struct Dying {
        disk: Disk,
        writes: usize,
        at: Option<(usize, Crash)>,
    }

    impl Store for Dying {
        fn capacity(&self) -> Option<u64> {
            self.disk.capacity()
        }

        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), ()> {
            let n = self.writes;
            self.writes += 1;
            let Some((at, crash)) = self.at.filter(|(at, _)| n >= *at) else {
                return self.disk.write_at(offset, data);
            };
            if n == at {
                let o = offset as usize;
                match crash {
                    Crash::Before => {}
                    Crash::Torn => {
                        let k = data.len().div_ceil(2);
                        self.disk.bytes[o..o + k].copy_from_slice(&data[..k]);
                    }
                    Crash::Garbled => {
                        self.disk.bytes[o..o + data.len()].copy_from_slice(data);
                        self.disk.bytes[o + data.len() - 7] ^= 0x5a;
                    }
                }
            }
            Err(())
        }
    }

    /// A device as the tools pack it: the bare archive of `files(1)`.
    fn packed(size: usize) -> Disk {
        let mut d = disk(size);
        let a = crate::dns::archive(&files(1));
        d.bytes[..a.len()].copy_from_slice(&a);
        d
    }

    /// Boot from `d`: the zones served and the cache.
    fn boot(d: &Disk) -> (ZoneSet, Cache) {
        let (zs, _, c) = crate::dns::load_cache(read_back(d), None);
        (zs, c)
    }

    fn has(zs: &ZoneSet, i: u32) -> bool {
        let owner = Name::parse(&alloc::format!("h{i}.example.org."), &Name::root()).unwrap();
        zs.zone(&zone()).unwrap().node(&owner).is_some()
    }

    /// Boot from `dev`, then commit UPDATEs 0.. (and write the archive
    /// again, as a git fetch does, after every 9th) until the device dies
    /// or `n` are done. Returns the acknowledged ones and the one that was
    /// being committed when it died.
    fn run_updates(dev: &mut Dying, n: u32) -> (Vec<u32>, Option<u32>) {
        let (mut zs, mut c) = boot(&dev.disk);
        let mut acked = Vec::new();
        for i in 0..n {
            let r = update(&mut zs, i);
            if c.commit(dev, &zs, &zone(), &r, 1_000 + i as u64).is_err() {
                return (acked, Some(i));
            }
            acked.push(i);
            if i % 9 == 8 {
                c.files = with_zones(&c.files, &zs, &[zone()]);
                if c.rewrite(dev, 1_000 + i as u64).is_err() {
                    return (acked, None);
                }
            }
        }
        (acked, None)
    }

    /// Issue 25: a crash at any write, in any of the ways a write can go
    /// wrong, leaves a device that boots with every acknowledged UPDATE,
    /// the one in flight either whole or absent, nothing else; and it
    /// takes UPDATEs again.
    #[test]
    fn a_crash_at_any_write_loses_no_acknowledged_update() {
        const SIZE: usize = 48 * 1024;
        const UPDATES: u32 = 40;
        let mut clean = Dying {
            disk: packed(SIZE),
            writes: 0,
            at: None,
        };
        let (acked, _) = run_updates(&mut clean, UPDATES);
        assert_eq!(acked.len(), UPDATES as usize);
        let total = clean.writes;
        assert!(
            total > UPDATES as usize,
            "folds and rewrites happened: {total} writes"
        );
        for at in 0..total {
            for crash in [Crash::Before, Crash::Torn, Crash::Garbled] {
                let mut dev = Dying {
                    disk: packed(SIZE),
                    writes: 0,
                    at: Some((at, crash)),
                };
                let (acked, in_flight) = run_updates(&mut dev, UPDATES);
                let (mut zs, mut c) = boot(&dev.disk);
                for i in 0..UPDATES {
                    let want = acked.contains(&i);
                    if in_flight != Some(i) {
                        assert_eq!(has(&zs, i), want, "write {at} {crash:?}: UPDATE {i}");
                    }
                }
                // The device takes UPDATEs again, and they survive.
                let mut d = Dying {
                    disk: dev.disk,
                    writes: 0,
                    at: None,
                };
                let r = update(&mut zs, 99);
                c.commit(&mut d, &zs, &zone(), &r, 9_000).unwrap();
                let (back, _) = boot(&d.disk);
                assert!(has(&back, 99), "write {at} {crash:?}: after recovery");
                assert_eq!(back.zone(&zone()), zs.zone(&zone()), "write {at} {crash:?}");
            }
        }
    }
}
