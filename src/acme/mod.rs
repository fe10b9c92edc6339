//! ACME in the appliance: a TLSA `3 255 0` CSR at `_letsencrypt._tcp.<host>`
//! in our zones makes us order a certificate (RFC 8555, DNS-01 answered
//! from our own zones) and write it back beside the CSR as `3 0 0` (leaf)
//! and `0 0 0` (chain) TLSA records through the same path as a signed
//! UPDATE: committed (and pushed with a git remote) before it is served.
//! The protocol is the sans-I/O `gitns_acme::Client`; this file moves its
//! requests over [`conn::HttpsConn`] and its TXT records into the zones.

pub mod conn;
pub mod records;

use crate::config::AcmeConfig;
use crate::dns::Dns;
use crate::peers::UdpPeers;
use crate::resolve::{ResolveState, Resolver};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use conn::HttpsConn;
use gitns_acme::{AccountKey, Client, Input, Output};
use gitns_dns::authority::Event;
use gitns_dns::name::Name;
use gitns_dns::probe::TxtProbe;
use gitns_https::Anchors;
use gitns_net::{Net, Platform};
use records::CsrSite;

/// Zone serials are compared this often; the zones are walked for CSRs
/// only when one moved (or hourly, for renewals).
const SCAN_NS: u64 = 100_000_000;
/// After a failed order the same CSR waits RETRY_FIRST_SECS, doubled per
/// failure in a row up to RETRY_MAX_SECS: a CA down for minutes costs
/// minutes, and a name that keeps failing validation stays under Let's
/// Encrypt's limit of 5 failed validations per hour.
const RETRY_FIRST_SECS: u64 = 300;
const RETRY_MAX_SECS: u64 = 3600;
/// Secondaries get this long to serve a challenge TXT; validation is
/// asked for anyway after it (the CA may still reach a server that has it).
const TXT_WAIT_NS: u64 = 60_000_000_000;
/// Published TXT records settle this long before the secondaries are asked.
const TXT_MIN_NS: u64 = 200_000_000;
/// How often a published TXT is checked to be still served (a zone
/// reloaded from git during an order comes without it).
const TXT_CHECK_NS: u64 = 100_000_000;

/// The order being worked on.
struct Order {
    site: CsrSite,
    /// Challenge TXT records published: (name, value).
    txt: Vec<(String, String)>,
    /// Since when they wait for secondaries (until the client is told).
    txt_since: Option<u64>,
    /// Asking each secondary whether it serves them (from TXT_MIN_NS on).
    probe: Option<TxtProbe>,
    next_txt_check: u64,
}

/// The ACME side of the appliance.
pub struct Acme {
    client: Client,
    anchors: Anchors,
    renew_secs: u64,
    conn: Option<HttpsConn>,
    probe_socket: Option<UdpPeers>,
    /// A request waiting for its host name to resolve.
    unresolved: Option<gitns_acme::HttpRequest>,
    wait_until: Option<u64>,
    order: Option<Order>,
    next_scan: u64,
    /// Per CSR (DER): not before this unix time again (failed, refused).
    hold: BTreeMap<Vec<u8>, u64>,
    /// Per CSR (DER): orders failed in a row.
    failures: BTreeMap<Vec<u8>, u32>,
    /// Per owner: the CSR whose certificate we wrote (a changed CSR orders).
    written: BTreeMap<String, Vec<u8>>,
    /// Zones and serials at the last scan: a large zone is walked again
    /// only when a serial moved, or hourly for renewals.
    scanned: Vec<(Vec<u8>, u32)>,
    rescan_unix: u64,
    /// Certificates served: owner -> notAfter (unix), for the metrics.
    pub expiry: BTreeMap<String, u64>,
    pub issued: u64,
    pub failed: u64,
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
            renew_secs: cfg.renew_days * 86_400,
            conn: None,
            probe_socket: None,
            unresolved: None,
            wait_until: None,
            order: None,
            next_scan: 0,
            hold: BTreeMap::new(),
            failures: BTreeMap::new(),
            written: BTreeMap::new(),
            scanned: Vec::new(),
            rescan_unix: 0,
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
        mut resolver: Option<&mut Resolver>,
        now: u64,
    ) -> bool {
        let unix = platform.wall_clock_ns() / 1_000_000_000;
        let mut busy = false;
        if let Some(req) = self.unresolved.take() {
            self.request(platform, net, resolver.as_deref_mut(), req, now, unix);
        }
        if self.order.is_none() && now >= self.next_scan {
            self.next_scan = now + SCAN_NS;
            let zones: Vec<(Vec<u8>, u32)> = dns
                .zones
                .zones()
                .map(|z| (z.origin.key().to_vec(), z.serial().unwrap_or(0)))
                .collect();
            if zones != self.scanned || unix >= self.rescan_unix {
                self.scanned = zones;
                self.rescan_unix = unix + 3600;
                busy |= self.maybe_order(dns, unix);
            }
        }
        if let Some(c) = self.conn.as_mut() {
            let (moved, done) = c.pump(net, unix, now);
            busy |= moved;
            if let Some(result) = done {
                if let Some(c) = self.conn.take() {
                    c.close(net);
                }
                let input = match result {
                    Ok(r) => Input::Response(r),
                    Err(e) => {
                        log::warn!("acme: {e}");
                        Input::TransportError(e)
                    }
                };
                self.client.handle(unix, input);
            }
        }
        if self.wait_until.is_some_and(|t| unix >= t) {
            self.wait_until = None;
            self.client.handle(unix, Input::Timer);
            busy = true;
        }
        busy |= self.keep_txt(dns, now);
        busy |= self.txt_ready(platform, net, dns, now, unix);
        while let Some(out) = self.client.poll_output() {
            busy = true;
            self.output(platform, net, dns, resolver.as_deref_mut(), out, now, unix);
        }
        busy
    }

    /// The earliest time `run` must be called again (monotonic ns).
    pub fn next_deadline(&self, now: u64, unix: u64) -> u64 {
        let mut d = self.next_scan;
        if let Some(c) = &self.conn {
            d = d.min(c.next_deadline()).min(now + 10_000_000);
        }
        if self.unresolved.is_some() {
            d = d.min(now + 10_000_000);
        }
        if let Some(t) = self.wait_until {
            d = d.min(now + t.saturating_sub(unix) * 1_000_000_000);
        }
        if let Some(o) = &self.order {
            if !o.txt.is_empty() {
                d = d.min(o.next_txt_check);
            }
            if let Some(since) = o.txt_since {
                let probe = o.probe.as_ref().and_then(TxtProbe::next_deadline);
                d = d
                    .min(probe.unwrap_or(since + TXT_MIN_NS))
                    .min(since + TXT_WAIT_NS);
            }
        }
        d
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
            self.scanned.clear(); // look again: the expiry changed
                                  // Not again within the hour, whatever the expiry says (a CA
                                  // issuing shorter than --renew-days would loop otherwise).
            self.hold.insert(o.site.csr.clone(), unix + 3600);
            self.failures.remove(&o.site.csr);
            self.written.insert(host, o.site.csr);
        } else {
            log::error!("acme: writing the certificate for {host} failed (RCODE {rcode}); trying again later");
            self.hold.insert(o.site.csr, 0);
        }
    }

    /// Count a failed order of `csr`; how long it waits now.
    fn retry_after_failure(&mut self, csr: &[u8]) -> u64 {
        let n = self.failures.entry(csr.to_vec()).or_insert(0);
        *n = n.saturating_add(1);
        retry_wait(*n)
    }

    /// Look for a CSR that needs a certificate and start its order.
    fn maybe_order(&mut self, dns: &Dns, unix: u64) -> bool {
        let sites = records::scan(&dns.zones);
        self.expiry = sites
            .iter()
            .filter_map(|s| {
                let info = gitns_acme::cert::parse(s.certs.first()?).ok()?;
                Some((s.owner.to_text(), info.not_after))
            })
            .collect();
        for site in sites {
            if self.hold.get(&site.csr).is_some_and(|&t| unix < t) {
                continue;
            }
            let Some(why) = self.needs_order(dns, &site, unix) else {
                continue;
            };
            let host = site.owner.to_text();
            match self.client.start_order(unix, &site.csr) {
                Ok(_) => {
                    log::info!("acme: ordering a certificate for {host}: {why}");
                    self.order = Some(Order {
                        site,
                        txt: Vec::new(),
                        txt_since: None,
                        probe: None,
                        next_txt_check: 0,
                    });
                    return true;
                }
                Err(e) => {
                    log::error!("acme: the CSR at {host} is refused: {e:?}");
                    self.hold.insert(site.csr, u64::MAX);
                }
            }
        }
        false
    }

    /// Why `site` needs a certificate now, or None.
    fn needs_order(&mut self, dns: &Dns, site: &CsrSite, unix: u64) -> Option<&'static str> {
        let host = site.owner.to_text();
        let names = match gitns_acme::csr::parse(&site.csr) {
            Ok(c) => c.names,
            Err(e) => {
                log::error!("acme: the CSR at {host} refused: {e:?}");
                self.hold.insert(site.csr.clone(), u64::MAX);
                return None;
            }
        };
        if let Some(out) = names.iter().find(|n| !records::inside(&dns.zones, n)) {
            log::error!("acme: the CSR at {host} refused: {out} is outside our zones");
            self.hold.insert(site.csr.clone(), u64::MAX);
            return None;
        }
        if self.written.get(&host).is_some_and(|c| *c != site.csr) {
            return Some("the CSR changed");
        }
        let Some(cert) = site.certs.first() else {
            return Some("no certificate yet");
        };
        let Ok(info) = gitns_acme::cert::parse(cert) else {
            return Some("the certificate there is unreadable");
        };
        if !names.iter().all(|n| info.dns_names.contains(n)) {
            return Some("the certificate does not cover the CSR's names");
        }
        if gitns_acme::needs_renewal(info.not_after, unix, self.renew_secs) {
            return Some("the certificate expires soon");
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn output<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        dns: &mut Dns,
        resolver: Option<&mut Resolver>,
        out: Output,
        now: u64,
        unix: u64,
    ) {
        match out {
            Output::Request(req) => self.request(platform, net, resolver, req, now, unix),
            Output::WaitUntil(t) => self.wait_until = Some(t),
            Output::PublishTxt { name, value } => self.txt(dns, name, value, true, now),
            Output::RemoveTxt { name, value } => self.txt(dns, name, value, false, now),
            Output::Certificate {
                chain_der,
                not_after,
                ..
            } => self.certificate(platform, dns, &chain_der, not_after),
            Output::Failed { error, .. } => {
                if let Some(o) = self.order.take() {
                    self.failed += 1;
                    let wait = self.retry_after_failure(&o.site.csr);
                    log::error!(
                        "acme: the order for {} failed: {error:?}; next try in {wait} s",
                        o.site.owner.to_text()
                    );
                    self.hold.insert(o.site.csr, unix + wait);
                }
            }
        }
    }

    fn request<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        resolver: Option<&mut Resolver>,
        req: gitns_acme::HttpRequest,
        now: u64,
        unix: u64,
    ) {
        let ip = match (conn::ip_host(&req.url), conn::host_port(&req.url), resolver) {
            (Some(ip), _, _) => ip,
            (None, Some((host, _)), Some(r)) => {
                match r.resolve(&host, now, &mut || platform.random_u16()) {
                    ResolveState::Ready(ip) => ip,
                    ResolveState::Pending => {
                        self.unresolved = Some(req);
                        return;
                    }
                    ResolveState::Failed(e) => {
                        let why = alloc::format!("cannot resolve {host}: {e}");
                        self.client.handle(unix, Input::TransportError(why));
                        return;
                    }
                }
            }
            _ => {
                let why = String::from("the ACME server's host name needs --resolver=IP");
                log::error!("acme: {}: {why}", req.url);
                self.client.handle(unix, Input::TransportError(why));
                return;
            }
        };
        let port = platform.ephemeral_port();
        log::debug!("acme: {} {}", req.method.as_str(), req.url);
        match HttpsConn::open(net, &req, ip, &self.anchors, unix, now, port) {
            Ok(c) => self.conn = Some(c),
            Err(e) => {
                log::warn!("acme: {e}");
                self.client.handle(unix, Input::TransportError(e));
            }
        }
    }

    /// Serve (or stop serving) a challenge TXT; secondaries are NOTIFYed.
    fn txt(&mut self, dns: &mut Dns, name: String, value: String, add: bool, now: u64) {
        if let (false, Some(o)) = (add, self.order.as_mut()) {
            // Not kept alive by `keep_txt` any more, whatever happens here.
            o.txt.retain(|(n, v)| *n != name || *v != value);
        }
        match records::set_txt(&mut dns.zones, &name, &value, add) {
            Ok(zone) => {
                log::info!(
                    "acme: {} TXT {name} {value}",
                    if add { "serving" } else { "removed" }
                );
                dns.push_event(Event::Updated(zone));
                if let (true, Some(o)) = (add, self.order.as_mut()) {
                    o.txt.push((name, value));
                    o.txt_since = Some(now);
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
        if o.txt.is_empty() || now < o.next_txt_check {
            return false;
        }
        o.next_txt_check = now + TXT_CHECK_NS;
        let mut busy = false;
        for (name, value) in &o.txt {
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
    fn txt_ready<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        dns: &Dns,
        now: u64,
        unix: u64,
    ) -> bool {
        let Some(o) = self.order.as_mut() else {
            return false;
        };
        let Some(since) = o.txt_since else {
            return false;
        };
        let waited = now.saturating_sub(since);
        if waited < TXT_MIN_NS {
            return false;
        }
        let mut busy = false;
        if o.probe.is_none() {
            o.probe = Some(new_probe(platform, dns, &o.txt, now));
            busy = true;
        }
        let probe = o.probe.as_mut().expect("set above");
        if self.probe_socket.is_none() {
            match UdpPeers::bind(net, platform.ephemeral_port(), 16, "acme: TXT probe") {
                Ok(s) => self.probe_socket = Some(s),
                Err(e) => log::error!("acme: no socket to ask the secondaries: {e}"),
            }
        }
        if let Some(s) = self.probe_socket.as_mut() {
            let due = probe.due(now);
            let moved = s.exchange(net, due, |ep, from, msg| {
                let hit = probe.on_response(from, msg);
                if hit {
                    log::info!("acme: {ep} serves the challenge TXT");
                }
                hit
            });
            busy |= moved.busy;
        }
        if !probe.done() {
            if waited < TXT_WAIT_NS {
                return busy;
            }
            for (t, name) in probe.missing() {
                log::warn!(
                    "acme: {}.{}.{}.{} does not serve the TXT at {} yet; asking for validation anyway",
                    t.addr[0],
                    t.addr[1],
                    t.addr[2],
                    t.addr[3],
                    name.to_text()
                );
            }
        }
        o.txt_since = None;
        o.probe = None;
        self.client.handle(unix, Input::TxtReady);
        true
    }

    /// Write the certificate back through the UPDATE path (its answer
    /// comes back through [`Acme::committed`]).
    fn certificate<P: Platform>(
        &mut self,
        platform: &mut P,
        dns: &mut Dns,
        chain: &[Vec<u8>],
        not_after: u64,
    ) {
        let Some(o) = self.order.as_mut() else { return };
        log::info!(
            "acme: certificate for {} issued, valid until {not_after} (unix)",
            o.site.owner.to_text()
        );
        let Some(msg) = records::certificate_update(&o.site, chain, platform.random_u16()) else {
            log::error!("acme: the certificate chain does not fit one UPDATE");
            self.order = None;
            return;
        };
        dns.submit_internal(msg);
    }
}

/// A probe of `txt` (name, value) on every secondary of their zones.
fn new_probe<P: Platform>(
    platform: &mut P,
    dns: &Dns,
    txt: &[(String, String)],
    now: u64,
) -> TxtProbe {
    let mut targets = Vec::new();
    let mut records = Vec::new();
    for (name, value) in txt {
        let Ok(owner) = Name::parse(name, &Name::root()) else {
            continue;
        };
        if let Some(zone) = dns.zones.zone_for(&owner) {
            for (t, _key) in dns.notifier.secondaries(zone, &dns.zones, &dns.own) {
                if !targets.contains(&t) {
                    targets.push(t);
                }
            }
        }
        records.push((owner, value.as_bytes().to_vec()));
    }
    if !targets.is_empty() {
        log::info!(
            "acme: waiting for {} secondar{} to serve the challenge TXT",
            targets.len(),
            if targets.len() == 1 { "y" } else { "ies" }
        );
    }
    TxtProbe::new(&targets, &records, now, &mut || platform.random_u16())
}

/// The wait after `failures` failed orders in a row (1 or more).
fn retry_wait(failures: u32) -> u64 {
    RETRY_FIRST_SECS
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(RETRY_MAX_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_orders_back_off_to_an_hour() {
        let waits: Vec<u64> = (1..=7).map(retry_wait).collect();
        assert_eq!(waits, [300, 600, 1200, 2400, 3600, 3600, 3600]);
        assert_eq!(retry_wait(u32::MAX), 3600);
    }
}
