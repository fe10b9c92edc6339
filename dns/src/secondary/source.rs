//! Where a secondary's zones come from, learned from key names (seed 001):
//! `<primary-ip>.<secondary-ip>._transfer.<zone>` (or `._update.`) names
//! the zone, the primary's address and our own. A key of the root
//! (`<p>.<s>._transfer.`) stands for every zone of that primary. Key names
//! hold IPv4 addresses only: an IPv6 primary (or another port) is given
//! instead (`--primary`), and then any `_transfer`/`_update` key names a
//! zone to follow from it.

use crate::keys::{endpoints, Key};
use crate::name::Name;
use crate::tsig::{self, Op};
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The DNS port a primary is asked on unless told otherwise.
pub const PORT: u16 = 53;

/// One primary and what we follow from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The zone; the root for "every zone the primary has".
    pub zone: Name,
    /// Where the primary listens (UDP and TCP).
    pub primary: SocketAddr,
    /// Our own address, as the key names it (None: the key did not).
    pub own: Option<IpAddr>,
    /// The key every message to and from the primary is signed with.
    pub key: Key,
}

/// Where the primaries are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Primary {
    /// As each key's name says, on this port.
    Named(u16),
    /// This one, for every key (`--primary`).
    Given(SocketAddr),
}

impl Source {
    /// True for a root key: every zone of the primary.
    pub fn is_catch_all(&self) -> bool {
        self.zone.is_root()
    }
}

/// The source a key describes, if it allows transfers and its name has
/// the seed's form (or the primary is given).
pub fn of_key(key: &Key, primary: Primary) -> Option<Source> {
    let (op, zone) = tsig::permission(&key.name)?;
    if op < Op::Transfer {
        return None;
    }
    let named = endpoints(&key.name);
    let v4 = |a: [u8; 4]| IpAddr::V4(Ipv4Addr::from(a));
    let primary = match primary {
        Primary::Given(at) => at,
        Primary::Named(port) => SocketAddr::new(v4(named?.0), port),
    };
    Some(Source {
        zone,
        primary,
        own: named.map(|n| v4(n.1)),
        key: key.clone(),
    })
}

/// Every source among `keys` (other keys are left out), in key order. A
/// key naming one of `ours` as the primary is not a source: it is the key
/// of one of our own secondaries (seed 001's chain names them so), and
/// following it would mean asking ourselves for the zone.
pub fn of_keys(keys: &[Key], primary: Primary, ours: &[IpAddr]) -> Vec<Source> {
    keys.iter()
        .filter_map(|k| of_key(k, primary))
        .filter(|s| !ours.contains(&s.primary.ip()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

    fn key(name: &str) -> Key {
        Key {
            name: Name::parse(name, &Name::root()).unwrap(),
            algorithm: Algorithm::Sha256,
            secret: alloc::vec![1; 32],
        }
    }

    #[test]
    fn the_seed_key() {
        let s = of_key(
            &key("10.0.42.2.10.0.42.3._update.mirage."),
            Primary::Named(PORT),
        )
        .unwrap();
        assert_eq!(s.zone.to_text(), "mirage.");
        assert_eq!(s.primary, "10.0.42.2:53".parse().unwrap());
        assert_eq!(s.own, Some("10.0.42.3".parse().unwrap()));
        assert!(!s.is_catch_all());
        let all = of_key(&key("10.0.42.2.10.0.42.3._transfer."), Primary::Named(5353)).unwrap();
        assert!(all.is_catch_all());
        assert_eq!(all.primary.port(), 5353);
    }

    #[test]
    fn a_given_primary_replaces_the_named_one() {
        let at: SocketAddr = "[fd00::1]:5300".parse().unwrap();
        let s = of_key(
            &key("10.0.42.2.10.0.42.3._transfer.mirage."),
            Primary::Given(at),
        )
        .unwrap();
        assert_eq!((s.primary, s.own), (at, Some("10.0.42.3".parse().unwrap())));
        // Any transfer key names its zone then; notify keys still do not.
        let s = of_key(&key("sec._transfer.mirage."), Primary::Given(at)).unwrap();
        assert_eq!((s.zone.to_text(), s.own), ("mirage.".into(), None));
        assert_eq!(
            of_key(&key("sec._transfer.mirage."), Primary::Named(53)),
            None
        );
        assert_eq!(
            of_key(&key("sec._notify.mirage."), Primary::Given(at)),
            None
        );
    }

    #[test]
    fn other_names_are_not_sources() {
        for n in [
            "personal._update.mirage.",
            "10.0.42.3._transfer.mirage.",
            "0.42.2.10.0.42.3._transfer.mirage.",
            "10.0.42.2.10.0.42.300._transfer.mirage.",
            "10.0.42.2.10.0.42.+3._transfer.mirage.",
            "10.0.42.2.10.0.42.3._notify.mirage.",
            "10.0.42.2.10.0.42.3.mirage.",
        ] {
            assert_eq!(of_key(&key(n), Primary::Named(PORT)), None, "{n}");
        }
        let keys = [
            key("personal._update.mirage."),
            key("1.2.3.4.5.6.7.8._transfer.a.example."),
        ];
        let s = of_keys(&keys, Primary::Named(PORT), &[]);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].zone.to_text(), "a.example.");
    }

    #[test]
    fn keys_of_our_own_secondaries_are_not_sources() {
        let keys = [
            key("10.0.42.2.10.0.42.3._transfer.mirage"),
            key("10.0.42.3.10.0.42.5._transfer.mirage"),
        ];
        let ours = [IpAddr::V4(Ipv4Addr::new(10, 0, 42, 3))];
        let s = of_keys(&keys, Primary::Named(PORT), &ours);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].primary, "10.0.42.2:53".parse().unwrap());
        // In the other order too: the first key no longer decides.
        let rev = [keys[1].clone(), keys[0].clone()];
        let s = of_keys(&rev, Primary::Named(PORT), &ours);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].primary, "10.0.42.2:53".parse().unwrap());
    }
}
