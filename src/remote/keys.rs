//! DNSSEC key files the appliance changed (issue 26: keys made, key
//! steps taken) committed and pushed to the git remote like an UPDATE's
//! zone file, through a push queue of their own
//! ([`gitns_git::push_queue`]): one at a time, only while no UPDATE
//! waits; a rejected push fetches and commits again on the new head; a
//! file whose push failed is queued again and tried a minute later.

use super::{GitRemote, Job};
use crate::source::Cx;
use alloc::string::String;
use gitns_git::checkout::Checkout;
use gitns_git::push_queue::{Applying, Commit, Edit, Ended, Next};
use gitns_git::session::Outcome;
use gitns_net::Platform;
use gitns_store::archive::File;

/// How long a key file whose push failed waits before it is tried again.
const RETRY_NS: u64 = 60_000_000_000;

impl GitRemote {
    /// Commit and push the next key file waiting, when no UPDATE waits.
    /// False: nothing to do now.
    pub(super) fn step_keys<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        if self.updates.busy() || now < self.keys_hold {
            return false;
        }
        if !self.keys.busy() {
            if cx.storage.unsaved.is_empty() {
                return false;
            }
            let _ = self.keys.offer(cx.storage.unsaved.remove(0));
        }
        match self.keys.next(self.checkout.is_some()) {
            None => return false,
            Some(Next::Fail(f, why)) => self.keys_failed(cx, f, why, now),
            Some(Next::Fetch) => self.start_fetch(cx, now),
            Some(Next::Apply(a)) => self.push_keys(cx, a, now),
        }
        true
    }

    fn push_keys<P: Platform>(&mut self, cx: &mut Cx<P>, a: Applying<File>, now: u64) {
        let Some(head) = self.checkout.as_ref() else {
            return;
        };
        let (file, text) = a.change.clone();
        let edit = Edit {
            message: alloc::format!("DNSSEC keys: {file}\n"),
            file,
            text,
            author: String::from("dnssec"),
            time: cx.platform.wall_clock_ns() / 1_000_000_000,
        };
        match self.keys.commit(a, head, edit) {
            Commit::Unchanged((file, _)) => log::info!("git: {file} is committed already"),
            Commit::Push(op, next) => {
                let command = self.remote.command("git-receive-pack");
                self.pushing_keys = true;
                if let Err(e) = self.open(cx, &command, *op, Job::Push(next), now) {
                    self.pushing_keys = false;
                    if let Some(f) = self.keys.give_up() {
                        self.keys_failed(cx, f, &e, now);
                    }
                }
            }
        }
    }

    /// A key file's push ended.
    pub(super) fn keys_pushed<P: Platform>(
        &mut self,
        cx: &mut Cx<P>,
        next: Checkout,
        outcome: Result<Outcome, String>,
        now: u64,
    ) {
        self.pushing_keys = false;
        match self.keys.ended(next, outcome) {
            None => {}
            Some(Ended::Pushed((file, _), next)) => {
                log::info!(
                    "git: pushed {} to {}: {file}",
                    next.head,
                    self.remote.branch
                );
                let files = next.files();
                self.checkout = Some(next);
                cx.storage.keep(cx.platform, Some(files));
            }
            Some(Ended::Retry(why)) => {
                log::warn!("git: push rejected ({why}); fetching and committing the key file again")
            }
            Some(Ended::Failed(f, why)) => self.keys_failed(cx, f, &why, now),
        }
    }

    /// Queue `f` again (unless a newer text of it waits) and hold the key
    /// pushes for a while.
    fn keys_failed<P: Platform>(&mut self, cx: &mut Cx<P>, f: File, why: &str, now: u64) {
        log::error!("git: {} not committed: {why}; trying again in 60 s", f.0);
        if !cx.storage.unsaved.iter().any(|(n, _)| *n == f.0) {
            cx.storage.unsaved.push(f);
        }
        self.keys_hold = now + RETRY_NS;
    }
}
