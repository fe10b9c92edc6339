//! The ring as text, for the zone's key file (`ZONE._dnssec_keys`, beside
//! the key lines of [`super::super::keyfile`]): one `kasp` line a key,
//!
//! ```text
//! kasp ID ROLE ALGORITHM STATE [tag=N] [published=T] [ready=T] [active=T]
//!      [retired=T] [removed=T] [sign-from=T] [sign-until=T] [cds=T]
//!      [ds-seen=T] [ds-gone=T] generated=T
//! ```
//!
//! on one line, times in seconds since the epoch. STATE is redundant (the
//! latest of the timestamps names it) and checked, so a hand edit that
//! moves a key must move both. Lines not starting with `kasp` are the
//! key file's own and are skipped here.

use super::super::key::{Algorithm, Role};
use super::super::policy::{lines, FileError};
use super::{KeyRec, Ring};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The first word of a ring line.
pub const WORD: &str = "kasp";

/// The `kasp` lines of `ring`.
pub fn print(ring: &Ring) -> String {
    let mut s = String::new();
    for k in &ring.keys {
        s.push_str(&line(k));
        s.push('\n');
    }
    s
}

fn line(k: &KeyRec) -> String {
    let mut s = format!(
        "{WORD} {} {} {} {}",
        k.id,
        k.role.text(),
        k.alg.mnemonic(),
        k.phase().text()
    );
    if let Some(t) = k.tag {
        s.push_str(&format!(" tag={t}"));
    }
    for (name, v) in times(k) {
        if let Some(v) = v {
            s.push_str(&format!(" {name}={v}"));
        }
    }
    s.push_str(&format!(" generated={}", k.generated));
    s
}

fn times(k: &KeyRec) -> [(&'static str, Option<u64>); 10] {
    [
        ("published", k.published),
        ("ready", k.ready),
        ("active", k.active),
        ("retired", k.retired),
        ("removed", k.removed),
        ("sign-from", k.sign_from),
        ("sign-until", k.sign_until),
        ("cds", k.cds),
        ("ds-seen", k.ds_seen),
        ("ds-gone", k.ds_gone),
    ]
}

fn slot<'k>(k: &'k mut KeyRec, name: &str) -> Option<&'k mut Option<u64>> {
    Some(match name {
        "published" => &mut k.published,
        "ready" => &mut k.ready,
        "active" => &mut k.active,
        "retired" => &mut k.retired,
        "removed" => &mut k.removed,
        "sign-from" => &mut k.sign_from,
        "sign-until" => &mut k.sign_until,
        "cds" => &mut k.cds,
        "ds-seen" => &mut k.ds_seen,
        "ds-gone" => &mut k.ds_gone,
        _ => return None,
    })
}

/// The ring in the `kasp` lines of key file `file` (text `text`).
pub fn parse(file: &str, text: &str) -> Result<Ring, FileError> {
    let mut keys: Vec<KeyRec> = Vec::new();
    for (n, l) in lines(text) {
        if l.split_whitespace().next() != Some(WORD) {
            continue;
        }
        let err = |what: String| FileError {
            file: file.into(),
            line: n,
            what,
        };
        let k = parse_line(l).map_err(err)?;
        if keys.iter().any(|o| o.id == k.id) {
            return Err(err(format!("key #{} twice", k.id)));
        }
        keys.push(k);
    }
    Ok(Ring::new(keys))
}

fn number<T: core::str::FromStr>(what: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("bad {what} {v:?}"))
}

fn parse_line(l: &str) -> Result<KeyRec, String> {
    let mut w = l.split_whitespace().skip(1);
    let mut next = |what: &str| w.next().ok_or_else(|| format!("{what} missing"));
    let id = number("key number", next("key number")?)?;
    let role = next("role")?;
    let role = Role::from_text(role).ok_or_else(|| format!("bad role {role:?}"))?;
    let alg = next("algorithm")?;
    let alg = Algorithm::from_text(alg).ok_or_else(|| format!("bad algorithm {alg:?}"))?;
    let state = next("state")?;
    let mut k = KeyRec::new(id, role, alg, 0);
    let mut generated = None;
    for field in w {
        let (name, v) = field
            .split_once('=')
            .ok_or_else(|| format!("{field:?} is not NAME=VALUE"))?;
        match name {
            "tag" => k.tag = Some(number("key tag", v)?),
            "generated" => generated = Some(number("time", v)?),
            _ => {
                let s = slot(&mut k, name).ok_or_else(|| format!("unknown field {name:?}"))?;
                if s.replace(number("time", v)?).is_some() {
                    return Err(format!("{name} twice"));
                }
            }
        }
    }
    k.generated = generated.ok_or("generated=TIME missing")?;
    if k.phase().text() != state {
        return Err(format!(
            "state {state:?}, but its times say {}",
            k.phase().text()
        ));
    }
    Ok(k)
}
