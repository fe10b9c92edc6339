//! The set of zones served, and how a repository's files become one: every
//! root-level file is a zone named by its file name; `NAME._keys` and
//! `_keys` hold TSIG keys and are never served (DESIGN.md).

use crate::dnssec::keyfile;
use crate::dnssec::policy::is_dnssec_file;
use crate::dnssec::signers::Signers;
use crate::journal::Journal;
use crate::keys::{self, Key};
use crate::name::Name;
use crate::serial;
use crate::zone::check::{self, Finding};
use crate::zone::parser::ParseError;
use crate::zone::{Saved, Zone};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Zones and keys.
#[derive(Clone, Debug, Default)]
pub struct ZoneSet {
    /// Zones by the canonical key of their origin; shared so that a zone
    /// transfer in progress keeps the version it started with.
    zones: BTreeMap<Vec<u8>, Arc<Zone>>,
    pub keys: Vec<Key>,
    /// IXFR history per zone, carried from version to version.
    journals: BTreeMap<Vec<u8>, Journal>,
    /// Origins of zones a secondary followed until they expired (keys as
    /// `zones`): names in them get SERVFAIL, not REFUSED.
    expired: BTreeSet<Vec<u8>>,
    /// The signers of the zones the appliance signs (issue 26): they keep
    /// them signed through UPDATEs and refreshes.
    pub signers: Signers,
}

/// What loading a file set found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Zones loaded: (name, serial, records).
    pub loaded: Vec<(String, u32, usize)>,
    /// Files rejected, with the error (file:line:col: what).
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Why one zone file was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneLoadError {
    Parse(ParseError),
    Check(Finding),
    BadName(String),
}

impl core::fmt::Display for ZoneLoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ZoneLoadError::Parse(e) => write!(f, "{e}"),
            ZoneLoadError::Check(e) => write!(f, "{e}"),
            ZoneLoadError::BadName(e) => f.write_str(e),
        }
    }
}

/// Why a journaled UPDATE could not be applied again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// Not an UPDATE message.
    Malformed,
    /// Its zone is not loaded.
    NoZone,
    /// The zone's serial is not the one the record starts from (or the
    /// result is not the serial it ended at): it belongs to other data.
    Serial { have: u32, from: u32 },
}

/// True for the files that hold keys.
pub fn is_keys_file(name: &str) -> bool {
    name == "_keys" || name.ends_with("._keys")
}

/// Parse and check one zone file (`name` is the zone), with includes
/// resolved among `files`.
pub fn load_zone(
    name: &str,
    text: &str,
    files: &[(String, Vec<u8>)],
) -> Result<(Zone, Vec<Finding>), ZoneLoadError> {
    let origin = Name::parse(name.trim_end_matches('.'), &Name::root())
        .ok()
        .filter(|o| !o.is_root())
        .ok_or_else(|| {
            ZoneLoadError::BadName(format!("{name}: the file name is not a domain name"))
        })?;
    let origin = Name::parse(&format!("{origin}"), &Name::root())
        .map_err(|e| ZoneLoadError::BadName(format!("{name}: {e}")))?;
    let include = |p: &str| {
        files
            .iter()
            .find(|(n, _)| n == p)
            .and_then(|(_, d)| String::from_utf8(d.clone()).ok())
    };
    check::parse_and_build(name, text, &origin, &include)
        .map_err(ZoneLoadError::Parse)?
        .map_err(ZoneLoadError::Check)
}

impl ZoneSet {
    /// Build from (file name, contents) pairs. A file that fails is
    /// reported and left out; `previous` supplies its last good version.
    pub fn load(files: &[(String, Vec<u8>)], previous: Option<&ZoneSet>) -> (ZoneSet, LoadReport) {
        Self::load_then(files, previous, |_, _| {})
    }

    /// [`ZoneSet::load`], with `then` run on the zones of the files before
    /// they are compared with `previous` (the storage journal replayed on
    /// its archive: the serials are then those it acknowledged).
    pub fn load_then(
        files: &[(String, Vec<u8>)],
        previous: Option<&ZoneSet>,
        then: impl FnOnce(&mut ZoneSet, &mut LoadReport),
    ) -> (ZoneSet, LoadReport) {
        let mut zs = ZoneSet::default();
        let mut rep = LoadReport::default();
        for (name, data) in files {
            if name.starts_with('.') || is_keys_file(name) || is_dnssec_file(name) {
                continue;
            }
            let Ok(text) = core::str::from_utf8(data) else {
                rep.errors.push(format!("{name}: not UTF-8 text"));
                continue;
            };
            match load_zone(name, text, files) {
                Ok((zone, warnings)) => {
                    rep.warnings.extend(warnings.iter().map(|w| w.to_string()));
                    rep.loaded.push((
                        zone.origin.to_text(),
                        zone.serial().unwrap_or(0),
                        zone.record_count(),
                    ));
                    zs.insert(zone);
                }
                Err(e) => {
                    rep.errors.push(e.to_string());
                    let kept = Name::parse(name, &Name::root())
                        .ok()
                        .and_then(|o| previous?.shared(&o));
                    if let Some(old) = kept {
                        rep.warnings.push(format!(
                            "{name}: keeping the last good version (serial {})",
                            old.serial().unwrap_or(0)
                        ));
                        zs.zones.insert(old.origin.key().to_vec(), old);
                    }
                }
            }
        }
        then(&mut zs, &mut rep);
        if let Some(prev) = previous {
            zs.keep_last_signed(prev, files, &mut rep);
            zs.signers.carry(&prev.signers, |o| {
                let k = o.key();
                matches!((zs.zones.get(&k[..]), prev.zones.get(&k[..])), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
            });
            zs.raise_serials(prev, &mut rep);
            zs.carry_journals(prev);
        }
        for (name, data) in files.iter().filter(|(n, _)| is_keys_file(n)) {
            match core::str::from_utf8(data)
                .map_err(|_| format!("{name}: not UTF-8 text"))
                .and_then(|t| keys::parse(name, t))
            {
                Ok(k) => zs.keys.extend(k),
                Err(e) => rep.errors.push(e),
            }
        }
        for (name, data) in files.iter().filter(|(n, _)| is_dnssec_file(n)) {
            let text = core::str::from_utf8(data).map_err(|_| format!("{name}: not UTF-8 text"));
            if let Err(e) = text.and_then(|t| keyfile::check(name, t).map_err(|e| e.to_string())) {
                rep.errors.push(e);
            }
        }
        (zs, rep)
    }

    /// Serve `z`, a version already served (shared with it).
    pub(crate) fn insert_shared(&mut self, z: Arc<Zone>) {
        self.expired.remove(&z.origin.key()[..]);
        self.zones.insert(z.origin.key().to_vec(), z);
    }

    pub fn insert(&mut self, z: Zone) {
        self.expired.remove(&z.origin.key()[..]);
        self.zones.insert(z.origin.key().to_vec(), Arc::new(z));
    }

    /// Put `z` in place of the zone of the same name (recording the change
    /// in its IXFR history); returns the old one.
    pub fn replace(&mut self, z: Zone) -> Option<Arc<Zone>> {
        let key = z.origin.key().to_vec();
        self.expired.remove(&key);
        if let Some(old) = self.zones.get(&key) {
            self.journals
                .entry(key.clone())
                .or_default()
                .record(old, &z);
        }
        self.zones.insert(key, Arc::new(z))
    }

    /// Apply the UPDATE `m` to its zone in place (copied first only when
    /// a zone transfer still streams this version) and record the change
    /// in the IXFR history: the nodes as they were, for
    /// [`ZoneSet::undo_update`]; None when nothing changed.
    pub fn update_in_place(&mut self, m: &crate::update::UpdateMsg) -> Option<Vec<Saved>> {
        let key = m.zone.key().to_vec();
        let z = Arc::make_mut(self.zones.get_mut(&key[..])?);
        let saved = crate::update::apply_in_place(z, m)?;
        self.journals
            .entry(key)
            .or_default()
            .record_saved(z, &saved);
        Some(saved)
    }

    /// Edit zone `origin` in place with `f` (copied first only when a zone
    /// transfer still streams this version), which returns the nodes as
    /// they were (None: nothing changed); the change is recorded in the
    /// IXFR history. A secondary applies an IXFR this way.
    pub fn edit_in_place<E>(
        &mut self,
        origin: &Name,
        f: impl FnOnce(&mut Zone) -> Result<Vec<Saved>, E>,
    ) -> Option<Result<(), E>> {
        let key = origin.key().to_vec();
        let z = Arc::make_mut(self.zones.get_mut(&key[..])?);
        Some(f(z).map(|saved| {
            self.journals
                .entry(key)
                .or_default()
                .record_saved(z, &saved)
        }))
    }

    /// As [`ZoneSet::edit_in_place`], continuing the change last recorded
    /// (its nodes as they were before it: `earlier`): one version in the
    /// IXFR history, not two at one serial. An UPDATE of a signed zone is
    /// signed this way.
    pub fn amend_in_place(
        &mut self,
        origin: &Name,
        earlier: &[Saved],
        f: impl FnOnce(&mut Zone) -> Vec<Saved>,
    ) -> Option<Vec<Saved>> {
        let key = origin.key().to_vec();
        let z = Arc::make_mut(self.zones.get_mut(&key[..])?);
        let later = f(z);
        let mut all = earlier.to_vec();
        all.extend(
            later
                .iter()
                .filter(|s| !earlier.iter().any(|e| e.key() == s.key()))
                .cloned(),
        );
        let j = self.journals.entry(key).or_default();
        j.undo();
        j.record_saved(z, &all);
        Some(all)
    }

    /// Stop serving zone `origin`; its IXFR history (and an expired
    /// mark) goes with it.
    pub fn remove(&mut self, origin: &Name) -> Option<Arc<Zone>> {
        let key = origin.key();
        self.journals.remove(&key[..]);
        self.expired.remove(&key[..]);
        self.zones.remove(&key[..])
    }

    /// A secondary's copy of `origin` expired (RFC 1035 3.3.13: it is no
    /// longer authoritative): the zone is dropped and, until a new version
    /// is installed, names in it are answered SERVFAIL, as Knot answers a
    /// zone without contents (REFUSED would say we never served it).
    pub fn expire(&mut self, origin: &Name) {
        self.remove(origin);
        self.expired.insert(origin.key().to_vec());
    }

    /// True when the closest enclosing zone of `name` we know is an
    /// expired one (a zone served below an expired one still answers).
    pub fn is_expired_for(&self, name: &Name) -> bool {
        if self.expired.is_empty() {
            return false;
        }
        let key = name.key();
        let labels = name.label_count();
        let served = (0..=labels)
            .rev()
            .find(|&k| self.zones.contains_key(Name::key_prefix(&key, k)));
        (0..=labels)
            .rev()
            .find(|&k| self.expired.contains(Name::key_prefix(&key, k)))
            .is_some_and(|e| served.is_none_or(|s| e > s))
    }

    /// Undo an [`ZoneSet::update_in_place`] of zone `origin`.
    pub fn undo_update(&mut self, origin: &Name, saved: &[Saved]) {
        let key = origin.key();
        if let Some(z) = self.zones.get_mut(&key[..]) {
            crate::update::undo(Arc::make_mut(z), saved);
        }
        if let Some(j) = self.journals.get_mut(&key[..]) {
            j.undo();
        }
    }

    /// The IXFR history of the zone named `origin`.
    pub fn journal(&self, origin: &Name) -> Option<&Journal> {
        self.journals.get(&origin.key()[..])
    }

    /// A zone whose content changed but whose serial is not above the one
    /// served (RFC 1982) is served with the served serial plus one:
    /// secondaries transfer only a higher serial (RFC 1996 3.11, RFC 1995),
    /// and the IXFR history needs one too. Happens when the source forgot
    /// to raise it, or when the served zone moved on without the source
    /// (challenge TXT records, an UPDATE not yet in a reload).
    fn raise_serials(&mut self, prev: &ZoneSet, rep: &mut LoadReport) {
        for (key, zone) in self.zones.iter_mut() {
            let Some(old) = prev.zones.get(key) else {
                continue;
            };
            let (Some(was), Some(now)) = (old.serial(), zone.serial()) else {
                continue;
            };
            if serial::gt(now, was) || Arc::ptr_eq(old, zone) || **old == **zone {
                continue;
            }
            // Only the serial went down: nothing changed, keep what is served.
            if Arc::make_mut(zone).set_serial(was).is_some() && **old == **zone {
                *zone = old.clone();
                continue;
            }
            let raised = serial::next(was);
            if Arc::make_mut(zone).set_serial(raised).is_none() {
                continue;
            }
            let name = zone.origin.to_text();
            rep.warnings.push(alloc::format!(
                "{name}: serial {now} is not above the {was} served; serving it as {raised}"
            ));
            for l in rep.loaded.iter_mut().filter(|l| l.0 == name) {
                l.1 = raised;
            }
        }
    }

    /// Take over `prev`'s histories, adding the change to each zone that
    /// differs from its previous version.
    fn carry_journals(&mut self, prev: &ZoneSet) {
        for (key, zone) in &self.zones {
            let mut j = prev.journals.get(key).cloned().unwrap_or_default();
            if let Some(old) = prev.zones.get(key) {
                if !Arc::ptr_eq(old, zone) && old != zone {
                    j.record(old, zone);
                }
            }
            if !j.is_empty() {
                self.journals.insert(key.clone(), j);
            }
        }
    }

    /// The zone named exactly `origin`.
    pub fn zone(&self, origin: &Name) -> Option<&Zone> {
        self.zones.get(&origin.key()[..]).map(|z| &**z)
    }

    /// The zone named exactly `origin`, shared: it stays as it is while
    /// the set moves on (a transfer streams from it).
    pub fn shared(&self, origin: &Name) -> Option<Arc<Zone>> {
        self.zones.get(&origin.key()[..]).cloned()
    }

    /// The zone with the longest origin at or above `name`.
    pub fn zone_for(&self, name: &Name) -> Option<&Zone> {
        self.zone_for_key(&name.key(), name.label_count())
    }

    /// [`ZoneSet::zone_for`] the name of canonical key `key` with `labels`
    /// labels.
    pub fn zone_for_key(&self, key: &[u8], labels: usize) -> Option<&Zone> {
        (0..=labels)
            .rev()
            .find_map(|k| self.zones.get(Name::key_prefix(key, k)))
            .map(|z| &**z)
    }

    /// Apply again an UPDATE that was acknowledged when the zone was at
    /// serial `from` and left it at `to` (the storage journal, replayed
    /// on the archive it follows), in place. Prerequisites and keys were
    /// checked when it was acknowledged; on the same zone content the
    /// edits give the same result, so only the serials are checked.
    /// Returns the zone's origin. The IXFR history is not extended. When
    /// the result is not at `to` the edits stay (the caller stops the
    /// replay and rewrites the archive from what is served).
    pub fn replay_update(&mut self, msg: &[u8], from: u32, to: u32) -> Result<Name, ReplayError> {
        let m = crate::update::parse(msg).map_err(|_| ReplayError::Malformed)?;
        let zone = self
            .zones
            .get_mut(&m.zone.key()[..])
            .ok_or(ReplayError::NoZone)?;
        let have = zone.serial().ok_or(ReplayError::NoZone)?;
        if have != from {
            return Err(ReplayError::Serial { have, from });
        }
        // Unshared while the journal is replayed: no copy.
        let zone = Arc::make_mut(zone);
        crate::update::replay(zone, &m).ok_or(ReplayError::NoZone)?;
        match zone.serial() {
            Some(s) if s == to => Ok(zone.origin.clone()),
            s => Err(ReplayError::Serial {
                have: s.unwrap_or(0),
                from: to,
            }),
        }
    }

    pub fn zones(&self) -> impl Iterator<Item = &Zone> {
        self.zones.values().map(|z| &**z)
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

impl ZoneSet {
    /// After a load (this set, from `files`) that replaces `prev`: a zone with a
    /// policy that was signed before and could not be signed now (a broken
    /// key file or policy: the signing logged why) keeps its last good signed
    /// version, with its signer, rather than going out unsigned under a DS.
    /// The report says so.
    fn keep_last_signed(
        &mut self,
        prev: &ZoneSet,
        files: &[(alloc::string::String, Vec<u8>)],
        rep: &mut LoadReport,
    ) {
        for zone in files
            .iter()
            .filter_map(|(n, _)| crate::dnssec::policy::policy_zone(n))
        {
            let Ok(origin) = Name::parse(zone, &Name::root()) else {
                continue;
            };
            if self.signers.signs(&origin) || !prev.signers.signs(&origin) {
                continue;
            }
            let Some(old) = prev.shared(&origin) else {
                continue;
            };
            rep.warnings.push(alloc::format!(
                "{zone}: not signed; keeping the last good signed version (serial {})",
                old.serial().unwrap_or(0)
            ));
            self.insert_shared(old);
            self.signers.carry(&prev.signers, |o| *o == origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, text: &str) -> (String, Vec<u8>) {
        (name.to_string(), text.as_bytes().to_vec())
    }

    const GOOD: &str = "$TTL 60\n@ SOA ns hm 5 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";

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

    fn example() -> ZoneSet {
        ZoneSet::load(&[f("example.org", GOOD)], None).0
    }

    #[test]
    fn a_zone_edited_in_place_keeps_its_history_and_goes_when_removed() {
        let origin = Name::parse("example.org.", &Name::root()).unwrap();
        let mut zs = example();
        let m = crate::update::parse(&add_a("new.example.org.", [192, 0, 2, 9])).unwrap();
        let r = zs.edit_in_place(&origin, |z| {
            crate::update::apply_in_place(z, &m).ok_or("nothing changed")
        });
        assert_eq!(r, Some(Ok(())));
        let z = zs.zone(&origin).unwrap();
        assert_eq!(z.serial(), Some(6));
        assert!(zs.journal(&origin).is_some_and(|j| j.chain(5, 6).is_some()));
        let failed = zs.edit_in_place(&origin, |_| Err::<Vec<_>, _>("no"));
        assert_eq!(failed, Some(Err("no")));
        let other = Name::parse("other.org.", &Name::root()).unwrap();
        assert!(zs
            .edit_in_place(&other, |_| Err::<Vec<_>, _>("no"))
            .is_none());
        assert!(zs.remove(&origin).is_some());
        assert!(zs.zone(&origin).is_none() && zs.journal(&origin).is_none());
    }

    #[test]
    fn a_replayed_update_gives_the_zone_it_gave_then() {
        let origin = Name::parse("example.org.", &Name::root()).unwrap();
        let msg = add_a("new.example.org.", [192, 0, 2, 77]);
        let then = crate::update::apply(
            example().zone(&origin).unwrap(),
            &crate::update::parse(&msg).unwrap(),
        )
        .unwrap();
        assert_eq!(then.serial(), Some(6));
        let mut zs = example();
        assert_eq!(zs.replay_update(&msg, 5, 6), Ok(origin.clone()));
        assert_eq!(*zs.zone(&origin).unwrap(), then);
        // The next one starts from 6.
        let msg2 = add_a("new2.example.org.", [192, 0, 2, 78]);
        assert_eq!(zs.replay_update(&msg2, 6, 7), Ok(origin.clone()));
        assert_eq!(zs.zone(&origin).unwrap().serial(), Some(7));
    }

    #[test]
    fn a_record_of_other_data_is_refused() {
        let msg = add_a("new.example.org.", [192, 0, 2, 77]);
        let mut zs = example();
        // Written when the zone was at another serial.
        assert_eq!(
            zs.replay_update(&msg, 4, 5),
            Err(ReplayError::Serial { have: 5, from: 4 })
        );
        // Ended at another serial than it gives here: refused, the edits
        // stay (the caller rewrites the archive from what is served).
        assert_eq!(
            zs.replay_update(&msg, 5, 9),
            Err(ReplayError::Serial { have: 6, from: 9 })
        );
        let origin = Name::parse("example.org.", &Name::root()).unwrap();
        assert_eq!(zs.zone(&origin).unwrap().serial(), Some(6));
        assert_eq!(zs.replay_update(b"junk", 6, 7), Err(ReplayError::Malformed));
        let other = {
            let mut m = msg.clone();
            m[12 + 1..12 + 8].copy_from_slice(b"exampla");
            m
        };
        assert_eq!(zs.replay_update(&other, 6, 7), Err(ReplayError::NoZone));
    }

    #[test]
    fn files_become_zones_and_keys() {
        let files = [
            f("example.org", GOOD),
            f("sub.example.org", GOOD),
            f("example.org._keys", "personal._update.example.org. DNSKEY 0 3 163 kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=\n"),
            f("broken.net", "$TTL 60\n@ SOA ns hm 1 2 3 4\n"),
        ];
        let (zs, rep) = ZoneSet::load(&files, None);
        assert_eq!(rep.loaded.len(), 2);
        assert_eq!(rep.errors.len(), 1);
        assert!(
            rep.errors[0].starts_with("broken.net:2:"),
            "{:?}",
            rep.errors
        );
        assert_eq!(zs.keys.len(), 1);
        let n = |s: &str| Name::parse(s, &Name::root()).unwrap();
        assert_eq!(
            zs.zone_for(&n("www.sub.example.org.")).unwrap().origin,
            n("sub.example.org.")
        );
        assert_eq!(
            zs.zone_for(&n("www.example.org.")).unwrap().origin,
            n("example.org.")
        );
        assert!(zs.zone_for(&n("example.com.")).is_none());
        assert!(
            zs.zone(&n("example.org._keys.")).is_none(),
            "keys are never a zone"
        );
    }

    /// DNSSEC policy and key files (issue 26) are never zones; a broken
    /// one is reported with its line.
    #[test]
    fn dnssec_files_are_checked_not_loaded() {
        let files = [
            f("example.org", GOOD),
            f("example.org._dnssec", "denial nsec3\n"),
            f("example.org._dnssec_keys", "# none yet\n"),
            f("example.net._dnssec", "algorithm rsamd5\n"),
        ];
        let (zs, rep) = ZoneSet::load(&files, None);
        assert_eq!(rep.loaded.len(), 1);
        assert_eq!(rep.errors.len(), 1, "{:?}", rep.errors);
        assert!(rep.errors[0].starts_with("example.net._dnssec:1: unknown algorithm"));
        let n = |s: &str| Name::parse(s, &Name::root()).unwrap();
        assert!(zs.zone(&n("example.org._dnssec.")).is_none());
    }

    #[test]
    fn a_broken_update_keeps_the_last_good_zone() {
        let (old, _) = ZoneSet::load(&[f("example.org", GOOD)], None);
        let (new, rep) = ZoneSet::load(&[f("example.org", "garbage here\n")], Some(&old));
        assert_eq!(rep.errors.len(), 1);
        assert_eq!(new.zones().next().unwrap().serial(), Some(5));
    }

    #[test]
    fn a_changed_zone_without_a_higher_serial_is_served_above_the_old() {
        let (old, _) = ZoneSet::load(&[f("example.org", GOOD)], None);
        // Same serial (5), one more record: served as 6, and said so.
        let more = alloc::format!("{GOOD}extra A 192.0.2.9\n");
        let (new, rep) = ZoneSet::load(&[f("example.org", &more)], Some(&old));
        assert_eq!(new.zones().next().unwrap().serial(), Some(6));
        assert_eq!(rep.loaded[0].1, 6);
        assert!(
            rep.warnings
                .iter()
                .any(|w| w.contains("serial 5 is not above the 5 served")),
            "{:?}",
            rep.warnings
        );
        // The IXFR history goes from 5 to 6.
        let origin = new.zones().next().unwrap().origin.clone();
        assert!(!new.journal(&origin).unwrap().is_empty());
        // A lower serial likewise; an unchanged zone keeps its serial; a
        // higher one is taken as it is.
        let lower = more.replace(" 5 ", " 3 ");
        assert_ne!(lower, more, "the test zone has serial 5");
        let (newer, _) = ZoneSet::load(&[f("example.org", &lower)], Some(&new));
        assert_eq!(
            newer.zones().next().unwrap().serial(),
            Some(6),
            "only the serial went down: the served zone stays"
        );
        let (same, rep) = ZoneSet::load(&[f("example.org", GOOD)], Some(&old));
        assert_eq!(same.zones().next().unwrap().serial(), Some(5));
        assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
        let higher = more.replace(" 5 ", " 9 ");
        let (up, rep) = ZoneSet::load(&[f("example.org", &higher)], Some(&new));
        assert_eq!(up.zones().next().unwrap().serial(), Some(9));
        assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
    }
}
