//! The secondary at boot: the zones read from the storage cache are
//! served already; the core learns what it holds of each and checks them
//! at once. A zone followed by a key with no copy (never transferred, or
//! expired before the restart) is answered SERVFAIL until its first
//! transfer, as Knot answers a zone it is configured for but has not
//! loaded: the expired mark is not lost across a reboot.

use super::{Action, Secondary};
use crate::zoneset::ZoneSet;
use alloc::format;

impl Secondary {
    /// Zones read from the storage cache at boot (served already): the
    /// catalog first, whose stored version names the members; each
    /// followed zone is checked at once. A stored zone that no key or
    /// catalog covers is served as stored, not refreshed (logged).
    pub fn restore_set(&mut self, zs: &ZoneSet, now: u64) {
        let cat = self.catalog.as_ref().map(|c| c.name.clone());
        if let Some(z) = cat.as_ref().and_then(|c| zs.zone(c)) {
            self.restore_zone(z, now);
            self.catalog_changed(zs, now);
        }
        for z in zs.zones() {
            let member = self.catalog.as_ref().is_some_and(|c| c.has(&z.origin));
            if member || self.is_catalog(&z.origin) {
                continue;
            }
            if self.catalog.is_some() && !self.follows(&z.origin) {
                let why = format!(
                    "secondary: {} from storage is in no catalog or key we follow: served as stored, not refreshed",
                    z.origin
                );
                self.out.push(Action::Log(why));
                continue;
            }
            self.restore_zone(z, now);
        }
        self.unloaded_answer_servfail();
    }

    /// Followed zones with no copy: SERVFAIL until a transfer brings one.
    fn unloaded_answer_servfail(&mut self) {
        for f in self.zones.values().filter(|f| f.serial().is_none()) {
            let line = format!(
                "secondary {}: no copy yet: SERVFAIL until the primary transfers it",
                f.origin
            );
            self.out.push(Action::Log(line));
            self.out.push(Action::Expire {
                zone: f.origin.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{key, name, zone, Net};
    use crate::zoneset::ZoneSet;
    use alloc::vec;

    #[test]
    fn a_followed_zone_without_a_copy_is_servfail_until_transferred() {
        let (k, k2) = (key("example.org.", 1), key("other.example.", 2));
        let (z, o) = (zone("example.org.", 1, 2), zone("other.example.", 4, 1));
        let keys = vec![k, k2];
        let mut net = Net::new(&[z.clone(), o.clone()], keys.clone(), &keys);
        // example.org kept on the device; other.example never transferred
        // (or expired before the restart); the primary is away.
        let mut stored = ZoneSet::default();
        stored.insert(z.clone());
        net.zs = Some(stored.clone());
        net.sec.restore_set(&stored, 0);
        net.up = false;
        net.at(0);
        assert_eq!(net.expired, [name("other.example.")]);
        let zs = net.zs.as_ref().unwrap();
        assert!(zs.is_expired_for(&name("www.other.example.")), "SERVFAIL");
        assert!(!zs.is_expired_for(&name("www.example.org.")));
        assert_eq!(net.served("example.org."), Some(&z));
        assert!(net.log.iter().any(|l| l.contains("no copy yet")));
        // The primary back: transferred, answered.
        net.up = true;
        let mut t = 0;
        while net.served("other.example.").is_none() {
            t += 1_000;
            net.at(t);
            assert!(t < 600_000, "{:?}", net.log);
        }
        assert_eq!(net.served("other.example."), Some(&o));
        let zs = net.zs.as_ref().unwrap();
        assert!(!zs.is_expired_for(&name("www.other.example.")));
    }
}
