//! UPDATEs through git (RFC 2136 + DESIGN.md): apply the UPDATE to find
//! the new zone, commit its file on the remote head and push; acknowledge
//! only after the push succeeded. A push rejected because someone pushed
//! first makes a fetch and a fresh attempt on the new head (bounded); a
//! failure answers SERVFAIL and leaves the remote the truth.

use super::{persist, GitRemote, Job, Reply};
use crate::dns::{self, Deferred, Dns};
use alloc::string::{String, ToString};
use gitns_dns::name::Name;
use gitns_git::object::Signature;
use gitns_git::proto::push::{Push, Pushed};
use gitns_git::session::{Op, Outcome};
use gitns_net::{Net, Platform};

/// Pushes tried for one UPDATE before it is answered SERVFAIL.
const MAX_ATTEMPTS: u8 = 3;

/// The UPDATE being committed.
pub struct Pending {
    pub d: Deferred,
    pub attempts: u8,
    /// The last push was rejected: fetch, then try again.
    pub refetch: bool,
}

impl Pending {
    pub fn new(d: Deferred) -> Pending {
        Pending {
            d,
            attempts: 0,
            refetch: false,
        }
    }

    /// Give up: the authority's answer when the change cannot be made
    /// durable (SERVFAIL, signed like every answer to a signed request).
    pub fn fail(self, dns: &mut Dns, why: &str) -> Option<Reply> {
        log::error!(
            "UPDATE from {} not acknowledged: {why}; answering SERVFAIL",
            self.d.peer
        );
        let (msg, _) = dns.serve_one(&self.d, &mut |_, _, _, _| Err(()));
        self.reply(msg)
    }

    fn reply(&self, msg: Option<alloc::vec::Vec<u8>>) -> Option<Reply> {
        msg.map(|msg| Reply {
            peer: self.d.peer,
            transport: self.d.transport,
            msg,
            internal: self.d.internal,
        })
    }
}

impl GitRemote {
    /// Make progress on `u`: fetch first if the last push lost a race,
    /// else apply it and push the commit (or answer when nothing changes).
    pub(super) fn step_update<P: Platform>(
        &mut self,
        platform: &mut P,
        net: &mut Net,
        dns: &mut Dns,
        mut u: Pending,
        now: u64,
        replies: &mut alloc::vec::Vec<Reply>,
    ) -> bool {
        let Some(checkout) = self.checkout.as_ref() else {
            replies.extend(u.fail(dns, "not synchronised with the git remote yet"));
            return true;
        };
        if u.refetch {
            u.refetch = false;
            self.update = Some(u);
            self.start_fetch(platform, net, dns, now, replies);
            return true;
        }
        // Apply on a trial basis: the commit hook takes the new zone and
        // refuses, so the zone set is left as it was.
        let mut change: Option<(Name, Name, String)> = None;
        let (answer, _) = dns.serve_one(&u.d, &mut |zs, zone, key, _| {
            change = zs.zone(zone).map(|z| {
                let text = gitns_dns::zone::printer::print(z);
                (zone.clone(), key.clone(), text)
            });
            Err(())
        });
        let Some((zone, key, text)) = change else {
            // Refused, a prerequisite failed, or nothing to change: final.
            replies.extend(u.reply(answer));
            return true;
        };
        let file = dns::zone_file_name(&dns.cache.files, &zone);
        let key_text = key.to_text();
        let sig = Signature {
            name: alloc::format!("{} via gitns", key_text.trim_end_matches('.')),
            email: alloc::format!("gitns@{}", self.own),
            time: platform.wall_clock_ns() / 1_000_000_000,
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
                let r = self.acknowledge(platform, dns, u);
                replies.extend(r);
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
                match self.open(platform, net, &command, op, Job::Push(next), now) {
                    // Waiting: the commit is made again next turn.
                    Ok(_) => self.update = Some(u),
                    Err(e) => {
                        let why = alloc::format!("cannot connect to the remote: {e}");
                        replies.extend(u.fail(dns, &why));
                    }
                }
            }
        }
        true
    }

    /// A push ended.
    pub(super) fn pushed<P: Platform>(
        &mut self,
        platform: &mut P,
        dns: &mut Dns,
        next: gitns_git::checkout::Checkout,
        outcome: Result<Outcome, String>,
        replies: &mut alloc::vec::Vec<Reply>,
    ) {
        let Some(mut u) = self.update.take() else {
            return;
        };
        match outcome {
            Ok(Outcome::Pushed(Pushed::Ok)) => {
                self.stats.pushes += 1;
                log::info!("git: pushed {} to {}", next.head, self.remote.branch);
                dns.cache.files = next.files();
                self.checkout = Some(next);
                let r = self.acknowledge(platform, dns, u);
                replies.extend(r);
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

    /// The change is durable in the remote: apply it for real, answer,
    /// and let secondaries know.
    fn acknowledge<P: Platform>(
        &mut self,
        platform: &mut P,
        dns: &mut Dns,
        u: Pending,
    ) -> Option<Reply> {
        let (answer, event) = dns.serve_one(&u.d, &mut |_, _, _, _| Ok(()));
        if let Some(e) = event {
            dns.push_event(e);
        }
        persist(platform, dns);
        u.reply(answer)
    }
}
