//! The driver against the scripted fake CA over a zone set in memory,
//! explicit time: orders, write-back, failures, the TXT probe's wait.

use super::*;
use crate::fake::{self, FakeCa};
use crate::{records, testdata};
use alloc::boxed::Box;
use gitns_dns::rtype::TXT;
use std::format;

const T0: u64 = 1_800_000_000;
const STEP_NS: u64 = 100_000_000;
const OWNER: &str = "_letsencrypt._tcp.www.example.org.";

/// The zone with the CSR; `extra` adds records (NS of secondaries).
fn zone(extra: &str) -> ZoneSet {
    let hex: String = testdata::CSR_DER
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let text = format!(
        "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n{extra}_letsencrypt._tcp.www TLSA 3 255 0 {hex}\n"
    );
    let files = [(String::from("example.org"), text.into_bytes())];
    ZoneSet::load(&files, None).0
}

/// The appliance around the driver: zones, the CA, the clocks.
struct World {
    zones: ZoneSet,
    notifier: Notifier,
    ids: Box<dyn FnMut() -> u16>,
    ca: FakeCa,
    now: u64,
    logs: Vec<(Level, String)>,
    /// RCODE the next commit is answered with.
    commit_rcode: u8,
    probes_sent: usize,
}

impl World {
    fn new(zones: ZoneSet) -> World {
        let mut id = 0u16;
        World {
            zones,
            notifier: Notifier::default(),
            ids: Box::new(move || {
                id = id.wrapping_add(1);
                id
            }),
            ca: FakeCa::new(testdata::CHAIN_PEM),
            now: 1_000_000_000,
            logs: Vec::new(),
            commit_rcode: 0,
            probes_sent: 0,
        }
    }

    fn unix(&self) -> u64 {
        T0 + self.now / 1_000_000_000
    }

    fn turn(&mut self) -> Turn<'_> {
        Turn {
            unix: self.unix(),
            zones: &mut self.zones,
            notifier: &self.notifier,
            own: &[[192, 0, 2, 1]],
            now: self.now,
            ids: &mut *self.ids,
        }
    }

    /// The challenge TXT values the zones serve now.
    fn served_txt(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for node in self.zones.zones().flat_map(|z| z.nodes()) {
            let name = node.name().to_text();
            let Some(set) = node
                .get(TXT)
                .filter(|_| name.starts_with("_acme-challenge."))
            else {
                continue;
            };
            for r in set.rdatas.iter() {
                out.push((name.clone(), String::from_utf8_lossy(&r[1..]).into_owned()));
            }
        }
        out
    }

    /// One pass of the appliance's loop, then the clock moves on.
    fn step(&mut self, d: &mut Driver) {
        d.tick(&mut self.turn());
        if let Some(due) = d.probe_due(self.now) {
            self.probes_sent += due.len();
        }
        while let Some(e) = d.next_effect() {
            match e {
                Effect::Send(req) => {
                    let resp = self.ca.respond(&req);
                    d.response(&mut self.turn(), Ok(resp));
                }
                Effect::ZoneChanged(_) => self.ca.txt = self.served_txt(),
                Effect::Commit(msg) => self.commit(d, &msg),
                Effect::Log(level, line) => self.logs.push((level, line)),
            }
        }
        self.now += STEP_NS;
    }

    fn commit(&mut self, d: &mut Driver, msg: &[u8]) {
        if self.commit_rcode == 0 {
            let m = gitns_dns::update::parse(msg).unwrap();
            let origin = Name::parse("example.org.", &Name::root()).unwrap();
            let new = gitns_dns::update::apply(self.zones.zone(&origin).unwrap(), &m).unwrap();
            self.zones.replace(new);
        }
        d.committed(&[msg[0], msg[1], 0xa8, self.commit_rcode], self.unix());
    }

    fn run_until(&mut self, d: &mut Driver, max_steps: usize, done: impl Fn(&Driver) -> bool) {
        for _ in 0..max_steps {
            if done(d) {
                return;
            }
            self.step(d);
        }
        panic!("not done after {max_steps} steps; log: {:?}", self.logs);
    }

    /// Step until a log line holds `what` (500 steps at most).
    fn step_until_logged(&mut self, d: &mut Driver, what: &str) {
        for _ in 0..500 {
            self.step(d);
            if self.logged(what) {
                return;
            }
        }
        panic!("no log line with {what:?}: {:?}", self.logs);
    }

    fn logged(&self, what: &str) -> bool {
        self.logs.iter().any(|(_, l)| l.contains(what))
    }
}

fn driver() -> Driver {
    let key = AccountKey::from_seed(b"driver test seed, 32 bytes long!").unwrap();
    Driver::new(
        fake::DIRECTORY_URL,
        key,
        Some("hm@example.org"),
        30 * 86_400,
    )
}

#[test]
fn a_csr_gets_its_certificate_written_back_once() {
    let mut w = World::new(zone(""));
    let mut d = driver();
    w.run_until(&mut d, 500, |d| d.counts().issued == 1);
    assert!(w.ca.violations.is_empty(), "{:?}", w.ca.violations);
    let site = &records::scan(&w.zones)[0];
    let chain = crate::pem::decode_chain(testdata::CHAIN_PEM).unwrap();
    assert_eq!((&site.certs[0], &site.chain[0]), (&chain[0], &chain[1]));
    assert_eq!(site.csr, testdata::CSR_DER);
    assert!(w.served_txt().is_empty(), "TXT left behind");
    assert!(w.logged("written back and committed"));
    // The next walk sees the certificate; nothing is ordered again.
    let requests = w.ca.log.len();
    for _ in 0..50 {
        w.step(&mut d);
    }
    assert_eq!(w.ca.log.len(), requests, "{:?}", w.ca.log);
    assert_eq!(
        d.counts().expiry.get(OWNER),
        Some(&testdata::LEAF_NOT_AFTER)
    );
    assert_eq!((d.counts().issued, d.counts().failed), (1, 0));
}

#[test]
fn a_failed_validation_withdraws_the_txt_and_backs_off() {
    let mut w = World::new(zone(""));
    w.ca.challenge_fails = true;
    let mut d = driver();
    w.run_until(&mut d, 500, |d| d.counts().failed == 1);
    assert!(w.served_txt().is_empty(), "TXT left behind");
    assert!(w.logged("next try in 300 s"), "{:?}", w.logs);
    assert!(records::scan(&w.zones)[0].certs.is_empty());
    // Held 300 s: a zone change alone starts nothing before that.
    records::set_txt(&mut w.zones, "x.example.org.", "touch", true).unwrap();
    let requests = w.ca.log.len();
    for _ in 0..100 {
        w.step(&mut d);
    }
    assert_eq!(w.ca.log.len(), requests);
    // When the hold ends the zones are walked again and the CSR ordered,
    // with no zone change to set it off.
    w.now += 300_000_000_000;
    w.ca.challenge_fails = false;
    w.run_until(&mut d, 500, |d| d.counts().issued == 1);
}

#[test]
fn a_failed_commit_orders_again() {
    let mut w = World::new(zone(""));
    w.commit_rcode = 2;
    let mut d = driver();
    w.step_until_logged(&mut d, "(RCODE 2); trying again later");
    assert!(d.order.is_none(), "{:?}", w.logs);
    assert_eq!(d.counts().issued, 0);
    assert!(records::scan(&w.zones)[0].certs.is_empty());
    w.commit_rcode = 0;
    w.run_until(&mut d, 500, |d| d.counts().issued == 1);
}

/// REFUSED (a read-only remote without a storage device: nowhere to keep
/// it) is not ordered again at once, which would loop on the CA, but after
/// the order backoff.
#[test]
fn a_refused_commit_backs_off() {
    let mut w = World::new(zone(""));
    w.commit_rcode = 5;
    let mut d = driver();
    w.step_until_logged(&mut d, "was refused (RCODE 5); ordering again in ");
    let orders = new_orders(&w);
    w.commit_rcode = 0;
    for _ in 0..200 {
        w.step(&mut d);
    }
    assert_eq!(
        new_orders(&w),
        orders,
        "no new order within the backoff: {:?}",
        w.logs
    );
    // Past the backoff, at the next walk of the zones (hourly when no
    // serial moved).
    w.now += 3601 * 1_000_000_000;
    w.run_until(&mut d, 500, |d| d.counts().issued == 1);
    assert!(new_orders(&w) > orders);
}

/// The orders the CA was asked for.
fn new_orders(w: &World) -> usize {
    w.ca.log
        .iter()
        .filter(|l| l.starts_with("POST") && l.ends_with("/order"))
        .count()
}

fn probing(d: &Driver) -> bool {
    d.order.as_ref().is_some_and(|o| o.probe.is_some())
}

#[test]
fn an_unanswering_secondary_is_waited_for_then_passed_over() {
    let mut w = World::new(zone("@ NS ns2\nns2 A 192.0.2.2\n"));
    let mut d = driver();
    w.run_until(&mut d, 100, probing);
    let asked_at = w.now;
    w.run_until(&mut d, 1000, |d| d.counts().issued == 1);
    // Nobody answered: validation was asked for after TXT_WAIT_NS, and
    // the secondary was asked again every probe interval meanwhile.
    let waited = crate::txt_wait::TXT_WAIT_NS - crate::txt_wait::TXT_MIN_NS;
    assert!(w.now - asked_at >= waited, "{:?}", w.logs);
    assert!(w.probes_sent >= 100, "{} probes", w.probes_sent);
    assert!(w.logged("waiting for 1 secondary"));
    assert!(w.logged("192.0.2.2 does not serve the TXT at _acme-challenge.example.org."));
}

#[test]
fn a_reloaded_zone_gets_the_txt_back() {
    let mut w = World::new(zone("@ NS ns2\nns2 A 192.0.2.2\n"));
    let mut d = driver();
    w.run_until(&mut d, 100, probing);
    assert_eq!(w.served_txt().len(), 3);
    // The zone comes back from git without the TXT records.
    let reloaded = zone("@ NS ns2\nns2 A 192.0.2.2\n");
    for z in reloaded.zones() {
        w.zones.replace(z.clone());
    }
    assert!(w.served_txt().is_empty());
    w.step(&mut d);
    w.step(&mut d);
    assert_eq!(w.served_txt().len(), 3);
    assert!(w.logged("serving TXT _acme-challenge.example.org."));
}
