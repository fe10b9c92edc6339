//! The signers of the zones kept signed (issue 26): each zone's [`Signer`]
//! and when its signatures are next due, held in the zone set (a leaf:
//! the zone set holds it, `keeper` works on both).

use super::signer::Signer;
use crate::name::Name;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// A zone's signer and when it has signatures to refresh next.
#[derive(Clone)]
pub(crate) struct Kept {
    pub(crate) signer: Signer,
    pub(crate) due: u64,
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
    /// Keep `signer` for the zone `origin`, signed at `now`.
    pub fn insert(&mut self, origin: &Name, signer: Signer, now: u64) {
        let due = signer.next_refresh(now).unwrap_or(u64::MAX);
        self.map
            .insert(origin.key().to_vec(), Arc::new(Kept { signer, due }));
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
        kept.due = kept
            .signer
            .next_refresh(now)
            .map_or(u64::MAX, |d| d.max(now + 1));
        self.map.insert(origin.key().to_vec(), Arc::new(kept));
    }
}
