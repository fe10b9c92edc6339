//! Outgoing NOTIFY (RFC 1996 3): when a zone's serial rises, tell every
//! secondary, signed when a key covers it, and retransmit with backoff
//! until answered or the attempts run out. Sans-I/O: the caller sends the
//! messages `due` returns and feeds responses to `on_response`.

use crate::keys::Key;
use crate::message::Header;
use crate::name::Name;
use crate::rtype::{A, IN, SOA};
use crate::tsig::{self, Op};
use crate::wire::{Reader, Writer};
use crate::zone::Zone;
use crate::zoneset::ZoneSet;
use alloc::vec::Vec;

/// Attempts before giving up (RFC 1996 3.6 suggests a few).
const ATTEMPTS: u8 = 5;
/// First retransmission interval; doubles after each attempt.
const FIRST_WAIT_NS: u64 = 2_000_000_000;
/// Secondaries remembered from their SOA queries at most (zone, host
/// pairs): a root SOA query adds one per zone.
pub const MAX_SEEN: usize = 1024;

/// Where a NOTIFY goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub addr: [u8; 4],
    pub port: u16,
}

#[derive(Clone, Debug)]
struct Pending {
    zone: Name,
    target: Target,
    key: Option<Key>,
    id: u16,
    /// The request, unsigned (signed afresh at each attempt).
    msg: Vec<u8>,
    attempts: u8,
    next_at: u64,
}

/// The NOTIFY request for `zone` with message ID `id` (RFC 1996 3.7: AA,
/// the zone's SOA as the question and, as Knot and BIND send it, the
/// current SOA record in the answer section so a secondary can skip the
/// query when it already has that serial).
pub fn request(zone: &Zone, id: u16) -> Vec<u8> {
    let mut buf = alloc::vec![0u8; 2048];
    let mut w = Writer::new(&mut buf);
    let soa = zone.soa();
    let write = |w: &mut Writer| -> Result<(), crate::wire::Full> {
        w.u16(id)?;
        w.u16(0x2400)?;
        w.u16(1)?;
        w.u16(soa.is_some() as u16)?;
        w.u32(0)?;
        w.name(&zone.origin, true)?;
        w.u16(SOA)?;
        w.u16(IN)?;
        if let Some((ttl, rd)) = soa.as_ref().and_then(|s| Some((s.ttl, s.rdatas.first()?))) {
            crate::respond::record(w, &zone.origin, SOA, ttl, rd)?;
        }
        Ok(())
    };
    // 2048 bytes hold any SOA (two names of at most 255 bytes).
    let _ = write(&mut w);
    let n = w.len();
    buf.truncate(n);
    buf
}

/// The outgoing NOTIFY state.
#[derive(Clone, Debug, Default)]
pub struct Notifier {
    pending: Vec<Pending>,
    /// (address, key) of hosts that made a signed SOA query over TCP.
    pub seen: Vec<(Target, Name, Key)>,
}

/// The secondary named by a `<primary-ip>.<secondary-ip>._transfer.<zone>`
/// key, if the key has that form.
pub fn secondary_of_key(key: &Name) -> Option<[u8; 4]> {
    crate::keys::endpoints(key).map(|(_, own)| own)
}

/// Secondaries of `zone`: addresses of its NS names in our zones, and the
/// hosts named by transfer keys; each with the key to sign with.
pub fn secondaries(zone: &Zone, zs: &ZoneSet, own: &[[u8; 4]]) -> Vec<(Target, Option<Key>)> {
    // The closest key (the zone's own before a key of the root): the one
    // an NS-named secondary most likely knows.
    let signer = zs
        .keys
        .iter()
        .filter(|k| {
            tsig::allows(&k.name, Op::Transfer, &zone.origin) && secondary_of_key(&k.name).is_none()
        })
        .max_by_key(|k| tsig::permission(&k.name).map_or(0, |(_, z)| z.label_count()))
        .cloned();
    let mut out: Vec<(Target, Option<Key>)> = Vec::new();
    if let Some(ns) = zone
        .node(&zone.origin)
        .and_then(|n| n.get(crate::rtype::NS))
    {
        for rd in ns.rdatas {
            let Some(host) = Name::from_wire(rd) else {
                continue;
            };
            let Some(node) = zs.zone_for(&host).and_then(|z| z.node(&host)) else {
                continue;
            };
            for a in node.get(A).into_iter().flat_map(|s| s.rdatas) {
                if let Ok(addr) = <[u8; 4]>::try_from(a) {
                    if worth_notifying(addr, own) {
                        out.push((Target { addr, port: 53 }, signer.clone()));
                    }
                }
            }
        }
    }
    for k in &zs.keys {
        if let Some(addr) = secondary_of_key(&k.name)
            .filter(|_| tsig::allows(&k.name, Op::Notify, &zone.origin))
            .filter(|a| worth_notifying(*a, own))
        {
            out.retain(|(t, _)| t.addr != addr);
            out.push((Target { addr, port: 53 }, Some(k.clone())));
        }
    }
    out.sort_by_key(|a| a.0);
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// A secondary's address we may send to: not one of ours (a secondary's
/// own key names itself), and one a packet can leave for. The seed's zone
/// has `ns1 A 127.0.0.1`: a datagram to it has no route, and smoltcp keeps
/// an unroutable datagram at the head of the socket's queue, so every
/// later NOTIFY waited behind it.
fn worth_notifying(addr: [u8; 4], own: &[[u8; 4]]) -> bool {
    let ip = core::net::Ipv4Addr::from(addr);
    !own.contains(&addr)
        && !ip.is_loopback()
        && !ip.is_unspecified()
        && !ip.is_multicast()
        && !ip.is_broadcast()
}

impl Notifier {
    /// Every secondary of `zone` with its key: [`secondaries`] and the
    /// hosts seen making signed SOA queries over TCP.
    pub fn secondaries(
        &self,
        zone: &Zone,
        zs: &ZoneSet,
        own: &[[u8; 4]],
    ) -> Vec<(Target, Option<Key>)> {
        let mut targets = secondaries(zone, zs, own);
        for (t, z, k) in &self.seen {
            if *z == zone.origin && !targets.iter().any(|(x, _)| x == t) {
                targets.push((*t, Some(k.clone())));
            }
        }
        targets
    }

    /// Schedule NOTIFYs for `zone` (whose serial rose) at monotonic `now`.
    /// `ids` supplies message IDs (random, from the caller's RNG).
    pub fn zone_changed(
        &mut self,
        zone: &Zone,
        zs: &ZoneSet,
        own: &[[u8; 4]],
        now: u64,
        ids: &mut dyn FnMut() -> u16,
    ) {
        for (target, key) in self.secondaries(zone, zs, own) {
            self.notify_one(zone, target, key, now, ids());
        }
    }

    /// Schedule a NOTIFY for `zone` to `target` (signed with `key`) at
    /// monotonic `now`, with message ID `id`.
    pub fn notify_one(&mut self, zone: &Zone, target: Target, key: Option<Key>, now: u64, id: u16) {
        // A newer change replaces an unanswered older NOTIFY.
        self.pending
            .retain(|p| !(p.zone == zone.origin && p.target == target));
        self.pending.push(Pending {
            zone: zone.origin.clone(),
            target,
            key,
            id,
            msg: request(zone, id),
            attempts: 0,
            next_at: now,
        });
    }

    /// Schedule NOTIFYs for every zone of `zs` whose serial rose compared
    /// with `old` (all zones when `old` is None, at boot), RFC 1996 3.
    pub fn zones_risen(
        &mut self,
        zs: &ZoneSet,
        old: Option<&ZoneSet>,
        own: &[[u8; 4]],
        now: u64,
        ids: &mut dyn FnMut() -> u16,
    ) {
        for zone in zs.zones() {
            let before = old
                .and_then(|o| o.zone(&zone.origin))
                .and_then(|z| z.serial());
            let rose = match (before, zone.serial()) {
                (None, Some(_)) => true,
                (Some(b), Some(a)) => crate::serial::gt(a, b),
                _ => false,
            };
            if rose {
                self.zone_changed(zone, zs, own, now, ids);
            }
        }
    }

    /// Remember `target` as a secondary of `zone` (it made a signed SOA
    /// query over TCP with `key`), the [`MAX_SEEN`] most recent pairs
    /// only; true when it is new.
    pub fn remember(&mut self, target: Target, zone: Name, key: Key) -> bool {
        if self.seen.iter().any(|(t, z, _)| *t == target && *z == zone) {
            return false;
        }
        self.seen.push((target, zone, key));
        if self.seen.len() > MAX_SEEN {
            self.seen.remove(0);
        }
        true
    }

    /// `target` asked for the root SOA with `key` (seed 001): NOTIFY it
    /// for every zone of `zs` the key may transfer, and remember it as
    /// their secondary. Returns how many zones.
    pub fn notify_all(
        &mut self,
        zs: &ZoneSet,
        target: Target,
        key: &Key,
        now: u64,
        ids: &mut dyn FnMut() -> u16,
    ) -> usize {
        let mut count = 0;
        for zone in zs.zones() {
            if !tsig::allows(&key.name, Op::Transfer, &zone.origin) {
                continue;
            }
            count += 1;
            self.notify_one(zone, target, Some(key.clone()), now, ids());
            self.remember(target, zone.origin.clone(), key.clone());
        }
        count
    }

    /// `zone` is no longer served: no NOTIFY for it goes out any more, and
    /// the hosts that asked for its SOA are forgotten.
    pub fn forget(&mut self, zone: &Name) {
        self.pending.retain(|p| p.zone != *zone);
        self.seen.retain(|(_, z, _)| z != zone);
    }

    /// Messages to send now (target, bytes); reschedules them with backoff
    /// and drops those out of attempts. `wall` is seconds since the epoch.
    pub fn due(&mut self, now: u64, wall: u64) -> Vec<(Target, Vec<u8>)> {
        let mut out = Vec::new();
        self.pending.retain(|p| p.attempts < ATTEMPTS);
        for p in self.pending.iter_mut().filter(|p| p.next_at <= now) {
            let m = match &p.key {
                Some(k) => tsig::sign_request(&p.msg, k, wall),
                None => p.msg.clone(),
            };
            out.push((p.target, m));
            p.attempts += 1;
            p.next_at = now + (FIRST_WAIT_NS << (p.attempts - 1).min(6));
        }
        out
    }

    /// A response arrived from `from`: an answer to one of ours ends it.
    pub fn on_response(&mut self, from: Target, msg: &[u8]) -> bool {
        let mut r = Reader::new(msg);
        let Ok(h) = Header::parse(&mut r) else {
            return false;
        };
        if !h.qr() || h.opcode() != crate::message::OPCODE_NOTIFY {
            return false;
        }
        let before = self.pending.len();
        self.pending
            .retain(|p| !(p.id == h.id && p.target.addr == from.addr));
        self.pending.len() < before
    }

    /// When `due` next has work.
    pub fn next_deadline(&self) -> Option<u64> {
        self.pending
            .iter()
            .filter(|p| p.attempts < ATTEMPTS)
            .map(|p| p.next_at)
            .min()
    }

    /// Unanswered NOTIFYs.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn zs() -> ZoneSet {
        let zone = "$TTL 60\n@ SOA ns1 hm 5 2 3 4 5\n@ NS ns1\n@ NS ns2\n@ NS ns.other.net.\nns1 A 10.0.0.2\nns2 A 10.0.0.9\n";
        let keys = "personal._update.example.org. DNSKEY 0 3 163 kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=\n10.0.0.2.10.0.0.77._transfer.example.org. DNSKEY 0 3 163 PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=\n";
        ZoneSet::load(
            &[
                (String::from("example.org"), zone.into()),
                (String::from("example.org._keys"), keys.into()),
            ],
            None,
        )
        .0
    }

    #[test]
    fn secondaries_from_ns_and_keys() {
        let z = zs();
        let zone = z.zones().next().unwrap();
        let s = secondaries(zone, &z, &[[10, 0, 0, 2]]);
        let addrs: Vec<[u8; 4]> = s.iter().map(|(t, _)| t.addr).collect();
        assert_eq!(
            addrs,
            [[10, 0, 0, 9], [10, 0, 0, 77]],
            "ourselves excluded, out-of-zone NS unknown"
        );
        assert_eq!(
            s[0].1.as_ref().unwrap().name.to_text(),
            "personal._update.example.org."
        );
        assert_eq!(
            s[1].1.as_ref().unwrap().name.to_text(),
            "10.0.0.2.10.0.0.77._transfer.example.org."
        );
    }

    #[test]
    fn never_ourselves_nor_an_address_no_packet_reaches() {
        // The seed's zone: `ns1 A 127.0.0.1`; a secondary holds the key
        // naming itself.
        let zone = "$TTL 60\n@ SOA ns1 hm 5 2 3 4 5\n@ NS ns1\n@ NS ns2\n@ NS ns3\nns1 A 127.0.0.1\nns2 A 0.0.0.0\nns3 A 224.0.0.1\n";
        let keys = "10.0.42.2.10.0.42.3._update.mirage. DNSKEY 0 3 163 kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=\n";
        let files = [
            (String::from("mirage"), zone.into()),
            (String::from("mirage._keys"), keys.into()),
        ];
        let z = ZoneSet::load(&files, None).0;
        let zone = z.zones().next().unwrap();
        assert!(secondaries(zone, &z, &[[10, 0, 42, 3]]).is_empty());
        let at_primary = secondaries(zone, &z, &[[10, 0, 42, 2]]);
        assert_eq!(at_primary.len(), 1);
        assert_eq!(at_primary[0].0.addr, [10, 0, 42, 3]);
    }

    #[test]
    fn retransmits_with_backoff_until_answered() {
        let z = zs();
        let zone = z.zones().next().unwrap();
        let mut n = Notifier::default();
        let mut next = 100u16;
        n.zone_changed(zone, &z, &[[10, 0, 0, 2]], 0, &mut || {
            next += 1;
            next
        });
        let first = n.due(0, 1_000_000);
        assert_eq!(first.len(), 2);
        assert!(
            n.due(1_000_000_000, 1_000_000).is_empty(),
            "not before the wait"
        );
        assert_eq!(n.due(FIRST_WAIT_NS, 1_000_000).len(), 2, "retransmitted");
        // An answer from 10.0.0.9 to its ID ends that one.
        let (t, m) = &first[0];
        let mut resp = m[..12].to_vec();
        resp[2] |= 0x80;
        assert!(n.on_response(*t, &resp));
        assert_eq!(n.pending(), 1);
        // The other gives up after ATTEMPTS.
        let mut now = FIRST_WAIT_NS;
        for _ in 0..10 {
            now += 200 * FIRST_WAIT_NS;
            n.due(now, 1_000_000);
        }
        assert_eq!(n.due(now + 1000 * FIRST_WAIT_NS, 1_000_000).len(), 0);
        assert_eq!(n.next_deadline(), None);
    }

    #[test]
    fn the_request_carries_the_soa_in_its_answer() {
        let z = zs();
        let zone = z.zones().next().unwrap();
        let k = z.keys[0].clone();
        let mut n = Notifier::default();
        n.notify_one(
            zone,
            Target {
                addr: [10, 0, 0, 5],
                port: 53,
            },
            Some(k),
            0,
            0x4242,
        );
        let (_, m) = n.due(0, 1_000_000).pop().unwrap();
        let mut r = Reader::new(&m);
        let h = Header::parse(&mut r).unwrap();
        assert_eq!((h.id, h.opcode(), h.flags & 0x0400), (0x4242, 4, 0x0400));
        assert_eq!((h.qdcount, h.ancount, h.arcount), (1, 1, 1), "SOA + TSIG");
        assert_eq!(r.name().unwrap(), zone.origin);
        assert_eq!((r.u16().unwrap(), r.u16().unwrap()), (SOA, IN));
        assert_eq!(r.name().unwrap(), zone.origin);
        assert_eq!(
            (r.u16().unwrap(), r.u16().unwrap(), r.u32().unwrap()),
            (SOA, IN, 60)
        );
        let len = r.u16().unwrap() as usize;
        let rd = crate::rdata::from_wire(SOA, &mut r, len).unwrap();
        assert_eq!(
            crate::rdata::to_text_rdata(SOA, &rd),
            "ns1.example.org. hm.example.org. 5 2 3 4 5"
        );
        // A zone no longer served: nothing more goes out for it.
        n.notify_one(
            zone,
            Target {
                addr: [10, 0, 0, 6],
                port: 53,
            },
            None,
            0,
            1,
        );
        n.forget(&zone.origin);
        assert_eq!(n.pending(), 0);
    }

    #[test]
    fn root_keys_name_secondaries_of_every_zone_and_sign_last() {
        let mut z = zs();
        let root = "all._update. DNSKEY 0 3 163 kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=\n10.0.0.2.10.0.0.88._transfer. DNSKEY 0 3 163 kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=\n";
        let mut keys = crate::keys::parse("_keys", root).unwrap();
        keys.append(&mut z.keys);
        z.keys = keys;
        let zone = z.zones().next().unwrap();
        let s = secondaries(zone, &z, &[[10, 0, 0, 2]]);
        let got: Vec<([u8; 4], String)> = s
            .iter()
            .map(|(t, k)| (t.addr, k.as_ref().unwrap().name.to_text()))
            .collect();
        assert_eq!(
            got,
            [
                ([10, 0, 0, 9], String::from("personal._update.example.org.")),
                (
                    [10, 0, 0, 77],
                    String::from("10.0.0.2.10.0.0.77._transfer.example.org.")
                ),
                (
                    [10, 0, 0, 88],
                    String::from("10.0.0.2.10.0.0.88._transfer.")
                ),
            ]
        );
    }

    #[test]
    fn risen_zones_and_askers_are_notified_and_remembered() {
        let z = zs();
        let own = [[10, 0, 0, 2]];
        let mut ids = || 7;
        let mut n = Notifier::default();
        n.zones_risen(&z, Some(&z), &own, 0, &mut ids);
        assert_eq!(n.pending(), 0, "the same serial: nothing rose");
        n.zones_risen(&z, None, &own, 0, &mut ids);
        assert_eq!(n.pending(), 2, "at boot every zone rose");
        let mut n = Notifier::default();
        let key = z.keys[0].clone();
        let t = Target {
            addr: [10, 0, 0, 50],
            port: 53,
        };
        assert_eq!(n.notify_all(&z, t, &key, 0, &mut ids), 1);
        assert_eq!((n.pending(), n.seen.len()), (1, 1));
        let origin = z.zones().next().unwrap().origin.clone();
        assert!(!n.remember(t, origin.clone(), key.clone()), "known already");
        for i in 0..MAX_SEEN as u16 {
            let t = Target {
                addr: [10, 1, (i >> 8) as u8, i as u8],
                port: 53,
            };
            assert!(n.remember(t, origin.clone(), key.clone()));
        }
        assert_eq!(n.seen.len(), MAX_SEEN, "bounded: the oldest went");
        assert!(n.seen.iter().all(|(x, _, _)| *x != t));
    }
}
