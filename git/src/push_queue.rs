//! The git remote as the sink of DNS UPDATEs, sans-I/O: which change is
//! pushed when, what its commit says, and what a push's end means.
//!
//! One change at a time (RFC 2136 3.7: UPDATEs are serialised): it waits
//! here while the connection is busy; [`PushQueue::next`] says what to do
//! with it once the connection is free; the caller prepares it on the
//! remote's head and [`PushQueue::commit`] makes the commit; the caller
//! answers it only once [`PushQueue::ended`] says the remote took the push
//! (or the commit changed nothing): an answer never promises what a crash
//! could lose. A push rejected because someone pushed first makes a fetch
//! and a fresh commit on the new head (at most [`MAX_ATTEMPTS`] pushes); any
//! other failure gives the change up. The change itself is the caller's `T`
//! (the request and its prepared answers).

use crate::checkout::Checkout;
use crate::object::Signature;
use crate::proto::push::{Push, Pushed};
use crate::session::{Op, Outcome};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Pushes tried for one change before it is given up.
pub const MAX_ATTEMPTS: u8 = 3;

/// The change waiting or being pushed, and the pushes' counters.
pub struct PushQueue<T> {
    branch: String,
    /// The committer's address (`gitns@` our IP address).
    email: String,
    waiting: Option<Waiting<T>>,
    counts: PushCounts,
}

struct Waiting<T> {
    change: T,
    /// Pushes rejected so far.
    attempts: u8,
    /// The last push was rejected: fetch before committing again.
    refetch: bool,
}

/// Pushes by how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushCounts {
    pub ok: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// What to do with the waiting change now that the connection is free.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<T> {
    /// Fetch first (the last push lost a race); the change waits on.
    Fetch,
    /// Prepare it on the remote's head and [`PushQueue::commit`] it, or
    /// answer it and drop it when preparing it decided it.
    Apply(Applying<T>),
    /// Give it up (answer its failure) for this reason.
    Fail(T, &'static str),
}

/// A change handed out to be applied, with the pushes it had.
#[derive(Debug, PartialEq, Eq)]
pub struct Applying<T> {
    pub change: T,
    attempts: u8,
}

/// One change as a commit: the root-level file it rewrites and who made it.
pub struct Edit {
    pub file: String,
    pub text: Vec<u8>,
    /// The commit's author (the TSIG key's name, without the last dot).
    pub author: String,
    pub message: String,
    /// Unix seconds now.
    pub time: u64,
}

/// What [`PushQueue::commit`] made.
pub enum Commit<T> {
    /// The remote's file already says this: answer the change now.
    Unchanged(T),
    /// Push this (a command's [`Op`]); the change waits for its end, and
    /// the checkout is the remote's once the push is taken.
    Push(Box<Op>, Checkout),
}

/// How a push ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended<T> {
    /// The remote took it: install the change, answer it, and serve the
    /// files of this checkout.
    Pushed(T, Checkout),
    /// Rejected (why): the change waits for a fetch and is applied again.
    Retry(String),
    /// Given up: answer its failure (why).
    Failed(T, String),
}

impl<T> PushQueue<T> {
    /// Pushes to `branch`, committed as `gitns@{own}` (our address).
    pub fn new(branch: &str, own: &str) -> PushQueue<T> {
        PushQueue {
            branch: branch.to_string(),
            email: format!("gitns@{own}"),
            waiting: None,
            counts: PushCounts::default(),
        }
    }

    /// Is a change waiting or being pushed (the next one must wait)?
    pub fn busy(&self) -> bool {
        self.waiting.is_some()
    }

    /// The pushes so far by how they ended.
    pub fn counts(&self) -> PushCounts {
        self.counts
    }

    /// Take `change`, or give it back while another one is under way.
    pub fn offer(&mut self, change: T) -> Result<(), T> {
        if self.busy() {
            return Err(change);
        }
        self.waiting = Some(Waiting {
            change,
            attempts: 0,
            refetch: false,
        });
        Ok(())
    }

    /// The step for the waiting change (None: there is none). `cloned`:
    /// the remote's head is known (nothing can be committed before).
    pub fn next(&mut self, cloned: bool) -> Option<Next<T>> {
        let w = self.waiting.as_mut()?;
        if cloned && core::mem::take(&mut w.refetch) {
            return Some(Next::Fetch);
        }
        let w = self.waiting.take()?;
        if !cloned {
            let why = "not synchronised with the git remote yet";
            return Some(Next::Fail(w.change, why));
        }
        let attempts = w.attempts;
        Some(Next::Apply(Applying {
            change: w.change,
            attempts,
        }))
    }

    /// Commit `edit` (the applied change's new file) on `head`: nothing
    /// to push when the file already says this, else the push, the change
    /// waiting for its end.
    pub fn commit(&mut self, a: Applying<T>, head: &Checkout, edit: Edit) -> Commit<T> {
        let sig = Signature {
            name: format!("{} via gitns", edit.author),
            email: self.email.clone(),
            time: edit.time,
            tz: "+0000".to_string(),
        };
        let change = [(edit.file, Some(edit.text))];
        let Some((next, pack)) = head.commit(&change, &sig, &edit.message) else {
            return Commit::Unchanged(a.change);
        };
        self.waiting = Some(Waiting {
            change: a.change,
            attempts: a.attempts,
            refetch: false,
        });
        let push = Push::new(&self.branch, head.head, next.head, pack);
        Commit::Push(Box::new(Op::Push(push)), next)
    }

    /// Give the waiting change up (its push could not start, the fetch
    /// before applying it again failed): answer its failure.
    pub fn give_up(&mut self) -> Option<T> {
        self.waiting.take().map(|w| w.change)
    }

    /// The push of the waiting change ended with `outcome`; `next` is the
    /// checkout it would make the remote's head. None: no change waited.
    pub fn ended(&mut self, next: Checkout, outcome: Result<Outcome, String>) -> Option<Ended<T>> {
        let mut w = self.waiting.take()?;
        let why = match outcome {
            Ok(Outcome::Pushed(Pushed::Ok)) => {
                self.counts.ok += 1;
                return Some(Ended::Pushed(w.change, next));
            }
            Ok(Outcome::Pushed(Pushed::Rejected(why))) => {
                self.counts.rejected += 1;
                w.attempts += 1;
                if w.attempts < MAX_ATTEMPTS {
                    w.refetch = true;
                    self.waiting = Some(w);
                    return Some(Ended::Retry(why));
                }
                format!("push rejected {} times (last: {why})", w.attempts)
            }
            Ok(other) => {
                self.counts.failed += 1;
                format!("unexpected {other:?}")
            }
            Err(e) => {
                self.counts.failed += 1;
                format!("push failed: {e}")
            }
        };
        Some(Ended::Failed(w.change, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{self, Entry, Kind, Object};
    use crate::pack::{self, Limits};
    use alloc::vec;

    /// 2023-11-14T22:13:20Z, the commits' time.
    const T: u64 = 1_700_000_000;

    /// A clone of a one-commit branch holding `example.org` = `text`.
    fn cloned(text: &str) -> Checkout {
        let blob = Object {
            kind: Kind::Blob,
            data: text.as_bytes().to_vec(),
        };
        let mut entries = vec![Entry {
            mode: 0o100644,
            name: b"example.org".to_vec(),
            id: blob.id(),
        }];
        let tree = object::build_tree(&mut entries);
        let sig = Signature {
            name: "someone".into(),
            email: "someone@example.org".into(),
            time: T - 60,
            tz: "+0000".into(),
        };
        let c = object::build_commit(tree.id(), &[], &sig, &sig, "init\n");
        let head = c.id();
        let p = pack::write(&[blob, tree, c]);
        Checkout::from_pack(&p, head, Limits::default(), None).unwrap()
    }

    fn edit(text: &str) -> Edit {
        Edit {
            file: "example.org".into(),
            text: text.as_bytes().to_vec(),
            author: "k.example".into(),
            message: "UPDATE of example.org by k.example. from 192.0.2.9\n".into(),
            time: T,
        }
    }

    /// Offer `change` and apply it on `head` with `text`: the push.
    fn pushing(q: &mut PushQueue<&'static str>, head: &Checkout, text: &str) -> Checkout {
        let Some(Next::Apply(a)) = q.next(true) else {
            panic!("not applied");
        };
        match q.commit(a, head, edit(text)) {
            Commit::Push(op, next) if matches!(*op, Op::Push(_)) => next,
            _ => panic!("no push"),
        }
    }

    #[test]
    fn one_change_at_a_time_answered_after_the_push() {
        let head = cloned("old\n");
        let mut q = PushQueue::new("main", "192.0.2.1");
        assert_eq!(q.next(true), None);
        q.offer("u1").unwrap();
        assert_eq!(q.offer("u2"), Err("u2"));
        let next = pushing(&mut q, &head, "new\n");
        assert!(q.busy(), "waits for the push's end");
        assert_eq!(q.offer("u3"), Err("u3"));
        assert_eq!(
            next.files(),
            vec![("example.org".into(), b"new\n".to_vec())]
        );
        let ok = Ok(Outcome::Pushed(Pushed::Ok));
        assert_eq!(q.ended(next.clone(), ok), Some(Ended::Pushed("u1", next)));
        assert!(!q.busy());
        assert_eq!(q.counts().ok, 1);
    }

    #[test]
    fn the_commit_names_the_key_and_our_address() {
        let head = cloned("old\n");
        let mut q = PushQueue::new("main", "192.0.2.1");
        q.offer("u").unwrap();
        let next = pushing(&mut q, &head, "new\n");
        let sig = Signature {
            name: "k.example via gitns".into(),
            email: "gitns@192.0.2.1".into(),
            time: T,
            tz: "+0000".into(),
        };
        let e = edit("new\n");
        let (same, _) = head
            .commit(&[(e.file, Some(e.text))], &sig, &e.message)
            .unwrap();
        assert_eq!(next.head, same.head);
    }

    #[test]
    fn a_file_that_already_says_it_is_answered_without_a_push() {
        let head = cloned("same\n");
        let mut q = PushQueue::new("main", "192.0.2.1");
        q.offer("u").unwrap();
        let Some(Next::Apply(a)) = q.next(true) else {
            panic!("not applied");
        };
        assert!(matches!(
            q.commit(a, &head, edit("same\n")),
            Commit::Unchanged("u")
        ));
        assert!(!q.busy());
    }

    #[test]
    fn nothing_is_committed_before_the_clone() {
        let mut q = PushQueue::new("main", "192.0.2.1");
        q.offer("u").unwrap();
        assert!(matches!(q.next(false), Some(Next::Fail("u", _))));
        assert!(!q.busy());
    }

    #[test]
    fn a_rejected_push_fetches_and_tries_again_up_to_the_limit() {
        let head = cloned("old\n");
        let mut q = PushQueue::new("main", "192.0.2.1");
        q.offer("u").unwrap();
        for attempt in 1..=MAX_ATTEMPTS {
            let next = pushing(&mut q, &head, "new\n");
            let rejected = Ok(Outcome::Pushed(Pushed::Rejected("fetch first".into())));
            let end = q.ended(next, rejected).unwrap();
            if attempt < MAX_ATTEMPTS {
                assert_eq!(end, Ended::Retry("fetch first".into()));
                assert_eq!(q.next(true), Some(Next::Fetch));
                assert!(q.busy(), "waits for the fetch");
            } else {
                let why = "push rejected 3 times (last: fetch first)".to_string();
                assert_eq!(end, Ended::Failed("u", why));
            }
        }
        assert!(!q.busy());
        assert_eq!(q.counts().rejected, 3);
    }

    #[test]
    fn a_failed_push_or_fetch_gives_the_change_up() {
        let head = cloned("old\n");
        let mut q = PushQueue::new("main", "192.0.2.1");
        q.offer("u1").unwrap();
        let next = pushing(&mut q, &head, "new\n");
        let end = q.ended(next, Err("connection reset".into()));
        let why = "push failed: connection reset".to_string();
        assert_eq!(end, Some(Ended::Failed("u1", why)));
        assert_eq!(q.counts().failed, 1);
        q.offer("u2").unwrap();
        assert_eq!(q.give_up(), Some("u2"));
        assert!(!q.busy());
        let next = cloned("x\n");
        assert_eq!(q.ended(next, Ok(Outcome::Pushed(Pushed::Ok))), None);
    }
}
