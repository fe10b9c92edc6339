//! A zone's signing policy, from the file `ZONE._dnssec` beside the zone
//! in the repository (written by the operator; its presence opts the zone
//! in). One `directive value` a line, `#` or `;` starts a comment:
//!
//! ```text
//! algorithm ecdsap256sha256   # or ed25519 (RFC 8624 3.1)
//! denial nsec3                # nsec | nsec3 | nsec3-opt-out (RFC 9276: 0 iterations, no salt)
//! keys csk                    # csk | ksk+zsk
//! validity 14d                # signature lifetime (expiration - inception)
//! refresh 7d                  # re-sign when less than this is left
//! jitter 12h                  # expirations spread over this much
//! inception 1h                # inception backdated by this much (clock skew)
//! ksk-lifetime never          # key lifetimes: a duration or `never`
//! zsk-lifetime 90d
//! dnskey-ttl 1h               # default: the SOA's TTL
//! cds none                    # always: CDS and CDNSKEY of the KSK at the apex (RFC 7344, 8078)
//! propagation-delay 1h        # a change reaches every server of the zone (RFC 7583 Dprp)
//! parent-ds-ttl 1d            # the parent's DS TTL (TTLds)
//! parent-propagation-delay 1h # the parent's Dprp
//! ```
//!
//! The last three and the lifetimes are what key rollovers wait on
//! ([`super::kasp::Timing`]); short values make a fast clock for tests.
//!
//! Durations are TTL syntax (`3600`, `1h`, `1w2d`). Every directive is
//! optional (the defaults are shown above, `denial nsec`); each may appear
//! once. The keys live in `ZONE._dnssec_keys` ([`super::keyfile`]).

use super::key::Algorithm;
use alloc::format;
use alloc::string::String;
use core::fmt;

/// The policy file of zone `ZONE`: `ZONE._dnssec`.
pub const POLICY_SUFFIX: &str = "._dnssec";
/// The key file of zone `ZONE`: `ZONE._dnssec_keys`.
pub const KEYS_SUFFIX: &str = "._dnssec_keys";

/// The zone a policy file is for (`example.org._dnssec` ->
/// `example.org`), if `file` is one.
pub fn policy_zone(file: &str) -> Option<&str> {
    file.strip_suffix(POLICY_SUFFIX).filter(|z| !z.is_empty())
}

/// Is `file` a DNSSEC policy or key file (never a zone, never served)?
pub fn is_dnssec_file(file: &str) -> bool {
    policy_zone(file).is_some() || file.ends_with(KEYS_SUFFIX)
}

/// How names are denied (RFC 4035 3.1.3, RFC 5155).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    Nsec,
    /// NSEC3 with SHA-1, 0 extra iterations and no salt (RFC 9276 3.1);
    /// `opt_out` leaves insecure delegations out of the chain (RFC 5155
    /// 6).
    Nsec3 {
        opt_out: bool,
    },
}

/// What [`parse`] reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub algorithm: Algorithm,
    pub denial: Denial,
    /// One combined signing key (false: a KSK and a ZSK).
    pub csk: bool,
    pub validity: u32,
    pub refresh: u32,
    pub jitter: u32,
    pub inception: u32,
    /// Key lifetimes in seconds; None: never rolled.
    pub ksk_lifetime: Option<u32>,
    pub zsk_lifetime: Option<u32>,
    pub dnskey_ttl: Option<u32>,
    /// Publish CDS and CDNSKEY for the key the parent's DS should name.
    pub cds: bool,
    /// RFC 7583 3.1's Dprp, TTLds and Dprp-parent, in seconds.
    pub propagation: u32,
    pub parent_ds_ttl: u32,
    pub parent_propagation: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            algorithm: Algorithm::EcdsaP256Sha256,
            denial: Denial::Nsec,
            csk: true,
            validity: 14 * 86_400,
            refresh: 7 * 86_400,
            jitter: 12 * 3600,
            inception: 3600,
            ksk_lifetime: None,
            zsk_lifetime: Some(90 * 86_400),
            dnskey_ttl: None,
            cds: false,
            propagation: 3600,
            parent_ds_ttl: 86_400,
            parent_propagation: 3600,
        }
    }
}

/// Where and why a policy or key file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub file: String,
    pub line: u32,
    pub what: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// The text of each line with its number, comments and blanks left out.
pub(super) fn lines(text: &str) -> impl Iterator<Item = (u32, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let l = l.split(['#', ';']).next().unwrap_or("").trim();
        (!l.is_empty()).then_some((i as u32 + 1, l))
    })
}

fn duration(v: &str) -> Result<u32, String> {
    crate::rdata::parse_ttl(v).ok_or_else(|| format!("bad duration {v:?} (3600, 1h, 1w2d)"))
}

fn lifetime(v: &str) -> Result<Option<u32>, String> {
    match v {
        "never" => Ok(None),
        _ => duration(v).map(Some),
    }
}

/// Set one directive of `p`.
fn directive(p: &mut Policy, name: &str, v: &str) -> Result<(), String> {
    match name {
        "algorithm" => {
            p.algorithm = Algorithm::from_text(v)
                .ok_or_else(|| format!("unknown algorithm {v:?} (ecdsap256sha256, ed25519)"))?
        }
        "denial" => {
            p.denial = match v {
                "nsec" => Denial::Nsec,
                "nsec3" => Denial::Nsec3 { opt_out: false },
                "nsec3-opt-out" => Denial::Nsec3 { opt_out: true },
                _ => return Err(format!("unknown denial {v:?} (nsec, nsec3, nsec3-opt-out)")),
            }
        }
        "keys" => {
            p.csk = match v {
                "csk" => true,
                "ksk+zsk" => false,
                _ => return Err(format!("unknown keys {v:?} (csk, ksk+zsk)")),
            }
        }
        "validity" => p.validity = duration(v)?,
        "refresh" => p.refresh = duration(v)?,
        "jitter" => p.jitter = duration(v)?,
        "inception" => p.inception = duration(v)?,
        "ksk-lifetime" => p.ksk_lifetime = lifetime(v)?,
        "zsk-lifetime" => p.zsk_lifetime = lifetime(v)?,
        "dnskey-ttl" => p.dnskey_ttl = Some(duration(v)?),
        "propagation-delay" => p.propagation = duration(v)?,
        "parent-ds-ttl" => p.parent_ds_ttl = duration(v)?,
        "parent-propagation-delay" => p.parent_propagation = duration(v)?,
        "cds" => {
            p.cds = match v {
                "always" => true,
                "none" => false,
                _ => return Err(format!("unknown cds {v:?} (always, none)")),
            }
        }
        _ => return Err(format!("unknown directive {name:?}")),
    }
    Ok(())
}

/// Parse the policy file `file` with contents `text`.
pub fn parse(file: &str, text: &str) -> Result<Policy, FileError> {
    let err = |line, what| FileError {
        file: file.into(),
        line,
        what,
    };
    let mut p = Policy::default();
    let mut seen: alloc::vec::Vec<&str> = alloc::vec::Vec::new();
    let mut last = 0;
    for (n, l) in lines(text) {
        last = n;
        let mut f = l.split_whitespace();
        let (Some(name), Some(v), None) = (f.next(), f.next(), f.next()) else {
            return Err(err(n, format!("want `directive value`, got {l:?}")));
        };
        if seen.contains(&name) {
            return Err(err(n, format!("{name} given twice")));
        }
        seen.push(name);
        directive(&mut p, name, v).map_err(|w| err(n, w))?;
    }
    // Each signature is refreshed before it comes closer than `refresh`
    // to expiring; jitter only takes from the validity.
    if p.refresh as u64 + p.jitter as u64 >= p.validity as u64 {
        return Err(err(
            last,
            format!(
                "refresh ({}) + jitter ({}) must be less than validity ({})",
                p.refresh, p.jitter, p.validity
            ),
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn defaults_and_every_directive() {
        assert_eq!(
            parse("z._dnssec", "# nothing\n\n").unwrap(),
            Policy::default()
        );
        let text = "algorithm ED25519\ndenial nsec3-opt-out ; comment\nkeys ksk+zsk\n\
            validity 30d\nrefresh 10d\njitter 1d\ninception 2h\nksk-lifetime 365d\n\
            zsk-lifetime never\ndnskey-ttl 600\ncds always\npropagation-delay 2\n\
            parent-ds-ttl 4\nparent-propagation-delay 3\n";
        let p = parse("z._dnssec", text).unwrap();
        assert_eq!(p.algorithm, Algorithm::Ed25519);
        assert_eq!(p.denial, Denial::Nsec3 { opt_out: true });
        assert!(!p.csk);
        assert_eq!(
            (p.validity, p.refresh, p.jitter, p.inception),
            (2_592_000, 864_000, 86_400, 7200)
        );
        assert_eq!(
            (p.ksk_lifetime, p.zsk_lifetime, p.dnskey_ttl),
            (Some(31_536_000), None, Some(600))
        );
        assert!(p.cds);
        assert_eq!(
            (p.propagation, p.parent_ds_ttl, p.parent_propagation),
            (2, 4, 3)
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = |t: &str| parse("example.org._dnssec", t).unwrap_err().to_string();
        assert_eq!(
            e("denial nsec\n\nalgorithm rsasha1\n"),
            "example.org._dnssec:3: unknown algorithm \"rsasha1\" (ecdsap256sha256, ed25519)"
        );
        assert!(e("validity\n").starts_with("example.org._dnssec:1: want `directive value`"));
        assert!(e("validity 1d 2d\n").contains(":1: want"));
        assert!(e("colour blue\n").contains("unknown directive \"colour\""));
        assert!(e("refresh 1h\nrefresh 2h\n").contains(":2: refresh given twice"));
        assert!(e("refresh 1x\n").contains("bad duration"));
        assert!(e("validity 7d\nrefresh 7d\n").contains(":2: refresh (604800) + jitter"));
        assert!(e("denial nsec5\n").contains("unknown denial"));
        assert!(e("keys two\n").contains("unknown keys"));
        assert!(e("cds sometimes\n").contains("unknown cds"));
    }

    #[test]
    fn file_names() {
        assert_eq!(policy_zone("example.org._dnssec"), Some("example.org"));
        assert_eq!(policy_zone("._dnssec"), None);
        assert_eq!(policy_zone("example.org"), None);
        assert!(is_dnssec_file("example.org._dnssec_keys"));
        assert!(is_dnssec_file("example.org._dnssec"));
        assert!(!is_dnssec_file("example.org._keys"));
    }
}
