//! A zone's private keys, kept in `ZONE._dnssec_keys` in the repository
//! (the private remote, like `_keys`; never loaded as a zone, never
//! served or transferred): one [`Key::to_line`] a line. Keys the policy
//! needs and the file lacks are made here from the CSPRNG passed in and
//! the file is written again for the caller to commit.

use super::key::{Key, Role};
use super::policy::{lines, FileError, Policy};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Parse the key file `file` with contents `text`: its key lines (the
/// rollover machine's `kasp` lines are [`super::kasp::text`]'s).
pub fn parse(file: &str, text: &str) -> Result<Vec<Key>, FileError> {
    lines(text)
        .filter(|(_, l)| l.split_whitespace().next() != Some(super::kasp::text::WORD))
        .map(|(n, l)| {
            Key::from_line(l).map_err(|e| FileError {
                file: file.into(),
                line: n,
                what: format!("{e}"),
            })
        })
        .collect()
}

/// Check the policy or key file `file` (see [`super::policy::is_dnssec_file`]):
/// the first error, with its line.
pub fn check(file: &str, text: &str) -> Result<(), FileError> {
    match super::policy::policy_zone(file) {
        Some(_) => super::policy::parse(file, text).map(|_| ()),
        None => parse(file, text).and(super::kasp::text::parse(file, text).map(|_| ())),
    }
}

/// The file's text for `keys`.
pub fn print<'k>(zone: &str, keys: impl IntoIterator<Item = &'k Key>) -> String {
    let mut s = format!("# DNSSEC keys of {zone} (gitns; private: never served)\n");
    for k in keys {
        s.push_str(&k.to_line());
        s.push('\n');
    }
    s
}

/// The roles `policy` signs with.
fn roles(policy: &Policy) -> &'static [Role] {
    if policy.csk {
        &[Role::Csk]
    } else {
        &[Role::Ksk, Role::Zsk]
    }
}

/// The keys of `keys` that sign under `policy` (its algorithm and roles),
/// each role's newest.
pub fn active<'k>(policy: &Policy, keys: &'k [Key]) -> Vec<&'k Key> {
    roles(policy)
        .iter()
        .filter_map(|&r| {
            keys.iter()
                .filter(|k| k.role == r && k.algorithm == policy.algorithm)
                .max_by_key(|k| k.created)
        })
        .collect()
}

/// Make the keys `policy` needs and `keys` lacks (a role with no key of
/// the policy's algorithm), created `now` from `random`. True when any
/// was made (the file must be written and committed).
pub fn complete(
    policy: &Policy,
    keys: &mut Vec<Key>,
    now: u64,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<bool, super::key::KeyError> {
    let mut made = false;
    for &r in roles(policy) {
        if !keys
            .iter()
            .any(|k| k.role == r && k.algorithm == policy.algorithm)
        {
            keys.push(Key::generate(r, policy.algorithm, now, random)?);
            made = true;
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::key::Algorithm;
    use alloc::string::ToString;

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |b: &mut [u8]| {
            n += 1;
            b.fill(n)
        }
    }

    #[test]
    fn missing_keys_are_made_once_and_round_trip() {
        let policy = Policy {
            csk: false,
            ..Policy::default()
        };
        let mut keys = Vec::new();
        let mut random = counter();
        assert!(complete(&policy, &mut keys, 100, &mut random).unwrap());
        assert_eq!(keys.len(), 2);
        assert!(!complete(&policy, &mut keys, 200, &mut random).unwrap());
        let text = print("example.org.", &keys);
        let back = parse("example.org._dnssec_keys", &text).unwrap();
        let tags = |k: &[Key]| k.iter().map(|k| (k.role, k.tag())).collect::<Vec<_>>();
        assert_eq!(tags(&back), tags(&keys));
        let a = active(&policy, &back);
        assert_eq!((a[0].role, a[1].role), (Role::Ksk, Role::Zsk));
        // Another algorithm: a new CSK, the old keys stay in the file.
        let ed = Policy {
            algorithm: Algorithm::Ed25519,
            ..Policy::default()
        };
        assert!(complete(&ed, &mut keys, 300, &mut random).unwrap());
        assert_eq!(active(&ed, &keys).len(), 1);
        assert_eq!(keys.len(), 3);
    }

    #[test]
    fn a_broken_line_says_where() {
        let e = parse("z._dnssec_keys", "# ok\n\nksk ed25519 1 !!\n").unwrap_err();
        assert_eq!(e.to_string(), "z._dnssec_keys:3: bad base64 \"!!\"");
    }
}
