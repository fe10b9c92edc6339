//! Records the appliance keeps over a read-only remote's files (issue 28):
//! the certificates ACME writes back (internal UPDATEs) cannot be pushed
//! to an `https://` or `git://` repository, so with a storage device they
//! are kept beside the repository's files in the cache, as one hidden file
//! ([`FILE`]: zones are never loaded from a name starting with a dot), and
//! applied again on top of every version of the files: at boot and after
//! each fetch. A later write-back touching the same RRsets as an earlier
//! one replaces it, so the file holds one UPDATE per certificate owner.
//!
//! With each UPDATE the file keeps, per zone, the serial served when it
//! was written (the "floor"): applied again on the same files after a
//! restart, the zone gets back that serial rather than a lower one, so
//! secondaries are never asked to go back (RFC 1982, RFC 1996 3.11).
//!
//! The file: the line `gitns local records 1\n`, then entries of a kind
//! byte, a 4-byte big-endian length and the payload: kind 1 an UPDATE
//! message (RFC 2136 wire form), kind 2 a floor (4-byte serial, then the
//! zone's name in wire form).

use crate::archive::File;
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::update::{self, UpdateMsg};
use gitns_dns::zoneset::{LoadReport, ZoneSet};

/// The hidden file of the cache holding the local records.
pub const FILE: &str = ".gitns-local-records";

const MAGIC: &[u8] = b"gitns local records 1\n";
const KIND_UPDATE: u8 = 1;
const KIND_FLOOR: u8 = 2;
/// The file stays under this size: an UPDATE that would pass it is not
/// kept (answered SERVFAIL), the earlier ones stay.
pub const MAX_BYTES: usize = 256 * 1024;

/// Why the local records could not be read or extended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalError {
    /// The file is cut short, of another version, or holds a message that
    /// is not an UPDATE.
    Malformed,
    /// Keeping it would make the file larger than [`MAX_BYTES`].
    TooBig,
}

impl core::fmt::Display for LocalError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            LocalError::Malformed => "the local records file is malformed",
            LocalError::TooBig => "the local records would pass 256 KiB",
        })
    }
}

/// The UPDATEs kept locally, oldest first, and the serial floors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Local {
    updates: Vec<Vec<u8>>,
    floors: Vec<(Name, u32)>,
}

impl Local {
    /// The local records among `files` (none when the file is absent).
    pub fn from_files(files: &[File]) -> Result<Local, LocalError> {
        match files.iter().find(|(n, _)| n == FILE) {
            Some((_, data)) => Local::decode(data),
            None => Ok(Local::default()),
        }
    }

    /// The local records among `files`; a file that does not read is
    /// logged and the records start afresh (the next write replaces it).
    pub fn or_fresh(files: &[File]) -> Local {
        Local::from_files(files).unwrap_or_else(|e| {
            log::error!("storage: {e}: the records kept locally start afresh");
            Local::default()
        })
    }

    /// Read the file's bytes.
    pub fn decode(data: &[u8]) -> Result<Local, LocalError> {
        let mut rest = data.strip_prefix(MAGIC).ok_or(LocalError::Malformed)?;
        let mut l = Local::default();
        while let Some((&kind, tail)) = rest.split_first() {
            let len = tail.get(..4).ok_or(LocalError::Malformed)?;
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let body = tail.get(4..4 + len).ok_or(LocalError::Malformed)?;
            rest = &tail[4 + len..];
            match kind {
                KIND_UPDATE => {
                    update::parse(body).map_err(|_| LocalError::Malformed)?;
                    l.updates.push(body.to_vec());
                }
                KIND_FLOOR if len > 4 => {
                    let serial = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    let zone = Name::from_wire(&body[4..]).ok_or(LocalError::Malformed)?;
                    l.floors.push((zone, serial));
                }
                _ => return Err(LocalError::Malformed),
            }
        }
        Ok(l)
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let mut entry = |kind: u8, parts: &[&[u8]]| {
            let len: usize = parts.iter().map(|p| p.len()).sum();
            out.push(kind);
            out.extend_from_slice(&(len as u32).to_be_bytes());
            parts.iter().for_each(|p| out.extend_from_slice(p));
        };
        for u in &self.updates {
            entry(KIND_UPDATE, &[u]);
        }
        for (zone, serial) in &self.floors {
            entry(KIND_FLOOR, &[&serial.to_be_bytes(), zone.wire()]);
        }
        out
    }

    /// How many UPDATEs are kept.
    pub fn len(&self) -> usize {
        self.updates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// Keep the UPDATE `msg` (already applied to the zones served): it
    /// replaces an earlier one of the same zone touching the same RRsets.
    pub fn add(&mut self, msg: &[u8]) -> Result<(), LocalError> {
        let m = update::parse(msg).map_err(|_| LocalError::Malformed)?;
        let key = rrsets(&m);
        let mut next = self.clone();
        next.updates
            .retain(|u| update::parse(u).map_or(true, |o| o.zone != m.zone || rrsets(&o) != key));
        next.updates.push(msg.to_vec());
        if next.encode().len() > MAX_BYTES {
            return Err(LocalError::TooBig);
        }
        *self = next;
        Ok(())
    }

    /// Apply the UPDATEs, oldest first, to `zs` just loaded from files
    /// (before it is compared with what is served), then give each zone
    /// its floor when it came out lower; the load report `rep` shows the
    /// zones as changed. The lines to log: the UPDATEs whose zone is not
    /// there (they are kept for when it is back).
    pub fn apply(&self, zs: &mut ZoneSet, rep: &mut LoadReport) -> Vec<String> {
        let notes = self.apply_to(zs);
        for z in self.floors.iter().filter_map(|(n, _)| zs.zone(n)) {
            let name = z.origin.to_text();
            for l in rep.loaded.iter_mut().filter(|l| l.0 == name) {
                (l.1, l.2) = (z.serial().unwrap_or(0), z.record_count());
            }
        }
        notes
    }

    fn apply_to(&self, zs: &mut ZoneSet) -> Vec<String> {
        let mut notes = Vec::new();
        for m in self.updates.iter().filter_map(|u| update::parse(u).ok()) {
            let Some(mut z) = zs.zone(&m.zone).cloned() else {
                notes.push(alloc::format!(
                    "local records: zone {} is not among the files; its records wait",
                    m.zone.to_text()
                ));
                continue;
            };
            // None: the files hold it already (nothing changed).
            if update::apply_in_place(&mut z, &m).is_some() {
                zs.insert(z);
            }
        }
        for (zone, floor) in &self.floors {
            let Some(mut z) = zs.zone(zone).cloned() else {
                continue;
            };
            let below = z.serial().is_some_and(|s| gitns_dns::serial::gt(*floor, s));
            if below && z.set_serial(*floor).is_some() {
                zs.insert(z);
            }
        }
        notes
    }

    /// Remember the serials `zs` serves for the zones the UPDATEs change
    /// (when the file is written with those zones served).
    pub fn note_serials(&mut self, zs: &ZoneSet) {
        let mut floors: Vec<(Name, u32)> = Vec::new();
        for m in self.updates.iter().filter_map(|u| update::parse(u).ok()) {
            let serial = zs.zone(&m.zone).and_then(|z| z.serial());
            if let Some(s) = serial.filter(|_| !floors.iter().any(|(n, _)| *n == m.zone)) {
                floors.push((m.zone, s));
            }
        }
        self.floors = floors;
    }

    /// `files` (a remote's, or the cache's) without any file named
    /// [`FILE`], with these records as that file when there are any.
    pub fn into_files(&self, mut files: Vec<File>) -> Vec<File> {
        files.retain(|(n, _)| n != FILE);
        if !self.is_empty() {
            files.push((String::from(FILE), self.encode()));
        }
        files
    }
}

/// `files` (the cache's) with the UPDATE `msg` added to their local
/// records and the serials `zs` serves noted: the files to write, and how
/// many records they keep.
pub fn with_update(
    files: &[File],
    msg: &[u8],
    zs: &ZoneSet,
) -> Result<(Vec<File>, usize), LocalError> {
    let mut l = Local::or_fresh(files);
    l.add(msg)?;
    l.note_serials(zs);
    Ok((l.into_files(files.to_vec()), l.len()))
}

/// The RRsets an UPDATE touches: (owner, type) of its update section,
/// sorted, lower-cased.
fn rrsets(m: &UpdateMsg) -> Vec<(Vec<u8>, u16)> {
    let mut v: Vec<(Vec<u8>, u16)> = m
        .updates
        .iter()
        .map(|u| (u.name.to_lowercase().wire().to_vec(), u.rtype))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    fn files(serial: u32) -> Vec<File> {
        let text =
            alloc::format!("$TTL 60\n@ SOA ns hm {serial} 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
        alloc::vec![(String::from("example.org"), text.into_bytes())]
    }

    /// An UPDATE of example.org: delete `old` then add `new` as the TXT of
    /// `owner` (as ACME replaces a certificate: class NONE, then IN).
    fn replace_txt(owner: &str, old: Option<&str>, new: &str) -> Vec<u8> {
        let txt = |s: &str| {
            let mut r = alloc::vec![s.len() as u8];
            r.extend_from_slice(s.as_bytes());
            r
        };
        let mut m = alloc::vec![0, 7, 0x28, 0, 0, 1, 0, 0, 0];
        m.push(if old.is_some() { 2 } else { 1 });
        m.extend([0, 0]);
        m.extend(n("example.org.").wire());
        m.extend([0, 6, 0, 1]);
        let mut rr = |class: u16, ttl: u32, rdata: Vec<u8>| {
            m.extend(n(owner).wire());
            m.extend([0, 16]);
            m.extend(class.to_be_bytes());
            m.extend(ttl.to_be_bytes());
            m.extend((rdata.len() as u16).to_be_bytes());
            m.extend(rdata);
        };
        if let Some(o) = old {
            rr(254, 0, txt(o));
        }
        rr(1, 300, txt(new));
        m
    }

    fn txts(zs: &ZoneSet, owner: &str) -> usize {
        let z = zs.zone(&n("example.org.")).unwrap();
        let text = gitns_dns::zone::printer::print(z).to_ascii_lowercase();
        text.lines()
            .filter(|l| l.starts_with(owner) && l.contains("txt"))
            .count()
    }

    #[test]
    fn encode_decode_round_trip_and_malformed_files() {
        let mut l = Local::default();
        l.add(&replace_txt("a.example.org.", None, "one")).unwrap();
        let (mut zs, _) = ZoneSet::load(&files(5), None);
        l.apply(&mut zs, &mut LoadReport::default());
        l.note_serials(&zs);
        let bytes = l.encode();
        assert_eq!(Local::decode(&bytes), Ok(l.clone()));
        assert_eq!(
            Local::decode(&bytes[..bytes.len() - 1]),
            Err(LocalError::Malformed)
        );
        assert_eq!(
            Local::decode(b"gitns local records 2\n"),
            Err(LocalError::Malformed)
        );
        let mut bad = MAGIC.to_vec();
        bad.extend([KIND_UPDATE, 0, 0, 0, 3, 1, 2, 3]);
        assert_eq!(Local::decode(&bad), Err(LocalError::Malformed));
        assert_eq!(Local::from_files(&files(5)), Ok(Local::default()));
    }

    #[test]
    fn a_later_update_of_the_same_rrsets_replaces_the_earlier() {
        let mut l = Local::default();
        l.add(&replace_txt("a.example.org.", None, "one")).unwrap();
        l.add(&replace_txt("b.example.org.", None, "other"))
            .unwrap();
        l.add(&replace_txt("A.example.org.", Some("one"), "two"))
            .unwrap();
        assert_eq!(l.len(), 2);
        // On the files (which never held "one"), the result is the served one.
        let (mut zs, _) = ZoneSet::load(&files(5), None);
        assert!(l.apply(&mut zs, &mut LoadReport::default()).is_empty());
        assert_eq!(txts(&zs, "a.example.org."), 1);
        assert_eq!(txts(&zs, "b.example.org."), 1);
        let text = gitns_dns::zone::printer::print(zs.zone(&n("example.org.")).unwrap());
        assert!(
            text.contains("\"two\"") && !text.contains("\"one\""),
            "{text}"
        );
    }

    #[test]
    fn applied_again_after_a_restart_the_serial_is_the_floor() {
        let (mut served, _) = ZoneSet::load(&files(5), None);
        let mut l = Local::default();
        // Two write-backs served one after the other: serial 5 -> 6 -> 7.
        for (old, new) in [(None, "one"), (Some("one"), "two")] {
            let msg = replace_txt("a.example.org.", old, new);
            served
                .update_in_place(&update::parse(&msg).unwrap())
                .unwrap();
            l.add(&msg).unwrap();
        }
        l.note_serials(&served);
        let serial = |zs: &ZoneSet| zs.zone(&n("example.org.")).unwrap().serial().unwrap();
        assert_eq!(serial(&served), 7);
        let back = Local::from_files(&l.into_files(files(5))).unwrap();
        let (mut zs, _) = ZoneSet::load(&files(5), None);
        back.apply(&mut zs, &mut LoadReport::default());
        assert_eq!(serial(&zs), 7);
        assert_eq!(
            gitns_dns::zone::printer::print(zs.zone(&n("example.org.")).unwrap()),
            gitns_dns::zone::printer::print(served.zone(&n("example.org.")).unwrap())
        );
        // A new commit above the floor keeps its own serial (+1 for the record).
        let (mut zs, _) = ZoneSet::load(&files(20), None);
        back.apply(&mut zs, &mut LoadReport::default());
        assert_eq!(serial(&zs), 21);
        assert_eq!(txts(&zs, "a.example.org."), 1);
    }

    #[test]
    fn a_zone_gone_keeps_its_records_and_says_so() {
        let mut l = Local::default();
        l.add(&replace_txt("a.example.org.", None, "one")).unwrap();
        let mut zs = ZoneSet::default();
        let notes = l.apply(&mut zs, &mut LoadReport::default());
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("example.org"));
        let files = l.into_files(Vec::new());
        assert_eq!(Local::from_files(&files).unwrap().len(), 1);
        assert!(Local::default().into_files(files).is_empty());
    }

    #[test]
    fn the_file_has_a_size_limit() {
        let mut l = Local::default();
        let big = "x".repeat(250);
        let mut i = 0;
        let err = loop {
            let owner = alloc::format!("h{i}.example.org.");
            if let Err(e) = l.add(&replace_txt(&owner, None, &big)) {
                break e;
            }
            i += 1;
        };
        assert_eq!(err, LocalError::TooBig);
        assert!(l.encode().len() <= MAX_BYTES && l.len() == i);
    }
}
