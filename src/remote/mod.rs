//! The git remote as the source of truth of the zones (DESIGN.md
//! "Appliance behaviour"): clone at boot, fetch on a signed NOTIFY (and
//! every `--sync-interval`), retry with backoff while serving what is
//! loaded, and UPDATEs committed and pushed before they are acknowledged.
//! One connection at a time, so fetches and UPDATEs are serialised; it is
//! kept open between commands (up to [`KEEP_NS`] idle), so a NOTIFY's fetch
//! or an UPDATE's push skips the TCP, key exchange and login round trips.

mod conn;
mod update;

use crate::config::{Config, SshKey};
use crate::dns::{self, Dns};
use crate::resolve::{ResolveState, Resolver};
use crate::storage::PlatformStore;
use alloc::string::String;
use alloc::vec::Vec;
use conn::Link;
use gitns_dns::zoneset::ZoneSet;
use gitns_git::checkout::Checkout;
use gitns_git::conn::Conn;
use gitns_git::pack::Limits;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::remote::Remote;
use gitns_git::session::{Op, Outcome, SessionError, Timeouts};
use gitns_git::ssh::{Credential, SshExec};
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use gitns_net::{Net, Platform};

/// First retry after a failed fetch; doubles up to [`MAX_BACKOFF_NS`].
const FIRST_BACKOFF_NS: u64 = 1_000_000_000;
const MAX_BACKOFF_NS: u64 = 60_000_000_000;
/// An idle connection is closed after this long without a command.
const KEEP_NS: u64 = 300_000_000_000;
/// Largest pack a fetch takes.
const MAX_PACK: usize = 256 << 20;

/// Counters of the git side.
#[derive(Clone, Copy, Debug, Default)]
pub struct GitStats {
    pub fetches: u64,
    pub fetch_failures: u64,
    pub pushes: u64,
    pub push_rejections: u64,
    pub push_failures: u64,
    /// Wall-clock seconds of the last successful fetch.
    pub last_sync_s: u64,
}

pub use crate::dns::Reply;

/// What the open connection is doing.
/// What [`GitRemote::open`] did with a command.
enum Opened {
    Started,
    /// The kept connection takes it in a moment (the upload-pack started
    /// ahead is ending): ask again on a later turn.
    Wait,
}

enum Job {
    /// Fetch number n (held NOTIFYs wait for the end of one, `notify_hold`).
    Fetch(u64),
    Push(Checkout),
}

/// The git side of the appliance.
pub struct GitRemote {
    remote: Remote,
    cred: Credential,
    pin: Option<String>,
    /// Our address, for the committer e-mail.
    own: String,
    checkout: Option<Checkout>,
    conn: Option<(Link, Job)>,
    /// The connection kept between commands, and until when.
    idle: Option<(Link, u64)>,
    closing: Vec<SocketHandle>,
    fetch_wanted: bool,
    next_fetch_ns: u64,
    backoff_ns: u64,
    sync_ns: u64,
    next_sync_ns: u64,
    update: Option<update::Pending>,
    host_key_logged: bool,
    /// Ask for protocol v2 (until the remote refuses the command form).
    v2: bool,
    /// The protocol of the last fetch, for the log when it changes.
    spoke_v2: Option<bool>,
    pub stats: GitStats,
    /// The remote host's address, once known.
    addr: Option<Ipv4Address>,
    /// Fetches started so far.
    fetch_seq: u64,
}

impl GitRemote {
    /// The remote of `cfg`, if `--remote` was given; a clone is due at once.
    pub fn from_config(cfg: &Config, now: u64) -> Option<GitRemote> {
        let remote = cfg.remote.clone()?;
        let cred = match cfg.ssh_key.clone()? {
            SshKey::Ed25519(seed) => Credential::Ed25519Seed(seed),
            SshKey::Password(p) => Credential::Password(p),
        };
        let sync_ns = cfg.sync_interval_s.saturating_mul(1_000_000_000);
        Some(GitRemote {
            remote,
            cred,
            pin: cfg.ssh_authenticator.clone(),
            own: alloc::format!("{}", cfg.net.ipv4.address()),
            checkout: None,
            conn: None,
            idle: None,
            closing: Vec::new(),
            fetch_wanted: true,
            next_fetch_ns: now,
            backoff_ns: FIRST_BACKOFF_NS,
            sync_ns,
            next_sync_ns: now.saturating_add(sync_ns),
            update: None,
            host_key_logged: false,
            v2: true,
            spoke_v2: None,
            stats: GitStats::default(),
            addr: None,
            fetch_seq: 0,
        })
    }

    /// A signed NOTIFY arrived: fetch as soon as the connection is free.
    pub fn notify(&mut self, now: u64) {
        self.fetch_wanted = true;
        self.next_fetch_ns = now;
    }

    /// Drive the connection and start the next job. Returns whether
    /// anything happened and the held-back responses now ready.
    pub fn run<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        dns: &mut Dns,
        resolver: Option<&mut Resolver>,
        now: u64,
    ) -> (bool, Vec<Reply>) {
        let mut replies = Vec::new();
        let mut busy = false;
        conn::reap(net, &mut self.closing);
        if self.sync_ns > 0 && now >= self.next_sync_ns {
            self.next_sync_ns = now + self.sync_ns;
            self.fetch_wanted = true;
        }
        self.pump_idle(net, now);
        if let Some((c, _)) = self.conn.as_mut() {
            busy |= c.pump(net, now);
            if let Some(outcome) = c.conn.poll(now) {
                let (mut c, job) = self.conn.take().expect("connection present");
                self.log_host_key(&c.conn);
                let ahead_failed = c.conn.ahead() && matches!(job, Job::Fetch(_));
                if c.conn.reused() && (!c.conn.started() || ahead_failed) && outcome.is_err() {
                    // The kept connection was gone before the command
                    // started (or the upload-pack started ahead was):
                    // nothing happened remotely; do it again on a new one
                    // (a push's UPDATE is still held).
                    log::info!(
                        "git: the kept connection to {} is gone; opening a new one",
                        self.remote.host
                    );
                    c.close(net, &mut self.closing);
                    if matches!(job, Job::Fetch(_)) {
                        self.fetch_wanted = true;
                        self.next_fetch_ns = now;
                    }
                    return (true, replies);
                }
                let ok = outcome.is_ok();
                let outcome = self.note_protocol(&c.conn, outcome);
                let described = outcome.map(|o| o.map_err(|e| c.describe(&e)));
                if ok {
                    // After a fetch the next fetch's upload-pack starts
                    // ahead (v2 only). Not after a push: pushes come in
                    // bursts (UPDATEs, ACME) and the next one would wait
                    // for it to end (~200 ms here, 4.2 -> 5+ pushes/s).
                    let ahead =
                        (matches!(job, Job::Fetch(_)) && self.v2 && self.spoke_v2 == Some(true))
                            .then(|| self.remote.upload_pack_v2());
                    if c.conn.rest(ahead) {
                        self.idle = Some((c, now + KEEP_NS));
                    } else {
                        c.close(net, &mut self.closing);
                    }
                } else {
                    c.close(net, &mut self.closing);
                }
                match described {
                    Some(outcome) => self.finish(platform, dns, job, outcome, now, &mut replies),
                    // The v2 command form was refused: again at once, plainly.
                    None => {
                        self.fetch_wanted = true;
                        self.next_fetch_ns = now;
                    }
                }
                busy = true;
            }
        }
        if self.conn.is_none() && self.resolve(platform, resolver, now) {
            busy |= self.start_next(platform, net, dns, now, &mut replies);
        }
        (busy, replies)
    }

    /// Keep the idle connection's bytes moving; close it when the remote
    /// did or when it has been idle too long.
    fn pump_idle(&mut self, net: &mut Net, now: u64) {
        let Some((idle, until)) = self.idle.as_mut() else {
            return;
        };
        idle.pump(net, now);
        if idle.conn.resting() && now < *until {
            return;
        }
        if let Some((idle, until)) = self.idle.take() {
            log::debug!(
                "git: closing the idle connection to {} ({})",
                self.remote.host,
                if now >= until {
                    "idle too long"
                } else {
                    "closed by the remote"
                }
            );
            idle.close(net, &mut self.closing);
        }
    }

    /// Find the remote's address (a name through the resolver, its TTL
    /// honoured by the resolver's cache); false while it is unknown.
    fn resolve<P: Platform>(
        &mut self,
        platform: &mut P,
        resolver: Option<&mut Resolver>,
        now: u64,
    ) -> bool {
        if let Ok(ip) = self.remote.host.parse::<Ipv4Address>() {
            self.addr = Some(ip);
            return true;
        }
        let Some(r) = resolver else { return false };
        match r.resolve(&self.remote.host, now, &mut || platform.random_u16()) {
            ResolveState::Ready(IpAddress::Ipv4(ip)) => {
                self.addr = Some(ip);
                true
            }
            ResolveState::Ready(_) | ResolveState::Pending => false,
            // The resolver holds a failure 5 s before it asks again; the
            // last address known stays usable meanwhile.
            ResolveState::Failed(_) => self.addr.is_some(),
        }
    }

    /// The head commit the zones come from, once cloned.
    pub fn head(&self) -> Option<gitns_git::oid::Oid> {
        self.checkout.as_ref().map(|c| c.head)
    }

    /// When [`GitRemote::run`] must run next at the latest.
    pub fn next_deadline(&self) -> u64 {
        let mut t = match &self.conn {
            Some((c, _)) => c.conn.next_deadline(),
            None if self.fetch_wanted => self.next_fetch_ns,
            None => u64::MAX,
        };
        if self.sync_ns > 0 {
            t = t.min(self.next_sync_ns);
        }
        if let Some((_, until)) = &self.idle {
            t = t.min(*until);
        }
        t
    }

    fn log_host_key(&mut self, c: &Conn) {
        if self.host_key_logged || self.pin.is_some() {
            return;
        }
        if let Some(fp) = c.observed_host_key() {
            log::warn!(
                "git remote {}: host key {fp} ACCEPTED WITHOUT CHECK; pin it with --ssh-authenticator={fp}",
                self.remote.host
            );
            self.host_key_logged = true;
        }
    }

    fn start_next<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        dns: &mut Dns,
        now: u64,
        replies: &mut Vec<Reply>,
    ) -> bool {
        if self.update.is_none() {
            self.update = dns.deferred.pop_front().map(update::Pending::new);
        }
        if let Some(u) = self.update.take() {
            return self.step_update(platform, net, dns, u, now, replies);
        }
        if self.fetch_wanted && now >= self.next_fetch_ns {
            self.start_fetch(platform, net, dns, now, replies);
            return true;
        }
        false
    }

    /// Open a fetch; a connection that cannot even start counts as a
    /// failed fetch (backoff), so the loop does not retry every turn.
    fn start_fetch<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        dns: &mut Dns,
        now: u64,
        replies: &mut Vec<Reply>,
    ) {
        let haves = self.checkout.iter().map(|c| c.head).collect();
        let max_pack = pack_limits(platform).max_total.min(MAX_PACK);
        let op = Op::Fetch(Fetch::new(&self.remote.branch, haves, self.v2, max_pack));
        log::debug!(
            "git: fetching {} from {}",
            self.remote.branch,
            self.remote.host
        );
        let command = if self.v2 {
            self.remote.upload_pack_v2()
        } else {
            self.remote.command("git-upload-pack")
        };
        self.fetch_seq += 1;
        let seq = self.fetch_seq;
        match self.open(platform, net, &command, op, Job::Fetch(seq), now) {
            Ok(Opened::Started) => dns.holds.started(seq),
            Ok(Opened::Wait) => {
                self.fetch_wanted = true;
                self.next_fetch_ns = now;
            }
            Err(e) => self.fetch_failed(dns, &e, now, replies),
        }
    }

    /// Log the protocol a fetch spoke when it changes. A remote that
    /// refused the v2 command form (git-shell) gets the plain command from
    /// now on: None, fetch again at once.
    fn note_protocol(
        &mut self,
        c: &Conn,
        outcome: Result<Outcome, SessionError>,
    ) -> Option<Result<Outcome, SessionError>> {
        match (&outcome, c.fetch_v2()) {
            (Err(SessionError::RemoteExit(why)), Some(_)) if self.v2 && refused_command(why) => {
                log::info!(
                    "git: the remote refused `env GIT_PROTOCOL=version=2 ...` ({why}); using protocol v0"
                );
                self.v2 = false;
                None
            }
            (Ok(_), Some(v2)) if self.spoke_v2 != Some(v2) => {
                log::info!(
                    "git: the remote speaks protocol {}",
                    if v2 { "v2" } else { "v0" }
                );
                self.spoke_v2 = Some(v2);
                Some(outcome)
            }
            _ => Some(outcome),
        }
    }

    fn open<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        command: &str,
        mut op: Op,
        job: Job,
        now: u64,
    ) -> Result<Opened, String> {
        let timeouts = Timeouts::default();
        if let Some((mut idle, until)) = self.idle.take() {
            match idle.conn.run(command, op, now, timeouts) {
                Ok(()) => {
                    log::debug!(
                        "git: {command} on the kept connection{}",
                        if idle.conn.ahead() {
                            " (started ahead)"
                        } else {
                            ""
                        }
                    );
                    self.conn = Some((idle, job));
                    return Ok(Opened::Started);
                }
                Err(back) if back.wait => {
                    // The upload-pack started ahead is ending: the
                    // connection takes the command in a moment.
                    self.idle = Some((idle, until));
                    return Ok(Opened::Wait);
                }
                Err(back) => {
                    idle.close(net, &mut self.closing);
                    op = back.op;
                }
            }
        }
        let ip = self.addr.ok_or("the remote's address is not known")?;
        let target = IpEndpoint::new(IpAddress::Ipv4(ip), self.remote.port);
        let ssh = SshExec::new(
            &self.remote.user,
            self.cred.clone(),
            command,
            self.pin.as_deref(),
        );
        let conn = Conn::new(ssh, op, now, timeouts);
        self.conn = Some((
            Link::open(net, target, platform.ephemeral_port(), conn)?,
            job,
        ));
        Ok(Opened::Started)
    }

    fn finish<P: Platform>(
        &mut self,
        platform: &mut P,
        dns: &mut Dns,
        job: Job,
        outcome: Result<Outcome, String>,
        now: u64,
        replies: &mut Vec<Reply>,
    ) {
        let seq = match job {
            Job::Fetch(n) => Some(n),
            Job::Push(_) => None,
        };
        match (job, outcome) {
            (Job::Fetch(_), Ok(Outcome::Fetched(f))) => match self.fetched(platform, dns, f) {
                Ok(()) => {
                    self.fetch_wanted = false;
                    self.backoff_ns = FIRST_BACKOFF_NS;
                    self.stats.fetches += 1;
                    self.stats.last_sync_s = platform.wall_clock_ns() / 1_000_000_000;
                }
                Err(e) => self.fetch_failed(dns, &e, now, replies),
            },
            (Job::Fetch(_), Ok(other)) => {
                self.fetch_failed(dns, &alloc::format!("{other:?}"), now, replies)
            }
            (Job::Fetch(_), Err(e)) => self.fetch_failed(dns, &e, now, replies),
            (Job::Push(next), outcome) => self.pushed(platform, dns, next, outcome, replies),
        }
        // NOTIFYs held for this fetch: answered with the keys it brought.
        if let Some(n) = seq {
            let held = dns.holds.finished(n);
            replies.extend(dns.release(held));
        }
    }

    fn fetch_failed(&mut self, dns: &mut Dns, e: &str, now: u64, replies: &mut Vec<Reply>) {
        self.stats.fetch_failures += 1;
        log::error!(
            "git: fetch from {} failed: {e}; retrying in {} s, serving the loaded zones",
            self.remote.host,
            self.backoff_ns / 1_000_000_000
        );
        self.fetch_wanted = true;
        self.next_fetch_ns = now + self.backoff_ns;
        self.backoff_ns = (self.backoff_ns * 2).min(MAX_BACKOFF_NS);
        if let Some(u) = self.update.take() {
            replies.extend(u.fail(dns, "the fetch before re-applying failed"));
        }
    }

    /// Install what a fetch brought: load the zones (a zone that fails
    /// keeps its last good version), persist them, NOTIFY secondaries.
    fn fetched<P: Platform>(
        &mut self,
        platform: &mut P,
        dns: &mut Dns,
        f: Fetched,
    ) -> Result<(), String> {
        let checkout = match f {
            Fetched::UpToDate(head) => {
                log::debug!("git: {} is up to date at {head}", self.remote.branch);
                return Ok(());
            }
            Fetched::Pack { head, pack } => {
                Checkout::from_pack(&pack, head, pack_limits(platform), self.checkout.as_ref())
                    .map_err(|e| alloc::format!("bad pack for {head}: {e}"))?
            }
        };
        log::info!("git: {} is at {}", self.remote.branch, checkout.head);
        self.install(platform, dns, checkout);
        Ok(())
    }

    fn install<P: Platform>(&mut self, platform: &mut P, dns: &mut Dns, checkout: Checkout) {
        let files = checkout.files();
        let (zones, report) = ZoneSet::load(&files, Some(&dns.zones));
        dns.report(&report);
        let old = core::mem::replace(&mut dns.zones, zones);
        dns.forget_removed(&old);
        dns.cache.files = files;
        self.checkout = Some(checkout);
        persist(platform, dns);
        dns::notify_risen(platform, dns, Some(&old));
    }
}

/// What a fetched pack may make us hold: from the guest's free heap
/// (issue 24), the defaults where the platform does not say.
fn pack_limits<P: Platform>(platform: &P) -> Limits {
    platform
        .heap_usage()
        .map_or_else(Limits::default, |(_, free)| Limits::for_memory(free))
}

/// Does the remote's message say it would not run the command form (as
/// git-shell says "unrecognized command"), rather than a repository error?
fn refused_command(why: &str) -> bool {
    let w = why.to_ascii_lowercase();
    w.contains("command") && !w.contains("repositor")
}

/// Keep the zone files on the storage device (when there is one), so a
/// restart serves them before the remote answers.
fn persist<P: Platform>(platform: &mut P, dns: &mut Dns) {
    if platform.block_capacity().is_none() {
        return;
    }
    let now = platform.wall_clock_ns();
    if dns
        .rewrite_cache(&mut PlatformStore(platform), now)
        .is_err()
    {
        log::warn!("storage: the zone cache was not written; a restart waits for the remote");
    }
}
