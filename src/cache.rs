//! The zone cache on the storage device: a ustar archive of the zone and
//! key files, then a journal of the UPDATEs acknowledged since the archive
//! was written, so an UPDATE costs a few sectors instead of the whole
//! archive (a 1,000,000-name zone printed, archived and written for each
//! UPDATE held the appliance 0.5-2 s).
//!
//! Layout, in 512-byte sectors:
//! - `0 .. A`: the archive ([`tar::write`]: the files, two zero blocks);
//! - `A`: the journal header: magic, generation, digest of the files;
//! - `A + 512 ..`: records, each magic, generation, sequence number, the
//!   serials before and after, the UPDATE message, a checksum; padded to
//!   whole sectors.
//!
//! Reading takes the records of the header's generation in sequence while
//! their checksums hold: a torn last write was never acknowledged. The
//! digest ties the journal to its archive: records written after another
//! archive (the device rewritten by the operator) are never replayed.
//! Once the journal outgrows the archive it is folded in: the archive is
//! written again with the changed zones and a new generation starts.

use crate::server::Store;
use crate::tar;
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::zoneset::ZoneSet;
use sha2::{Digest, Sha256};

const SECTOR: usize = tar::BLOCK;
const HEAD_MAGIC: &[u8; 8] = b"gitnsJH1";
const REC_MAGIC: &[u8; 8] = b"gitnsJR1";
/// Magic, generation, sequence, from, to, message length.
const REC_HEAD: usize = 8 + 8 + 4 + 4 + 4 + 4;
const CHECKSUM: usize = 16;
/// Largest record message (a DNS message over TCP).
const MAX_MESSAGE: usize = 65_535;
/// The journal may grow to the archive's size, and to this much at least.
const MIN_JOURNAL: u64 = 1 << 20;

/// Where the journal stands: what the next append needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    generation: u64,
    /// Bytes of the archive (where the header is).
    archive: u64,
    /// Offset of the next record.
    tail: u64,
    next_seq: u32,
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

fn header(generation: u64, files: &[(String, Vec<u8>)]) -> [u8; SECTOR] {
    let mut s = [0u8; SECTOR];
    s[..8].copy_from_slice(HEAD_MAGIC);
    s[8..16].copy_from_slice(&generation.to_le_bytes());
    s[16..48].copy_from_slice(&digest(files));
    s
}

/// The archive of `files` followed by a new journal's header, as one
/// write; the journal to append to after it.
pub fn write_archive(
    store: &mut dyn Store,
    files: &[(String, Vec<u8>)],
    generation: u64,
) -> Result<Journal, ()> {
    let mut image = crate::dns::archive(files);
    let archive = image.len() as u64;
    image.extend_from_slice(&header(generation, files));
    let cap = store.capacity().ok_or(())?;
    if image.len() as u64 > cap {
        log::error!(
            "zone cache of {} bytes does not fit the storage device ({cap} bytes)",
            image.len()
        );
        return Err(());
    }
    store.write_at(0, &image)?;
    Ok(Journal::empty(generation, archive))
}

fn checksum(b: &[u8]) -> [u8; CHECKSUM] {
    let d: [u8; 32] = Sha256::digest(b).into();
    let mut c = [0u8; CHECKSUM];
    c.copy_from_slice(&d[..CHECKSUM]);
    c
}

impl Journal {
    /// A journal without records after an archive of `archive` bytes.
    fn empty(generation: u64, archive: u64) -> Journal {
        Journal {
            generation,
            archive,
            tail: archive + SECTOR as u64,
            next_seq: 0,
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
        if r.message.len() > MAX_MESSAGE || self.fold_needed {
            return Err(AppendError::Full);
        }
        let b = self.encode(self.next_seq, r);
        let end = self.tail + b.len() as u64;
        let budget = self.archive.max(MIN_JOURNAL);
        let cap = store.capacity().ok_or(AppendError::Io)?;
        if end - self.archive > budget || end > cap {
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
}

/// What the device holds: the archive's files, and the journal after it
/// (None when there is none for this archive: the next UPDATE writes the
/// archive again) with its records in order.
#[derive(Default)]
pub struct Contents {
    pub files: Vec<(String, Vec<u8>)>,
    pub journal: Option<(Journal, Vec<Record>)>,
}

/// Read the device of `capacity` bytes through `read_at`.
pub fn read(
    capacity: u64,
    mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), ()>,
) -> Result<Contents, String> {
    let (files, end) = tar::read(capacity, tar::Limits::default(), &mut read_at)
        .map_err(|e| alloc::format!("storage: {e:?}"))?;
    let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.name, f.data)).collect();
    let journal = end.and_then(|archive| read_journal(capacity, archive, &files, &mut read_at));
    Ok(Contents { files, journal })
}

/// The journal after an archive ending at `archive`, if its header
/// belongs to these files.
fn read_journal(
    capacity: u64,
    archive: u64,
    files: &[(String, Vec<u8>)],
    read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), ()>,
) -> Option<(Journal, Vec<Record>)> {
    let mut head = [0u8; SECTOR];
    if archive + SECTOR as u64 > capacity || read_at(archive, &mut head).is_err() {
        return None;
    }
    if &head[..8] != HEAD_MAGIC || head[16..48] != digest(files) {
        return None;
    }
    let generation = u64::from_le_bytes(head[8..16].try_into().ok()?);
    let mut j = Journal::empty(generation, archive);
    let mut records = Vec::new();
    while let Some((r, len)) = read_record(&j, capacity, read_at) {
        records.push(r);
        j.tail += len;
        j.next_seq += 1;
    }
    Some((j, records))
}

/// The record at the journal's tail, and its length in bytes, when it is
/// the next one of this generation and whole.
fn read_record(
    j: &Journal,
    capacity: u64,
    read_at: &mut impl FnMut(u64, &mut [u8]) -> Result<(), ()>,
) -> Option<(Record, u64)> {
    let mut first = [0u8; SECTOR];
    if j.tail + SECTOR as u64 > capacity || read_at(j.tail, &mut first).is_err() {
        return None;
    }
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    if &first[..8] != REC_MAGIC
        || first[8..16] != j.generation.to_le_bytes()
        || u32_at(&first, 16) != j.next_seq
    {
        return None;
    }
    let mlen = u32_at(&first, 28) as usize;
    if mlen > MAX_MESSAGE {
        return None;
    }
    let len = (REC_HEAD + mlen + CHECKSUM).div_ceil(SECTOR) * SECTOR;
    if j.tail + len as u64 > capacity {
        return None;
    }
    let mut b = alloc::vec![0u8; len];
    b[..SECTOR].copy_from_slice(&first);
    if len > SECTOR {
        read_at(j.tail + SECTOR as u64, &mut b[SECTOR..]).ok()?;
    }
    let body = REC_HEAD + mlen;
    if b[body..body + CHECKSUM] != checksum(&b[..body]) {
        return None;
    }
    let r = Record {
        from: u32_at(&b, 20),
        to: u32_at(&b, 24),
        message: b[REC_HEAD..body].to_vec(),
    };
    Some((r, len as u64))
}

/// The zone cache as the appliance keeps it: the archive's files and the
/// journal after them.
#[derive(Default)]
pub struct Cache {
    pub files: Vec<(String, Vec<u8>)>,
    pub journal: Option<Journal>,
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
                Err(AppendError::Io) => return Err(()),
                Err(AppendError::Full) => {}
            }
        }
        let generation = self.generation(now_ns);
        let mut owed = self
            .journal
            .take()
            .unwrap_or_else(|| Journal::empty(generation, 0));
        let mut zones = owed.dirty.clone();
        if !zones.contains(zone) {
            zones.push(zone.clone());
        }
        let files = with_zones(&self.files, zs, &zones);
        match write_archive(store, &files, generation) {
            Ok(j) => {
                self.journal = Some(j);
                self.files = files;
                Ok(())
            }
            Err(()) => {
                // The device may hold half an archive: keep what must be
                // folded in and fold at the next UPDATE.
                (owed.fold_needed, owed.generation) = (true, owed.generation.max(generation));
                self.journal = Some(owed);
                Err(())
            }
        }
    }

    /// Write the archive of the files again, with a new journal (the zones
    /// came from the git remote: the files are what it holds).
    pub fn rewrite(&mut self, store: &mut dyn Store, now_ns: u64) -> Result<(), ()> {
        let generation = self.generation(now_ns);
        self.journal = None;
        self.journal = Some(write_archive(store, &self.files, generation)?);
        Ok(())
    }

    /// A generation number no journal on the device has had: the wall
    /// clock, above the last.
    fn generation(&self, now_ns: u64) -> u64 {
        let last = self.journal.as_ref().map_or(0, |j| j.generation);
        now_ns.max(last + 1)
    }
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
        let mut j = write_archive(&mut d, &files(1), 7).unwrap();
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
        let mut j = write_archive(&mut d, &files(1), 7).unwrap();
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
        let mut j = write_archive(&mut d, &files(1), 7).unwrap();
        j.append(&mut d, &zone(), &rec(0, 10)).unwrap();
        // The operator writes another archive of the same length over it.
        let other = crate::dns::archive(&files(2));
        d.bytes[..other.len()].copy_from_slice(&other);
        assert_eq!(read_back(&d).journal, None);
        // A new generation after the same files: the old records end it.
        let stale = d.bytes.clone();
        let j = write_archive(&mut d, &files(1), 8).unwrap();
        d.bytes[j.tail as usize..].copy_from_slice(&stale[j.tail as usize..]);
        assert_eq!(read_back(&d).journal.unwrap().1, alloc::vec![]);
        // A device that never had a journal.
        let mut d = disk(1 << 20);
        let a = crate::dns::archive(&files(1));
        d.bytes[..a.len()].copy_from_slice(&a);
        assert_eq!(read_back(&d).journal, None);
    }

    #[test]
    fn the_journal_is_full_at_the_device_end_or_its_budget() {
        let mut d = disk(64 * 1024);
        let mut j = write_archive(&mut d, &files(1), 1).unwrap();
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
        let mut j = write_archive(&mut d, &files(1), 1).unwrap();
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
            journal: None,
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
        let mut j = write_archive(&mut d, &files(1), 1).unwrap();
        let before = j.clone();
        d.fail = true;
        assert_eq!(j.append(&mut d, &zone(), &rec(0, 10)), Err(AppendError::Io));
        assert_eq!(j, before);
        assert!(write_archive(&mut d, &files(1), 2).is_err());
        // Too large for the device.
        let mut small = disk(1024);
        assert!(write_archive(&mut small, &files(1), 1).is_err());
    }
}
