//! TSIG (RFC 8945): verifying signed requests and signing responses, with
//! HMAC-SHA1/224/256/384/512. Keys come from `_keys` files; their names
//! say what they may do (DESIGN.md): `x._update.ZONE` update, transfer and
//! notify; `x._transfer.ZONE` transfer and notify; `x._notify.ZONE` notify;
//! each for ZONE and the zones below it.

use crate::keys::{Algorithm, Key};
use crate::message::{skip_rr, Header, Request, TsigAt};
use crate::name::Name;
use crate::rtype::{CLASS_ANY, TSIG};
use crate::wire::{Full, Reader, WireError, Writer};
use alloc::vec::Vec;
use hmac::{Hmac, Mac};

/// TSIG error codes (RFC 8945 3, RFC 6895).
pub const BADSIG: u16 = 16;
pub const BADKEY: u16 = 17;
pub const BADTIME: u16 = 18;
pub const BADTRUNC: u16 = 22;

/// The default fudge (RFC 8945 10: 300 seconds).
pub const FUDGE: u16 = 300;

/// What a key allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Notify,
    Transfer,
    Update,
}

/// The TSIG record of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigRr {
    pub key_name: Name,
    pub algorithm: Name,
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: Vec<u8>,
    pub original_id: u16,
    pub error: u16,
    pub other: Vec<u8>,
    /// Offset of the TSIG RR in the message.
    pub at: usize,
}

/// How verification failed. `Unsigned`: no TSIG at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TsigError {
    /// Not signed.
    Unsigned,
    /// TSIG not last, twice, or malformed: FORMERR.
    FormErr,
    /// NOTAUTH with this TSIG error; `sign` says whether the error response
    /// is signed (BADTIME: yes, RFC 8945 5.2.3).
    NotAuth {
        error: u16,
        key: Option<Key>,
        tsig: Option<TsigRr>,
    },
}

/// A verified request: the key and the request MAC (needed to sign the
/// response).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub key: Key,
    pub tsig: TsigRr,
}

pub(crate) fn algorithm_name(a: Algorithm) -> Name {
    Name::parse(a.tsig_name(), &Name::root()).unwrap_or_else(|_| Name::root())
}

pub(crate) fn algorithm_of(n: &Name) -> Option<Algorithm> {
    [
        Algorithm::Sha1,
        Algorithm::Sha224,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
    ]
    .into_iter()
    .find(|a| algorithm_name(*a) == *n)
}

/// Hash output length of an algorithm.
pub fn mac_len(a: Algorithm) -> usize {
    match a {
        Algorithm::Sha1 => 20,
        Algorithm::Sha224 => 28,
        Algorithm::Sha256 => 32,
        Algorithm::Sha384 => 48,
        Algorithm::Sha512 => 64,
    }
}

/// HMAC of the concatenated parts.
pub fn hmac(a: Algorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    macro_rules! run {
        ($h:ty) => {{
            let mut m = <Hmac<$h> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }};
    }
    match a {
        Algorithm::Sha1 => run!(sha1::Sha1),
        Algorithm::Sha224 => run!(sha2::Sha224),
        Algorithm::Sha256 => run!(sha2::Sha256),
        Algorithm::Sha384 => run!(sha2::Sha384),
        Algorithm::Sha512 => run!(sha2::Sha512),
    }
}

/// Constant-time equality of `a` and the first `a.len()` bytes of `b`.
pub(crate) fn ct_eq_prefix(a: &[u8], b: &[u8]) -> bool {
    if a.len() > b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Find the TSIG record of a message that is not a parsed request (a
/// response): it must be the last additional record, once.
/// `additional_at` is where the additional section starts.
pub fn find(msg: &[u8], h: &Header, additional_at: usize) -> Result<Option<TsigRr>, WireError> {
    let mut r = Reader::message(msg, additional_at);
    let mut found = None;
    for i in 0..h.arcount {
        let at = r.pos();
        let (t, _, _) = skip_rr(&mut r)?;
        if t != TSIG {
            continue;
        }
        // RFC 8945 5.1: exactly one TSIG, the last record.
        if found.is_some() || i + 1 != h.arcount {
            return Err(WireError::BadName);
        }
        found = Some(at);
    }
    if r.remaining() != 0 {
        return Err(WireError::Short);
    }
    found.map(|at| read_at(msg, at)).transpose()
}

/// The TSIG record of the request `req` (parsed from `msg`), where parsing
/// found it.
pub fn of_request(msg: &[u8], req: &Request) -> Result<Option<TsigRr>, WireError> {
    match req.tsig {
        TsigAt::Absent => Ok(None),
        TsigAt::Last(at) => read_at(msg, at).map(Some),
        TsigAt::Misplaced => Err(WireError::BadName),
    }
}

/// Read the TSIG record at `at`, the last record of `msg` (RFC 8945 4.2:
/// class ANY).
fn read_at(msg: &[u8], at: usize) -> Result<TsigRr, WireError> {
    let mut r = Reader::message(msg, at);
    let owner = r.name()?;
    let (_t, class, _ttl) = (r.u16()?, r.u16()?, r.u32()?);
    let len = r.u16()? as usize;
    let end = r.pos() + len;
    if class != CLASS_ANY {
        return Err(WireError::BadName);
    }
    let algorithm = r.name()?;
    let hi = r.u16()? as u64;
    let lo = r.u32()? as u64;
    let fudge = r.u16()?;
    let mac_size = r.u16()? as usize;
    let mac = r.bytes(mac_size)?.to_vec();
    let original_id = r.u16()?;
    let error = r.u16()?;
    let other_len = r.u16()? as usize;
    let other = r.bytes(other_len)?.to_vec();
    if r.pos() != end || r.remaining() != 0 {
        return Err(WireError::Short);
    }
    Ok(TsigRr {
        key_name: owner,
        algorithm,
        time_signed: (hi << 32) | lo,
        fudge,
        mac,
        original_id,
        error,
        other,
        at,
    })
}

/// The TSIG variables (RFC 8945 4.3.3) in canonical form.
pub(crate) fn variables(
    key: &Name,
    alg: &Name,
    time: u64,
    fudge: u16,
    error: u16,
    other: &[u8],
    time_only: bool,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    if !time_only {
        v.extend_from_slice(key.to_lowercase().wire());
        v.extend_from_slice(&CLASS_ANY.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(alg.to_lowercase().wire());
    }
    v.extend_from_slice(&((time >> 32) as u16).to_be_bytes());
    v.extend_from_slice(&(time as u32).to_be_bytes());
    v.extend_from_slice(&fudge.to_be_bytes());
    if !time_only {
        v.extend_from_slice(&error.to_be_bytes());
        v.extend_from_slice(&(other.len() as u16).to_be_bytes());
        v.extend_from_slice(other);
    }
    v
}

/// The message as signed: TSIG removed, ARCOUNT less one, original ID.
pub(crate) fn unsigned_part(msg: &[u8], t: &TsigRr) -> Vec<u8> {
    let mut m = msg[..t.at].to_vec();
    m[0..2].copy_from_slice(&t.original_id.to_be_bytes());
    let ar = u16::from_be_bytes([m[10], m[11]]).saturating_sub(1);
    m[10..12].copy_from_slice(&ar.to_be_bytes());
    m
}

/// Find the key a TSIG names: exactly, or relative to `zone` (so that
/// `personal._update.` finds `personal._update.example.org.`).
pub fn lookup_key<'k>(keys: &'k [Key], name: &Name, zone: Option<&Name>) -> Option<&'k Key> {
    candidates(keys, name, zone).next()
}

/// Every key a TSIG name may mean, the exact name first: a short name
/// such as `personal._update.` is both a key for all zones (from the root
/// `_keys` file) and, relative to the zone of the message, that zone's
/// own key; the one whose MAC verifies is the one meant.
fn candidates<'k>(
    keys: &'k [Key],
    name: &Name,
    zone: Option<&Name>,
) -> impl Iterator<Item = &'k Key> {
    let full = zone.and_then(|z| z.prepend(name)).filter(|f| f != name);
    let name = name.clone();
    let exact = keys.iter().filter(move |k| k.name == name);
    let relative = keys
        .iter()
        .filter(move |k| full.as_ref().is_some_and(|f| k.name == *f));
    exact.chain(relative)
}

/// What `key` may do, and for which zone (from its name).
pub fn permission(key: &Name) -> Option<(Op, Name)> {
    let labels: Vec<&[u8]> = key.labels().collect();
    for (i, l) in labels.iter().enumerate() {
        let op = if l.eq_ignore_ascii_case(b"_update") {
            Op::Update
        } else if l.eq_ignore_ascii_case(b"_transfer") {
            Op::Transfer
        } else if l.eq_ignore_ascii_case(b"_notify") {
            Op::Notify
        } else {
            continue;
        };
        let zone = Name::from_labels(labels[i + 1..].iter().copied()).ok()?;
        return Some((op, zone));
    }
    None
}

/// True when `key` allows `op` on `zone` (`_update` ⊇ `_transfer` ⊇ `_notify`,
/// for the key's zone and below). A key of the root (`x._update.`, from
/// the `_keys` file without a zone prefix) covers every zone (seed 001).
pub fn allows(key: &Name, op: Op, zone: &Name) -> bool {
    permission(key).is_some_and(|(have, kz)| have >= op && zone.is_at_or_below(&kz))
}

/// What a MAC covers besides a prior MAC (RFC 8945 4.3): the message as
/// signed (4.3.2) and the TSIG variables of `t` (4.3.3), or only its timers
/// for a message after the first of a multi-message answer (5.3.1).
pub(crate) fn signed_and_variables(
    msg: &[u8],
    t: &TsigRr,
    timers_only: bool,
) -> (Vec<u8>, Vec<u8>) {
    let vars = variables(
        &t.key_name,
        &t.algorithm,
        t.time_signed,
        t.fudge,
        t.error,
        &t.other,
        timers_only,
    );
    (unsigned_part(msg, t), vars)
}

/// Verify a signed request (`msg`, parsed as `req`) at wall-clock `now`
/// (seconds). `zone` names the zone of the question; it is asked for only
/// when the request carries a TSIG (most queries do not: no zone search
/// for them).
pub fn verify(
    msg: &[u8],
    req: &Request,
    keys: &[Key],
    zone: impl FnOnce() -> Option<Name>,
    now: u64,
) -> Result<Verified, TsigError> {
    let t = of_request(msg, req)
        .map_err(|_| TsigError::FormErr)?
        .ok_or(TsigError::Unsigned)?;
    let zone = zone();
    let zone = zone.as_ref();
    let notauth = |error, key: Option<&Key>, t: &TsigRr| TsigError::NotAuth {
        error,
        key: key.cloned(),
        tsig: Some(t.clone()),
    };
    // RFC 8945 5.2.1: unknown key or algorithm -> BADKEY.
    let alg = algorithm_of(&t.algorithm);
    let mut keys = candidates(keys, &t.key_name, zone).filter(|k| Some(k.algorithm) == alg);
    let Some(first) = keys.next() else {
        return Err(notauth(BADKEY, None, &t));
    };
    // RFC 8945 5.2.2.1: MAC size.
    let full = mac_len(first.algorithm);
    if t.mac.len() > full {
        return Err(TsigError::FormErr);
    }
    if t.mac.len() < (full / 2).max(10) {
        return Err(notauth(BADTRUNC, None, &t));
    }
    let (signed, vars) = signed_and_variables(msg, &t, false);
    let mac_of = |k: &Key| hmac(k.algorithm, &k.secret, &[&signed, &vars]);
    let Some(key) = core::iter::once(first)
        .chain(keys)
        .find(|k| ct_eq_prefix(&t.mac, &mac_of(k)))
    else {
        return Err(notauth(BADSIG, None, &t));
    };
    // RFC 8945 5.2.3: time, after the MAC (a BADTIME answer is signed).
    if now.abs_diff(t.time_signed) > t.fudge as u64 {
        return Err(notauth(BADTIME, Some(key), &t));
    }
    Ok(Verified {
        key: key.clone(),
        tsig: t,
    })
}

/// Append a TSIG record to the response in `w` (RFC 8945 4.3), signing it
/// with `key` over the request MAC, the response and the variables. For
/// BADTIME, `other` carries the server time (5.2.3).
pub fn sign_response(
    w: &mut Writer,
    key: &Key,
    req: &TsigRr,
    now: u64,
    error: u16,
) -> Result<(), Full> {
    let other: Vec<u8> = if error == BADTIME {
        (now & 0xffff_ffff_ffff).to_be_bytes()[2..].to_vec()
    } else {
        Vec::new()
    };
    let time = if error == BADTIME {
        req.time_signed
    } else {
        now
    };
    let alg = algorithm_name(key.algorithm);
    let vars = variables(&req.key_name, &alg, time, FUDGE, error, &other, false);
    let mut resp = w.written().to_vec();
    resp[0..2].copy_from_slice(&req.original_id.to_be_bytes());
    let mac = hmac(
        key.algorithm,
        &key.secret,
        &[
            &(req.mac.len() as u16).to_be_bytes(),
            &req.mac,
            &resp,
            &vars,
        ],
    );
    let f = Fields {
        key: &req.key_name,
        alg: &alg,
        time,
        mac: &mac,
        id: req.original_id,
        error,
        other: &other,
    };
    append(w, &f)
}

/// As [`sign_response`] (no error), returning the MAC for the next
/// message of a multi-message response.
pub fn sign_response_mac(
    w: &mut Writer,
    key: &Key,
    req: &TsigRr,
    now: u64,
) -> Result<Vec<u8>, Full> {
    let alg = algorithm_name(key.algorithm);
    let vars = variables(&req.key_name, &alg, now, FUDGE, 0, &[], false);
    let mut resp = w.written().to_vec();
    resp[0..2].copy_from_slice(&req.original_id.to_be_bytes());
    let mac = hmac(
        key.algorithm,
        &key.secret,
        &[
            &(req.mac.len() as u16).to_be_bytes(),
            &req.mac,
            &resp,
            &vars,
        ],
    );
    append(w, &Fields::plain(req, &alg, now, &mac))?;
    Ok(mac)
}

/// Sign a later message of a multi-message response (RFC 8945 5.3.1): the
/// MAC covers the prior MAC, this message and the timers only.
pub fn sign_continuation(
    w: &mut Writer,
    key: &Key,
    req: &TsigRr,
    prior: &[u8],
    now: u64,
) -> Result<Vec<u8>, Full> {
    let alg = algorithm_name(key.algorithm);
    let timers = variables(&req.key_name, &alg, now, FUDGE, 0, &[], true);
    let mut resp = w.written().to_vec();
    resp[0..2].copy_from_slice(&req.original_id.to_be_bytes());
    let mac = hmac(
        key.algorithm,
        &key.secret,
        &[&(prior.len() as u16).to_be_bytes(), prior, &resp, &timers],
    );
    append(w, &Fields::plain(req, &alg, now, &mac))?;
    Ok(mac)
}

/// Append an unsigned TSIG carrying `error` (BADSIG, BADKEY, BADTRUNC:
/// RFC 8945 5.3.2, MAC size 0).
pub fn unsigned_error(w: &mut Writer, req: &TsigRr, now: u64, error: u16) -> Result<(), Full> {
    let f = Fields {
        error,
        ..Fields::plain(req, &req.algorithm, now, &[])
    };
    append(w, &f)
}

/// Check the TSIG of a response to a request we signed with `key`, whose
/// MAC was `request_mac` (RFC 8945 5.3: the response MAC covers the
/// request MAC, the response and its variables; a client checks it as in
/// 5.2, 5.5). `Ok(())` for a valid signature without TSIG error;
/// `Unsigned` without TSIG; `NotAuth` with the TSIG error the server put
/// in (BADSIG, BADKEY, BADTIME...) or BADSIG when its MAC does not verify.
pub fn verify_response(
    msg: &[u8],
    h: &Header,
    additional_at: usize,
    key: &Key,
    request_mac: &[u8],
) -> Result<(), TsigError> {
    let t = find(msg, h, additional_at)
        .map_err(|_| TsigError::FormErr)?
        .ok_or(TsigError::Unsigned)?;
    let notauth = |error| TsigError::NotAuth {
        error,
        key: None,
        tsig: Some(t.clone()),
    };
    if t.error != 0 {
        return Err(notauth(t.error));
    }
    // RFC 8945 4.3.1: a response's MAC covers the request MAC first.
    let (signed, vars) = signed_and_variables(msg, &t, false);
    let expect = hmac(
        key.algorithm,
        &key.secret,
        &[
            &(request_mac.len() as u16).to_be_bytes(),
            request_mac,
            &signed,
            &vars,
        ],
    );
    if t.mac.is_empty() || !ct_eq_prefix(&t.mac, &expect) {
        return Err(notauth(BADSIG));
    }
    Ok(())
}

/// Sign a request (for the operator tools and tests).
pub fn sign_request(msg: &[u8], key: &Key, now: u64) -> Vec<u8> {
    let alg = algorithm_name(key.algorithm);
    let vars = variables(&key.name, &alg, now, FUDGE, 0, &[], false);
    let mac = hmac(key.algorithm, &key.secret, &[msg, &vars]);
    let mut buf = alloc::vec![0u8; msg.len() + 512];
    let mut w = Writer::new(&mut buf);
    let _ = w.bytes(msg);
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let f = Fields {
        key: &key.name,
        alg: &alg,
        time: now,
        mac: &mac,
        id,
        error: 0,
        other: &[],
    };
    let _ = append(&mut w, &f);
    let n = w.len();
    buf.truncate(n);
    buf
}

/// The fields of a TSIG record to write (RFC 8945 4.2; the fudge is
/// always [`FUDGE`]).
struct Fields<'a> {
    key: &'a Name,
    alg: &'a Name,
    time: u64,
    mac: &'a [u8],
    /// The original ID.
    id: u16,
    error: u16,
    other: &'a [u8],
}

/// Append the TSIG record `f` to the message in `w`, ARCOUNT one more.
fn append(w: &mut Writer, f: &Fields) -> Result<(), Full> {
    w.name(f.key, false)?;
    w.u16(TSIG)?;
    w.u16(CLASS_ANY)?;
    w.u32(0)?;
    let len_at = w.len();
    w.u16(0)?;
    w.name(f.alg, false)?;
    w.u16((f.time >> 32) as u16)?;
    w.u32(f.time as u32)?;
    w.u16(FUDGE)?;
    w.u16(f.mac.len() as u16)?;
    w.bytes(f.mac)?;
    w.u16(f.id)?;
    w.u16(f.error)?;
    w.u16(f.other.len() as u16)?;
    w.bytes(f.other)?;
    let len = w.len() - len_at - 2;
    w.set_u16(len_at, len as u16);
    let ar = u16::from_be_bytes([w.written()[10], w.written()[11]]) + 1;
    w.set_u16(10, ar);
    Ok(())
}

impl<'a> Fields<'a> {
    /// The TSIG of an answer to (or a copy of) `req`: its key name and
    /// original ID, no error, no other data.
    fn plain(req: &'a TsigRr, alg: &'a Name, time: u64, mac: &'a [u8]) -> Fields<'a> {
        Fields {
            key: &req.key_name,
            alg,
            time,
            mac,
            id: req.original_id,
            error: 0,
            other: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_request;

    fn key(name: &str, alg: Algorithm) -> Key {
        Key {
            name: Name::parse(name, &Name::root()).unwrap(),
            algorithm: alg,
            secret: alloc::vec![7u8; 32],
        }
    }

    fn notify(zone: &str) -> Vec<u8> {
        let mut m = alloc::vec![0x12, 0x34, 0x20, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(Name::parse(zone, &Name::root()).unwrap().wire());
        m.extend_from_slice(&[0, 6, 0, 1]);
        m
    }

    fn check(msg: &[u8], keys: &[Key], zone: &str, now: u64) -> Result<Verified, TsigError> {
        let r = parse_request(msg).unwrap();
        let z = Name::parse(zone, &Name::root()).unwrap();
        verify(msg, &r, keys, || Some(z.clone()), now)
    }

    fn err(r: Result<Verified, TsigError>) -> u16 {
        match r {
            Err(TsigError::NotAuth { error, .. }) => error,
            Err(TsigError::FormErr) => 1,
            Err(TsigError::Unsigned) => 0,
            Ok(_) => 999,
        }
    }

    #[test]
    fn sign_then_verify_every_algorithm() {
        for a in [
            Algorithm::Sha1,
            Algorithm::Sha224,
            Algorithm::Sha256,
            Algorithm::Sha384,
            Algorithm::Sha512,
        ] {
            let k = key("personal._update.example.org.", a);
            let m = sign_request(&notify("example.org."), &k, 1_000_000);
            assert!(check(&m, &[k], "example.org.", 1_000_100).is_ok(), "{a:?}");
        }
    }

    #[test]
    fn tampering_matrix() {
        let k = key("personal._update.example.org.", Algorithm::Sha256);
        let keys = [k.clone()];
        let good = sign_request(&notify("example.org."), &k, 1_000_000);
        assert_eq!(
            err(check(
                &notify("example.org."),
                &keys,
                "example.org.",
                1_000_000
            )),
            0,
            "unsigned"
        );
        // Wrong secret.
        let mut wrong = k.clone();
        wrong.secret[0] ^= 1;
        assert_eq!(
            err(check(
                &sign_request(&notify("example.org."), &wrong, 1_000_000),
                &keys,
                "example.org.",
                1_000_000
            )),
            BADSIG
        );
        // Wrong algorithm.
        let other_alg = key("personal._update.example.org.", Algorithm::Sha512);
        assert_eq!(
            err(check(
                &sign_request(&notify("example.org."), &other_alg, 1_000_000),
                &keys,
                "example.org.",
                1_000_000
            )),
            BADKEY
        );
        // Unknown key.
        let unknown = key("nobody._update.example.org.", Algorithm::Sha256);
        assert_eq!(
            err(check(
                &sign_request(&notify("example.org."), &unknown, 1_000_000),
                &keys,
                "example.org.",
                1_000_000
            )),
            BADKEY
        );
        // Flipped MAC byte: the MAC sits 2+2+2 bytes before the end (id, error, other len).
        let mut flipped = good.clone();
        let n = flipped.len();
        flipped[n - 7] ^= 0x40;
        assert_eq!(
            err(check(&flipped, &keys, "example.org.", 1_000_000)),
            BADSIG
        );
        // Time skew past the fudge, both ways.
        assert_eq!(err(check(&good, &keys, "example.org.", 1_000_301)), BADTIME);
        assert_eq!(err(check(&good, &keys, "example.org.", 999_699)), BADTIME);
        assert!(check(&good, &keys, "example.org.", 1_000_300).is_ok());
        // Two TSIGs: FORMERR.
        let twice = sign_request(&good, &k, 1_000_000);
        assert_eq!(err(check(&twice, &keys, "example.org.", 1_000_000)), 1);
        // TSIG not last.
        let mut notlast = good.clone();
        notlast[11] += 1;
        notlast.extend_from_slice(&[0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
        assert_eq!(err(check(&notlast, &keys, "example.org.", 1_000_000)), 1);
    }

    #[test]
    fn responses_verify_against_the_request_mac() {
        let k = key("personal._update.example.org.", Algorithm::Sha256);
        let req = sign_request(&notify("example.org."), &k, 1_000_000);
        let r = parse_request(&req).unwrap();
        let t = find(&req, &r.header, r.additional_at).unwrap().unwrap();
        let respond = |error: u16, key: &Key| {
            let mut buf = alloc::vec![0u8; 1024];
            let mut w = Writer::new(&mut buf);
            w.bytes(&req[..t.at]).unwrap();
            w.set_u16(10, 0);
            w.set_u16(2, 0xa400); // QR, NOTIFY, AA
            sign_response(&mut w, key, &t, 1_000_001, error).unwrap();
            let n = w.len();
            buf.truncate(n);
            buf
        };
        // The additional section starts after the question, where the
        // request's TSIG was.
        let check = |m: &[u8], mac: &[u8]| {
            let h = Header::parse(&mut Reader::message(m, 0)).unwrap();
            verify_response(m, &h, t.at, &k, mac)
        };
        assert_eq!(check(&respond(0, &k), &t.mac), Ok(()));
        // Another request's MAC, a wrong key, a TSIG error, no TSIG.
        assert!(matches!(
            check(&respond(0, &k), &[0u8; 32]),
            Err(TsigError::NotAuth { error: BADSIG, .. })
        ));
        let mut wrong = k.clone();
        wrong.secret[0] ^= 1;
        assert!(matches!(
            check(&respond(0, &wrong), &t.mac),
            Err(TsigError::NotAuth { error: BADSIG, .. })
        ));
        assert!(matches!(
            check(&respond(BADTIME, &k), &t.mac),
            Err(TsigError::NotAuth { error: BADTIME, .. })
        ));
        assert_eq!(
            check(&notify("example.org."), &t.mac),
            Err(TsigError::Unsigned)
        );
    }

    #[test]
    fn truncated_macs() {
        let k = key("k._notify.example.org.", Algorithm::Sha256);
        let good = sign_request(&notify("example.org."), &k, 5_000);
        let r = parse_request(&good).unwrap();
        let t = find(&good, &r.header, r.additional_at).unwrap().unwrap();
        // Rebuild with the MAC cut to 16 bytes (allowed) and to 8 (too short).
        for (len, want) in [(16usize, 999u16), (8, BADTRUNC)] {
            let mut buf = alloc::vec![0u8; 1024];
            let mut w = Writer::new(&mut buf);
            w.bytes(&good[..t.at]).unwrap();
            w.set_u16(10, 0);
            let f = Fields::plain(&t, &t.algorithm, t.time_signed, &t.mac[..len]);
            append(&mut w, &f).unwrap();
            let n = w.len();
            assert_eq!(
                err(check(
                    &buf[..n],
                    core::slice::from_ref(&k),
                    "example.org.",
                    5_000
                )),
                want,
                "MAC of {len}"
            );
        }
    }

    #[test]
    fn short_key_names_and_permissions() {
        let k = key("personal._update.x25519.net.", Algorithm::Sha256);
        let short = Name::parse("personal._update.", &Name::root()).unwrap();
        let zone = Name::parse("x25519.net.", &Name::root()).unwrap();
        assert_eq!(
            lookup_key(core::slice::from_ref(&k), &short, Some(&zone)),
            Some(&k)
        );
        assert_eq!(lookup_key(core::slice::from_ref(&k), &short, None), None);
        let n = |s: &str| Name::parse(s, &Name::root()).unwrap();
        assert!(allows(
            &n("a._update.example.org."),
            Op::Update,
            &n("example.org.")
        ));
        assert!(allows(
            &n("a._update.example.org."),
            Op::Notify,
            &n("sub.example.org.")
        ));
        assert!(!allows(
            &n("a._update.example.org."),
            Op::Notify,
            &n("example.com.")
        ));
        assert!(allows(
            &n("a._transfer.example.org."),
            Op::Transfer,
            &n("example.org.")
        ));
        assert!(!allows(
            &n("a._transfer.example.org."),
            Op::Update,
            &n("example.org.")
        ));
        assert!(
            !allows(&n("a._notify.example.org."), Op::Update, &n("example.org.")),
            "_notify key trying UPDATE"
        );
        assert!(allows(
            &n("10.0.0.2.10.0.0.9._transfer.example.org."),
            Op::Transfer,
            &n("example.org.")
        ));
        assert!(!allows(
            &n("plain.example.org."),
            Op::Notify,
            &n("example.org.")
        ));
    }

    #[test]
    fn root_keys_cover_every_zone() {
        let n = |s: &str| Name::parse(s, &Name::root()).unwrap();
        assert!(allows(&n("ops._update."), Op::Update, &n("example.org.")));
        assert!(allows(&n("ops._update."), Op::Notify, &n("new.zone.")));
        assert!(allows(&n("sec._transfer."), Op::Transfer, &n("any.zone.")));
        assert!(!allows(&n("sec._transfer."), Op::Update, &n("any.zone.")));
        assert!(!allows(&n("n._notify."), Op::Transfer, &n("any.zone.")));
        assert!(allows(
            &n("10.0.0.2.10.0.0.3._transfer."),
            Op::Transfer,
            &n("mirage.")
        ));
    }

    #[test]
    fn a_short_name_finds_the_key_whose_mac_verifies() {
        let with = |name: &str, b: u8| Key {
            secret: alloc::vec![b; 32],
            ..key(name, Algorithm::Sha256)
        };
        let root = with("personal._update.", 1);
        let own = with("personal._update.example.org.", 2);
        let keys = [root.clone(), own.clone()];
        // dig -y hmac-sha256:personal._update:<the zone's secret>
        let short = with("personal._update.", 2);
        let m = sign_request(&notify("example.org."), &short, 1000);
        assert_eq!(check(&m, &keys, "example.org.", 1000).unwrap().key, own);
        let m = sign_request(&notify("example.org."), &root, 1000);
        assert_eq!(check(&m, &keys, "example.org.", 1000).unwrap().key, root);
        // Neither secret: BADSIG; the zone key alone for another zone: BADSIG.
        let m = sign_request(&notify("example.org."), &with("personal._update.", 3), 1000);
        assert_eq!(err(check(&m, &keys, "example.org.", 1000)), BADSIG);
        let m = sign_request(&notify("example.com."), &short, 1000);
        assert_eq!(err(check(&m, &keys, "example.com.", 1000)), BADSIG);
        assert_eq!(
            err(check(&m, core::slice::from_ref(&own), "example.com.", 1000)),
            BADKEY
        );
    }
}
