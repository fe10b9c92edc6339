//! ACME in the appliance: a TLSA `3 255 0` CSR at `_letsencrypt._tcp.<host>`
//! in our zones makes us order a certificate (RFC 8555, DNS-01 answered
//! from our own zones) and write it back beside the CSR as `3 0 0` (leaf)
//! and `0 0 0` (chain) TLSA records through the same path as a signed
//! UPDATE: committed (and pushed with a git remote) before it is served.
//! The protocol is the sans-I/O `gitns_acme::Client`, the renewal policy
//! `gitns_acme::schedule`, the TXT timers `gitns_acme::txt_wait` and the
//! records `gitns_acme::records`; this file moves requests over
//! [`conn::HttpsConn`], the records into the zones and TXT probes over a
//! [`UdpPeers`] socket.

pub mod conn;

use crate::config::AcmeConfig;
use crate::dns::Dns;
use crate::peers::UdpPeers;
use crate::resolve::{ResolveState, Resolver};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use conn::HttpsConn;
use gitns_acme::records::{self, CsrSite};
use gitns_acme::schedule::{Decision, Schedule, Site};
use gitns_acme::txt_wait::{Stage, TxtWait};
use gitns_acme::{AccountKey, Client, HttpRequest, Input, Output};
use gitns_dns::authority::Event;
use gitns_dns::probe::TxtProbe;
use gitns_https::Anchors;
use gitns_net::{Net, Platform};

/// Zone serials are compared this often; the zones are walked for CSRs
/// only when one moved (or hourly, for renewals).
const SCAN_NS: u64 = 100_000_000;
/// How soon a connection in flight or a pending name is looked at again.
const PUMP_NS: u64 = 10_000_000;

/// The order being worked on.
struct Order {
    site: CsrSite,
    txt: TxtWait,
    /// Asking each secondary whether it serves the TXT records.
    probe: Option<TxtProbe>,
}

/// The ACME side of the appliance.
pub struct Acme {
    client: Client,
    anchors: Anchors,
    conn: Option<HttpsConn>,
    probe_socket: Option<UdpPeers>,
    /// A request waiting for its host name to resolve.
    unresolved: Option<HttpRequest>,
    wait_until: Option<u64>,
    order: Option<Order>,
    next_scan: u64,
    schedule: Schedule,
    /// Certificates served: owner -> notAfter (unix), for the metrics.
    expiry: BTreeMap<String, u64>,
    issued: u64,
    failed: u64,
}

/// What one turn works with: the platform, the network, the zones, the
/// resolver, and the time (monotonic ns, unix s).
struct Turn<'a, P> {
    platform: &'a mut P,
    net: &'a mut Net,
    dns: &'a mut Dns,
    resolver: Option<&'a mut Resolver>,
    now: u64,
    unix: u64,
}

impl Acme {
    /// From the configuration; None (logged) when ACME is off.
    pub fn from_config(cfg: &AcmeConfig) -> Option<Acme> {
        let seed = cfg.account_key_seed.as_ref()?;
        let key = match AccountKey::from_seed(seed.as_bytes()) {
            Ok(k) => k,
            Err(e) => {
                log::error!("acme: account key from --account-key-seed: {e:?}; ACME off");
                return None;
            }
        };
        let mut anchors = Anchors::lets_encrypt();
        for der in &cfg.extra_ca {
            if let Err(e) = anchors.add_der(der) {
                log::error!("acme: --acme-ca is not a usable CA certificate: {e:?}");
            }
        }
        log::info!("acme: ordering certificates from {}", cfg.server);
        Some(Acme {
            // Poll authorizations and orders every second (RFC 8555 7.5.1
            // leaves it to the client; Retry-After wins when given).
            client: Client::new(&cfg.server, key, cfg.email.as_deref()).with_limits(
                gitns_acme::Limits {
                    poll_interval: 1,
                    // A badNonce costs one request; a CA rejecting many
                    // nonces in a row still gets through (RFC 8555 6.5).
                    max_bad_nonces: 30,
                    ..Default::default()
                },
            ),
            anchors,
            conn: None,
            probe_socket: None,
            unresolved: None,
            wait_until: None,
            order: None,
            next_scan: 0,
            schedule: Schedule::new(cfg.renew_days * 86_400),
            expiry: BTreeMap::new(),
            issued: 0,
            failed: 0,
        })
    }

    /// Make progress; true when anything happened.
    pub fn run<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        dns: &mut Dns,
        resolver: Option<&mut Resolver>,
        now: u64,
    ) -> bool {
        let unix = platform.wall_clock_ns() / 1_000_000_000;
        let t = &mut Turn {
            platform,
            net,
            dns,
            resolver,
            now,
            unix,
        };
        let mut busy = false;
        if let Some(req) = self.unresolved.take() {
            self.request(t, req);
        }
        if self.order.is_none() && now >= self.next_scan {
            self.next_scan = now + SCAN_NS;
            busy |= self.scan(t.dns, unix);
        }
        busy |= self.pump(t);
        if self.wait_until.is_some_and(|w| unix >= w) {
            self.wait_until = None;
            self.client.handle(unix, Input::Timer);
            busy = true;
        }
        busy |= self.keep_txt(t.dns, now);
        busy |= self.txt_ready(t);
        while let Some(out) = self.client.poll_output() {
            busy = true;
            self.output(t, out);
        }
        busy
    }

    /// The earliest time `run` must be called again (monotonic ns).
    pub fn next_deadline(&self, now: u64, unix: u64) -> u64 {
        let mut d = self.next_scan;
        if let Some(c) = &self.conn {
            d = d.min(c.next_deadline()).min(now + PUMP_NS);
        }
        if self.unresolved.is_some() {
            d = d.min(now + PUMP_NS);
        }
        if let Some(w) = self.wait_until {
            d = d.min(now + w.saturating_sub(unix) * 1_000_000_000);
        }
        if let Some(o) = &self.order {
            let probe = o.probe.as_ref().and_then(TxtProbe::next_deadline);
            d = d.min(o.txt.next_deadline(probe).unwrap_or(u64::MAX));
        }
        d
    }

    /// Certificates (ACME) in the metrics text: expiry per name, orders
    /// by result.
    pub fn metrics(&self, t: &mut gitns_net::metrics::Text) {
        let name = "gitns_certificate_expiry_seconds";
        let help = "notAfter (unix time) of the certificate served at each _letsencrypt._tcp name.";
        t.head(name, "gauge", help);
        for (owner, not_after) in &self.expiry {
            t.sample(name, &[("name", owner)], not_after);
        }
        let v = [("issued", self.issued), ("failed", self.failed)];
        t.by(
            "gitns_acme_orders_total",
            "counter",
            "ACME orders by result.",
            "result",
            &v,
        );
    }

    /// The answer to the certificate's UPDATE (internal reply) at unix
    /// time `unix`.
    pub fn committed(&mut self, answer: &[u8], unix: u64) {
        let rcode = answer.get(3).map_or(2, |b| b & 0x0f);
        let Some(o) = self.order.take() else { return };
        let host = o.site.owner.to_text();
        if rcode == 0 {
            log::info!("acme: certificate for {host} written back and committed");
            self.issued += 1;
            self.schedule.written(&host, &o.site.csr, unix);
        } else {
            log::error!("acme: writing the certificate for {host} failed (RCODE {rcode}); trying again later");
            self.schedule.write_failed(&o.site.csr);
        }
    }

    /// Walk the zones for CSRs when a serial moved (or hourly) and start
    /// the first order the schedule asks for.
    fn scan(&mut self, dns: &Dns, unix: u64) -> bool {
        let zones: Vec<(Vec<u8>, u32)> = dns
            .zones
            .zones()
            .map(|z| (z.origin.key().to_vec(), z.serial().unwrap_or(0)))
            .collect();
        if !self.schedule.rescan(zones, unix) {
            return false;
        }
        let sites = records::scan(&dns.zones);
        self.expiry = sites
            .iter()
            .filter_map(|s| {
                let info = gitns_acme::cert::parse(s.certs.first()?).ok()?;
                Some((s.owner.to_text(), info.not_after))
            })
            .collect();
        sites.into_iter().any(|site| self.consider(dns, site, unix))
    }

    /// Start an order for `site` if the schedule says so; true if started.
    fn consider(&mut self, dns: &Dns, site: CsrSite, unix: u64) -> bool {
        let host = site.owner.to_text();
        let view = Site {
            owner: &host,
            csr: &site.csr,
            cert: site.certs.first().map(Vec::as_slice),
        };
        let inside = |n: &str| records::inside(&dns.zones, n);
        let why = match self.schedule.decide(&view, unix, inside) {
            Decision::Wait => return false,
            Decision::Refuse(why) => {
                log::error!("acme: the CSR at {host} refused: {why}");
                return false;
            }
            Decision::Order(why) => why,
        };
        if let Err(e) = self.client.start_order(unix, &site.csr) {
            log::error!("acme: the CSR at {host} is refused: {e:?}");
            self.schedule.refused(&site.csr);
            return false;
        }
        log::info!("acme: ordering a certificate for {host}: {why}");
        self.order = Some(Order {
            site,
            txt: TxtWait::default(),
            probe: None,
        });
        true
    }

    /// Move the request in flight; its response (or failure) goes to the
    /// client.
    fn pump<P: Platform>(&mut self, t: &mut Turn<P>) -> bool {
        let Some(c) = self.conn.as_mut() else {
            return false;
        };
        let (moved, done) = c.pump(t.net, t.unix, t.now);
        let Some(result) = done else {
            return moved;
        };
        if let Some(c) = self.conn.take() {
            c.close(t.net);
        }
        let input = match result {
            Ok(r) => Input::Response(r),
            Err(e) => {
                log::warn!("acme: {e}");
                Input::TransportError(e)
            }
        };
        self.client.handle(t.unix, input);
        true
    }

    fn output<P: Platform>(&mut self, t: &mut Turn<P>, out: Output) {
        match out {
            Output::Request(req) => self.request(t, req),
            Output::WaitUntil(w) => self.wait_until = Some(w),
            Output::PublishTxt { name, value } => self.txt(t.dns, name, value, true, t.now),
            Output::RemoveTxt { name, value } => self.txt(t.dns, name, value, false, t.now),
            Output::Certificate {
                chain_der,
                not_after,
                ..
            } => self.certificate(t, &chain_der, not_after),
            Output::Failed { error, .. } => {
                if let Some(o) = self.order.take() {
                    self.failed += 1;
                    let wait = self.schedule.failed(&o.site.csr, t.unix);
                    log::error!(
                        "acme: the order for {} failed: {error:?}; next try in {wait} s",
                        o.site.owner.to_text()
                    );
                }
            }
        }
    }

    /// Open a connection for `req` (its host resolved first if a name).
    fn request<P: Platform>(&mut self, t: &mut Turn<P>, req: HttpRequest) {
        let resolver = t.resolver.as_deref_mut();
        let ip = match (conn::ip_host(&req.url), conn::host_port(&req.url), resolver) {
            (Some(ip), _, _) => ip,
            (None, Some((host, _)), Some(r)) => {
                let platform = &mut *t.platform;
                match r.resolve(&host, t.now, &mut || platform.random_u16()) {
                    ResolveState::Ready(ip) => ip,
                    ResolveState::Pending => {
                        self.unresolved = Some(req);
                        return;
                    }
                    ResolveState::Failed(e) => {
                        let why = alloc::format!("cannot resolve {host}: {e}");
                        self.client.handle(t.unix, Input::TransportError(why));
                        return;
                    }
                }
            }
            _ => {
                let why = String::from("the ACME server's host name needs --resolver=IP");
                log::error!("acme: {}: {why}", req.url);
                self.client.handle(t.unix, Input::TransportError(why));
                return;
            }
        };
        let port = t.platform.ephemeral_port();
        log::debug!("acme: {} {}", req.method.as_str(), req.url);
        match HttpsConn::open(t.net, &req, ip, &self.anchors, t.unix, t.now, port) {
            Ok(c) => self.conn = Some(c),
            Err(e) => {
                log::warn!("acme: {e}");
                self.client.handle(t.unix, Input::TransportError(e));
            }
        }
    }

    /// Serve (or stop serving) a challenge TXT; secondaries are NOTIFYed.
    fn txt(&mut self, dns: &mut Dns, name: String, value: String, add: bool, now: u64) {
        if let (false, Some(o)) = (add, self.order.as_mut()) {
            // Not kept alive by `keep_txt` any more, whatever happens here.
            o.txt.removed(&name, &value);
        }
        match records::set_txt(&mut dns.zones, &name, &value, add) {
            Ok(zone) => {
                log::info!(
                    "acme: {} TXT {name} {value}",
                    if add { "serving" } else { "removed" }
                );
                dns.push_event(Event::Updated(zone));
                if let (true, Some(o)) = (add, self.order.as_mut()) {
                    o.txt.published(name, value, now);
                    o.probe = None;
                }
            }
            Err(e) => log::error!("acme: TXT {name}: {e}"),
        }
    }

    /// Put back a published TXT the zone lost (reloaded from git during
    /// the order): served again with a new serial, secondaries NOTIFYed.
    fn keep_txt(&mut self, dns: &mut Dns, now: u64) -> bool {
        let Some(o) = self.order.as_mut() else {
            return false;
        };
        if !o.txt.check_due(now) {
            return false;
        }
        let mut busy = false;
        for (name, value) in o.txt.records() {
            if records::has_txt(&dns.zones, name, value) {
                continue;
            }
            match records::set_txt(&mut dns.zones, name, value, true) {
                Ok(zone) => {
                    log::info!("acme: the zone was reloaded; serving TXT {name} {value} again");
                    dns.push_event(Event::Updated(zone));
                    busy = true;
                }
                Err(e) => log::error!("acme: TXT {name}: {e}"),
            }
        }
        busy
    }

    /// Tell the client the TXT records are out once every secondary of
    /// their zones serves them (asked directly), or the wait is over.
    fn txt_ready<P: Platform>(&mut self, t: &mut Turn<P>) -> bool {
        let Some(o) = self.order.as_mut() else {
            return false;
        };
        let Stage::Asking { overdue } = o.txt.stage(t.now) else {
            return false;
        };
        let mut busy = false;
        if o.probe.is_none() {
            o.probe = Some(new_probe(t.platform, t.dns, o.txt.records(), t.now));
            busy = true;
        }
        let probe = o.probe.as_mut().expect("set above");
        if self.probe_socket.is_none() {
            let port = t.platform.ephemeral_port();
            match UdpPeers::bind(t.net, port, 16, "acme: TXT probe") {
                Ok(s) => self.probe_socket = Some(s),
                Err(e) => log::error!("acme: no socket to ask the secondaries: {e}"),
            }
        }
        if let Some(s) = self.probe_socket.as_mut() {
            let due = probe.due(t.now);
            let moved = s.exchange(t.net, due, |ep, from, msg| {
                let hit = probe.on_response(from, msg);
                if hit {
                    log::info!("acme: {ep} serves the challenge TXT");
                }
                hit
            });
            busy |= moved.busy;
        }
        if !probe.done() {
            if !overdue {
                return busy;
            }
            for (s, name) in probe.missing() {
                let [a, b, c, d] = s.addr;
                log::warn!(
                    "acme: {a}.{b}.{c}.{d} does not serve the TXT at {} yet; asking for validation anyway",
                    name.to_text()
                );
            }
        }
        o.txt.told();
        o.probe = None;
        self.client.handle(t.unix, Input::TxtReady);
        true
    }

    /// Write the certificate back through the UPDATE path (its answer
    /// comes back through [`Acme::committed`]).
    fn certificate<P: Platform>(&mut self, t: &mut Turn<P>, chain: &[Vec<u8>], not_after: u64) {
        let Some(o) = self.order.as_mut() else { return };
        log::info!(
            "acme: certificate for {} issued, valid until {not_after} (unix)",
            o.site.owner.to_text()
        );
        let id = t.platform.random_u16();
        let Some(msg) = records::certificate_update(&o.site, chain, id) else {
            log::error!("acme: the certificate chain does not fit one UPDATE");
            self.order = None;
            return;
        };
        t.dns.submit_internal(msg);
    }
}

/// A probe of `txt` (name, value) on every secondary of their zones.
fn new_probe<P: Platform>(
    platform: &mut P,
    dns: &Dns,
    txt: &[(String, String)],
    now: u64,
) -> TxtProbe {
    let (targets, records) = records::txt_probe_targets(&dns.zones, &dns.notifier, &dns.own, txt);
    if !targets.is_empty() {
        log::info!(
            "acme: waiting for {} secondar{} to serve the challenge TXT",
            targets.len(),
            if targets.len() == 1 { "y" } else { "ies" }
        );
    }
    TxtProbe::new(&targets, &records, now, &mut || platform.random_u16())
}
