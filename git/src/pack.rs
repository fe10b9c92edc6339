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
    pub max_object_size: usize,
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
    resolve(raws, limits, known)
}

/// Apply deltas until every entry is whole.
fn resolve(
    raws: Vec<(usize, Raw)>,
    limits: Limits,
    known: &dyn Fn(&Oid) -> Option<Object>,
) -> Result<Vec<(Oid, Object)>, PackError> {
    let mut by_offset: BTreeMap<usize, (Oid, Kind, Vec<u8>)> = BTreeMap::new();
    let mut by_id: BTreeMap<Oid, usize> = BTreeMap::new();
    let mut pending: Vec<(usize, Raw)> = Vec::new();
    for (at, raw) in raws {
        pending.push((at, raw));
    }
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for (at, raw) in pending {
            let whole = match &raw {
                Raw::Whole(k, d) => Some((*k, d.clone())),
                Raw::Ofs { base, delta: d } => match by_offset.get(base) {
                    Some((_, k, b)) => Some((
                        *k,
                        delta::apply(b, d, limits.max_object_size)
                            .map_err(|e| PackError::Delta(at, e))?,
                    )),
                    None => None,
                },
                Raw::Ref { base, delta: d } => match by_id
                    .get(base)
                    .and_then(|o| by_offset.get(o))
                    .map(|(_, k, b)| (*k, b.clone()))
                    .or_else(|| known(base).map(|o| (o.kind, o.data)))
                {
                    Some((k, b)) => Some((
                        k,
                        delta::apply(&b, d, limits.max_object_size)
                            .map_err(|e| PackError::Delta(at, e))?,
                    )),
                    None => None,
                },
            };
            match whole {
                Some((k, data)) => {
                    let id = Oid::of(k.name(), &data);
                    by_id.insert(id, at);
                    by_offset.insert(at, (id, k, data));
                }
                None => still.push((at, raw)),
            }
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

/// Write a version 2 pack of whole (undeltified) objects.
pub fn write(objects: &[Object]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(b"PACK");
    p.extend_from_slice(&2u32.to_be_bytes());
    p.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    for o in objects {
        let mut size = o.data.len();
        let mut b = (o.kind.pack_type() << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            p.push(b | 0x80);
            b = (size & 0x7f) as u8;
            size >>= 7;
        }
        p.push(b);
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
