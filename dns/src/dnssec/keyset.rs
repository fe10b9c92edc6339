//! The keys a [`super::signer::Signer`] works with and what each is used
//! for (issue 26): in the DNSKEY RRset or not, signing what its role
//! signs or not, with its CDS and CDNSKEY at the apex or not. The
//! rollover machine ([`super::kasp`]) decides these per key; without it
//! (`gitns sign`) each role's newest key of the policy's algorithm is
//! published and signs ([`KeySet::newest`]).

use super::kasp::{Phase, Ring};
use super::key::{Key, Role};
use super::keyfile;
use super::policy::Policy;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// What a key is used for now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Use {
    /// In the apex's DNSKEY RRset (RFC 4035 2.1).
    pub publish: bool,
    /// Signs the RRsets its role signs ([`Role::signs`]).
    pub sign: bool,
    /// Its CDS and CDNSKEY at the apex (RFC 7344 4, RFC 8078).
    pub cds: bool,
}

/// Keys with their use; cheap to clone (the keys are shared).
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<(Arc<Key>, Use)>,
}

impl core::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|(k, u)| (k.tag(), u)))
            .finish()
    }
}

impl KeySet {
    /// Each role's newest key of `policy`'s algorithm, published and
    /// signing, with CDS when the policy says `cds always`; the other
    /// keys unused.
    pub fn newest(policy: &Policy, keys: Vec<Key>) -> KeySet {
        let active: Vec<u16> = keyfile::active(policy, &keys)
            .iter()
            .map(|k| k.tag())
            .collect();
        let keys = keys
            .into_iter()
            .map(|k| {
                let on = active.contains(&k.tag());
                let cds = on && policy.cds && k.role != Role::Zsk;
                let u = Use {
                    publish: on,
                    sign: on,
                    cds,
                };
                (Arc::new(k), u)
            })
            .collect();
        KeySet { keys }
    }

    /// The keys of `keys` named by `ring` (by tag), used as the ring's
    /// states say; with `cds_always`, the CDS of the active KSK or CSK
    /// too. Keys the ring does not name (or has removed) are left out.
    pub fn from_ring(ring: &Ring, keys: &[Arc<Key>], cds_always: bool) -> KeySet {
        let mut out = Vec::new();
        for r in ring
            .keys
            .iter()
            .filter(|r| r.removed.is_none() || r.signing())
        {
            let Some(k) = keys.iter().find(|k| Some(k.tag()) == r.tag) else {
                continue;
            };
            let active_sep = r.sep() && r.phase() == Phase::Active;
            let u = Use {
                publish: r.published.is_some() && r.removed.is_none(),
                sign: r.signing(),
                cds: r.cds.is_some() || (cds_always && active_sep),
            };
            out.push((k.clone(), u));
        }
        KeySet { keys: out }
    }

    fn with(&self, f: fn(&Use) -> bool) -> impl Iterator<Item = &Key> + '_ {
        self.keys
            .iter()
            .filter(move |(_, u)| f(u))
            .map(|(k, _)| &**k)
    }

    /// The keys in the DNSKEY RRset.
    pub fn published(&self) -> impl Iterator<Item = &Key> + '_ {
        self.with(|u| u.publish)
    }

    /// The keys signing.
    pub fn signing(&self) -> impl Iterator<Item = &Key> + '_ {
        self.with(|u| u.sign)
    }

    /// The keys whose CDS and CDNSKEY are at the apex.
    pub fn cds(&self) -> impl Iterator<Item = &Key> + '_ {
        self.with(|u| u.cds)
    }

    /// Does some key sign the DNSKEY RRset, and some key the data?
    pub fn complete(&self) -> bool {
        let signs = |t: u16| self.signing().any(|k| k.role.signs(t));
        signs(crate::rtype::DNSKEY) && signs(crate::rtype::SOA)
    }

    /// The DNSKEY RDATA of each published key.
    pub fn dnskeys(&self) -> Vec<Vec<u8>> {
        self.published().map(|k| k.dnskey().to_vec()).collect()
    }

    /// Do the keys of `role` that sign differ between `self` and `other`?
    pub fn signing_changed(&self, other: &KeySet, role: Role) -> bool {
        let tags = |s: &KeySet| {
            let mut v: Vec<u16> = s
                .signing()
                .filter(|k| k.role == role)
                .map(|k| k.tag())
                .collect();
            v.sort_unstable();
            v
        };
        tags(self) != tags(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::kasp::KeyRec;
    use crate::dnssec::key::Algorithm;

    fn key(role: Role, fill: u8) -> Key {
        Key::from_private(role, Algorithm::Ed25519, 100, &[fill; 32]).unwrap()
    }

    #[test]
    fn newest_and_ring_uses() {
        let policy = Policy {
            csk: false,
            algorithm: Algorithm::Ed25519,
            cds: true,
            ..Policy::default()
        };
        let s = KeySet::newest(&policy, alloc::vec![key(Role::Ksk, 1), key(Role::Zsk, 2)]);
        assert_eq!(s.published().count(), 2);
        assert_eq!(s.cds().map(|k| k.role).collect::<Vec<_>>(), [Role::Ksk]);
        assert!(s.complete());
        // A ring: the ZSK published, not signing; the KSK signing only.
        let keys = [Arc::new(key(Role::Ksk, 1)), Arc::new(key(Role::Zsk, 2))];
        let mut ksk = KeyRec::new(1, Role::Ksk, Algorithm::Ed25519, 10);
        ksk.tag = Some(keys[0].tag());
        (ksk.published, ksk.sign_from, ksk.cds) = (Some(10), Some(10), Some(20));
        let mut zsk = KeyRec::new(2, Role::Zsk, Algorithm::Ed25519, 10);
        zsk.tag = Some(keys[1].tag());
        zsk.published = Some(10);
        let ring = Ring::new(alloc::vec![ksk, zsk]);
        let r = KeySet::from_ring(&ring, &keys, false);
        assert_eq!(r.published().count(), 2);
        assert_eq!(r.signing().count(), 1);
        assert_eq!(r.cds().count(), 1);
        assert!(!r.complete(), "nothing signs the data");
        assert!(r.signing_changed(&s, Role::Zsk));
        assert!(!r.signing_changed(&s, Role::Ksk));
    }
}
