//! Packfiles (gitformat-pack, version 2 and 3): every entry inflated to its
//! declared size, deltas (OFS_DELTA, REF_DELTA, bases in the pack or
//! already known) applied with bounds checks, every object's id computed,
//! the trailer checksum verified; limits on count and sizes. Writing packs
//! of whole objects for push.

use crate::delta::{self, DeltaError};
use crate::object::{Kind, Object};
use crate::oid::Oid;
use crate::zlib::{self, ZlibError};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use sha1::{Digest, Sha1};

/// Limits on what a pack may make us hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_objects: u32,
    /// Largest object, whole or the result of a delta.
    pub max_object_size: usize,
    /// All the pack's entries inflated plus every delta's result.
    pub max_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_objects: 1_000_000,
            max_object_size: 64 << 20,
            max_total: 512 << 20,
        }
    }
}

impl Limits {
    /// The limits for a caller with `free` bytes of memory: a fetch holds
    /// the pack, its objects, the checkout's copies of the root files, the
    /// zone set's copies and the zones built from them, several times the
    /// objects at its peak, so the objects may take an eighth of it. Never
    /// above the defaults.
    pub fn for_memory(free: usize) -> Limits {
        let d = Limits::default();
        let max_total = (free / 8).min(d.max_total);
        Limits {
            max_objects: d.max_objects.min((max_total / 32).max(1) as u32),
            max_object_size: d.max_object_size.min(max_total),
            max_total,
        }
    }
}

/// Why a pack was rejected (offsets are into the pack).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackError {
    BadHeader,
    Truncated(usize),
    BadType(usize),
    Zlib(usize, ZlibError),
    Delta(usize, DeltaError),
    BadBaseOffset(usize),
    MissingBase(Oid),
    Checksum,
    TooMany,
    TooLarge(usize),
    TrailingData,
}

impl core::fmt::Display for PackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PackError::TooMany => f.write_str("more objects than the limit"),
            PackError::TooLarge(at) => write!(
                f,
                "the object at pack offset {at} would pass the memory limit of a fetch"
            ),
            PackError::MissingBase(id) => write!(f, "delta base {id} is missing"),
            PackError::Checksum => f.write_str("the pack's checksum does not match"),
            e => write!(f, "malformed pack: {e:?}"),
        }
    }
}

enum Raw {
    Whole(Kind, Vec<u8>),
    Ofs { base: usize, delta: Vec<u8> },
    Ref { base: Oid, delta: Vec<u8> },
}

fn header(p: &[u8], at: usize) -> Result<(u8, usize, usize), PackError> {
    let mut i = at;
    let b = *p.get(i).ok_or(PackError::Truncated(at))?;
    i += 1;
    let t = (b >> 4) & 7;
    let mut size = (b & 0x0f) as usize;
    let mut shift = 4;
    let mut c = b;
    while c & 0x80 != 0 {
        c = *p.get(i).ok_or(PackError::Truncated(at))?;
        i += 1;
        if shift > 57 {
            return Err(PackError::TooLarge(at));
        }
        size |= ((c & 0x7f) as usize) << shift;
        shift += 7;
    }
    Ok((t, size, i))
}

fn ofs(p: &[u8], at: usize, i: &mut usize) -> Result<usize, PackError> {
    let mut c = *p.get(*i).ok_or(PackError::Truncated(at))?;
    *i += 1;
    let mut v = (c & 0x7f) as usize;
    while c & 0x80 != 0 {
        c = *p.get(*i).ok_or(PackError::Truncated(at))?;
        *i += 1;
        v = v
            .checked_add(1)
            .and_then(|v| v.checked_mul(128))
            .ok_or(PackError::BadBaseOffset(at))?
            | (c & 0x7f) as usize;
    }
    Ok(v)
}

/// Parse `pack`. `known` supplies REF_DELTA bases we already have (thin
/// packs of an incremental fetch). Returns every object with its id.
pub fn parse(
    pack: &[u8],
    limits: Limits,
    known: &dyn Fn(&Oid) -> Option<Object>,
) -> Result<Vec<(Oid, Object)>, PackError> {
    if pack.len() < 32 || &pack[..4] != b"PACK" {
        return Err(PackError::BadHeader);
    }
    let version = u32::from_be_bytes([pack[4], pack[5], pack[6], pack[7]]);
    let count = u32::from_be_bytes([pack[8], pack[9], pack[10], pack[11]]);
    if version != 2 && version != 3 {
        return Err(PackError::BadHeader);
    }
    if count > limits.max_objects {
        return Err(PackError::TooMany);
    }
    let body = pack.len() - 20;
    let sum: [u8; 20] = Sha1::digest(&pack[..body]).into();
    if sum[..] != pack[body..] {
        return Err(PackError::Checksum);
    }
    let mut raws: Vec<(usize, Raw)> = Vec::with_capacity(count.min(1 << 16) as usize);
    let mut total = 0usize;
    let mut at = 12;
    for _ in 0..count {
        let (t, size, mut i) = header(&pack[..body], at)?;
        if size > limits.max_object_size {
            return Err(PackError::TooLarge(at));
        }
        total = total
            .checked_add(size)
            .filter(|t| *t <= limits.max_total)
            .ok_or(PackError::TooLarge(at))?;
        let raw_kind = match t {
            1..=4 => None,
            6 => {
                let back = ofs(&pack[..body], at, &mut i)?;
                Some(Ok(at
                    .checked_sub(back)
                    .filter(|b| *b >= 12 && back > 0)
                    .ok_or(PackError::BadBaseOffset(at))?))
            }
            7 => {
                let id = Oid(pack[..body]
                    .get(i..i + 20)
                    .ok_or(PackError::Truncated(at))?
                    .try_into()
                    .map_err(|_| PackError::Truncated(at))?);
                i += 20;
                Some(Err(id))
            }
            _ => return Err(PackError::BadType(at)),
        };
        let input = pack[..body].get(i..).ok_or(PackError::Truncated(at))?;
        let (data, used) = zlib::inflate_exact(input, size).map_err(|e| PackError::Zlib(at, e))?;
        let raw = match raw_kind {
            None => Raw::Whole(Kind::from_pack(t).ok_or(PackError::BadType(at))?, data),
            Some(Ok(base)) => Raw::Ofs { base, delta: data },
            Some(Err(base)) => Raw::Ref { base, delta: data },
        };
        raws.push((at, raw));
        at = i + used;
    }
    if at != body {
        return Err(PackError::TrailingData);
    }
    resolve(raws, limits, total, known)
}

type ByOffset = BTreeMap<usize, (Oid, Kind, Vec<u8>)>;

/// Apply deltas until every entry is whole. `total` is what the inflated
/// entries hold; every delta's result adds to it, within the limit.
fn resolve(
    raws: Vec<(usize, Raw)>,
    limits: Limits,
    mut total: usize,
    known: &dyn Fn(&Oid) -> Option<Object>,
) -> Result<Vec<(Oid, Object)>, PackError> {
    let mut by_offset: ByOffset = BTreeMap::new();
    let mut by_id: BTreeMap<Oid, usize> = BTreeMap::new();
    let mut pending = raws;
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for (at, raw) in pending {
            let (k, data) = match raw {
                Raw::Whole(k, d) => (k, d),
                Raw::Ofs { base, delta } => match by_offset.get(&base) {
                    Some((_, k, b)) => (*k, apply(b, &delta, at, limits, &mut total)?),
                    None => {
                        still.push((at, Raw::Ofs { base, delta }));
                        continue;
                    }
                },
                Raw::Ref { base, delta } => {
                    let ours = by_id.get(&base).and_then(|o| by_offset.get(o));
                    let whole = match ours {
                        Some((_, k, b)) => Some((*k, apply(b, &delta, at, limits, &mut total)?)),
                        None => match known(&base) {
                            Some(o) => {
                                Some((o.kind, apply(&o.data, &delta, at, limits, &mut total)?))
                            }
                            None => None,
                        },
                    };
                    match whole {
                        Some(w) => w,
                        None => {
                            still.push((at, Raw::Ref { base, delta }));
                            continue;
                        }
                    }
                }
            };
            let id = Oid::of(k.name(), &data);
            by_id.insert(id, at);
            by_offset.insert(at, (id, k, data));
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if pending.len() == before {
            return Err(match &pending[0].1 {
                Raw::Ref { base, .. } => PackError::MissingBase(*base),
                _ => PackError::BadBaseOffset(pending[0].0),
            });
        }
    }
    Ok(by_offset
        .into_values()
        .map(|(id, kind, data)| (id, Object { kind, data }))
        .collect())
}

/// Apply one delta of the entry at `at`; its result counts towards the
/// pack's total.
fn apply(
    base: &[u8],
    d: &[u8],
    at: usize,
    limits: Limits,
    total: &mut usize,
) -> Result<Vec<u8>, PackError> {
    let room = limits.max_total.saturating_sub(*total);
    let out = delta::apply(base, d, limits.max_object_size.min(room)).map_err(|e| match e {
        DeltaError::TooLarge => PackError::TooLarge(at),
        e => PackError::Delta(at, e),
    })?;
    *total += out.len();
    Ok(out)
}

/// An entry's header: type and inflated size (gitformat-pack).
fn put_header(p: &mut Vec<u8>, t: u8, mut size: usize) {
    let mut b = (t << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        p.push(b | 0x80);
        b = (size & 0x7f) as u8;
        size >>= 7;
    }
    p.push(b);
}

/// Write a version 2 pack of whole (undeltified) objects.
pub fn write(objects: &[Object]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(b"PACK");
    p.extend_from_slice(&2u32.to_be_bytes());
    p.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    for o in objects {
        put_header(&mut p, o.kind.pack_type(), o.data.len());
        p.extend_from_slice(&zlib::deflate(&o.data));
    }
    let sum: [u8; 20] = Sha1::digest(&p).into();
    p.extend_from_slice(&sum);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn none(_: &Oid) -> Option<Object> {
        None
    }

    #[test]
    fn write_then_parse() {
        let objs = vec![
            Object {
                kind: Kind::Blob,
                data: b"hello\n".to_vec(),
            },
            Object {
                kind: Kind::Blob,
                data: vec![b'z'; 5000],
            },
        ];
        let p = write(&objs);
        let got = parse(&p, Limits::default(), &none).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.iter().any(|(id, _)| id.to_string_short() == "ce013625"));
    }

    #[test]
    fn corrupt_packs() {
        let p = write(&[Object {
            kind: Kind::Blob,
            data: b"hello\n".to_vec(),
        }]);
        let mut bad = p.clone();
        bad[20] ^= 1;
        assert_eq!(
            parse(&bad, Limits::default(), &none),
            Err(PackError::Checksum)
        );
        assert_eq!(
            parse(&p[..p.len() - 1], Limits::default(), &none),
            Err(PackError::Checksum)
        );
        assert_eq!(
            parse(b"PACKxxxx", Limits::default(), &none),
            Err(PackError::BadHeader)
        );
        let small = Limits {
            max_objects: 10,
            max_object_size: 3,
            max_total: 100,
        };
        assert_eq!(parse(&p, small, &none), Err(PackError::TooLarge(12)));
    }

    #[test]
    fn entry_headers_running_into_the_trailer_are_truncation() {
        // Found by the git_pack fuzzer: a REF_DELTA whose base id would
        // overlap the trailer.
        for t in [0x75u8, 0x65] {
            let mut p = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
            p.extend_from_slice(&[t, 1, 2, 3]);
            let sum: [u8; 20] = Sha1::digest(&p).into();
            p.extend_from_slice(&sum);
            assert!(matches!(
                parse(&p, Limits::default(), &none),
                Err(PackError::Truncated(12)
                    | PackError::BadBaseOffset(12)
                    | PackError::Zlib(12, _))
            ));
        }
    }

    /// A pack of one blob of `base_len` bytes and `n` REF_DELTAs on it,
    /// each making an object of `copies` times the blob.
    fn delta_bomb(base_len: usize, n: usize, copies: usize) -> Vec<u8> {
        let base = Object {
            kind: Kind::Blob,
            data: vec![b'b'; base_len],
        };
        let mut p = write(core::slice::from_ref(&base));
        p.truncate(p.len() - 20);
        p[8..12].copy_from_slice(&((1 + n) as u32).to_be_bytes());
        let varint = |out: &mut Vec<u8>, mut v: usize| {
            while v >= 0x80 {
                out.push(v as u8 | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        };
        for i in 0..n {
            let mut d = Vec::new();
            varint(&mut d, base_len);
            varint(&mut d, base_len * copies + 1);
            for _ in 0..copies {
                // Copy base_len bytes from offset 0 (two length bytes).
                d.extend_from_slice(&[0x80 | 0x10 | 0x20, base_len as u8, (base_len >> 8) as u8]);
            }
            d.extend_from_slice(&[1, i as u8]); // one distinct byte
            put_header(&mut p, 7, d.len());
            p.extend_from_slice(&base.id().0);
            p.extend_from_slice(&zlib::deflate(&d));
        }
        let sum: [u8; 20] = Sha1::digest(&p).into();
        p.extend_from_slice(&sum);
        p
    }

    #[test]
    fn delta_results_count_towards_the_limit() {
        // 20 deltas each making 100,001 bytes: 2 MB from a pack of a few
        // KiB.
        let p = delta_bomb(1000, 20, 100);
        assert!(p.len() < 4096, "{}", p.len());
        // The entries inflated (the blob, 20 deltas of 307 bytes) and
        // the 20 results.
        let total = 1000 + 20 * 307 + 20 * 100_001;
        let limits = |max_total| Limits {
            max_objects: 100,
            max_object_size: 1 << 20,
            max_total,
        };
        let got = parse(&p, limits(total), &none).unwrap();
        assert_eq!(got.len(), 21);
        assert!(matches!(
            parse(&p, limits(total - 1), &none),
            Err(PackError::TooLarge(_))
        ));
        // One result above the object size.
        let one = Limits {
            max_object_size: 100_000,
            ..limits(total)
        };
        assert!(matches!(parse(&p, one, &none), Err(PackError::TooLarge(_))));
    }

    #[test]
    fn limits_follow_the_memory_given() {
        let l = Limits::for_memory(64 << 20);
        assert_eq!((l.max_total, l.max_object_size), (8 << 20, 8 << 20));
        let l = Limits::for_memory(usize::MAX);
        assert_eq!(l.max_total, Limits::default().max_total);
        assert_eq!(l.max_object_size, Limits::default().max_object_size);
        let l = Limits::for_memory(0);
        assert_eq!((l.max_total, l.max_objects), (0, 1));
        assert!(parse(&delta_bomb(10, 1, 1), l, &none).is_err());
    }

    trait Short {
        fn to_string_short(&self) -> alloc::string::String;
    }
    impl Short for Oid {
        fn to_string_short(&self) -> alloc::string::String {
            use alloc::string::ToString;
            self.to_string()[..8].to_string()
        }
    }
}
