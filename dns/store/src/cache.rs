//! The zone cache as the appliance keeps it: the files its zones were
//! loaded from and the journal after them. An UPDATE is made durable
//! before it is acknowledged (a record appended, or the archive written
//! again into the slot not in use and switched to by its header); the
//! files are written again when they change (a git fetch or push); at
//! boot (or a reload) the journal is replayed on the archive's zones.
//! The format and why a crash at any write loses nothing are in
//! docs/design.md ("Crash-safe storage").

use crate::archive::File;
use crate::device::{Device, DeviceError, SECTOR};
use crate::format::Layout;
use crate::journal::{write_archive, AppendError, Journal, Record};
use crate::naming::zone_file_name;
use crate::read::Contents;
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::zoneset::{LoadReport, ZoneSet};

/// The zone cache as the appliance keeps it: the archive's files and the
/// journal after them.
#[derive(Default)]
pub struct Cache {
    pub files: Vec<File>,
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
        dev: &mut dyn Device,
        zs: &ZoneSet,
        zone: &Name,
        record: &Record,
        now_ns: u64,
    ) -> Result<(), DeviceError> {
        if let Some(j) = self.journal.as_mut() {
            match j.append(dev, zone, record) {
                Ok(()) => return Ok(()),
                Err(AppendError::Io) => {
                    self.failed_writes += 1;
                    log::error!("storage: the journal write failed: the UPDATE of {zone} is not acknowledged");
                    return Err(DeviceError);
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
        self.switch(dev, files, now_ns)
    }

    /// Keep `file`, one the appliance changed itself (a zone's DNSSEC key
    /// file, issue 26), in place of the archive's file of that name: the
    /// archive written again with it and the zones the journal changed
    /// (a new generation, as when the journal is full).
    pub fn put_file(
        &mut self,
        dev: &mut dyn Device,
        zs: &ZoneSet,
        file: File,
        now_ns: u64,
    ) -> Result<(), DeviceError> {
        let dirty = self
            .journal
            .as_ref()
            .map_or(Vec::new(), |j| j.dirty.clone());
        let mut files = with_zones(&self.files, zs, &dirty);
        files.retain(|(n, _)| *n != file.0);
        files.push(file);
        self.switch(dev, files, now_ns)
    }

    /// Write the archive of the files again, with a new journal (the zones
    /// came from the git remote: the files are what it holds).
    pub fn rewrite(&mut self, dev: &mut dyn Device, now_ns: u64) -> Result<(), DeviceError> {
        let files = core::mem::take(&mut self.files);
        let r = self.switch(dev, files.clone(), now_ns);
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
        dev: &mut dyn Device,
        files: Vec<File>,
        now_ns: u64,
    ) -> Result<(), DeviceError> {
        let generation = self.generation(now_ns);
        let slot = self.journal.as_ref().map_or(0, |j| 1 - j.slot);
        let written = match self.journal.as_ref().filter(|j| j.bare) {
            Some(j) if !bare_fits(dev, j.tail) => Err(DeviceError),
            _ => write_archive(dev, &files, generation, slot),
        };
        match written {
            Ok(j) => {
                self.journal = Some(j);
                self.files = files;
                Ok(())
            }
            Err(DeviceError) => {
                self.failed_writes += 1;
                log::error!(
                    "storage: writing the archive into slot {slot} failed: the device keeps \
                     the previous one, folded again at the next UPDATE"
                );
                if let Some(j) = self.journal.as_mut() {
                    (j.fold_needed, j.generation) = (true, j.generation.max(generation));
                }
                Err(DeviceError)
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
fn bare_fits(dev: &dyn Device, used: u64) -> bool {
    let cap = dev.capacity().unwrap_or(0);
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
fn with_zones(files: &[File], zs: &ZoneSet, zones: &[Name]) -> Vec<File> {
    let mut out = files.to_vec();
    for zone in zones {
        let Some(z) = zs.zone(zone) else { continue };
        let text = gitns_dns::zone::printer::print(z).into_bytes();
        let file = zone_file_name(files, zone);
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

/// Replay the journal `j` (its `records`) on the zones just loaded,
/// reporting the changed zones as they are served.
fn replay_loaded(zs: &mut ZoneSet, rep: &mut LoadReport, j: &mut Journal, records: &[Record]) {
    let replayed = replay(zs, j, records);
    for zone in j.dirty.iter().filter_map(|z| zs.zone(z)) {
        let name = zone.origin.to_text();
        for l in rep.loaded.iter_mut().filter(|l| l.0 == name) {
            (l.1, l.2) = (zone.serial().unwrap_or(0), zone.record_count());
        }
    }
    if !records.is_empty() {
        log::info!(
            "storage: {} UPDATE(s) replayed from the journal",
            records.len()
        );
    }
    if let Err(e) = replayed {
        // The next UPDATE writes the archive again from what is served.
        log::error!("storage: {e}");
    }
}

/// The records kept over a read-only remote's files (crate::local), applied
/// on the zones loaded with them.
fn apply_local(zs: &mut ZoneSet, rep: &mut LoadReport, files: &[File]) {
    match crate::local::Local::from_files(files) {
        Ok(l) => l
            .apply(zs, rep)
            .iter()
            .for_each(|n| log::warn!("storage: {n}")),
        Err(e) => log::error!("storage: {e}: the certificates kept locally are not served"),
    }
}

/// Load the zones of `contents` (after `previous`, when reloading) and
/// replay its journal on them, then run `after` on the zones and the files
/// (DNSSEC signing, before the zones are compared with `previous`): the
/// zone set, the load report, the cache.
pub fn load(
    contents: Contents,
    previous: Option<&ZoneSet>,
    after: impl FnOnce(&mut ZoneSet, &[File]),
) -> (ZoneSet, LoadReport, Cache) {
    let mut journal = None;
    let (zones, report) = ZoneSet::load_then(&contents.files, previous, |zs, rep| {
        if let Some((mut j, records)) = contents.journal {
            replay_loaded(zs, rep, &mut j, &records);
            journal = Some(j);
        }
        apply_local(zs, rep, &contents.files);
        after(zs, &contents.files);
    });
    let c = Cache {
        files: contents.files,
        journal,
        failed_writes: 0,
    };
    (zones, report, c)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::testing::{disk, Failing};
    use crate::journal::tests::{files, zone};
    use crate::read::tests::read_back;

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
    fn a_file_put_survives_with_the_updates_before_it() {
        let (mut zs, mut c) = fresh();
        let mut dev = disk(64 * 1024);
        c.rewrite(&mut dev, 1).unwrap();
        let r = update(&mut zs, 1);
        c.commit(&mut dev, &zs, &zone(), &r, 2).unwrap();
        let key = (String::from("example.org._dnssec_keys"), b"csk".to_vec());
        c.put_file(&mut dev, &zs, key.clone(), 3).unwrap();
        let back = read_back(&dev);
        assert!(back.files.contains(&key));
        let (again, _) = ZoneSet::load(&back.files, None);
        let h1 = Name::parse("h1.example.org.", &Name::root()).unwrap();
        assert!(
            again.zone(&zone()).unwrap().node(&h1).is_some(),
            "the UPDATE folded in"
        );
        // Put again: replaced, not added.
        let key2 = (key.0.clone(), b"csk 2".to_vec());
        c.put_file(&mut dev, &zs, key2.clone(), 4).unwrap();
        let back = read_back(&dev);
        assert_eq!(back.files.iter().filter(|f| f.0 == key.0).count(), 1);
        assert!(back.files.contains(&key2));
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
                let (back, _, cache) = load(read_back(&d), None, |_, _| {});
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
        let (back, _, _) = load(read_back(&d), None, |_, _| {});
        assert_eq!(back.zone(&zone()), zs.zone(&zone()));
        assert!(!c.journal.as_ref().unwrap().fold_needed);
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
        disk: Failing,
        writes: usize,
        at: Option<(usize, Crash)>,
    }

    impl Device for Dying {
        fn capacity(&self) -> Option<u64> {
            self.disk.capacity()
        }

        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
            self.disk.read_at(offset, buf)
        }

        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
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
                        self.disk.mem.bytes[o..o + k].copy_from_slice(&data[..k]);
                    }
                    Crash::Garbled => {
                        self.disk.mem.bytes[o..o + data.len()].copy_from_slice(data);
                        self.disk.mem.bytes[o + data.len() - 7] ^= 0x5a;
                    }
                }
            }
            Err(DeviceError)
        }
    }

    /// A device as the tools pack it: the bare archive of `files(1)`.
    fn packed(size: usize) -> Failing {
        let mut d = disk(size);
        let a = crate::archive::write(&files(1), 0);
        d.mem.bytes[..a.len()].copy_from_slice(&a);
        d
    }

    /// Boot from `d`: the zones served and the cache.
    fn boot(d: &Failing) -> (ZoneSet, Cache) {
        let (zs, _, c) = load(read_back(d), None, |_, _| {});
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

    /// The bytes on the device after a fixed run of commits, folds and a
    /// rewrite: devices written before must keep loading, so the format
    /// changes only on purpose (checked equal to the code before the move
    /// into this crate, 2026-12-07).
    #[test]
    fn the_bytes_on_the_device_are_the_format_of_record() {
        use sha2::{Digest, Sha256};
        let mut dev = Dying {
            disk: packed(48 * 1024),
            writes: 0,
            at: None,
        };
        let (acked, _) = run_updates(&mut dev, 30);
        assert_eq!(acked.len(), 30);
        let hex: String = Sha256::digest(&dev.disk.mem.bytes)
            .iter()
            .map(|b| alloc::format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "174094db63c1c26626879c7ad1704ea2f19318b31a0bcc83fb24e44b303ac161"
        );
    }
}
