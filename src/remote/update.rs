//! The git remote as the sink of the UPDATE pipeline (RFC 2136 +
//! DESIGN.md): the core prepares the UPDATE once; its new zone is printed
//! and the change withdrawn; the push queue (sans-I/O,
//! [`gitns_git::push_queue`]) commits the file on the remote head and says
//! when it is pushed; then the prepared change is installed and its
//! NOERROR answer sent. A rejected push makes a fetch and a fresh
//! preparation on the new head (bounded); a failure sends the prepared
//! SERVFAIL answer and leaves the remote the truth.

use super::{GitRemote, Job};
use crate::dns::{Deferred, Dns, Prepare, Reply};
use crate::source::Cx;
use alloc::boxed::Box;
use gitns_dns::authority::Event;
use gitns_dns::prepare::Prepared;
use gitns_git::checkout::Checkout;
use gitns_git::push_queue::{Applying, Commit, Edit, Ended, Next};
use gitns_git::session::Outcome;
use gitns_net::Platform;

/// The UPDATE being committed.
pub struct Pending {
    pub d: Deferred,
    /// The change being pushed (withdrawn from the zones until pushed).
    prepared: Option<Box<Prepared>>,
}

impl Pending {
    pub fn new(d: Deferred) -> Pending {
        Pending { d, prepared: None }
    }

    /// Give up: the authority's answer when the change cannot be made
    /// durable (SERVFAIL, signed like every answer to a signed request).
    pub fn fail(self, dns: &mut Dns, why: &str) -> Option<Reply> {
        log::error!(
            "UPDATE from {} not acknowledged: {why}; answering SERVFAIL",
            self.d.peer
        );
        let msg = match self.prepared {
            Some(p) => Some(p.fail),
            // Failed before it was prepared: prepared now for its answer.
            None => match dns.prepare(&self.d) {
                Prepare::Answer(a) => a,
                Prepare::Change(mut p) => {
                    p.withdraw(&mut dns.zones);
                    Some(p.fail)
                }
            },
        };
        msg.map(|m| dns.update_reply(&self.d, m))
    }
}

impl GitRemote {
    /// Make progress on the waiting UPDATE: fetch first if the last push
    /// lost a race, else apply it and push the commit (or answer when
    /// nothing changes). False: none waits.
    pub(super) fn step_update<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        match self.updates.next(self.checkout.is_some()) {
            None => return false,
            Some(Next::Fail(u, why)) => cx.replies.extend(u.fail(cx.dns, why)),
            Some(Next::Fetch) => self.start_fetch(cx, now),
            Some(Next::Apply(a)) => self.apply(cx, a, now),
        }
        true
    }

    /// Prepare the UPDATE on the remote's head and push its zone's file.
    fn apply<P: Platform>(&mut self, cx: &mut Cx<P>, mut a: Applying<Pending>, now: u64) {
        let (dns, replies) = (&mut *cx.dns, &mut *cx.replies);
        let u = &mut a.change;
        let mut p = match dns.prepare(&u.d) {
            Prepare::Change(p) => p,
            Prepare::Answer(m) => {
                // Refused, a prerequisite failed, or nothing to change: final.
                replies.extend(m.map(|m| dns.update_reply(&u.d, m)));
                return;
            }
        };
        // The new zone's file, then the zones as they were until pushed.
        let text = dns.zones.zone(&p.zone).map(gitns_dns::zone::printer::print);
        p.withdraw(&mut dns.zones);
        let (zone, key) = (p.zone.clone(), p.key.to_text());
        u.prepared = Some(p);
        let Some(text) = text else {
            replies.extend(a.change.fail(dns, "the zone it changes is gone"));
            return;
        };
        let message = if u.d.internal {
            alloc::format!("certificate for {zone} from ACME\n")
        } else {
            alloc::format!("UPDATE of {zone} by {key} from {}\n", u.d.peer.addr)
        };
        let edit = Edit {
            file: gitns_store::zone_file_name(cx.storage.files(), &zone),
            text: text.into_bytes(),
            author: key.trim_end_matches('.').into(),
            message,
            time: cx.platform.wall_clock_ns() / 1_000_000_000,
        };
        let Some(head) = self.checkout.as_ref() else {
            let why = "not synchronised with the git remote yet";
            return cx.replies.extend(a.change.fail(cx.dns, why));
        };
        match self.updates.commit(a, head, edit) {
            // The remote's file already says this.
            Commit::Unchanged(u) => {
                let r = acknowledge(cx, u, None);
                cx.replies.extend(r);
            }
            Commit::Push(op, next) => {
                log::debug!("git: pushing {} ({})", next.head, zone);
                let command = self.remote.command("git-receive-pack");
                // Waiting: the commit is made again next turn.
                if let Err(e) = self.open(cx, &command, *op, Job::Push(next), now) {
                    let why = alloc::format!("cannot connect to the remote: {e}");
                    let u = self.updates.give_up();
                    cx.replies.extend(u.and_then(|u| u.fail(cx.dns, &why)));
                }
            }
        }
    }

    /// A push ended.
    pub(super) fn pushed<P: Platform>(
        &mut self,
        cx: &mut Cx<P>,
        next: Checkout,
        outcome: Result<Outcome, alloc::string::String>,
    ) {
        match self.updates.ended(next, outcome) {
            None => {}
            Some(Ended::Pushed(u, next)) => {
                log::info!("git: pushed {} to {}", next.head, self.remote.branch);
                let files = next.files();
                self.checkout = Some(next);
                let r = acknowledge(cx, u, Some(files));
                cx.replies.extend(r);
            }
            Some(Ended::Retry(why)) => {
                log::warn!("git: push rejected ({why}); fetching and applying the UPDATE again")
            }
            Some(Ended::Failed(u, why)) => cx.replies.extend(u.fail(cx.dns, &why)),
        }
    }
}

/// The change is durable in the remote (whose files are now `files`, when
/// they changed): install it, keep the files, answer, and let secondaries
/// know.
fn acknowledge<P: Platform>(
    cx: &mut Cx<P>,
    u: Pending,
    files: Option<alloc::vec::Vec<gitns_store::archive::File>>,
) -> Option<Reply> {
    let p = u.prepared?;
    let ok = p.ok.clone();
    let now = cx.platform.wall_clock_ns() / 1_000_000_000;
    match p.install(&mut cx.dns.zones, now) {
        Some(zone) => cx.dns.push_event(Event::Updated(zone)),
        None => log::warn!("the UPDATE pushed changes nothing served any more"),
    }
    cx.storage.keep(cx.platform, files);
    Some(cx.dns.update_reply(&u.d, ok))
}
