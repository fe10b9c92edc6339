//! The git remote as the sink of the UPDATE pipeline (RFC 2136 +
//! DESIGN.md): the core prepares the UPDATE once; its new zone is printed,
//! the change withdrawn, the file committed on the remote head and pushed;
//! once pushed the prepared change is installed and its NOERROR answer
//! sent. A push rejected because someone pushed first makes a fetch and a
//! fresh preparation on the new head (bounded); a failure sends the
//! prepared SERVFAIL answer and leaves the remote the truth.

use super::{GitRemote, Job};
use crate::dns::{Deferred, Dns, Prepare, Reply};
use crate::source::Cx;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use gitns_dns::authority::Event;
use gitns_dns::prepare::Prepared;
use gitns_git::object::Signature;
use gitns_git::proto::push::{Push, Pushed};
use gitns_git::session::{Op, Outcome};
use gitns_net::Platform;

/// Pushes tried for one UPDATE before it is answered SERVFAIL.
const MAX_ATTEMPTS: u8 = 3;

/// The UPDATE being committed.
pub struct Pending {
    pub d: Deferred,
    pub attempts: u8,
    /// The last push was rejected: fetch, then try again.
    pub refetch: bool,
    /// The change being pushed (withdrawn from the zones until pushed).
    prepared: Option<Box<Prepared>>,
}

impl Pending {
    pub fn new(d: Deferred) -> Pending {
        Pending {
            d,
            attempts: 0,
            refetch: false,
            prepared: None,
        }
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
    /// Make progress on `u`: fetch first if the last push lost a race,
    /// else apply it and push the commit (or answer when nothing changes).
    pub(super) fn step_update<P: Platform>(
        &mut self,
        cx: &mut Cx<P>,
        mut u: Pending,
        now: u64,
    ) -> bool {
        let Some(checkout) = self.checkout.as_ref() else {
            let r = u.fail(cx.dns, "not synchronised with the git remote yet");
            cx.replies.extend(r);
            return true;
        };
        if u.refetch {
            u.refetch = false;
            self.update = Some(u);
            self.start_fetch(cx, now);
            return true;
        }
        let (dns, replies) = (&mut *cx.dns, &mut *cx.replies);
        let mut p = match dns.prepare(&u.d) {
            Prepare::Change(p) => p,
            Prepare::Answer(a) => {
                // Refused, a prerequisite failed, or nothing to change: final.
                replies.extend(a.map(|m| dns.update_reply(&u.d, m)));
                return true;
            }
        };
        // The new zone's file, then the zones as they were until pushed.
        let Some(text) = dns.zones.zone(&p.zone).map(gitns_dns::zone::printer::print) else {
            p.withdraw(&mut dns.zones);
            u.prepared = Some(p);
            replies.extend(u.fail(dns, "the zone it changes is gone"));
            return true;
        };
        p.withdraw(&mut dns.zones);
        let (zone, key) = (p.zone.clone(), p.key.clone());
        u.prepared = Some(p);
        let file = gitns_store::zone_file_name(cx.storage.files(), &zone);
        let key_text = key.to_text();
        let sig = Signature {
            name: alloc::format!("{} via gitns", key_text.trim_end_matches('.')),
            email: alloc::format!("gitns@{}", self.own),
            time: cx.platform.wall_clock_ns() / 1_000_000_000,
            tz: "+0000".to_string(),
        };
        let message = if u.d.internal {
            alloc::format!("certificate for {zone} from ACME\n")
        } else {
            alloc::format!("UPDATE of {zone} by {key_text} from {}\n", u.d.peer.addr)
        };
        match checkout.commit(&[(file, Some(text.into_bytes()))], &sig, &message) {
            None => {
                // The remote's file already says this.
                let r = acknowledge(cx, u, None);
                cx.replies.extend(r);
            }
            Some((next, pack)) => {
                let op = Op::Push(Push::new(
                    &self.remote.branch,
                    checkout.head,
                    next.head,
                    pack,
                ));
                log::debug!("git: pushing {} ({})", next.head, message.trim_end());
                let command = self.remote.command("git-receive-pack");
                match self.open(cx, &command, op, Job::Push(next), now) {
                    // Waiting: the commit is made again next turn.
                    Ok(_) => self.update = Some(u),
                    Err(e) => {
                        let why = alloc::format!("cannot connect to the remote: {e}");
                        cx.replies.extend(u.fail(cx.dns, &why));
                    }
                }
            }
        }
        true
    }

    /// A push ended.
    pub(super) fn pushed<P: Platform>(
        &mut self,
        cx: &mut Cx<P>,
        next: gitns_git::checkout::Checkout,
        outcome: Result<Outcome, String>,
    ) {
        let Some(mut u) = self.update.take() else {
            return;
        };
        let (dns, replies) = (&mut *cx.dns, &mut *cx.replies);
        match outcome {
            Ok(Outcome::Pushed(Pushed::Ok)) => {
                self.stats.pushes += 1;
                log::info!("git: pushed {} to {}", next.head, self.remote.branch);
                let files = next.files();
                self.checkout = Some(next);
                let r = acknowledge(cx, u, Some(files));
                cx.replies.extend(r);
            }
            Ok(Outcome::Pushed(Pushed::Rejected(why))) => {
                self.stats.push_rejections += 1;
                u.attempts += 1;
                if u.attempts >= MAX_ATTEMPTS {
                    let why = alloc::format!("push rejected {} times (last: {why})", u.attempts);
                    replies.extend(u.fail(dns, &why));
                } else {
                    log::warn!(
                        "git: push rejected ({why}); fetching and applying the UPDATE again"
                    );
                    u.refetch = true;
                    self.update = Some(u);
                }
            }
            Ok(other) => {
                self.stats.push_failures += 1;
                replies.extend(u.fail(dns, &alloc::format!("unexpected {other:?}")));
            }
            Err(e) => {
                self.stats.push_failures += 1;
                replies.extend(u.fail(dns, &alloc::format!("push failed: {e}")));
            }
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
