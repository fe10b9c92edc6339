//! The signer (issue 26, second step), sans-I/O: a zone's records in, the
//! signed zone out (its DNSKEY RRset, RRSIGs, NSEC or NSEC3 chain and
//! NSEC3PARAM), then kept signed incrementally: a change (the records an
//! UPDATE or a commit removed and added) re-signs only the RRsets it
//! touched and the chain links around them, and [`Signer::refresh`]
//! re-signs what comes within the policy's refresh time of expiring.
//! Time is passed in; the jitter of expirations comes from a seed passed
//! in; keys come made ([`super::keyfile::complete`]).

mod chain_nsec;
mod chain_nsec3;
mod load;
mod packed;
mod tree;

use super::canon::{self, RRset, Window};
use super::key::{Key, Role};
use super::keyset::KeySet;
use super::policy::{Denial, Policy};
use crate::name::{Key as NameKey, Name};
use crate::rtype::{CDNSKEY, CDS, DNSKEY, IN, NSEC, NSEC3, NSEC3PARAM, RRSIG};
use crate::zone::parser::{Record, RecordRef};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use tree::{Status, Tree};

/// Why a zone cannot be signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignError {
    /// The keys lack a role the policy signs with.
    NoKey,
}

impl core::fmt::Display for SignError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("no key of the policy's algorithm for each of its roles")
    }
}

/// A zone being kept signed.
#[derive(Clone)]
pub struct Signer {
    tree: Tree,
    policy: Policy,
    /// Shared by copies (keys are not copied).
    keys: KeySet,
    seed: u64,
    /// NSEC3 only: the hashes of the chain's names in order, with the name.
    hashes: BTreeMap<[u8; 20], Name>,
    /// (name, type) to sign again, collected by a change.
    dirty: BTreeSet<(NameKey, u16)>,
    /// The owners whose records changed in the step under way.
    changed: BTreeMap<NameKey, Name>,
    /// Signing from scratch ([`Signer::load`]): everything is signed, so
    /// nothing is collected in `dirty` and `changed`.
    bulk: bool,
}

/// One record of the signed zone, borrowed.
pub struct Rr<'a> {
    pub owner: &'a Name,
    pub rtype: u16,
    pub ttl: u32,
    pub rdata: &'a [u8],
}

/// Types the signer makes itself: taken out of the records it is given.
fn generated(t: u16) -> bool {
    matches!(t, RRSIG | NSEC | NSEC3 | NSEC3PARAM)
}

impl Signer {
    /// A signer for the zone `origin` under `policy`, with `keys` (the
    /// zone's key file; the active ones must all be there) and `seed`
    /// (random: spreads expirations).
    pub fn new(
        origin: Name,
        policy: Policy,
        keys: Vec<Key>,
        seed: u64,
    ) -> Result<Signer, SignError> {
        let keys = KeySet::newest(&policy, keys);
        Signer::with_keys(origin, policy, keys, seed)
    }

    /// As [`Signer::new`], with the keys' uses decided by the caller (the
    /// rollover machine, [`super::kasp`]).
    pub fn with_keys(
        origin: Name,
        policy: Policy,
        keys: KeySet,
        seed: u64,
    ) -> Result<Signer, SignError> {
        if !keys.complete() {
            return Err(SignError::NoKey);
        }
        Ok(Signer {
            tree: Tree::new(origin),
            policy,
            keys,
            seed,
            hashes: BTreeMap::new(),
            dirty: BTreeSet::new(),
            changed: BTreeMap::new(),
            bulk: false,
        })
    }

    /// The zone's apex.
    pub fn origin(&self) -> Name {
        self.tree.origin.clone()
    }

    /// Apply a change (`removed`, then `added`) at `now` and sign what it
    /// touched: its RRsets, the NSEC or NSEC3 records around its names
    /// (RFC 4035 2.3, RFC 5155 7.1), and their RRSIGs. The owners whose
    /// records changed, in canonical order.
    pub fn change(&mut self, removed: &[Record], added: &[Record], now: u64) -> Vec<Name> {
        let mut cuts = Vec::new();
        for (r, add) in removed
            .iter()
            .map(|r| (r, false))
            .chain(added.iter().map(|r| (r, true)))
        {
            if !self.takes(&r.name, r.rtype, r.class) {
                continue;
            }
            self.apply(r.borrow(), add);
            if r.rtype == crate::rtype::NS && r.name != self.tree.origin {
                cuts.push(r.name.clone());
            }
        }
        self.apex_keys();
        for cut in cuts {
            self.touch_subtree(&cut);
        }
        let names: Vec<NameKey> = self.changed.keys().cloned().collect();
        match self.policy.denial {
            Denial::Nsec => self.nsec_fix(&names),
            Denial::Nsec3 { opt_out } => self.nsec3_fix(&names, opt_out),
        }
        self.sign_dirty(now);
        self.finish()
    }

    /// Re-sign every RRset whose signatures expire within the policy's
    /// refresh time (and its jitter) of `now`: called when the first is
    /// due ([`Signer::next_refresh`]), it takes the whole generation signed
    /// with it, so refreshes come in rounds (RFC 6781 4.4.2), not one per
    /// jittered expiration. The owners whose records changed.
    pub fn refresh(&mut self, now: u64) -> Vec<Name> {
        let horizon = now + self.policy.refresh as u64 + self.policy.jitter as u64;
        for (k, n) in &self.tree.nodes {
            for s in &n.sets {
                if s.sigs.iter().any(|g| canon::expiration(g, now) <= horizon) {
                    self.dirty.insert((k.clone(), s.rtype));
                }
            }
        }
        self.sign_dirty(now);
        self.finish()
    }

    /// When [`Signer::refresh`] has work next: the earliest expiration
    /// less the refresh time (a scan of every signature).
    pub fn next_refresh(&self, now: u64) -> Option<u64> {
        let earliest = self
            .tree
            .nodes
            .values()
            .flat_map(|n| n.sets.iter().flat_map(|s| s.sigs.iter()))
            .map(|g| canon::expiration(g, now))
            .min()?;
        Some(earliest.saturating_sub(self.policy.refresh as u64))
    }

    /// Is `r` the zone's own data (not made by the signer, class IN, at
    /// or below the apex)?
    fn takes(&self, name: &Name, rtype: u16, class: u16) -> bool {
        !generated(rtype) && class == IN && name.is_at_or_below(&self.tree.origin)
    }

    /// Add or remove one record, marking its RRset to sign again.
    fn apply(&mut self, r: RecordRef<'_>, add: bool) {
        let k = r.name.key();
        let node = self.tree.node(k.clone(), r.name);
        let set = node.entry(r.rtype, r.ttl);
        let canon_rd = canon::rdata(r.rtype, r.rdata);
        let at = set
            .rdatas
            .iter()
            .position(|x| canon::rdata(r.rtype, x) == canon_rd);
        match (add, at) {
            (true, None) => {
                set.rdatas.push(r.rdata);
            }
            (true, Some(_)) => {}
            (false, Some(i)) => {
                set.rdatas.remove(i);
            }
            (false, None) => {}
        }
        if add {
            set.ttl = r.ttl;
        }
        if set.rdatas.is_empty() {
            node.remove(r.rtype);
        }
        if !self.bulk {
            self.dirty.insert((k.clone(), r.rtype));
            self.changed.insert(k, r.name.clone());
        }
    }

    /// The apex's DNSKEY RRset: the active keys (RFC 4035 2.1) with the
    /// policy's TTL (else the SOA's).
    fn apex_keys(&mut self) {
        let origin = self.tree.origin.clone();
        let k = origin.key();
        let soa_ttl = self
            .tree
            .nodes
            .get(&k)
            .and_then(|n| n.get(crate::rtype::SOA))
            .map_or(3600, |s| s.ttl);
        let ttl = self.policy.dnskey_ttl.unwrap_or(soa_ttl);
        let mut want: Vec<Vec<u8>> = self.keys.dnskeys();
        self.apex_cds();
        let node = self.tree.node(k.clone(), &origin);
        let set = node.entry(DNSKEY, ttl);
        for rd in set.rdatas.iter() {
            if !want.iter().any(|w| w[..] == *rd) {
                want.push(rd.to_vec());
            }
        }
        let same = set.ttl == ttl && want.len() == set.rdatas.len();
        if !same || set.sigs.is_empty() {
            set.rdatas = packed::Packed::of(&want);
            set.ttl = ttl;
            self.dirty.insert((k.clone(), DNSKEY));
            self.changed.insert(k, origin);
        }
    }

    /// CDS and CDNSKEY at the apex (RFC 7344 3, RFC 8078): the DS the
    /// parent should hold for each key with CDS (the rollover machine's
    /// PublishCds, or `cds always`), and its DNSKEY; replacing any the
    /// zone had (with no such key the zone's own stay). TTL 0, as Knot publishes them (RFC 7344 sets none):
    /// the parent's scanner never acts on a stale copy.
    fn apex_cds(&mut self) {
        let ttl = 0;
        let origin = self.tree.origin.clone();
        let cds = ds_of(&self.keys, &origin);
        let cdnskey = cdnskeys(&self.keys);
        if cds.is_empty() {
            return;
        }
        let k = origin.key();
        let node = self.tree.node(k.clone(), &origin);
        for (t, want) in [(CDS, cds), (CDNSKEY, cdnskey)] {
            let set = node.entry(t, ttl);
            if set.ttl == ttl && canon::order(t, &set.rdatas.to_vecs()) == canon::order(t, &want) {
                continue;
            }
            set.ttl = ttl;
            set.rdatas = packed::Packed::of(&want);
            self.dirty.insert((k.clone(), t));
            self.changed.insert(k.clone(), origin.clone());
        }
    }

    /// Take `keys` as the zone's keys from `now` (a rollover step,
    /// [`super::kasp`]): the DNSKEY RRset, CDS and CDNSKEY follow their
    /// new uses, and every RRset whose signing keys changed is signed
    /// again (RFC 7583 3.2: a new ZSK signs the data, 3.3: a new KSK the
    /// DNSKEY RRset). The owners whose records changed.
    pub fn rekey(&mut self, keys: KeySet, now: u64) -> Vec<Name> {
        let old = core::mem::replace(&mut self.keys, keys);
        let origin = self.tree.origin.clone();
        let k = origin.key();
        let new = &self.keys;
        let stale = [
            (DNSKEY, old.dnskeys(), new.dnskeys()),
            (CDS, ds_of(&old, &origin), ds_of(new, &origin)),
            (CDNSKEY, cdnskeys(&old), cdnskeys(new)),
        ];
        if let Some(node) = self.tree.nodes.get_mut(&k) {
            for (t, was, is) in stale {
                let Some(set) = node.get_mut(t) else { continue };
                let before = set.rdatas.len();
                let has = |l: &[Vec<u8>], rd: &[u8]| l.iter().any(|x| x[..] == *rd);
                set.rdatas.retain(|rd| has(&is, rd) || !has(&was, rd));
                if set.rdatas.len() != before {
                    if set.rdatas.is_empty() {
                        node.remove(t);
                    }
                    self.dirty.insert((k.clone(), t));
                    self.changed.insert(k.clone(), origin.clone());
                }
            }
        }
        for role in [Role::Csk, Role::Ksk, Role::Zsk] {
            if !self.keys.signing_changed(&old, role) {
                continue;
            }
            for (nk, n) in &self.tree.nodes {
                for s in n.sets.iter().filter(|s| role.signs(s.rtype)) {
                    self.dirty.insert((nk.clone(), s.rtype));
                }
            }
        }
        self.apex_keys();
        self.sign_dirty(now);
        self.finish()
    }

    /// Mark every name at or below `cut` changed (it became or stopped
    /// being a delegation: what is signed and chained below it changes).
    fn touch_subtree(&mut self, cut: &Name) {
        let k = cut.key();
        for (nk, n) in self.tree.nodes.range(k.clone()..) {
            if !nk.starts_with(&k) {
                break;
            }
            for s in &n.sets {
                self.dirty.insert((nk.clone(), s.rtype));
            }
            self.changed.insert(nk.clone(), n.name.clone());
        }
    }

    /// The window of a signature of `rtype` at `k` made at `now`: from the
    /// policy's inception before now to its validity after, less a jitter
    /// of up to the policy's jitter, the same for the same RRset and seed.
    fn window(&self, k: &[u8], rtype: u16, now: u64) -> Window {
        // FNV-1a over the seed, the name and the type.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self
            .seed
            .to_be_bytes()
            .iter()
            .chain(k)
            .chain(&rtype.to_be_bytes())
        {
            h = (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        let jitter = h % (self.policy.jitter as u64 + 1);
        Window {
            inception: now.saturating_sub(self.policy.inception as u64),
            expiration: now + self.policy.validity as u64 - jitter,
        }
    }

    /// Sign the dirty RRsets: those the status of their name lets be
    /// signed (everything at the apex and authoritative names; DS and NSEC
    /// at delegation points; nothing occluded) by the active keys whose
    /// role signs their type. Others lose their RRSIGs.
    fn sign_dirty(&mut self, now: u64) {
        for (k, t) in core::mem::take(&mut self.dirty) {
            let Some(name) = self.tree.nodes.get(&k).map(|n| n.name.clone()) else {
                continue;
            };
            self.sign_set(&k, t, now);
            self.changed.insert(k, name);
        }
    }

    /// Sign the RRset of type `t` at `k` (see [`Signer::sign_dirty`]).
    fn sign_set(&mut self, k: &NameKey, t: u16, now: u64) {
        {
            let Some(node) = self.tree.nodes.get(k) else {
                return;
            };
            let status = self.tree.status(&node.name);
            let signed = match status {
                Status::Apex | Status::Auth => true,
                Status::Cut => matches!(t, crate::rtype::DS | NSEC),
                Status::Occluded => false,
            };
            let w = self.window(k, t, now);
            let mut sigs: Vec<Vec<u8>> = Vec::new();
            if let Some(set) = node.get(t).filter(|_| signed) {
                let rdatas = set.rdatas.to_vecs();
                let rs = RRset {
                    owner: &node.name,
                    rtype: t,
                    ttl: set.ttl,
                    rdatas: &rdatas,
                };
                for key in self.keys.signing().filter(|k| k.role.signs(t)) {
                    sigs.push(canon::rrsig(&rs, key, &self.tree.origin, w));
                }
            }
            if let Some(set) = self.tree.nodes.get_mut(k).and_then(|n| n.get_mut(t)) {
                set.sigs = packed::Packed::of(&sigs);
            }
        }
    }

    /// End a step: nodes left empty go, the changed owners are returned.
    fn finish(&mut self) -> Vec<Name> {
        let changed = core::mem::take(&mut self.changed);
        for k in changed.keys() {
            if self.tree.nodes.get(k).is_some_and(|n| n.sets.is_empty()) {
                self.tree.nodes.remove(k);
            }
        }
        changed.into_values().collect()
    }

    /// Every record of the signed zone, in canonical order of owners
    /// (each RRset, then its RRSIGs).
    pub fn for_each(&self, f: &mut dyn FnMut(Rr<'_>)) {
        for n in self.tree.nodes.values() {
            Self::node_records(n, f);
        }
    }

    /// The records at `name` (none: the name is gone).
    pub fn for_each_at(&self, name: &Name, f: &mut dyn FnMut(Rr<'_>)) {
        if let Some(n) = self.tree.nodes.get(&name.key()) {
            Self::node_records(n, f);
        }
    }

    fn node_records(n: &tree::Node, f: &mut dyn FnMut(Rr<'_>)) {
        for s in &n.sets {
            for rd in s.rdatas.iter() {
                f(Rr {
                    owner: &n.name,
                    rtype: s.rtype,
                    ttl: s.ttl,
                    rdata: rd,
                });
            }
            for g in s.sigs.iter() {
                f(Rr {
                    owner: &n.name,
                    rtype: RRSIG,
                    ttl: s.ttl,
                    rdata: g,
                });
            }
        }
    }

    /// The DS RDATA (SHA-256) the parent should publish for the zone.
    pub fn parent_ds(&self) -> Vec<Vec<u8>> {
        self.keys
            .signing()
            .filter(|k| k.role.signs(DNSKEY))
            .map(|k| k.ds(&self.tree.origin))
            .collect()
    }

    /// The DNSKEY RDATA of the key the parent's DS points at (the KSK or
    /// CSK): what a validator takes as trust anchor.
    pub fn sep_keys(&self) -> Vec<&[u8]> {
        self.keys
            .signing()
            .filter(|k| k.role.signs(DNSKEY))
            .map(|k| k.dnskey())
            .collect()
    }
}

/// The CDS RDATA of the keys of `keys` with CDS, at `origin`.
fn ds_of(keys: &KeySet, origin: &Name) -> Vec<Vec<u8>> {
    keys.cds().map(|k| k.ds(origin)).collect()
}

fn cdnskeys(keys: &KeySet) -> Vec<Vec<u8>> {
    keys.cds().map(|k| k.dnskey().to_vec()).collect()
}

#[cfg(test)]
mod tests;
