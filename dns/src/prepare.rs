//! An UPDATE prepared once (RFC 2136 3, RFC 3007): parsed, its signer
//! checked, its prerequisites and prescan passed, applied to its zone in
//! place, with both possible answers already written and signed. Nothing
//! here makes it durable: the caller's sink does (a storage journal
//! append, a git push), then keeps it ([`Prepared::keep`], or
//! [`Prepared::install`] after a [`Prepared::withdraw`]) and sends
//! [`Prepared::ok`], or withdraws it and sends [`Prepared::fail`].

use crate::message::{Rcode, Request};
use crate::name::Name;
use crate::tsig::{self, Op, Verified};
use crate::update::UpdateMsg;
use crate::zone::Saved;
use crate::zoneset::ZoneSet;
use alloc::vec::Vec;

/// The name an internal UPDATE (the appliance's own) is committed under.
pub const INTERNAL_KEY: &str = "acme.gitns.";

/// A change ready to be made durable. While it is applied (as the core
/// returns it) the caller must keep or withdraw it before it serves
/// anything else: the zone set shows a version nobody acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The zone it changes.
    pub zone: Name,
    /// The key that signed it ([`INTERNAL_KEY`] for the appliance's own).
    pub key: Name,
    /// The zone's serial before and after (RFC 1982).
    pub from: u32,
    pub to: u32,
    /// The answer once it is durable: NOERROR, signed like the request.
    pub ok: Vec<u8>,
    /// The answer when it cannot be made durable: SERVFAIL, signed.
    pub fail: Vec<u8>,
    /// The answer when its sink takes no change (a read-only remote):
    /// REFUSED, signed.
    pub refused: Vec<u8>,
    update: UpdateMsg,
    /// The nodes as they were while it is applied; None once withdrawn.
    saved: Option<Vec<Saved>>,
}

/// A change applied to its zone, before its answers are written.
pub(crate) struct Change {
    pub zone: Name,
    pub key: Name,
    pub from: u32,
    pub to: u32,
    update: UpdateMsg,
    saved: Vec<Saved>,
}

impl Change {
    /// With its answers (NOERROR, SERVFAIL, REFUSED): the prepared change.
    pub(crate) fn answered(self, [ok, fail, refused]: [Vec<u8>; 3]) -> Prepared {
        Prepared {
            zone: self.zone,
            key: self.key,
            from: self.from,
            to: self.to,
            ok,
            fail,
            refused,
            update: self.update,
            saved: Some(self.saved),
        }
    }

    /// Take it back (its answers could not be written).
    pub(crate) fn undo(self, zs: &mut ZoneSet) {
        zs.undo_update(&self.zone, &self.saved);
    }
}

/// Check and apply the UPDATE `msg`, parsed as `req` (RFC 2136 3.1-3.4,
/// RFC 3007 3): the applied change, or the RCODE that answers it now.
/// NOERROR here means there was nothing to change (RFC 2136 3.4.2.7:
/// still success).
pub(crate) fn prepare(
    zs: &mut ZoneSet,
    (msg, req): (&[u8], &Request),
    signed: Option<&Verified>,
    internal: bool,
) -> Result<Change, Rcode> {
    let m = crate::update::of_request(msg, req)?;
    let zone = zs.zone(&m.zone).ok_or(Rcode::NotAuth)?;
    // RFC 3007 3: only signed updates, by a key allowed to update the zone.
    let key = match signed {
        Some(v) if tsig::allows(&v.key.name, Op::Update, &zone.origin) => v.key.name.clone(),
        None if internal => {
            Name::parse(INTERNAL_KEY, &Name::root()).unwrap_or_else(|_| Name::root())
        }
        _ => return Err(Rcode::Refused),
    };
    crate::update::check_prereqs(zone, &m).and_then(|()| crate::update::prescan(zone, &m))?;
    let from = zone.serial().unwrap_or(0);
    let origin = zone.origin.clone();
    let saved = zs.update_in_place(&m).ok_or(Rcode::NoError)?;
    let to = zs.zone(&origin).and_then(|z| z.serial()).unwrap_or(from);
    Ok(Change {
        zone: origin,
        key,
        from,
        to,
        update: m,
        saved,
    })
}

impl Prepared {
    /// Is the change applied to the zone set now?
    pub fn applied(&self) -> bool {
        self.saved.is_some()
    }

    /// It is durable and stays applied: the zone changed (its secondaries
    /// are notified, RFC 1996). A zone the appliance signs has the change
    /// signed in at `now` (seconds since the epoch), in the same version,
    /// before anything is served (issue 26; RFC 4035 2, RFC 3007).
    pub fn keep(self, zs: &mut ZoneSet, now: u64) -> Name {
        if let Some(saved) = &self.saved {
            let mut names: Vec<Name> = Vec::with_capacity(self.update.updates.len() + 1);
            for n in self
                .update
                .updates
                .iter()
                .map(|u| &u.name)
                .chain([&self.zone])
            {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
            crate::dnssec::keeper::sign_update(zs, &self.zone, &names, saved, now);
        }
        self.zone
    }

    /// Take the change back out of the zone set (not durable, or durable
    /// only later: it is installed again then).
    pub fn withdraw(&mut self, zs: &mut ZoneSet) {
        if let Some(saved) = self.saved.take() {
            zs.undo_update(&self.zone, &saved);
        }
    }

    /// Apply a withdrawn change again, now durable (the same parsed and
    /// checked change, RFC 2136 3.7: UPDATEs of a zone are prepared one at
    /// a time, so the zone is the version it was prepared against). The
    /// zone changed, or None when it changes nothing any more.
    pub fn install(mut self, zs: &mut ZoneSet, now: u64) -> Option<Name> {
        if self.saved.is_none() {
            self.saved = Some(zs.update_in_place(&self.update)?);
        }
        Some(self.keep(zs, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::{serve, Ctx, Event, Policy, Transport};
    use alloc::string::ToString;

    fn origin() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    fn zones() -> ZoneSet {
        let zone = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
        let files = [("example.org".to_string(), zone.as_bytes().to_vec())];
        ZoneSet::load(&files, None).0
    }

    /// An UPDATE adding `www A 192.0.2.9` (RFC 2136 2.5.1).
    fn add_www() -> Vec<u8> {
        let mut m = alloc::vec![0x12, 0x34, 0x28, 0, 0, 1, 0, 0, 0, 1, 0, 0];
        m.extend_from_slice(origin().wire());
        m.extend_from_slice(&[0, 6, 0, 1]);
        m.extend_from_slice(Name::parse("www", &origin()).unwrap().wire());
        m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9]);
        m
    }

    fn has_www(zs: &ZoneSet) -> bool {
        let www = Name::parse("www", &origin()).unwrap();
        zs.zone(&origin()).unwrap().node(&www).is_some()
    }

    fn serial(zs: &ZoneSet) -> Option<u32> {
        zs.zone(&origin()).and_then(|z| z.serial())
    }

    /// The appliance's own UPDATE (no TSIG) through the authority.
    fn prepared(zs: &mut ZoneSet) -> Prepared {
        let policy = Policy::default();
        let mut ctx = Ctx::new(Transport::Tcp, 0, &policy);
        ctx.internal = true;
        let mut out = alloc::vec![0u8; 65_535];
        let mut sent = 0;
        let ev = serve(zs, &add_www(), &mut ctx, &mut out, &mut |_| sent += 1);
        assert_eq!(sent, 0, "nothing is answered before it is durable");
        match ev {
            Some(Event::Prepared(p)) => *p,
            other => panic!("not prepared: {other:?}"),
        }
    }

    #[test]
    fn prepared_with_both_answers_then_kept() {
        let mut zs = zones();
        let p = prepared(&mut zs);
        assert!(p.applied() && has_www(&zs));
        assert_eq!((p.from, p.to), (1, 2));
        assert_eq!(p.key.to_text(), INTERNAL_KEY);
        assert_eq!((p.ok[3] & 0xf, p.fail[3] & 0xf), (0, Rcode::ServFail as u8));
        assert_eq!(p.refused[3] & 0xf, Rcode::Refused as u8);
        assert_eq!(&p.ok[..2], &[0x12, 0x34], "the request's id");
        assert_eq!(p.keep(&mut zs, 0), origin());
        assert!(has_www(&zs));
    }

    #[test]
    fn withdrawn_exactly_then_installed_again() {
        let mut zs = zones();
        let mut p = prepared(&mut zs);
        p.withdraw(&mut zs);
        assert!(!p.applied() && !has_www(&zs));
        assert_eq!(serial(&zs), Some(1), "the version it was prepared against");
        p.withdraw(&mut zs);
        assert_eq!(serial(&zs), Some(1), "withdrawing twice changes nothing");
        let to = p.to;
        assert_eq!(p.install(&mut zs, 0), Some(origin()));
        assert!(has_www(&zs));
        assert_eq!(serial(&zs), Some(to));
    }

    #[test]
    fn nothing_to_change_is_answered_now() {
        let mut zs = zones();
        let mut p = prepared(&mut zs);
        p.withdraw(&mut zs);
        let _ = p.install(&mut zs, 0);
        // The same record again: nothing changes, NOERROR at once.
        let policy = Policy::default();
        let mut ctx = Ctx::new(Transport::Tcp, 0, &policy);
        ctx.internal = true;
        let mut out = alloc::vec![0u8; 65_535];
        let mut answers = Vec::new();
        let ev = serve(&mut zs, &add_www(), &mut ctx, &mut out, &mut |m| {
            answers.push(m.to_vec())
        });
        assert_eq!(ev, None);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0][3] & 0xf, 0);
        assert_eq!(serial(&zs), Some(2));
    }

    #[test]
    fn unsigned_from_outside_is_refused_now() {
        let mut zs = zones();
        let policy = Policy::default();
        let mut ctx = Ctx::new(Transport::Tcp, 0, &policy);
        let mut out = alloc::vec![0u8; 65_535];
        let mut rcodes = Vec::new();
        let ev = serve(&mut zs, &add_www(), &mut ctx, &mut out, &mut |m| {
            rcodes.push(m[3] & 0xf)
        });
        assert_eq!((ev, rcodes), (None, alloc::vec![Rcode::Refused as u8]));
        assert!(!has_www(&zs));
    }
}
