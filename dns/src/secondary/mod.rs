//! The secondary (issue 23): zones transferred in from a primary and kept
//! fresh by the SOA timers and NOTIFY, as a sans-I/O core. The caller owns
//! the sockets, the clocks and the RNG: it feeds what arrives
//! ([`Secondary::on_notify`], [`Secondary::on_udp`],
//! [`Secondary::on_transfer`], [`Secondary::on_closed`]), calls
//! [`Secondary::poll`] after each input and at [`Secondary::deadline`],
//! and carries out the [`Action`]s: UDP queries, TCP transfers, installing
//! a received zone in the served set, expiring one, log lines.
//!
//! - [`source`]: what to follow, from the seed's key names.
//! - [`catalog_in`], [`catalog_follow`]: the members of a catalog zone
//!   followed (RFC 9432 consumer, `--follow-catalog`).
//! - [`timers`]: REFRESH / RETRY / EXPIRE of one zone.
//! - [`follow`]: one zone's cycle: SOA query, transfer, failure.
//! - [`request`], [`response`], [`xfr_in`], [`tsig_chain`]: the messages.
//! - [`ixfr_apply`]: IXFR differences applied to the served zone.
//! - [`notify_in`]: NOTIFY from the primary.
//! - `restore`: the zones kept on the storage cache taken up at boot.
//! - [`update_in`]: UPDATE sent to a secondary (NOTAUTH).

pub mod action;
mod catalog_follow;
pub mod catalog_in;
pub mod follow;
pub mod install;
pub mod ixfr_apply;
pub mod notify_in;
pub mod request;
pub mod response;
mod restore;
pub mod source;
pub mod stream;
pub mod timers;
pub mod tsig_chain;
pub mod update_in;
pub mod xfr_in;

use crate::message::Rcode;
use crate::name::Name;
use crate::tsig::TsigError;
use crate::zoneset::ZoneSet;
pub use action::{Action, Now};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};
use follow::Follow;
use install::Installed;
use notify_in::{Notify, Signer};
pub use request::HeldSoa;
use source::Source;
pub use xfr_in::{Limits, Received};

/// A root key's primary is asked for "." (over TCP) this often, so it
/// notifies us of every zone it has (seed 001).
pub const CATCH_ALL_MS: u64 = 3_600_000;

/// Every zone followed, and the root keys that add zones.
pub struct Secondary {
    zones: BTreeMap<Vec<u8>, Follow>,
    /// Root-key sources and when their primary is asked for "." next.
    catch_all: Vec<(Source, u64)>,
    out: Vec<Action>,
    /// Versions installed (whole or differences).
    installed: u64,
    /// The catalog whose members we follow (`--follow-catalog`).
    catalog: Option<catalog_in::Consumer>,
}

impl Secondary {
    /// Follow `sources` from monotonic `now` (ms): every zone is checked
    /// at once.
    pub fn new(sources: Vec<Source>, now: u64) -> Secondary {
        let mut s = Secondary {
            zones: BTreeMap::new(),
            catch_all: Vec::new(),
            out: Vec::new(),
            installed: 0,
            catalog: None,
        };
        for src in sources {
            let what = match src.is_catch_all() {
                true => alloc::string::String::from("every zone"),
                false => format!("zone {}", src.zone),
            };
            let line = format!("secondary: {what} from primary {}", src.primary);
            s.out.push(Action::Log(line));
            if src.is_catch_all() {
                s.catch_all.push((src, now));
            } else {
                s.follow(src, now);
            }
        }
        s
    }

    fn follow(&mut self, src: Source, now: u64) -> &mut Follow {
        self.zones
            .entry(src.zone.key().to_vec())
            .or_insert_with(|| Follow::new(src.zone.clone(), src, now))
    }

    /// The zones followed and the serial served of each.
    pub fn zones(&self) -> impl Iterator<Item = (&Name, Option<u32>)> {
        self.zones.values().map(|f| (&f.origin, f.serial()))
    }

    pub fn follows(&self, zone: &Name) -> bool {
        self.zones.contains_key(&zone.key()[..])
    }

    /// A copy of `zone` read from storage at boot: serve it, check it now.
    /// A zone under a root key is followed from then on.
    pub fn restore(&mut self, zone: &Name, soa: HeldSoa, now: u64) {
        if let Some(f) = self.follow_new(zone, now) {
            f.restore(soa, now);
        }
    }

    /// `zone`'s follower; a new one when a root key's primary covers it.
    fn follow_new(&mut self, zone: &Name, now: u64) -> Option<&mut Follow> {
        if !self.follows(zone) {
            let (src, _) = self.catch_all.first()?;
            let src = Source {
                zone: zone.clone(),
                ..src.clone()
            };
            return Some(self.follow(src, now));
        }
        self.zones.get_mut(&zone.key()[..])
    }

    /// A zone served from storage at boot ([`Secondary::restore`] with
    /// the zone's own SOA); a zone without one is skipped.
    pub fn restore_zone(&mut self, z: &crate::zone::Zone, now: u64) {
        if let Some(held) = held_soa(z) {
            self.restore(&z.origin, held, now);
        }
    }

    /// A NOTIFY for `zone` that the caller's authority already checked
    /// (signed by a key the primary holds, RFC 1996 3.11 with RFC 8945):
    /// check the zone now. A zone under a root key is followed from then
    /// on. False: the zone is none of ours.
    pub fn notified(&mut self, zone: &Name, serial: Option<u32>, now: u64) -> bool {
        let Some(f) = self.follow_new(zone, now) else {
            let why = format!("secondary: NOTIFY for {zone} ignored: not a zone we follow");
            self.out.push(Action::Log(why));
            return false;
        };
        f.notified(serial, now);
        let line = format!("secondary {zone}: NOTIFY, checking the primary");
        self.out.push(Action::Log(line));
        true
    }

    /// Would a NOTIFY or UPDATE for `zone` be ours (followed, or under a
    /// root key)?
    pub fn covers(&self, zone: &Name) -> bool {
        self.follows(zone) || !self.catch_all.is_empty()
    }

    /// Limits for every transfer from now on.
    pub fn set_limits(&mut self, limits: Limits) {
        self.zones.values_mut().for_each(|f| f.set_limits(limits));
    }

    /// Run the timers; everything to do now. `ids`: random message IDs.
    pub fn poll(&mut self, now: Now, ids: &mut dyn FnMut() -> u16) -> Vec<Action> {
        let mut out = core::mem::take(&mut self.out);
        for (src, next) in &mut self.catch_all {
            if now.mono_ms >= *next {
                *next = now.mono_ms + CATCH_ALL_MS;
                // Over TCP: a gitns (or ocaml-dns) primary NOTIFYs every
                // zone only to a TCP asker (a UDP source may be forged).
                let sent = request::soa_query(&Name::root(), ids(), Some(&src.key), now.wall);
                out.push(Action::Transfer {
                    to: src.primary,
                    zone: Name::root(),
                    msg: sent.msg,
                });
            }
        }
        for f in self.zones.values_mut() {
            f.poll(now, ids, &mut out);
        }
        out
    }

    /// When [`Secondary::poll`] should run next (monotonic ms).
    pub fn deadline(&self) -> Option<u64> {
        let zones = self.zones.values().map(|f| f.deadline());
        let roots = self.catch_all.iter().map(|(_, t)| *t);
        zones.chain(roots).min()
    }

    /// A UDP message from `from`: the answer to one of our SOA queries
    /// (others are ignored).
    pub fn on_udp(&mut self, msg: &[u8], from: SocketAddr, now: Now, ids: &mut dyn FnMut() -> u16) {
        let Some(id) = msg.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            return;
        };
        let out = &mut self.out;
        if let Some(f) = self.zones.values_mut().find(|f| f.asked_with(id, from)) {
            f.on_soa_answer(msg, now, ids, out);
        }
    }

    /// A message of the transfer of `zone`; false: close the connection.
    pub fn on_transfer(&mut self, zone: &Name, msg: &[u8], now: Now) -> bool {
        let out = &mut self.out;
        self.zones
            .get_mut(&zone.key()[..])
            .is_some_and(|f| f.on_message(msg, now, out))
    }

    /// What a transfer connection of `zone` brought: its whole `msgs`,
    /// then whether it `closed`. False once the connection is done with
    /// (the transfer ended, failed, or the connection is gone): the
    /// caller closes it.
    pub fn on_stream(&mut self, zone: &Name, msgs: &[Vec<u8>], closed: bool, now: Now) -> bool {
        for m in msgs {
            if !self.on_transfer(zone, m, now) {
                return false;
            }
        }
        if closed {
            self.on_closed(zone, now);
        }
        !closed
    }

    /// Serve what a transfer brought ([`Action::Install`]) in `zs`; true
    /// when the served zone changed. Differences that do not fit our copy
    /// change nothing: logged, and the zone is asked again by AXFR.
    pub fn install(&mut self, zs: &mut ZoneSet, zone: &Name, data: Received, now: Now) -> bool {
        match install::install(zs, zone, data) {
            Installed::Current => false,
            Installed::Changed => {
                self.installed += 1;
                if self.is_catalog(zone) {
                    self.catalog_installed(zs, now.mono_ms);
                }
                true
            }
            Installed::DidNotApply(e) => {
                if let Some(e) = e {
                    let why = format!("secondary {zone}: the IXFR does not fit our copy: {e:?}");
                    self.out.push(Action::Log(why));
                }
                self.apply_failed(zone, now);
                false
            }
        }
    }

    /// Its lines of the metrics page (Prometheus text).
    pub fn metrics(&self, out: &mut alloc::string::String) {
        out.push_str(&format!(
            "# TYPE gitns_secondary_zones gauge\ngitns_secondary_zones {}\n# TYPE gitns_secondary_installed_total counter\ngitns_secondary_installed_total {}\n",
            self.zones.len(),
            self.installed
        ));
        if let Some(c) = &self.catalog {
            out.push_str(&format!(
                "# TYPE gitns_secondary_catalog_members gauge\ngitns_secondary_catalog_members {}\n",
                c.len()
            ));
        }
    }

    /// The transfer connection of `zone` closed, or could not open.
    pub fn on_closed(&mut self, zone: &Name, now: Now) {
        if let Some(f) = self.zones.get_mut(&zone.key()[..]) {
            f.on_closed(now, &mut self.out);
        }
    }

    /// The differences of an `Install` did not apply to `zone`.
    pub fn apply_failed(&mut self, zone: &Name, now: Now) {
        if let Some(f) = self.zones.get_mut(&zone.key()[..]) {
            f.apply_failed(now.mono_ms, &mut self.out);
        }
    }

    /// A NOTIFY from `from` (RFC 1996 3.7-3.11): the answer to send back
    /// (None: not a NOTIFY, dropped). Accepted only from the zone's primary
    /// and signed with its key; a root key's primary may announce a zone
    /// we do not follow yet, which is followed from then on.
    pub fn on_notify(&mut self, msg: &[u8], from: IpAddr, now: Now) -> Option<Vec<u8>> {
        let n = notify_in::parse(msg)?;
        let known = self.zones.get(&n.zone.key()[..]).map(|f| f.source.clone());
        let src = known.or_else(|| self.catch_all_for(&n, from, now.wall));
        let Some(src) = src.filter(|s| s.primary.ip() == from) else {
            let why = format!("NOTIFY for {} from {from} refused: not its primary", n.zone);
            self.out.push(Action::Log(why));
            return Some(notify_in::answer(
                &n,
                Rcode::Refused,
                Signer::None,
                now.wall,
            ));
        };
        match notify_in::verify(&n, &src.key, now.wall) {
            Ok(v) => {
                let zone = Source {
                    zone: n.zone.clone(),
                    ..src
                };
                self.follow(zone, now.mono_ms)
                    .notified(n.serial, now.mono_ms);
                let signer = Signer::Key(&v.key, &v.tsig, 0);
                Some(notify_in::answer(&n, Rcode::NoError, signer, now.wall))
            }
            Err(e) => {
                let why = format!("NOTIFY for {} from {from}: TSIG {e:?}", n.zone);
                self.out.push(Action::Log(why));
                Some(refusal(&n, &e, now.wall))
            }
        }
    }

    /// A root-key source of `from` whose key signed this NOTIFY.
    fn catch_all_for(&self, n: &Notify, from: IpAddr, wall: u64) -> Option<Source> {
        self.catch_all
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.primary.ip() == from && notify_in::verify(n, &s.key, wall).is_ok())
            .cloned()
    }
}

/// The SOA `z` serves, as a copy held.
fn held_soa(z: &crate::zone::Zone) -> Option<HeldSoa> {
    let soa = z.soa()?;
    Some(HeldSoa {
        ttl: soa.ttl,
        rdata: soa.rdatas.first()?.to_vec(),
    })
}

/// The answer to a NOTIFY whose TSIG failed (RFC 8945 5.2).
fn refusal(n: &Notify, e: &TsigError, wall: u64) -> Vec<u8> {
    match e {
        TsigError::FormErr => notify_in::answer(n, Rcode::FormErr, Signer::None, wall),
        TsigError::Unsigned => notify_in::answer(n, Rcode::NotAuth, Signer::None, wall),
        TsigError::NotAuth {
            error,
            key: Some(k),
            tsig: Some(t),
        } => notify_in::answer(n, Rcode::NotAuth, Signer::Key(k, t, *error), wall),
        TsigError::NotAuth {
            error,
            tsig: Some(t),
            ..
        } => notify_in::answer(n, Rcode::NotAuth, Signer::Error(t, *error), wall),
        TsigError::NotAuth { .. } => notify_in::answer(n, Rcode::NotAuth, Signer::None, wall),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::{serve, Ctx, Policy, Transport};
    use crate::keys::{Algorithm, Key};
    use crate::zone::parser::parse_str;
    use crate::zone::Zone;
    use crate::zoneset::ZoneSet;
    use alloc::string::String;
    use alloc::vec;

    pub(super) const PRIMARY: IpAddr = IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 1));
    pub(super) const WALL: u64 = 1_800_000_000;

    pub(super) fn name(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    pub(super) fn key(zone: &str, secret: u8) -> Key {
        Key {
            name: name(&format!("10.0.0.1.10.0.0.2._transfer.{zone}")),
            algorithm: Algorithm::Sha256,
            secret: vec![secret; 32],
        }
    }

    pub(super) fn zone(origin: &str, serial: u32, hosts: usize) -> Zone {
        let mut t =
            format!("$TTL 60\n@ SOA ns hm {serial} 3600 600 7200 60\n@ NS ns\nns A 192.0.2.1\n");
        for i in 0..hosts {
            t += &format!("h{i} A 10.0.{}.{}\n", i / 256, i % 256);
        }
        Zone::from_records(
            name(origin),
            &parse_str("z", &t, &name(origin)).unwrap().records,
        )
    }

    /// The secondary core against our own authority as the primary, with
    /// the caller's part played here: the served copies, expiry, the log.
    pub(super) struct Net {
        pub(super) primary: ZoneSet,
        pub(super) up: bool,
        /// Applied to every transfer answer on its way (a bad primary).
        pub(super) tamper: Option<fn(&mut Vec<Vec<u8>>)>,
        /// UDP answers come back truncated (TC); SOA queries seen on TCP.
        pub(super) udp_tc: bool,
        /// UDP answers come back REFUSED (Knot's for a catalog zone).
        pub(super) udp_refused: bool,
        pub(super) tcp_soa: usize,
        pub(super) sec: Secondary,
        pub(super) served: BTreeMap<Vec<u8>, Zone>,
        /// When set, installs go through [`Secondary::install`] into this
        /// set (as the appliance does) instead of `served`.
        pub(super) zs: Option<ZoneSet>,
        pub(super) expired: Vec<Name>,
        pub(super) log: Vec<String>,
        pub(super) installs: Vec<&'static str>,
        pub(super) queries: usize,
        pub(super) now: Now,
        pub(super) id: u16,
    }

    impl Net {
        pub(super) fn new(primary_zones: &[Zone], keys: Vec<Key>, secondary_keys: &[Key]) -> Net {
            let mut primary = ZoneSet::default();
            primary_zones.iter().for_each(|z| primary.insert(z.clone()));
            primary.keys = keys;
            let sources = source::of_keys(secondary_keys, source::Primary::Named(53), &[]);
            Net {
                primary,
                up: true,
                tamper: None,
                udp_tc: false,
                udp_refused: false,
                tcp_soa: 0,
                sec: Secondary::new(sources, 0),
                served: BTreeMap::new(),
                zs: None,
                expired: Vec::new(),
                log: Vec::new(),
                installs: Vec::new(),
                queries: 0,
                now: Now {
                    mono_ms: 0,
                    wall: WALL,
                },
                id: 0,
            }
        }

        /// A primary with example.org at serial 1 (`hosts` names besides
        /// the apex), its key, and the secondary after its first load.
        /// A primary serving `z` only, and its secondary with one key of
        /// it (both sides), before the first turn.
        pub(super) fn of(z: &Zone) -> (Net, Key) {
            let k = key(&z.origin.to_text(), 1);
            let keys = vec![k.clone()];
            (Net::new(core::slice::from_ref(z), keys.clone(), &keys), k)
        }

        pub(super) fn loaded(hosts: usize) -> (Net, Key) {
            let (mut net, k) = Net::of(&zone("example.org.", 1, hosts));
            net.at(0);
            assert_eq!(
                net.served("example.org."),
                Some(&zone("example.org.", 1, hosts))
            );
            (net, k)
        }

        /// A second at a time until a zone expires: the time it did.
        pub(super) fn until_expired(&mut self) -> u64 {
            let mut t = self.now.mono_ms;
            while self.expired.is_empty() {
                t += 1_000;
                self.at(t);
                assert!(t < 10_000_000, "never expired: {:?}", self.log);
            }
            t
        }

        fn ask(&mut self, msg: &[u8], transport: Transport) -> Vec<Vec<u8>> {
            let policy = Policy::default();
            let mut ctx = Ctx::new(transport, self.now.wall, &policy);
            let mut out = vec![0u8; 65_535];
            let mut msgs = Vec::new();
            serve(&mut self.primary, msg, &mut ctx, &mut out, &mut |m| {
                msgs.push(m.to_vec())
            });
            msgs
        }

        /// Poll and carry out every action until nothing is left.
        pub(super) fn run(&mut self) {
            for _ in 0..50 {
                let mut id = self.id;
                let acts = self.sec.poll(self.now, &mut || {
                    id = id.wrapping_add(1);
                    id
                });
                self.id = id;
                if acts.is_empty() {
                    return;
                }
                for a in acts {
                    self.act(a);
                }
            }
            panic!("the secondary never settles");
        }

        fn act(&mut self, a: Action) {
            let now = self.now;
            match a {
                Action::Query { .. } if !self.up => self.queries += 1,
                Action::Query { to, msg } => {
                    self.queries += 1;
                    assert_eq!(to, SocketAddr::new(PRIMARY, 53));
                    for mut m in self.ask(&msg, Transport::Udp) {
                        if self.udp_tc {
                            m[2] |= 0x02;
                        }
                        if self.udp_refused {
                            m[3] = (m[3] & 0xf0) | 5;
                        }
                        self.sec.on_udp(&m, to, now, &mut || 999);
                    }
                }
                Action::Transfer { zone, msg, .. } if self.up => {
                    let req = crate::message::parse_request(&msg).unwrap();
                    self.tcp_soa += (req.question.unwrap().qtype == crate::rtype::SOA) as usize;
                    let mut msgs = self.ask(&msg, Transport::Tcp);
                    if let Some(t) = self.tamper {
                        t(&mut msgs);
                    }
                    // The whole answer, then the primary closes.
                    self.sec.on_stream(&zone, &msgs, true, now);
                }
                Action::Transfer { zone, .. } => self.sec.on_closed(&zone, now),
                Action::Install { zone, data } => self.install(zone, data),
                Action::Expire { zone } => {
                    if let Some(zs) = &mut self.zs {
                        zs.expire(&zone);
                    }
                    self.served.remove(&zone.key()[..]);
                    self.expired.push(zone);
                }
                Action::Log(l) => self.log.push(l),
                Action::Dropped { zone } => {
                    self.served.remove(&zone.key()[..]);
                }
                Action::Close { .. } => {}
            }
        }

        fn install(&mut self, zone: Name, data: Received) {
            if let Some(zs) = &mut self.zs {
                let full = matches!(data, Received::Full(_));
                self.installs
                    .push(if full { "full" } else { "incremental" });
                self.sec.install(zs, &zone, data, self.now);
                return;
            }
            match data {
                Received::Full(z) => {
                    self.installs.push("full");
                    self.served.insert(zone.key().to_vec(), z);
                }
                Received::Incremental(d) => {
                    self.installs.push("incremental");
                    let z = self.served.get_mut(&zone.key()[..]).unwrap();
                    if ixfr_apply::apply(z, &d).is_err() {
                        self.sec.apply_failed(&zone, self.now);
                    }
                }
                Received::Current(_) => panic!("Current is never installed"),
            }
        }

        pub(super) fn at(&mut self, mono_ms: u64) {
            self.now = Now {
                mono_ms,
                wall: WALL + mono_ms / 1000,
            };
            self.run();
        }

        pub(super) fn served(&self, z: &str) -> Option<&Zone> {
            if let Some(zs) = &self.zs {
                return zs.zone(&name(z));
            }
            self.served.get(&name(z).key()[..])
        }

        /// The primary NOTIFYs us, signed with `k`, from `from`.
        pub(super) fn notify(&mut self, z: &str, k: &Key, from: IpAddr) -> u16 {
            let zone = self.primary.zone(&name(z)).unwrap().clone();
            let msg = crate::tsig::sign_request(
                &crate::notify_out::request(&zone, 4242),
                k,
                self.now.wall,
            );
            let a = self.sec.on_notify(&msg, from, self.now).unwrap();
            self.run();
            u16::from_be_bytes([a[2], a[3]]) & 0xf
        }
    }

    #[test]
    fn names_come_through_in_the_case_written() {
        let k = key("example.org.", 1);
        let t = "$TTL 60\n@ SOA ns hm 1 3600 600 7200 60\n@ NS ns\nns A 192.0.2.1\nWWW A 192.0.2.2\nalias CNAME www\nmx MX 1 Www.Example.ORG.\n";
        let z = Zone::from_records(
            name("example.org."),
            &parse_str("z", t, &name("example.org.")).unwrap().records,
        );
        let mut net = Net::new(&[z], vec![k.clone()], core::slice::from_ref(&k));
        net.at(0);
        let got = net.served("example.org.").unwrap();
        let rdata = |owner: &str, rtype: u16| {
            let n = got.node(&name(owner)).unwrap();
            n.get(rtype).unwrap().rdatas.first().unwrap().to_vec()
        };
        let wire = |s: &str| name(s).wire().to_vec();
        // Each name as written, not in the case of an earlier one.
        assert_eq!(
            rdata("alias.example.org.", crate::rtype::CNAME),
            wire("www.example.org.")
        );
        assert_eq!(
            rdata("mx.example.org.", crate::rtype::MX)[2..],
            wire("Www.Example.ORG.")[..]
        );
        let owner = got.node(&name("www.example.org.")).unwrap().name();
        assert_eq!(owner.to_text(), "WWW.example.org.");
    }

    #[test]
    fn axfr_then_notify_then_ixfr() {
        let (mut net, k) = Net::loaded(500);
        assert_eq!(
            net.served("example.org."),
            Some(&zone("example.org.", 1, 500))
        );
        assert_eq!(net.installs, ["full"]);
        // The primary moves on and notifies: acted on at once.
        net.primary.replace(zone("example.org.", 2, 520));
        net.at(10_000);
        let asked = net.queries;
        assert_eq!(net.notify("example.org.", &k, PRIMARY), 0);
        assert_eq!(
            net.served("example.org."),
            Some(&zone("example.org.", 2, 520))
        );
        assert_eq!(net.installs, ["full", "incremental"]);
        // Straight to IXFR: no SOA query in between (a round trip less).
        assert_eq!(net.queries, asked);
        // A NOTIFY of the serial we hold: answered, nothing asked.
        assert_eq!(net.notify("example.org.", &k, PRIMARY), 0);
        assert_eq!((net.queries, net.installs.len()), (asked, 2));
        // Nothing new: the refresh timer's check transfers nothing.
        net.at(10_000 + 3_600_000);
        assert_eq!(net.installs.len(), 2);
        assert_eq!(net.sec.zones().next().map(|z| z.1), Some(Some(2)));
    }

    #[test]
    fn the_refresh_timer_finds_a_change_without_notify() {
        let (mut net, _) = Net::loaded(10);
        net.primary.replace(zone("example.org.", 2, 11));
        net.at(3_599_000);
        assert_eq!(net.served("example.org.").unwrap().serial(), Some(1));
        net.at(3_600_000);
        assert_eq!(net.served("example.org.").unwrap().serial(), Some(2));
    }

    #[test]
    fn a_truncated_soa_answer_is_asked_again_over_tcp() {
        let (mut net, _) = Net::of(&zone("example.org.", 1, 5));
        net.udp_tc = true;
        net.at(0);
        assert_eq!(
            net.served("example.org."),
            Some(&zone("example.org.", 1, 5))
        );
        assert_eq!((net.tcp_soa, &net.installs[..]), (1, &["full"][..]));
        // The refresh check: over TCP again, the difference by IXFR.
        net.primary.replace(zone("example.org.", 2, 6));
        net.at(3_600_000);
        assert_eq!(net.served("example.org.").unwrap().serial(), Some(2));
        assert_eq!(
            (net.tcp_soa, &net.installs[..]),
            (2, &["full", "incremental"][..])
        );
        // Nothing newer: the TCP answer only refreshes.
        net.at(7_200_000);
        assert_eq!((net.tcp_soa, net.installs.len()), (3, 2));
        assert!(
            !net.log.iter().any(|l| l.contains("last good copy")),
            "{:?}",
            net.log
        );
    }

    #[test]
    fn a_refused_soa_answer_over_udp_is_asked_again_over_tcp() {
        let z = zone("example.org.", 1, 5);
        let (mut net, _) = Net::of(&z);
        net.udp_refused = true;
        net.at(0);
        assert_eq!(net.served("example.org."), Some(&z));
        assert_eq!((net.tcp_soa, &net.installs[..]), (1, &["full"][..]));
        // An error over TCP too (NOTAUTH: the key is gone): the check
        // fails, the copy stays.
        net.primary.keys.clear();
        net.at(3_600_000);
        assert_eq!(net.tcp_soa, 2);
        assert!(
            net.log.iter().any(|l| l.contains("NOTAUTH")),
            "{:?}",
            net.log
        );
        assert_eq!(net.served("example.org."), Some(&z));
    }

    #[test]
    fn an_older_serial_at_the_primary_is_not_a_refresh() {
        let (mut net, _) = Net::of(&zone("example.org.", 5, 3));
        net.at(0);
        // The primary goes back to serial 3 and keeps answering: ours
        // stays, and expires EXPIRE (7200 s) after the last real refresh.
        net.primary.replace(zone("example.org.", 3, 3));
        let t = net.until_expired();
        assert_eq!(t, 7_200_000);
        let older = "the primary's serial 3 is older than ours 5";
        assert!(net.log.iter().any(|l| l.contains(older)), "{:?}", net.log);
        // Expired, nothing held: what the primary has now is taken whole.
        assert_eq!(net.installs, ["full", "full"]);
        assert_eq!(net.served("example.org.").and_then(Zone::serial), Some(3));
    }

    #[test]
    fn expire_then_the_primary_comes_back() {
        let (mut net, _) = Net::loaded(10);
        net.up = false;
        let t = net.until_expired();
        // EXPIRE (7200 s) after the last successful refresh at 0.
        assert_eq!(t, 7_200_000);
        assert!(net.served("example.org.").is_none());
        assert!(
            net.log.iter().any(|l| l.contains("expired")),
            "{:?}",
            net.log
        );
        net.up = true;
        net.primary.replace(zone("example.org.", 3, 12));
        net.at(t + 200_000);
        assert_eq!(
            net.served("example.org."),
            Some(&zone("example.org.", 3, 12))
        );
        assert_eq!(net.installs, ["full", "full"]);
    }

    #[test]
    fn a_bad_transfer_keeps_the_last_good_copy_and_ixfr_falls_back_to_axfr() {
        let (mut net, k) = Net::loaded(300);
        // Truncated streams: IXFR fails, AXFR then fails too: retry later.
        net.primary.replace(zone("example.org.", 2, 301));
        net.tamper = Some(|m| {
            m.pop();
        });
        net.notify("example.org.", &k, PRIMARY);
        assert_eq!(
            net.served("example.org."),
            Some(&zone("example.org.", 1, 300))
        );
        assert!(
            net.log.iter().any(|l| l.contains("falling back to AXFR")),
            "{:?}",
            net.log
        );
        assert!(
            net.log.iter().any(|l| l.contains("last good copy")),
            "{:?}",
            net.log
        );
        // A flipped byte in a transfer: TSIG fails, nothing installed.
        net.tamper = Some(|m| {
            let n = m[0].len();
            m[0][n / 2] ^= 0x20;
        });
        net.at(600_000);
        assert_eq!(net.served("example.org.").unwrap().serial(), Some(1));
        // A good primary again: the retry brings the zone.
        net.tamper = None;
        net.at(1_200_000);
        assert_eq!(
            net.served("example.org."),
            Some(&zone("example.org.", 2, 301))
        );
    }

    #[test]
    fn ixfr_that_does_not_apply_falls_back_to_axfr() {
        let (mut net, k) = Net::loaded(5);
        // Our copy drifted from serial 1 (as if the store lost a record).
        let h0 = name("h0.example.org.");
        net.served
            .values_mut()
            .next()
            .unwrap()
            .delete_name(&h0, &[]);
        net.primary.replace(zone("example.org.", 2, 0));
        net.notify("example.org.", &k, PRIMARY);
        assert_eq!(net.installs, ["full", "incremental", "full"]);
        assert_eq!(
            net.served("example.org."),
            Some(&zone("example.org.", 2, 0))
        );
    }

    #[test]
    fn notify_from_others_or_badly_signed_is_refused() {
        let (mut net, k) = Net::loaded(5);
        net.primary.replace(zone("example.org.", 2, 5));
        // Another address: REFUSED; another secret: NOTAUTH; no check.
        assert_eq!(
            net.notify("example.org.", &k, "10.0.0.9".parse().unwrap()),
            5
        );
        assert_eq!(
            net.notify("example.org.", &key("example.org.", 2), PRIMARY),
            9
        );
        // A zone we do not follow.
        let other = zone("other.example.", 1, 1);
        net.primary.insert(other);
        assert_eq!(
            net.notify("other.example.", &key("other.example.", 1), PRIMARY),
            5
        );
        assert_eq!(net.served("example.org.").unwrap().serial(), Some(1));
        assert_eq!(net.installs, ["full"]);
    }

    #[test]
    fn a_root_key_follows_every_zone_the_primary_announces() {
        let root = key("", 7);
        let zones = [zone("a.example.", 4, 3), zone("b.example.", 9, 2)];
        let mut net = Net::new(&zones, vec![root.clone()], core::slice::from_ref(&root));
        net.at(0);
        assert!(net.served.is_empty());
        for (z, want) in [("a.example.", &zones[0]), ("b.example.", &zones[1])] {
            assert_eq!(net.notify(z, &root, PRIMARY), 0);
            assert_eq!(net.served(z), Some(want));
        }
        assert_eq!(net.sec.zones().count(), 2);
    }

    #[test]
    fn notifies_checked_by_the_caller_and_restored_zones_under_a_root_key() {
        let root = key("", 7);
        let zones = [zone("a.example.", 4, 3), zone("b.example.", 9, 2)];
        let mut net = Net::new(&zones, vec![root.clone()], core::slice::from_ref(&root));
        assert!(net.sec.covers(&name("anything.example.")));
        // b.example from storage: followed, checked at once, still current.
        let soa = zones[1].soa().unwrap();
        let held = HeldSoa {
            ttl: soa.ttl,
            rdata: soa.rdatas.first().unwrap().to_vec(),
        };
        net.served
            .insert(zones[1].origin.key().to_vec(), zones[1].clone());
        net.sec.restore(&name("b.example."), held, 0);
        net.at(0);
        assert!(net.installs.is_empty());
        // a.example announced through the caller's authority: transferred.
        assert!(net.sec.notified(&name("a.example."), Some(4), 0));
        net.at(1);
        assert_eq!(net.served("a.example."), Some(&zones[0]));
        assert_eq!(net.sec.zones().count(), 2);
        // Without a root key, only the zones followed are ours.
        let (mut single, _) = Net::loaded(1);
        assert!(!single.sec.covers(&name("other.example.")));
        assert!(!single.sec.notified(&name("other.example."), None, 0));
        assert!(single.sec.notified(&name("example.org."), None, 0));
    }

    #[test]
    fn a_restored_copy_is_served_and_checked_at_once() {
        let z = zone("example.org.", 1, 10);
        let (mut net, _) = Net::of(&z);
        net.served.insert(z.origin.key().to_vec(), z.clone());
        let soa = z.soa().unwrap();
        let held = HeldSoa {
            ttl: soa.ttl,
            rdata: soa.rdatas.first().unwrap().to_vec(),
        };
        net.sec.restore(&z.origin, held, 0);
        net.at(0);
        // Checked (one SOA query), the same serial: nothing transferred.
        assert_eq!((net.queries, net.installs.len()), (1, 0));
        assert_eq!(net.sec.zones().next().map(|z| z.1), Some(Some(1)));
    }

    #[test]
    fn an_unanswered_soa_query_is_sent_three_times_then_retried_after_retry() {
        let (mut net, _) = Net::loaded(3);
        net.up = false;
        let first = net.queries;
        // The refresh check at 3600 s: three tries two seconds apart.
        for (t, sent) in [
            (3_600_000, 1),
            (3_602_000, 2),
            (3_604_000, 3),
            (3_606_000, 3),
        ] {
            net.at(t);
            assert_eq!(net.queries - first, sent, "at {t} ms");
        }
        assert!(
            net.log.iter().any(|l| l.contains("did not answer")),
            "{:?}",
            net.log
        );
        // Then RETRY (600 s) after the failure.
        net.at(3_606_000 + 599_000);
        assert_eq!(net.queries - first, 3);
        net.at(3_606_000 + 600_000);
        assert_eq!(net.queries - first, 4);
    }
}
