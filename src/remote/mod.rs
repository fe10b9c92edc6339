//! The git remote as the source of truth of the zones (DESIGN.md
//! "Appliance behaviour"): clone at boot, fetch on a signed NOTIFY (and
//! every `--sync-interval`), retry with backoff while serving what is
//! loaded, and UPDATEs committed and pushed before they are acknowledged.
//! One connection at a time, so fetches and UPDATEs are serialised; it is
//! kept open between commands (up to [`KEEP_NS`] idle), so a NOTIFY's fetch
//! or an UPDATE's push skips the TCP, key exchange and login round trips.

mod keys;
mod public;
mod update;

pub use public::PublicRemote;

use crate::config::{Config, SshKey};
use crate::dns::Deferred;
use crate::source::{install_set, Cx, ZoneSource};
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::zoneset::ZoneSet;
use gitns_git::checkout::Checkout;
use gitns_git::client::{Client, Done, Job, Start};
use gitns_git::pack::Limits;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::push_queue::PushQueue;
use gitns_git::remote::Remote;
use gitns_git::session::{Op, Outcome};
use gitns_git::ssh::{Credential, SshExec};
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use gitns_net::{Net, Platform};
use gitns_serve::git_stats::GitStats;
use gitns_serve::link::Links;
use gitns_serve::link_pumps::describe;
use gitns_serve::resolve::ipv4_of;
use gitns_store::local::Local;

/// Largest pack a fetch takes.
const MAX_PACK: usize = 256 << 20;

/// What [`GitRemote::open`] did with a command.
enum Opened {
    Started,
    /// The kept connection takes it in a moment (the upload-pack started
    /// ahead is ending): ask again on a later turn.
    Wait,
}

/// The git side of the appliance: the client's policy over a socket.
pub struct GitRemote {
    remote: Remote,
    client: Client,
    cred: Credential,
    pin: Option<String>,
    checkout: Option<Checkout>,
    /// The socket under the client's connection.
    links: Links,
    /// UPDATEs committed and pushed, one at a time.
    updates: PushQueue<update::Pending>,
    /// DNSSEC key files the appliance changed, pushed while no UPDATE
    /// waits (keys.rs); whether the push under way is one of them; no key
    /// push before this monotonic time (one failed).
    keys: PushQueue<gitns_store::archive::File>,
    pushing_keys: bool,
    keys_hold: u64,
    pub stats: GitStats,
    /// The remote host's address, once known.
    addr: Option<Ipv4Address>,
    /// Fetches started so far.
    fetch_seq: u64,
}

impl GitRemote {
    /// The remote of `cfg`, if `--remote` was given; a clone is due at once.
    pub fn from_config(cfg: &Config, now: u64) -> Option<GitRemote> {
        let remote = cfg.ssh_remote()?.clone();
        let cred = match cfg.ssh_key.clone()? {
            SshKey::Ed25519(seed) => Credential::Ed25519Seed(seed),
            SshKey::Password(p) => Credential::Password(p),
        };
        let sync_ns = cfg.sync_interval_s.saturating_mul(1_000_000_000);
        let pin = cfg.ssh_authenticator.clone();
        let own = alloc::format!("{}", cfg.net.ipv4.address());
        Some(GitRemote {
            updates: PushQueue::new(&remote.branch, &own),
            keys: PushQueue::new(&remote.branch, &own),
            pushing_keys: false,
            keys_hold: 0,
            client: Client::new(remote.clone(), pin.is_some(), now, sync_ns),
            remote,
            cred,
            pin,
            checkout: None,
            links: Links::default(),
            stats: GitStats::default(),
            addr: None,
            fetch_seq: 0,
        })
    }

    /// Is the connection free for the next job (and the remote's address
    /// known)?
    fn ready<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        !self.client.busy() && self.resolve(cx, now)
    }

    /// Close the socket whose connection the client dropped or replaced.
    fn close_stale(&mut self, net: &mut Net) {
        let live = self
            .client
            .conn()
            .is_some()
            .then(|| self.client.generation());
        self.links.keep_only(net, live);
    }

    /// Find the remote's address (a name through the resolver, its TTL
    /// honoured by the resolver's cache); false while it is unknown.
    fn resolve<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        let platform = &mut *cx.platform;
        let resolver = cx.resolver.as_deref_mut();
        match ipv4_of(resolver, &self.remote.host, now, &mut || {
            platform.random_u16()
        }) {
            Ok(ip) => {
                self.addr = ip.or(self.addr);
                ip.is_some()
            }
            // The resolver holds a failure 5 s before it asks again; the
            // last address known stays usable meanwhile.
            Err(_) => self.addr.is_some(),
        }
    }

    /// The head commit the zones come from, once cloned.
    pub fn head(&self) -> Option<gitns_git::oid::Oid> {
        self.checkout.as_ref().map(|c| c.head)
    }

    /// The next job on a free connection: the UPDATE in progress (a
    /// rejected push fetches first), else a fetch when due.
    fn start_next<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        if self.step_update(cx, now) || self.step_keys(cx, now) {
            return true;
        }
        if self.client.schedule.due(now) {
            self.start_fetch(cx, now);
            return true;
        }
        false
    }

    /// Open a fetch; a connection that cannot even start counts as a
    /// failed fetch (backoff), so the loop does not retry every turn.
    fn start_fetch<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) {
        let haves = self.checkout.iter().map(|c| c.head).collect();
        let max_pack = pack_limits(cx.platform).max_total.min(MAX_PACK);
        let v2 = self.client.v2();
        let op = Op::Fetch(Fetch::new(&self.remote.branch, haves, v2, max_pack));
        log::debug!(
            "git: fetching {} from {}",
            self.remote.branch,
            self.remote.host
        );
        let command = self.client.fetch_command();
        self.fetch_seq += 1;
        let seq = self.fetch_seq;
        match self.open(cx, &command, op, Job::Fetch(seq), now) {
            Ok(Opened::Started) => cx.dns.holds.started(seq),
            Ok(Opened::Wait) => {}
            Err(e) => self.fetch_failed(cx, &e, now),
        }
    }

    /// Run `command` for `job`: on the kept connection, or on a new one.
    fn open<P: Platform>(
        &mut self,
        cx: &mut Cx<P>,
        command: &str,
        op: Op,
        job: Job,
        now: u64,
    ) -> Result<Opened, String> {
        let (remote, cred, pin) = (&self.remote, &self.cred, self.pin.as_deref());
        let connect = || SshExec::new(&remote.user, cred.clone(), command, pin);
        match self.client.start(command, op, job, now, connect) {
            Start::Reused => return Ok(Opened::Started),
            Start::Wait => return Ok(Opened::Wait),
            Start::New => self.close_stale(cx.net),
        }
        let opened = self
            .addr
            .ok_or_else(|| String::from("the remote's address is not known"))
            .and_then(|ip| {
                let target = IpEndpoint::new(IpAddress::Ipv4(ip), self.remote.port);
                let generation = self.client.generation();
                let port = cx.platform.ephemeral_port();
                self.links.open(cx.net, target, port, generation)
            });
        match opened {
            Ok(()) => Ok(Opened::Started),
            Err(e) => {
                self.client.abandon();
                Err(e)
            }
        }
    }

    fn finish<P: Platform>(&mut self, cx: &mut Cx<P>, done: Done, now: u64) {
        let target = self.links.target();
        let outcome = done.outcome.map_err(|e| match target {
            Some(t) => describe(&e, t, done.connected),
            None => alloc::format!("{e}"),
        });
        let seq = match done.job {
            Job::Fetch(n) => Some(n),
            Job::Push(_) => None,
        };
        match (done.job, outcome) {
            (Job::Fetch(_), Ok(Outcome::Fetched(f))) => match self.fetched(cx, f) {
                Ok(()) => {
                    self.client.schedule.succeeded();
                    self.stats.fetched(cx.platform.wall_clock_ns());
                }
                Err(e) => self.fetch_failed(cx, &e, now),
            },
            (Job::Fetch(_), Ok(other)) => self.fetch_failed(cx, &alloc::format!("{other:?}"), now),
            (Job::Fetch(_), Err(e)) => self.fetch_failed(cx, &e, now),
            (Job::Push(next), outcome) if self.pushing_keys => {
                self.keys_pushed(cx, next, outcome, now)
            }
            (Job::Push(next), outcome) => self.pushed(cx, next, outcome),
        }
        // NOTIFYs held for this fetch: answered with the keys it brought.
        if let Some(n) = seq {
            let held = cx.dns.holds.finished(n);
            cx.replies.extend(cx.dns.release(held));
        }
    }

    fn fetch_failed<P: Platform>(&mut self, cx: &mut Cx<P>, e: &str, now: u64) {
        self.stats.fetch_failures += 1;
        let wait = self.client.schedule.failed(now);
        log::error!(
            "git: fetch from {} failed: {e}; retrying in {} s, serving the loaded zones",
            self.remote.host,
            wait / 1_000_000_000
        );
        if let Some(u) = self.updates.give_up() {
            cx.replies
                .extend(u.fail(cx.dns, "the fetch before re-applying failed"));
        }
    }

    /// Install what a fetch brought: load the zones (a zone that fails
    /// keeps its last good version), persist them, NOTIFY secondaries.
    fn fetched<P: Platform>(&mut self, cx: &mut Cx<P>, f: Fetched) -> Result<(), String> {
        install_fetched(cx, f, &mut self.checkout, &self.remote.branch, None)
    }
}

/// Install what a fetch of `branch` brought on top of `checkout`: load the
/// zones (a zone that fails keeps its last good version), keep the files
/// in the storage cache, serve them, NOTIFY secondaries. Shared by the SSH
/// remote and the read-only one, which passes the records it keeps over
/// the remote's files (`local`: applied on the new files, kept with them).
fn install_fetched<P: Platform>(
    cx: &mut Cx<P>,
    f: Fetched,
    checkout: &mut Option<Checkout>,
    branch: &str,
    local: Option<Local>,
) -> Result<(), String> {
    let next = match f {
        Fetched::UpToDate(head) => {
            log::debug!("git: {branch} is up to date at {head}");
            return Ok(());
        }
        Fetched::Pack { head, pack } => {
            let limits = pack_limits(cx.platform);
            Checkout::from_pack(&pack, head, limits, checkout.as_ref())
                .map_err(|e| alloc::format!("bad pack for {head}: {e}"))?
        }
    };
    log::info!("git: {branch} is at {}", next.head);
    let files = next.files();
    let platform = &mut *cx.platform;
    let mut local = local.unwrap_or_default();
    let mut key_files = Vec::new();
    let prev = &cx.dns.zones;
    let sign = |zs: &mut ZoneSet, rep: &mut _| {
        local.apply(zs, rep).iter().for_each(|n| log::warn!("{n}"));
        key_files = crate::signing::sign_loaded(platform, zs, &files, Some(&prev.signers));
    };
    let (zones, report) = ZoneSet::load_then(&files, Some(prev), sign);
    crate::signing::queue(&mut cx.storage.unsaved, key_files);
    *checkout = Some(next);
    local.note_serials(&zones);
    cx.storage.keep(cx.platform, Some(local.into_files(files)));
    install_set(cx, zones, &report);
    Ok(())
}

impl<P: Platform> ZoneSource<P> for GitRemote {
    /// Drive the connection, finish what ended and start the next job.
    fn run(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        self.close_stale(cx.net);
        let generation = self.client.generation();
        let mut busy = match (self.links.of(generation), self.client.conn()) {
            (Some(link), Some(c)) => link.pump(cx.net, now, c),
            _ => false,
        };
        if let Some(done) = self.client.poll(now) {
            self.finish(cx, done, now);
            busy = true;
        }
        self.close_stale(cx.net);
        if self.ready(cx, now) {
            busy |= self.start_next(cx, now);
        }
        busy
    }

    fn next_deadline(&self) -> Option<u64> {
        Some(self.client.next_deadline())
    }

    /// Every zone comes from the remote's branch.
    fn owns(&self, _zone: &Name) -> bool {
        true
    }

    /// Fetch as soon as the connection is free.
    fn resync(&mut self, _cx: &mut Cx<P>, zone: &Name, now: u64) {
        log::info!("NOTIFY for {zone}: fetching from the git remote");
        self.client.schedule.now(now);
    }

    /// Commit and push `d` when the connection is free (one UPDATE at a
    /// time: the next waits for this one's push).
    fn update(&mut self, cx: &mut Cx<P>, d: Deferred, now: u64) -> Result<(), Deferred> {
        if self.updates.busy() || self.keys.busy() || !self.ready(cx, now) {
            return Err(d);
        }
        self.updates
            .offer(update::Pending::new(d))
            .map_err(|u| u.d)?;
        self.step_update(cx, now);
        Ok(())
    }

    fn metrics(&self, out: &mut String) {
        self.stats.metrics(out, self.head(), self.updates.counts());
    }

    fn log_counters(&self) {
        self.stats.log_counters(self.updates.counts());
    }
}

/// What a fetched pack may make us hold: from the guest's free heap
/// (issue 24), the defaults where the platform does not say.
fn pack_limits<P: Platform>(platform: &P) -> Limits {
    platform
        .heap_usage()
        .map_or_else(Limits::default, |(_, free)| Limits::for_memory(free))
}
