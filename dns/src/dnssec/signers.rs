//! The signers of the zones kept signed (issue 26): each zone's [`Signer`],
//! its keys under the rollover machine ([`Roll`]) and when either is next
//! due, held in the zone set (a leaf: the zone set holds it, `keeper`
//! works on both).

use super::roll::Roll;
use super::signer::Signer;
use crate::name::Name;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// A zone's signer, its keys, and when it has signatures to refresh or
/// a key step to take next.
#[derive(Clone)]
pub(crate) struct Kept {
    pub(crate) signer: Signer,
    pub(crate) roll: Roll,
    pub(crate) due: u64,
}

impl Kept {
    /// The earliest of the next refresh and the next key step; at the
    /// earliest `not_before`.
    fn due(&self, now: u64, not_before: u64) -> u64 {
        let refresh = self.signer.next_refresh(now).unwrap_or(u64::MAX);
        let roll = self.roll.next.unwrap_or(u64::MAX);
        refresh.min(roll).max(not_before)
    }
}

/// The signers of the signed zones, by the key of their origin (shared
/// between copies of the zone set; copied on change).
#[derive(Clone, Default)]
pub struct Signers {
    map: BTreeMap<Vec<u8>, Arc<Kept>>,
}

impl core::fmt::Debug for Signers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Signers({} zones)", self.map.len())
    }
}

impl Signers {
    /// Keep `signer` and `roll` for the zone `origin`, signed at `now`.
    pub fn insert(&mut self, origin: &Name, signer: Signer, roll: Roll, now: u64) {
        let mut kept = Kept {
            signer,
            roll,
            due: 0,
        };
        kept.due = kept.due(now, 0);
        self.map.insert(origin.key().to_vec(), Arc::new(kept));
    }

    /// The keys of zone `origin` kept signed here.
    pub fn roll(&self, origin: &Name) -> Option<&Roll> {
        self.map.get(&origin.key()[..]).map(|k| &k.roll)
    }

    /// Every zone kept signed with its keys (for the status page).
    pub fn rolls(&self) -> impl Iterator<Item = (Name, &Roll)> + '_ {
        self.map.values().map(|k| (k.signer.origin(), &k.roll))
    }

    /// Is zone `origin` kept signed here?
    pub fn signs(&self, origin: &Name) -> bool {
        self.map.contains_key(&origin.key()[..])
    }

    /// When the earliest zone has signatures to refresh (seconds since the
    /// epoch); None: no zone is signed.
    pub fn next_due(&self) -> Option<u64> {
        self.map.values().map(|k| k.due).min()
    }

    /// Take over the signers of `prev` for the zones `kept` says are the
    /// same version as before (a file that failed to load keeps its last
    /// good zone, and that zone its signer).
    pub fn carry(&mut self, prev: &Signers, kept: impl Fn(&Name) -> bool) {
        for (k, v) in &prev.map {
            if !self.map.contains_key(k) && kept(&v.signer.origin()) {
                self.map.insert(k.clone(), v.clone());
            }
        }
    }

    /// The parent serves zone `origin`'s DS (the operator's NOTIFY): its
    /// keys with CDS up are seen at the zone's next step, due at `now`.
    /// Their tags (none: no CDS up, or the zone is not signed here).
    pub fn ds_seen(&mut self, origin: &Name, now: u64) -> Vec<u16> {
        let Some(mut kept) = self.take(origin) else {
            return Vec::new();
        };
        let tags = kept.roll.ds_seen(now);
        kept.due = kept.due.min(now);
        self.map.insert(origin.key().to_vec(), Arc::new(kept));
        tags
    }

    /// The zones with signatures to refresh at `now`.
    pub fn due_at(&self, now: u64) -> Vec<Name> {
        self.map
            .values()
            .filter(|k| k.due <= now)
            .map(|k| k.signer.origin())
            .collect()
    }

    pub(crate) fn take(&mut self, origin: &Name) -> Option<Kept> {
        let k = self.map.remove(&origin.key()[..])?;
        Some(Arc::try_unwrap(k).unwrap_or_else(|k| (*k).clone()))
    }

    /// Keep `kept` again; due at the earliest a second on (a zone whose
    /// refresh failed is tried again, not in a loop).
    pub(crate) fn put(&mut self, origin: &Name, mut kept: Kept, now: u64) {
        kept.due = kept.due(now, now + 1);
        self.map.insert(origin.key().to_vec(), Arc::new(kept));
    }
}
