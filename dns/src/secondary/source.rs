//! Where a secondary's zones come from, learned from key names (seed 001):
//! `<primary-ip>.<secondary-ip>._transfer.<zone>` (or `._update.`) names
//! the zone, the primary's address and our own. A key of the root
//! (`<p>.<s>._transfer.`) stands for every zone of that primary.

use crate::keys::{endpoints, Key};
use crate::name::Name;
use crate::tsig::{self, Op};
use alloc::vec::Vec;

/// The DNS port a primary is asked on unless told otherwise.
pub const PORT: u16 = 53;

/// One primary and what we follow from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The zone; the root for "every zone the primary has".
    pub zone: Name,
    pub primary: [u8; 4],
    pub port: u16,
    /// Our own address, as the key names it (None: the key did not).
    pub own: Option<[u8; 4]>,
    /// The key every message to and from the primary is signed with.
    pub key: Key,
}

impl Source {
    /// True for a root key: every zone of the primary.
    pub fn is_catch_all(&self) -> bool {
        self.zone.is_root()
    }
}

/// The source a key describes, if its name has the seed's form and allows
/// transfers. `port`: where the primary listens.
pub fn of_key(key: &Key, port: u16) -> Option<Source> {
    let (primary, own) = endpoints(&key.name)?;
    let (op, zone) = tsig::permission(&key.name)?;
    (op >= Op::Transfer).then(|| Source {
        zone,
        primary,
        port,
        own: Some(own),
        key: key.clone(),
    })
}

/// Every source among `keys` (other keys are left out), in key order.
pub fn of_keys(keys: &[Key], port: u16) -> Vec<Source> {
    keys.iter().filter_map(|k| of_key(k, port)).collect()
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
        let s = of_key(&key("10.0.42.2.10.0.42.3._update.mirage."), PORT).unwrap();
        assert_eq!(s.zone.to_text(), "mirage.");
        assert_eq!(
            (s.primary, s.own, s.port),
            ([10, 0, 42, 2], Some([10, 0, 42, 3]), 53)
        );
        assert!(!s.is_catch_all());
        let all = of_key(&key("10.0.42.2.10.0.42.3._transfer."), 5353).unwrap();
        assert!(all.is_catch_all());
        assert_eq!(all.port, 5353);
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
            assert_eq!(of_key(&key(n), PORT), None, "{n}");
        }
        let keys = [
            key("personal._update.mirage."),
            key("1.2.3.4.5.6.7.8._transfer.a.example."),
        ];
        let s = of_keys(&keys, PORT);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].zone.to_text(), "a.example.");
    }
}
