//! The times a rollover waits on (RFC 7583 3.1's Dprp, TTLkey, TTLsig,
//! TTLds, Dprp-parent) and the policy's choices.

use super::super::key::{Algorithm, Role};
use super::super::policy::Policy;

/// Seconds. As Knot's policy: one hour of propagation delay (the zone
/// on every secondary), the DNSKEY TTL the SOA's, lifetimes counted from
/// Active. The parent's DS TTL is not the child's to know: a day unless
/// told (a common TLD value), with an hour for the parent's own
/// propagation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    pub algorithm: Algorithm,
    /// One CSK (false: KSK and ZSK).
    pub csk: bool,
    /// Until a change is served by every server of the zone.
    pub propagation: u32,
    pub dnskey_ttl: u32,
    /// The largest TTL of a signed RRset (its RRSIGs are cached as long).
    pub max_ttl: u32,
    /// The parent's DS TTL, and its own propagation delay.
    pub ds_ttl: u32,
    pub parent_delay: u32,
    /// From Active to the next rollover; None: never.
    pub zsk_lifetime: Option<u32>,
    pub ksk_lifetime: Option<u32>,
}

impl Timing {
    /// From the zone's policy; `soa_ttl` stands for the DNSKEY TTL the
    /// policy leaves open, `max_ttl` is the zone's largest TTL.
    pub fn from_policy(p: &Policy, soa_ttl: u32, max_ttl: u32) -> Timing {
        let dnskey_ttl = p.dnskey_ttl.unwrap_or(soa_ttl);
        Timing {
            algorithm: p.algorithm,
            csk: p.csk,
            propagation: p.propagation,
            dnskey_ttl,
            max_ttl: max_ttl.max(dnskey_ttl),
            ds_ttl: p.parent_ds_ttl,
            parent_delay: p.parent_propagation,
            zsk_lifetime: p.zsk_lifetime,
            ksk_lifetime: p.ksk_lifetime,
        }
    }

    /// A policy on a fast clock, for the VM test: a ZSK rolls every
    /// minute, a KSK every two, each wait a few seconds.
    pub fn fast(algorithm: Algorithm, csk: bool) -> Timing {
        Timing {
            algorithm,
            csk,
            propagation: 2,
            dnskey_ttl: 3,
            max_ttl: 5,
            ds_ttl: 4,
            parent_delay: 2,
            zsk_lifetime: Some(60),
            ksk_lifetime: Some(120),
        }
    }

    pub fn roles(&self) -> &'static [Role] {
        if self.csk {
            &[Role::Csk]
        } else {
            &[Role::Ksk, Role::Zsk]
        }
    }

    pub fn lifetime(&self, role: Role) -> Option<u32> {
        match role {
            Role::Zsk => self.zsk_lifetime,
            // A CSK is what the parent's DS names: its rollover needs the
            // parent, as a KSK's does (Knot reads ksk-lifetime for it too).
            Role::Csk | Role::Ksk => self.ksk_lifetime,
        }
    }

    /// Does `role`/`alg` belong to the keys this policy wants?
    pub fn fits(&self, role: Role, alg: Algorithm) -> bool {
        alg == self.algorithm && self.roles().contains(&role)
    }

    /// Until every cache holds the DNSKEY RRset served now (RFC 7583
    /// 3.2: Dprp + TTLkey).
    pub fn key_wait(&self) -> u64 {
        (self.propagation + self.dnskey_ttl) as u64
    }

    /// Until every cache holds the signatures made now (Dprp + TTLsig).
    pub fn sig_wait(&self) -> u64 {
        (self.propagation + self.max_ttl) as u64
    }

    /// Until no cache holds the parent's DS set of now (RFC 7583 3.3.2:
    /// Dprp-parent + TTLds).
    pub fn ds_wait(&self) -> u64 {
        (self.parent_delay + self.ds_ttl) as u64
    }
}
