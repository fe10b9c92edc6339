//! Automatic key management (issue 26): the rollover state machine, sans
//! I/O. `(Ring, Timing, now, Event) -> (Ring', actions, next deadline)`:
//! the caller makes and deletes the private keys, puts the DNSKEY, CDS
//! and CDNSKEY records in the zone, signs with the keys it is told to,
//! checks the parent's DS set and calls [`step`] again at `next` or when
//! something happens.
//!
//! Each key goes through the states of RFC 7583 3.1 (Generated,
//! Published, Ready, Active, Retired, Removed), each with its time. The
//! rollovers:
//! - ZSK by pre-publication (RFC 6781 4.1.1.1, RFC 7583 3.2): the new key
//!   is published, signs once every cached DNSKEY RRset holds it, and the
//!   old one leaves when every cached signature of it has expired.
//! - KSK and CSK with the new key published and signing the DNSKEY RRset
//!   beside the old one, its CDS and CDNSKEY published once it is Ready
//!   (RFC 7344 4.1, RFC 8078), Active when the parent's DS is seen, the
//!   old key removed when no cached DS set can name it alone (RFC 7583
//!   3.3).
//! - Algorithm (or key scheme) by RFC 6781 4.1.4's cautious order: the
//!   new keys sign first, are published when every cache holds their
//!   signatures, then the DS changes, the old keys are withdrawn when the
//!   old DS has left the caches, and their signatures last.

mod rules;
pub mod text;
mod timing;

pub use timing::Timing;

use super::key::{Algorithm, Role};
use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;

/// The states of RFC 7583 3.1, in order; a key's is that of its latest
/// timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Made (or asked for), not in the DNSKEY RRset.
    Generated,
    /// In the DNSKEY RRset; some caches may not know it yet.
    Published,
    /// Every cached DNSKEY RRset holds it.
    Ready,
    /// The key in use: a ZSK signing the zone, a KSK or CSK whose DS the
    /// parent serves.
    Active,
    /// Replaced; still published while caches may need it.
    Retired,
    /// Out of the DNSKEY RRset.
    Removed,
}

impl Phase {
    pub fn text(self) -> &'static str {
        match self {
            Phase::Generated => "generated",
            Phase::Published => "published",
            Phase::Ready => "ready",
            Phase::Active => "active",
            Phase::Retired => "retired",
            Phase::Removed => "removed",
        }
    }
}

/// One key's record: what the machine knows of it. Times in seconds
/// since the epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRec {
    /// The ring's own number for it (a key tag is known only once made).
    pub id: u32,
    pub role: Role,
    pub alg: Algorithm,
    pub tag: Option<u16>,
    pub generated: u64,
    pub published: Option<u64>,
    pub ready: Option<u64>,
    pub active: Option<u64>,
    pub retired: Option<u64>,
    pub removed: Option<u64>,
    /// When it started and stopped signing (what its role signs).
    pub sign_from: Option<u64>,
    pub sign_until: Option<u64>,
    /// CDS and CDNSKEY published for it since.
    pub cds: Option<u64>,
    /// When the parent's DS for it was first seen, and last seen gone.
    pub ds_seen: Option<u64>,
    pub ds_gone: Option<u64>,
}

impl KeyRec {
    /// A key `id` of `role` and `alg` to be generated at `now`.
    pub fn new(id: u32, role: Role, alg: Algorithm, now: u64) -> KeyRec {
        KeyRec {
            id,
            role,
            alg,
            tag: None,
            generated: now,
            published: None,
            ready: None,
            active: None,
            retired: None,
            removed: None,
            sign_from: None,
            sign_until: None,
            cds: None,
            ds_seen: None,
            ds_gone: None,
        }
    }

    pub fn phase(&self) -> Phase {
        let steps = [
            (self.removed, Phase::Removed),
            (self.retired, Phase::Retired),
            (self.active, Phase::Active),
            (self.ready, Phase::Ready),
            (self.published, Phase::Published),
        ];
        steps
            .iter()
            .find(|(t, _)| t.is_some())
            .map_or(Phase::Generated, |&(_, p)| p)
    }

    /// When it entered its phase.
    pub fn since(&self) -> u64 {
        let t = match self.phase() {
            Phase::Generated => None,
            Phase::Published => self.published,
            Phase::Ready => self.ready,
            Phase::Active => self.active,
            Phase::Retired => self.retired,
            Phase::Removed => self.removed,
        };
        t.unwrap_or(self.generated)
    }

    pub fn signing(&self) -> bool {
        self.sign_from.is_some() && self.sign_until.is_none()
    }

    /// A key the parent's DS points at (KSK or CSK).
    pub fn sep(&self) -> bool {
        self.role != Role::Zsk
    }

    /// Neither retired nor removed.
    pub fn current(&self) -> bool {
        self.retired.is_none() && self.removed.is_none()
    }
}

/// A zone's keys as the machine sees them.
#[derive(Clone, Debug, Default)]
pub struct Ring {
    pub keys: Vec<KeyRec>,
    /// Ids whose Generate was handed out since this ring was read (not
    /// kept in the text: after a restart they are asked for again).
    asked: BTreeSet<u32>,
}

impl Ring {
    pub fn new(keys: Vec<KeyRec>) -> Ring {
        Ring {
            keys,
            asked: BTreeSet::new(),
        }
    }

    fn by_tag(&mut self, tag: u16) -> Option<&mut KeyRec> {
        self.keys
            .iter_mut()
            .find(|k| k.tag == Some(tag) && k.removed.is_none())
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Time passed (the deadline given, or any wake-up).
    Tick,
    /// The keys asked for by [`Action::Generate`] were made: `(id, tag)`.
    KeysLoaded(Vec<(u32, u16)>),
    /// The parent serves a DS naming this key tag (its servers queried,
    /// or the operator's NOTIFY).
    DsSeen(u16),
    /// The parent's DS set no longer names this key tag.
    DsGone(u16),
}

/// What the caller must do, in order. Keys are named by tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Make a key and answer with [`Event::KeysLoaded`].
    Generate {
        id: u32,
        role: Role,
        alg: Algorithm,
    },
    /// Put its DNSKEY in the apex's DNSKEY RRset.
    Publish(u16),
    /// Sign what its role signs ([`Role::signs`]) with it.
    StartSigning(u16),
    StopSigning(u16),
    /// It is no longer the key in use (nothing to change in the zone).
    Retire(u16),
    /// Take its DNSKEY out; delete its private key once it no longer
    /// signs.
    Remove(u16),
    /// CDS and CDNSKEY for it at the apex (RFC 7344 4, RFC 8078).
    PublishCds(u16),
    /// No CDS or CDNSKEY any more (the parent acted).
    WithdrawCds,
    /// A step, for the log and /status.
    Log(String),
}

/// The outcome of one [`step`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub actions: Vec<Action>,
    /// Call again with [`Event::Tick`] at this time (None: only on an
    /// event).
    pub next: Option<u64>,
}

/// Take `event` at `now`, then every step due by `now`.
pub fn step(ring: &mut Ring, t: &Timing, now: u64, event: Event) -> Step {
    let mut cx = rules::Cx::new(t, now);
    rules::event(ring, &mut cx, event);
    let mut settled = false;
    for _ in 0..32 {
        let before = cx.out.len();
        cx.next = None;
        rules::pass(ring, &mut cx);
        if cx.out.len() == before {
            settled = true;
            break;
        }
    }
    if !settled {
        // More steps due than one call takes: come back at once.
        cx.next = Some(now);
    }
    rules::ask(ring, &mut cx);
    Step {
        actions: cx.out,
        next: cx.next,
    }
}

#[cfg(test)]
mod tests;
