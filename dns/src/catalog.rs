//! The catalog zone a primary publishes (RFC 9432, producer side): one
//! PTR per served zone under `zones.<catalog>`, so a secondary configured
//! with only the catalog follows every zone of the primary.
//!
//! ```text
//! catalog.invalid.                          0 SOA invalid. invalid. SERIAL 3600 600 2147483646 0
//! catalog.invalid.                          0 NS  invalid.
//! version.catalog.invalid.                  0 TXT "2"
//! <id>.zones.catalog.invalid.               0 PTR example.org.
//! ```
//!
//! - Member ids (RFC 9432 4.1) are the first 8 bytes of SHA-256 over the
//!   member's name in canonical form (lower case, RFC 4034 6.2), in hex:
//!   the same name gets the same id after a restart, on any primary, so a
//!   consumer never sees a zone removed and added again (which would drop
//!   its copy, RFC 9432 5.6).
//! - The serial is raised when the member list changes: to the wall-clock
//!   seconds if that is ahead (RFC 1982), else by one. So a restart, whose
//!   first catalog takes the clock, never goes back.
//! - TTL 0 everywhere (RFC 9432 4: TTLs in a catalog have no meaning);
//!   the NS is the "invalid." name RFC 9432 4.1 suggests.

use crate::name::Name;
use crate::rtype::{NS, PTR, SOA, TXT};
use crate::serial;
use crate::zone::{Src, Zone, ZoneBuilder};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

/// The catalog's version property (RFC 9432 4.2.1).
pub const VERSION: &str = "2";

/// The SOA timers of the catalog: refresh 1 h, retry 10 min, expire the
/// largest RFC 1982 allows, minimum 0 (RFC 9432 does not constrain them;
/// NOTIFY is what moves consumers).
const TIMERS: [u32; 4] = [3600, 600, 2_147_483_646, 0];

/// The producer's state: the catalog's name, its serial and the members
/// of the version last built.
pub struct Catalog {
    origin: Name,
    serial: Option<u32>,
    /// The members, sorted by canonical key.
    members: Vec<Name>,
}

impl Catalog {
    pub fn new(origin: Name) -> Catalog {
        Catalog {
            origin,
            serial: None,
            members: Vec::new(),
        }
    }

    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The zones served now (the catalog itself is left out); the new
    /// catalog when its member list changed, or on the first call. `wall`:
    /// seconds since the epoch.
    pub fn update<'a>(&mut self, zones: impl Iterator<Item = &'a Name>, wall: u64) -> Option<Zone> {
        let mut members: Vec<(Vec<u8>, &Name)> = zones
            .filter(|z| **z != self.origin)
            .map(|z| (z.key().to_vec(), z))
            .collect();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        members.dedup_by(|a, b| a.0 == b.0);
        let same = self.members.len() == members.len()
            && self.members.iter().zip(&members).all(|(m, n)| *m == *n.1);
        if self.serial.is_some() && same {
            return None;
        }
        let serial = next_serial(self.serial, wall);
        self.serial = Some(serial);
        self.members = members.into_iter().map(|(_, n)| n.clone()).collect();
        self.zone()
    }

    /// The catalog as last built (None before the first
    /// [`Catalog::update`]): to serve again after the zone set was
    /// replaced, the same version.
    pub fn zone(&self) -> Option<Zone> {
        Some(self.build(&self.members, self.serial?))
    }

    fn build(&self, members: &[Name], serial: u32) -> Zone {
        let mut b = ZoneBuilder::new(self.origin.clone());
        let invalid = Name::parse("invalid.", &Name::root()).expect("a valid name");
        let mut soa = invalid.wire().to_vec();
        soa.extend_from_slice(invalid.wire());
        for v in [serial].iter().chain(TIMERS.iter()) {
            soa.extend_from_slice(&v.to_be_bytes());
        }
        let src = Src::default();
        b.add(&self.origin, SOA, 0, &soa, src);
        b.add(&self.origin, NS, 0, invalid.wire(), src);
        let version = self
            .child("version")
            .expect("fits: the catalog name was parsed");
        let mut txt = alloc::vec![VERSION.len() as u8];
        txt.extend_from_slice(VERSION.as_bytes());
        b.add(&version, TXT, 0, &txt, src);
        for m in members {
            // A member whose id label does not fit under the catalog's
            // name (over 255 octets) cannot be listed.
            if let Some(owner) = self.child(&format!("{}.zones", member_id(m))) {
                b.add(&owner, PTR, 0, m.wire(), src);
            }
        }
        b.finish()
    }

    fn child(&self, labels: &str) -> Option<Name> {
        Name::parse(labels, &self.origin).ok()
    }
}

/// The next serial: the clock if it is ahead of `prev` (RFC 1982), else
/// `prev + 1`.
fn next_serial(prev: Option<u32>, wall: u64) -> u32 {
    let clock = wall as u32;
    match prev {
        Some(p) if !serial::gt(clock, p) => p.wrapping_add(1),
        _ => clock,
    }
}

/// A member's id: 16 hex digits of SHA-256 over its canonical name.
pub fn member_id(zone: &Name) -> String {
    let lower: Vec<u8> = zone.wire().iter().map(u8::to_ascii_lowercase).collect();
    let h = Sha256::digest(&lower);
    h[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::printer;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    fn text(z: &Zone) -> String {
        printer::print(z)
    }

    #[test]
    fn the_catalog_of_two_zones() {
        let mut c = Catalog::new(n("catalog.invalid."));
        let zones = [n("example.org."), n("Mirage."), n("catalog.invalid.")];
        let z = c.update(zones.iter(), 1_800_000_000).unwrap();
        let t = text(&z);
        assert!(
            t.contains(
                "catalog.invalid. 0 IN SOA invalid. invalid. 1800000000 3600 600 2147483646 0"
            ),
            "{t}"
        );
        assert!(t.contains("catalog.invalid. 0 IN NS invalid."), "{t}");
        assert!(t.contains("version.catalog.invalid. 0 IN TXT \"2\""), "{t}");
        let ptr = |zone: &str| {
            format!(
                "{}.zones.catalog.invalid. 0 IN PTR {zone}",
                member_id(&n(zone))
            )
        };
        assert!(t.contains(&ptr("example.org.")), "{t}");
        assert!(t.contains(&ptr("Mirage.")), "{t}");
        assert_eq!(
            t.matches(" PTR ").count(),
            2,
            "the catalog is not its own member: {t}"
        );
        assert_eq!(z.soa().map(|s| s.ttl), Some(0));
    }

    #[test]
    fn ids_are_stable_and_case_blind() {
        assert_eq!(member_id(&n("Example.ORG.")), member_id(&n("example.org.")));
        assert_ne!(member_id(&n("example.org.")), member_id(&n("example.net.")));
        let id = member_id(&n("example.org."));
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // SHA-256 of 07 "example" 03 "org" 00, first 8 bytes: fixed forever
        // (a consumer keys its copy of each member on it).
        assert_eq!(id, "640cf2756b8440ae"); // printf "\x07example\x03org\x00" | sha256sum
    }

    #[test]
    fn the_serial_moves_only_when_the_members_do() {
        let mut c = Catalog::new(n("catalog.invalid."));
        let a = [n("a.test."), n("b.test.")];
        let first = c.update(a.iter(), 1000).unwrap();
        assert_eq!(first.serial(), Some(1000));
        // Same members, in another order: nothing new.
        assert!(c.update(a.iter().rev(), 5000).is_none());
        assert_eq!(c.zone().unwrap(), first, "rebuilt as it was");
        // A zone added: the clock, being ahead.
        let b = [n("a.test."), n("b.test."), n("c.test.")];
        assert_eq!(c.update(b.iter(), 5000).unwrap().serial(), Some(5000));
        // Removed within the same second (or the clock behind): one more.
        assert_eq!(c.update(a.iter(), 4000).unwrap().serial(), Some(5001));
        // A restart: a fresh producer takes the clock, ahead of them all.
        let mut again = Catalog::new(n("catalog.invalid."));
        assert_eq!(again.update(a.iter(), 6000).unwrap().serial(), Some(6000));
        // Across the 32-bit wrap the clock is still "ahead" (RFC 1982).
        assert_eq!(next_serial(Some(u32::MAX - 5), (u32::MAX as u64) + 10), 9);
    }
}
