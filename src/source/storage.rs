//! The storage cache (the crate gitns-store on the platform's `storage`
//! block device): what every source keeps there, read back at boot; and,
//! without a git remote, the zone source itself: UPDATEs are made durable
//! in its journal, a signed NOTIFY reloads the zones from it.

use super::{install_set, Cx, ZoneSource};
use crate::dns::{Deferred, Prepare};
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::authority::Event;
use gitns_dns::name::Name;
use gitns_dns::zoneset::{LoadReport, ZoneSet};
use gitns_net::Platform;
use gitns_store::archive::File;
use gitns_store::{Cache, Device, DeviceError, Record};

/// The storage device of a platform.
struct PlatformStore<'a, P: Platform>(&'a mut P);

impl<P: Platform> Device for PlatformStore<'_, P> {
    fn capacity(&self) -> Option<u64> {
        self.0.block_capacity()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.0.block_read(offset, buf).map_err(|_| DeviceError)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.0.block_write(offset, data).map_err(|e| {
            log::error!("zone cache write failed: {e:?}");
            DeviceError
        })
    }
}

/// The storage cache: the files the zones were loaded from (zones and
/// `_keys`) and the journal of UPDATEs after them.
#[derive(Default)]
pub struct Storage {
    cache: Cache,
    /// Files the appliance changed itself (DNSSEC key files), waiting for
    /// the zone source to make them durable (crate::signing).
    pub unsaved: Vec<File>,
}

impl Storage {
    /// Read the device and load its zones (after `previous` on a reload:
    /// a zone that no longer loads keeps its last good version).
    pub fn load<P: Platform>(
        &mut self,
        platform: &mut P,
        previous: Option<&ZoneSet>,
    ) -> Result<(ZoneSet, LoadReport), String> {
        let contents = gitns_store::read(&mut PlatformStore(platform))?;
        let mut key_files = Vec::new();
        let sign = |zs: &mut ZoneSet, files: &[File]| {
            let prev = previous.map(|p| &p.signers);
            key_files = crate::signing::sign_loaded(platform, zs, files, prev);
        };
        let (zones, report, cache) = gitns_store::load(contents, previous, sign);
        crate::signing::queue(&mut self.unsaved, key_files);
        self.cache = cache;
        Ok((zones, report))
    }

    /// The zones at boot: none without a device, or when it cannot be read.
    pub fn boot<P: Platform>(platform: &mut P) -> (Storage, ZoneSet, LoadReport) {
        let mut s = Storage::default();
        match s.load(platform, None) {
            Ok((zones, report)) => (s, zones, report),
            Err(e) => {
                log::error!("{e}; starting without cached zones");
                (s, ZoneSet::default(), LoadReport::default())
            }
        }
    }

    /// The files kept (the names zones are kept under).
    pub fn files(&self) -> &[File] {
        &self.cache.files
    }

    /// Writes the device refused.
    pub fn failed_writes(&self) -> u64 {
        self.cache.failed_writes
    }

    /// Keep `files` (the source's files changed: a fetch, a push) and
    /// write them with a new journal, so a restart serves them before the
    /// source answers.
    pub fn keep<P: Platform>(&mut self, platform: &mut P, files: Option<Vec<File>>) {
        if let Some(f) = files {
            self.cache.files = f;
        }
        if platform.block_capacity().is_none() {
            return;
        }
        let now = platform.wall_clock_ns();
        if self
            .cache
            .rewrite(&mut PlatformStore(platform), now)
            .is_err()
        {
            log::warn!("storage: the zone cache was not written; a restart waits for the source");
        }
    }
}

impl Storage {
    /// Keep `file` (a DNSSEC key file the appliance changed) in the
    /// archive, with the zones the journal changed folded in.
    pub fn put_file<P: Platform>(&mut self, platform: &mut P, zs: &ZoneSet, file: File) {
        if platform.block_capacity().is_none() {
            return;
        }
        let (name, now) = (file.0.clone(), platform.wall_clock_ns());
        let mut dev = PlatformStore(platform);
        match self.cache.put_file(&mut dev, zs, file, now) {
            Ok(()) => log::info!("storage: {name} kept in the zone cache"),
            Err(DeviceError) => log::error!("storage: {name} was not written"),
        }
    }

    /// Make a change the appliance made itself to `zone` (a DNSSEC refresh:
    /// its serial `from` -> `to`, as the UPDATE `message`) part of the
    /// journal, so the UPDATEs after it replay at boot.
    pub fn journal_internal<P: Platform>(
        &mut self,
        platform: &mut P,
        zs: &ZoneSet,
        zone: &Name,
        (from, to): (u32, u32),
        message: Vec<u8>,
    ) {
        if platform.block_capacity().is_none() {
            return;
        }
        let now = platform.wall_clock_ns();
        let record = Record { from, to, message };
        if self
            .cache
            .commit(&mut PlatformStore(platform), zs, zone, &record, now)
            .is_err()
        {
            log::warn!("storage: the change of {zone} to serial {to} was not written");
        }
    }
}

/// The storage cache as the zone source (no git remote).
pub struct StorageSource;

impl<P: Platform> ZoneSource<P> for StorageSource {
    /// Files the appliance changed (DNSSEC key files) into the archive.
    fn run(&mut self, cx: &mut Cx<P>, _now: u64) -> bool {
        let files = core::mem::take(&mut cx.storage.unsaved);
        for file in files {
            cx.storage.put_file(cx.platform, &cx.dns.zones, file);
        }
        false
    }

    fn next_deadline(&self) -> Option<u64> {
        None
    }

    fn owns(&self, _zone: &Name) -> bool {
        true
    }

    /// Reload the zones from the device, keeping the last good version of
    /// any zone that no longer loads; NOTIFYs held for it are answered.
    fn resync(&mut self, cx: &mut Cx<P>, zone: &Name, _now: u64) {
        log::info!("NOTIFY for {zone}: reloading zones from the storage cache");
        match cx.storage.load(cx.platform, Some(&cx.dns.zones)) {
            Ok((zones, report)) => install_set(cx, zones, &report),
            Err(e) => {
                log::error!("reload after NOTIFY for {zone} failed: {e}; serving the loaded zones")
            }
        }
        let held = cx.dns.holds.reloaded();
        cx.replies.extend(cx.dns.release(held));
    }

    /// The journal as the sink: the UPDATE is prepared against the zones
    /// as the previous one left them (RFC 2136 3.7), its record appended
    /// synchronously, then kept and answered NOERROR, or withdrawn and
    /// answered SERVFAIL when the write failed (an acknowledged UPDATE
    /// survives a restart).
    fn update(&mut self, cx: &mut Cx<P>, d: Deferred, _now: u64) -> Result<(), Deferred> {
        let dns = &mut *cx.dns;
        let mut p = match dns.prepare(&d) {
            Prepare::Answer(msg) => {
                cx.replies.extend(msg.map(|m| dns.update_reply(&d, m)));
                return Ok(());
            }
            Prepare::Change(p) => p,
        };
        let record = Record {
            from: p.from,
            to: p.to,
            message: d.msg.clone(),
        };
        let wall_ns = cx.platform.wall_clock_ns();
        let mut dev = PlatformStore(&mut *cx.platform);
        let answer = match cx
            .storage
            .cache
            .commit(&mut dev, &dns.zones, &p.zone, &record, wall_ns)
        {
            Ok(()) => {
                log::info!(
                    "UPDATE of {} by {} committed to the zone cache",
                    p.zone,
                    p.key
                );
                let ok = core::mem::take(&mut p.ok);
                let zone = p.keep(&mut dns.zones, wall_ns / 1_000_000_000);
                dns.push_event(Event::Updated(zone));
                ok
            }
            Err(DeviceError) => {
                p.withdraw(&mut dns.zones);
                p.fail
            }
        };
        cx.replies.push(dns.update_reply(&d, answer));
        Ok(())
    }
}
