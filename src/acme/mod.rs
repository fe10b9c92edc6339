//! ACME in the appliance: the pump of the sans-I/O [`Driver`]. Its requests
//! go over [`HttpsConn`], its TXT probes over a [`UdpPeers`] socket, its zone
//! changes and UPDATE into [`Dns`], its log lines to the log.

use crate::config::AcmeConfig;
use crate::dns::Dns;
use crate::peers::UdpPeers;
use crate::resolve::{ResolveState, Resolver};
use crate::server::https_conn::{self as conn, HttpsConn};
use alloc::string::String;
use gitns_acme::driver::{Driver, Effect, Turn};
use gitns_acme::{AccountKey, HttpRequest, HttpResponse};
use gitns_dns::authority::Event;
use gitns_https::Anchors;
use gitns_net::{Net, Platform};

/// How soon a connection in flight or a pending name is looked at again.
const PUMP_NS: u64 = 10_000_000;

/// The ACME side of the appliance.
pub struct Acme {
    driver: Driver,
    anchors: Anchors,
    conn: Option<HttpsConn>,
    probe_socket: Option<UdpPeers>,
    /// A request waiting for its host name to resolve.
    unresolved: Option<HttpRequest>,
}

/// What one turn works with (monotonic ns, unix s).
struct Io<'a, P> {
    platform: &'a mut P,
    net: &'a mut Net,
    dns: &'a mut Dns,
    resolver: Option<&'a mut Resolver>,
    now: u64,
    unix: u64,
}

/// Call `f` with the driver's view of this turn.
fn with_turn<P: Platform, R>(io: &mut Io<P>, f: impl FnOnce(&mut Turn) -> R) -> R {
    let platform = &mut *io.platform;
    let mut ids = || platform.random_u16();
    f(&mut Turn {
        zones: &mut io.dns.zones,
        notifier: &io.dns.notifier,
        own: &io.dns.own,
        now: io.now,
        unix: io.unix,
        ids: &mut ids,
    })
}

impl Acme {
    /// From the configuration; None (logged) when ACME is off.
    pub fn from_config(cfg: &AcmeConfig) -> Option<Acme> {
        let seed = cfg.account_key_seed.as_ref()?;
        let key = AccountKey::from_seed(seed.as_bytes())
            .map_err(|e| log::error!("acme: account key from --account-key-seed: {e:?}; ACME off"))
            .ok()?;
        let mut anchors = Anchors::lets_encrypt();
        for der in &cfg.extra_ca {
            if let Err(e) = anchors.add_der(der) {
                log::error!("acme: --acme-ca is not a usable CA certificate: {e:?}");
            }
        }
        log::info!("acme: ordering certificates from {}", cfg.server);
        let email = cfg.email.as_deref();
        Some(Acme {
            driver: Driver::new(&cfg.server, key, email, cfg.renew_days * 86_400),
            anchors,
            conn: None,
            probe_socket: None,
            unresolved: None,
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
        let io = &mut Io {
            platform,
            net,
            dns,
            resolver,
            now,
            unix,
        };
        if let Some(req) = self.unresolved.take() {
            self.request(io, req);
        }
        let mut busy = self.pump(io);
        busy |= with_turn(io, |t| self.driver.tick(t));
        busy |= self.probe(io);
        while let Some(effect) = self.driver.next_effect() {
            match effect {
                Effect::Send(req) => self.request(io, req),
                Effect::ZoneChanged(zone) => io.dns.push_event(Event::Updated(zone)),
                Effect::Commit(msg) => io.dns.submit_internal(msg),
                Effect::Log(level, line) => log::log!(level, "{line}"),
            }
        }
        busy
    }

    /// The earliest time `run` must be called again (monotonic ns).
    pub fn next_deadline(&self, now: u64, unix: u64) -> u64 {
        let conn = self.conn.as_ref().map(HttpsConn::next_deadline);
        let pending = conn.is_some() || self.unresolved.is_some();
        let pump = pending.then_some(now + PUMP_NS);
        let d = self.driver.next_deadline(now, unix);
        d.min(conn.unwrap_or(u64::MAX))
            .min(pump.unwrap_or(u64::MAX))
    }

    /// Certificates (ACME) in the metrics text: expiry per name, orders
    /// by result.
    pub fn metrics(&self, t: &mut gitns_net::metrics::Text) {
        let c = self.driver.counts();
        let name = "gitns_certificate_expiry_seconds";
        let help = "notAfter (unix time) of the certificate served at each _letsencrypt._tcp name.";
        t.head(name, "gauge", help);
        for (owner, not_after) in &c.expiry {
            t.sample(name, &[("name", owner)], not_after);
        }
        let v = [("issued", c.issued), ("failed", c.failed)];
        let help = "ACME orders by result.";
        t.by("gitns_acme_orders_total", "counter", help, "result", &v);
    }

    /// The answer to the certificate's UPDATE (internal reply) at unix
    /// time `unix`; its log lines go out with the next `run`.
    pub fn committed(&mut self, answer: &[u8], unix: u64) {
        self.driver.committed(answer, unix);
    }

    /// Move the request in flight; its response (or failure) goes out.
    fn pump<P: Platform>(&mut self, io: &mut Io<P>) -> bool {
        let (moved, done) = HttpsConn::pump_slot(&mut self.conn, io.net, io.unix, io.now);
        if let Some(result) = done {
            self.answer(io, result);
        }
        moved
    }

    fn answer<P: Platform>(&mut self, io: &mut Io<P>, result: Result<HttpResponse, String>) {
        with_turn(io, |t| self.driver.response(t, result));
    }

    /// Open a connection for `req` (its host resolved first if a name).
    fn request<P: Platform>(&mut self, io: &mut Io<P>, req: HttpRequest) {
        let ip = match (conn::ip_host(&req.url), conn::host_port(&req.url)) {
            (Some(ip), _) => ip,
            (None, Some((host, _))) => {
                let Some(r) = io.resolver.as_deref_mut() else {
                    let why = "the ACME server's host name needs --resolver=IP";
                    return self.answer(io, Err(alloc::format!("{}: {why}", req.url)));
                };
                let platform = &mut *io.platform;
                match r.resolve(&host, io.now, &mut || platform.random_u16()) {
                    ResolveState::Ready(ip) => ip,
                    ResolveState::Pending => return self.unresolved = Some(req),
                    ResolveState::Failed(e) => {
                        return self.answer(io, Err(alloc::format!("cannot resolve {host}: {e}")))
                    }
                }
            }
            (None, None) => return self.answer(io, Err(alloc::format!("bad URL {}", req.url))),
        };
        let port = io.platform.ephemeral_port();
        log::debug!("acme: {} {}", req.method.as_str(), req.url);
        match HttpsConn::open(io.net, &req, ip, &self.anchors, io.unix, io.now, port) {
            Ok(c) => self.conn = Some(c),
            Err(e) => self.answer(io, Err(e)),
        }
    }

    /// Send the TXT probe's due queries and hand it the answers.
    fn probe<P: Platform>(&mut self, io: &mut Io<P>) -> bool {
        let Some(due) = self.driver.probe_due(io.now) else {
            return false;
        };
        if self.probe_socket.is_none() {
            let port = io.platform.ephemeral_port();
            match UdpPeers::bind(io.net, port, 16, "acme: TXT probe") {
                Ok(s) => self.probe_socket = Some(s),
                Err(e) => log::error!("acme: no socket to ask the secondaries: {e}"),
            }
        }
        let (driver, s) = (&mut self.driver, self.probe_socket.as_mut());
        s.is_some_and(|s| {
            s.exchange(io.net, due, |_, from, m| driver.probe_answer(from, m))
                .busy
        })
    }
}
