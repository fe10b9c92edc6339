//! The secondary as a catalog consumer (RFC 9432 5, issue 23): the
//! catalog zone is followed like any zone; each version installed (or
//! restored from storage at boot) is read ([`super::catalog_in`]) and its
//! members followed from the catalog's primary with the catalog's key:
//! new members are transferred, members that left are no longer served
//! (their data dropped with them, 5.3), a member whose id changed is
//! dropped and transferred afresh (5.4, 5.6).

use super::catalog_in::{Changes, Consumer};
use super::source::Source;
use super::{held_soa, Action, Secondary};
use crate::name::Name;
use crate::zoneset::ZoneSet;
use alloc::format;
use alloc::vec::Vec;

impl Secondary {
    /// Follow the members of catalog `name` (`--follow-catalog`): the
    /// catalog from the source that covers it (a key of its own, else a
    /// root key), its members from the same primary with the same key.
    /// Root keys then stand for the catalog only, no longer for "every
    /// zone the primary announces". False: no key covers the catalog.
    pub fn consume(&mut self, name: Name, now: u64) -> bool {
        let src = match (self.zones.get(&name.key()[..]), self.catch_all.first()) {
            (Some(f), _) => f.source.clone(),
            (None, Some((s, _))) => Source {
                zone: name.clone(),
                ..s.clone()
            },
            (None, None) => {
                let why = format!("secondary: no key covers the catalog {name}; not followed");
                self.out.push(Action::Log(why));
                return false;
            }
        };
        self.catch_all.clear();
        let line = format!(
            "secondary: catalog {name} from primary {}: its members are followed (RFC 9432); a root key stands for the catalog only",
            src.primary
        );
        self.out.push(Action::Log(line));
        self.follow(src, now);
        self.catalog = Some(Consumer::new(name));
        true
    }

    /// Is `zone` the catalog we consume?
    pub(super) fn is_catalog(&self, zone: &Name) -> bool {
        self.catalog.as_ref().is_some_and(|c| c.name == *zone)
    }

    /// The catalog's new version is served in `zs`: members that left
    /// (or must be reset) are taken out of it, the caller told by
    /// [`Action::Dropped`]; new members are followed.
    pub(super) fn catalog_installed(&mut self, zs: &mut ZoneSet, now: u64) {
        for zone in self.catalog_changed(zs, now) {
            zs.remove(&zone);
            self.out.push(Action::Dropped { zone });
        }
    }

    /// Take up the catalog version served in `zs`: follow its new
    /// members (from their copy in `zs` when there is one: restored at
    /// boot); the zones to stop serving. A broken version changes
    /// nothing.
    pub(super) fn catalog_changed(&mut self, zs: &ZoneSet, now: u64) -> Vec<Name> {
        let Some(c) = self.catalog.as_mut() else {
            return Vec::new();
        };
        let (name, zones) = (c.name.clone(), &self.zones);
        let Some(cat) = zs.zone(&name) else {
            return Vec::new();
        };
        let ch = match c.apply(cat, &|m| zones.contains_key(&m.key()[..])) {
            Ok(ch) => ch,
            Err(e) => {
                let why = format!("secondary: catalog {name} is broken: {e}; its members stay");
                self.out.push(Action::Log(why));
                return Vec::new();
            }
        };
        let Some(src) = self.zones.get(&name.key()[..]).map(|f| f.source.clone()) else {
            return Vec::new();
        };
        self.log_changes(&name, &ch);
        let mut gone = Vec::new();
        for zone in ch.removed.iter().chain(&ch.reset) {
            self.zones.remove(&zone.key()[..]);
            self.out.push(Action::Close { zone: zone.clone() });
            gone.push(zone.clone());
        }
        for zone in ch.reset.iter().chain(&ch.added) {
            let f = self.follow(
                Source {
                    zone: zone.clone(),
                    ..src.clone()
                },
                now,
            );
            let stored = zs.zone(zone).filter(|_| !gone.contains(zone));
            if let Some(held) = stored.and_then(held_soa) {
                f.restore(held, now);
            }
        }
        gone
    }

    fn log_changes(&mut self, name: &Name, ch: &Changes) {
        let lines = [
            (&ch.added, "added: following it"),
            (&ch.removed, "removed: no longer served"),
            (
                &ch.reset,
                "listed under a new id: reset, transferred afresh (RFC 9432 5.4)",
            ),
            (
                &ch.clashes,
                "ignored: the zone is configured or listed otherwise (RFC 9432 5.2)",
            ),
        ];
        for (zones, what) in lines {
            for z in zones {
                let line = format!("secondary: catalog {name}: member {z} {what}");
                self.out.push(Action::Log(line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{key, name, zone, Net, PRIMARY};
    use crate::keys::Key;
    use crate::zone::parser::parse_str;
    use crate::zone::Zone;
    use crate::zoneset::ZoneSet;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    const CAT: &str = "catalog.invalid.";

    /// Catalog version `serial` listing `members` (id, zone) with the
    /// version property `version`.
    fn cat(serial: u32, members: &[(&str, &str)], version: &str) -> Zone {
        let mut t = format!("$ORIGIN {CAT}\n@ 0 SOA invalid. invalid. {serial} 3600 600 2147483646 0\n@ 0 NS invalid.\nversion 0 TXT \"{version}\"\n");
        for (id, z) in members {
            t += &format!("{id}.zones 0 PTR {z}\n");
        }
        Zone::from_records(name(CAT), &parse_str("c", &t, &name(CAT)).unwrap().records)
    }

    /// A primary with the catalog (listing a.test and b.test), a.test,
    /// b.test, c.test and mine.test; the secondary with a root key (and
    /// `more` keys) consuming the catalog, after its first turn.
    fn consumer(more: &[Key]) -> (Net, Key) {
        let root = key("", 7);
        let zones = [
            cat(1, &[("m1", "a.test."), ("m2", "b.test.")], "2"),
            zone("a.test.", 1, 2),
            zone("b.test.", 1, 2),
            zone("c.test.", 1, 2),
            zone("mine.test.", 1, 2),
        ];
        let mut keys = vec![root.clone()];
        keys.extend_from_slice(more);
        let mut net = Net::new(&zones, keys.clone(), &keys);
        net.zs = Some(ZoneSet::default());
        assert!(net.sec.consume(name(CAT), 0));
        net.at(0);
        (net, root)
    }

    fn logged(net: &Net, what: &str) -> bool {
        net.log.iter().any(|l| l.contains(what))
    }

    /// The primary serves catalog `z` and NOTIFYs it.
    fn publish(net: &mut Net, root: &Key, z: Zone) {
        net.primary.replace(z);
        assert_eq!(net.notify(CAT, root, PRIMARY), 0);
    }

    #[test]
    fn members_come_and_go_with_the_catalog() {
        let (mut net, root) = consumer(&[]);
        for z in [CAT, "a.test.", "b.test."] {
            assert!(net.served(z).is_some(), "{z}: {:?}", net.log);
        }
        assert!(net.served("c.test.").is_none());
        assert_eq!(net.installs, ["full"; 3]);
        // A root key means the catalog only: no zone is followed because
        // the primary announces it.
        assert!(!net.sec.covers(&name("c.test.")));
        assert!(!net.sec.notified(&name("c.test."), None, 0));

        // b.test leaves, c.test comes: by IXFR of the catalog.
        net.at(1_000);
        publish(
            &mut net,
            &root,
            cat(2, &[("m1", "a.test."), ("m3", "c.test.")], "2"),
        );
        assert_eq!(net.served("c.test."), Some(&zone("c.test.", 1, 2)));
        assert!(net.served("b.test.").is_none());
        assert!(!net.sec.follows(&name("b.test.")));
        let zs = net.zs.as_ref().unwrap();
        assert!(
            !zs.is_expired_for(&name("www.b.test.")),
            "REFUSED, not SERVFAIL"
        );
        assert_eq!(
            net.installs,
            ["full", "full", "full", "incremental", "full"]
        );
        assert!(logged(&net, "member b.test. removed"), "{:?}", net.log);
        assert!(logged(&net, "member c.test. added"), "{:?}", net.log);
        let mut m = String::new();
        net.sec.metrics(&mut m);
        assert!(m.contains("gitns_secondary_catalog_members 2"), "{m}");

        // a.test under another id: dropped, transferred afresh.
        net.at(2_000);
        let n = net.installs.len();
        publish(
            &mut net,
            &root,
            cat(3, &[("x1", "a.test."), ("m3", "c.test.")], "2"),
        );
        assert!(logged(&net, "member a.test. listed under a new id"));
        assert_eq!(net.installs[n..], ["incremental", "full"]);
        assert_eq!(net.served("a.test."), Some(&zone("a.test.", 1, 2)));

        // A version we do not understand: nothing changes.
        net.at(3_000);
        publish(&mut net, &root, cat(4, &[("m2", "b.test.")], "1"));
        assert!(logged(&net, "is broken"), "{:?}", net.log);
        assert!(net.served("a.test.").is_some() && net.served("b.test.").is_none());
        assert_eq!(net.served(CAT).and_then(Zone::serial), Some(4));
    }

    #[test]
    fn a_zone_with_its_own_key_is_not_the_catalogs() {
        let own = key("mine.test.", 9);
        let (mut net, root) = consumer(&[own]);
        net.at(1_000);
        let listed = [("m1", "a.test."), ("m4", "mine.test.")];
        publish(&mut net, &root, cat(2, &listed, "2"));
        assert!(logged(&net, "member mine.test. ignored"), "{:?}", net.log);
        // Gone from the catalog, still followed and served.
        net.at(2_000);
        publish(&mut net, &root, cat(3, &[("m1", "a.test.")], "2"));
        assert!(net.served("mine.test.").is_some());
        assert!(net.sec.follows(&name("mine.test.")));
        assert!(net.served("b.test.").is_none());
    }

    #[test]
    fn members_restored_from_storage_are_checked_not_transferred() {
        let (net, _) = consumer(&[]);
        let mut stored = net.zs.clone().unwrap();
        stored.insert(zone("old.test.", 1, 1));
        let zones: Vec<Zone> = net.primary.zones().cloned().collect();
        let root = key("", 7);
        let mut again = Net::new(&zones, vec![root.clone()], &[root]);
        again.zs = Some(stored.clone());
        assert!(again.sec.consume(name(CAT), 0));
        again.sec.restore_set(&stored, 0);
        again.at(0);
        // The catalog, a.test and b.test: one SOA query each, no transfer.
        assert_eq!((again.queries, again.installs.len()), (3, 0));
        assert!(again.sec.follows(&name("b.test.")));
        assert!(!again.sec.follows(&name("old.test.")));
        assert!(
            logged(&again, "old.test. from storage is in no catalog"),
            "{:?}",
            again.log
        );
    }
}
