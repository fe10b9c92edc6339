//! Wire format (RFC 1035 4.1): a bounds-checked reader that follows
//! compression pointers safely, and a writer into a caller's buffer with
//! name compression (RFC 1035 4.1.4).

use crate::name::{Name, MAX_WIRE};

/// A malformed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Ran past the end.
    Short,
    /// A bad label, an overlong name or a pointer loop.
    BadName,
}

/// Reads a message.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Compression pointers below this offset are refused (12 for a whole
    /// message: a pointer into the header is not a name).
    floor: usize,
}

/// Size of the message header.
pub const HEADER: usize = 12;

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            floor: 0,
        }
    }

    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos, floor: 0 }
    }

    /// A reader over a whole DNS message at `pos`: names may not point into
    /// the header (found by fuzzing: such a name changes when the header
    /// does, e.g. when a TSIG is appended).
    pub fn message(buf: &'a [u8], pos: usize) -> Self {
        Reader {
            buf,
            pos,
            floor: HEADER,
        }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let s = self
            .buf
            .get(self.pos..self.pos.checked_add(n).ok_or(WireError::Short)?)
            .ok_or(WireError::Short)?;
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A possibly compressed name. Pointers must point strictly backwards,
    /// which bounds the work and rules out loops.
    pub fn name(&mut self) -> Result<Name, WireError> {
        // On the stack: reading a name allocates nothing (issue 9).
        let mut wire = [0u8; MAX_WIRE];
        let mut n = 0;
        let mut pos = self.pos;
        let mut limit = self.pos; // pointers must go below this
        let mut end_after_first_pointer = None;
        loop {
            let len = *self.buf.get(pos).ok_or(WireError::Short)? as usize;
            match len & 0xc0 {
                0x00 => {
                    let label = self.buf.get(pos..pos + 1 + len).ok_or(WireError::Short)?;
                    let to = wire.get_mut(n..n + label.len()).ok_or(WireError::BadName)?;
                    to.copy_from_slice(label);
                    n += label.len();
                    pos += 1 + len;
                    if len == 0 {
                        break;
                    }
                }
                0xc0 => {
                    let lo = *self.buf.get(pos + 1).ok_or(WireError::Short)? as usize;
                    let target = ((len & 0x3f) << 8) | lo;
                    if target >= limit || target < self.floor {
                        return Err(WireError::BadName);
                    }
                    end_after_first_pointer.get_or_insert(pos + 2);
                    limit = target;
                    pos = target;
                }
                _ => return Err(WireError::BadName),
            }
        }
        self.pos = end_after_first_pointer.unwrap_or(pos);
        Name::from_wire(&wire[..n]).ok_or(WireError::BadName)
    }
}

/// The output buffer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// Offsets of names already written, for compression: a small
/// set-associative table keyed by [`suffix_tag`], SETS sets of two ways.
/// Way 0 keeps the first name of its set (the question, the zone apex:
/// what most later names end in), way 1 the latest, so a long message (a
/// zone transfer) still compresses an owner against the records before
/// it. One probe per suffix instead of a scan of every name written.
const SETS: usize = 32;
const WAYS: usize = 2;

/// Writes a message into a caller's buffer.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    /// Offset of the name in each way; valid when its tag is not 0.
    ptrs: [[u16; WAYS]; SETS],
    /// Tag of the name in each way ([`suffix_tag`], never 0); 0 is empty.
    tags: [[u32; WAYS]; SETS],
    /// Compress only against a name of the same case ([`Writer::exact_case`]).
    exact: bool,
}

/// A cheap tag of a name suffix (uncompressed wire): its length and a
/// hash of its first label, case-folded, never 0. Compared before the
/// bytes when looking for a compression target. Hashing only the first
/// label keeps a name's tags O(length) where hashing every suffix (FNV
/// over the rest of the name) was a quarter of the query path's
/// instructions (callgrind, `bench query`); the label's bytes must all
/// count, or the owners of a zone transfer (`host1234.`, `host1235.`, ...)
/// share one tag and collide (AXFR 0.27 -> 1.1 s, 2026-12-06).
fn suffix_tag(suffix: &[u8]) -> u32 {
    let label = suffix
        .get(1..1 + suffix.first().map_or(0, |&l| l as usize))
        .unwrap_or(&[]);
    let h = label.iter().fold((suffix.len() as u32) << 24, |h, c| {
        (h ^ c.to_ascii_lowercase() as u32).wrapping_mul(0x0100_0193)
    });
    h | 1
}

/// The set of a tag.
fn set_of(tag: u32) -> usize {
    ((tag ^ tag >> 16) as usize) % SETS
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self::resume(buf, 0)
    }

    /// Continue a message whose first `len` bytes are already in `buf`
    /// (names written later are not compressed against them).
    pub fn resume(buf: &'a mut [u8], len: usize) -> Self {
        let len = len.min(buf.len());
        Writer {
            buf,
            len,
            ptrs: [[0; WAYS]; SETS],
            tags: [[0; WAYS]; SETS],
            exact: false,
        }
    }

    /// Compress a name only against an earlier one of the same case, so
    /// every name keeps the case it is written in: a zone transfer then
    /// reproduces the zone's names (`WWW.example.org` stays apart from
    /// `www...`). Answers to queries compress case-blind as Knot and BIND
    /// do (names are case-insensitive, RFC 4343; a pointer into the
    /// question repeats the asker's case, and the answer stays small when
    /// a resolver mixes case for 0x20).
    pub fn exact_case(mut self) -> Self {
        self.exact = true;
        self
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forget everything after `len` (for truncation).
    pub fn truncate(&mut self, len: usize) {
        self.len = len.min(self.len);
        for (ptrs, tags) in self.ptrs.iter().zip(self.tags.iter_mut()) {
            for w in 0..WAYS {
                if ptrs[w] as usize >= self.len {
                    tags[w] = 0;
                }
            }
        }
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Full> {
        let end = self.len.checked_add(b.len()).ok_or(Full)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(Full)?
            .copy_from_slice(b);
        self.len = end;
        Ok(())
    }

    pub fn u8(&mut self, v: u8) -> Result<(), Full> {
        self.bytes(&[v])
    }

    pub fn u16(&mut self, v: u16) -> Result<(), Full> {
        self.bytes(&v.to_be_bytes())
    }

    pub fn u32(&mut self, v: u32) -> Result<(), Full> {
        self.bytes(&v.to_be_bytes())
    }

    /// Overwrite a u16 written earlier (counts, lengths).
    pub fn set_u16(&mut self, at: usize, v: u16) {
        if at + 2 <= self.len {
            self.buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
        }
    }

    /// Write a name, compressed against earlier names when `compress`
    /// (RFC 1035 4.1.4).
    pub fn name(&mut self, n: &Name, compress: bool) -> Result<(), Full> {
        let wire = n.wire();
        let mut i = 0;
        while wire[i] != 0 {
            let tag = suffix_tag(&wire[i..]);
            let set = set_of(tag);
            if compress {
                if let Some(off) = self.find(&wire[i..], tag, set) {
                    return self.u16(0xc000 | off);
                }
            }
            // A pointer holds 14 bits of offset.
            if self.len < 0x3fff {
                let w = (self.tags[set][0] != 0) as usize;
                self.ptrs[set][w] = self.len as u16;
                self.tags[set][w] = tag;
            }
            let l = wire[i] as usize;
            self.bytes(&wire[i..i + 1 + l])?;
            i += 1 + l;
        }
        self.u8(0)
    }

    /// An earlier offset holding the name `suffix` (uncompressed wire)
    /// whose tag is `tag`, in set `set`.
    fn find(&self, suffix: &[u8], tag: u32, set: usize) -> Option<u16> {
        let written = &self.buf[..self.len];
        (0..WAYS)
            .filter(|&w| self.tags[set][w] == tag)
            .map(|w| self.ptrs[set][w])
            .find(|&off| {
                (off as usize) < self.len && same_name(written, off as usize, suffix, self.exact)
            })
    }
}

/// Does the (possibly compressed) name at `off` in `msg` equal `wire`
/// (byte for byte when `exact`, else case-blind)? A pointer repeats the
/// earlier name's case: see [`Writer::exact_case`].
fn same_name(msg: &[u8], mut off: usize, wire: &[u8], exact: bool) -> bool {
    let mut i = 0;
    for _ in 0..MAX_WIRE {
        let Some(&len) = msg.get(off) else {
            return false;
        };
        if len & 0xc0 == 0xc0 {
            let Some(&lo) = msg.get(off + 1) else {
                return false;
            };
            off = (((len & 0x3f) as usize) << 8) | lo as usize;
            continue;
        }
        let len = len as usize;
        let (Some(a), Some(b)) = (msg.get(off..off + 1 + len), wire.get(i..i + 1 + len)) else {
            return false;
        };
        // Names in one message mostly share their case: bytes first.
        if a != b && (exact || !a.eq_ignore_ascii_case(b)) {
            return false;
        }
        if len == 0 {
            return true;
        }
        off += 1 + len;
        i += 1 + len;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    #[test]
    fn suffix_tags_tell_owners_of_a_transfer_apart() {
        // Same length, same first bytes: only the hash of the whole first
        // label separates them (else each lookup compares the whole ring).
        let tag = |s: &str| suffix_tag(n(s).wire());
        assert_ne!(tag("host1234.big.test."), tag("host1235.big.test."));
        assert_ne!(tag("host1234.big.test."), tag("host2234.big.test."));
        assert_eq!(tag("HOST1234.big.test."), tag("host1234.big.test."));
    }

    /// Three names written by a writer (`exact`: [`Writer::exact_case`]):
    /// the message and the length after the first name.
    fn three_names(buf: &mut [u8; 512], exact: bool) -> (usize, usize) {
        let w = Writer::new(buf);
        let mut w = if exact { w.exact_case() } else { w };
        w.bytes(&[0; 12]).unwrap();
        w.name(&n("www.example.org."), true).unwrap();
        let second = w.len();
        w.name(&n("mail.EXAMPLE.org."), true).unwrap();
        w.name(&n("www.example.org."), true).unwrap();
        (second, w.len())
    }

    #[test]
    fn compression_round_trip() {
        // Case-blind (answers, as Knot): mail + pointer, a bare pointer;
        // the pointer repeats the earlier name's case.
        let mut buf = [0u8; 512];
        let (second, len) = three_names(&mut buf, false);
        assert_eq!(len, second + 5 + 2 + 2);
        let mut r = Reader::at(&buf[..len], 12);
        assert_eq!(r.name().unwrap(), n("www.example.org."));
        assert_eq!(r.name().unwrap().to_text(), "mail.example.org.");
        assert_eq!(r.name().unwrap().to_text(), "www.example.org.");
        assert_eq!(r.remaining(), 0);
        // Exact case (zone transfers): every name as written.
        let (second, len) = three_names(&mut buf, true);
        assert_eq!(
            len,
            second + 5 + 8 + 2 + 2,
            "mail.EXAMPLE + pointer to org (the case differs), then a bare pointer"
        );
        let mut r = Reader::at(&buf[..len], 12);
        assert_eq!(r.name().unwrap(), n("www.example.org."));
        assert_eq!(r.name().unwrap().to_text(), "mail.EXAMPLE.org.");
        assert_eq!(r.name().unwrap().to_text(), "www.example.org.");
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn hostile_names() {
        // Pointer to itself / forward.
        assert_eq!(Reader::at(&[0xc0, 0x00], 0).name(), Err(WireError::BadName));
        assert_eq!(
            Reader::at(&[0, 0xc0, 0x03, 0], 1).name(),
            Err(WireError::BadName)
        );
        // Truncated label.
        assert_eq!(Reader::new(&[5, b'a']).name(), Err(WireError::Short));
        // Reserved label type.
        assert_eq!(Reader::new(&[0x40, 0]).name(), Err(WireError::BadName));
        // A chain of backward pointers is fine.
        let msg = [1, b'a', 0, 1, b'b', 0xc0, 0, 0xc0, 3];
        assert_eq!(Reader::at(&msg, 7).name().unwrap(), n("b.a."));
        // Overlong name built from pointers.
        let mut m = alloc::vec::Vec::new();
        for i in 0..200usize {
            m.push(1);
            m.push(b'x');
            if i > 0 {
                let p = (i - 1) * 4;
                m.extend_from_slice(&[0xc0 | (p >> 8) as u8, p as u8]);
            } else {
                m.extend_from_slice(&[0, 0]);
            }
        }
        assert!(Reader::at(&m, 199 * 4).name().is_err());
    }

    #[test]
    fn pointers_into_the_header_are_refused_in_messages() {
        let mut m = alloc::vec![0u8; 12];
        m.extend_from_slice(&[0xc0, 11]);
        assert_eq!(Reader::message(&m, 12).name(), Err(WireError::BadName));
        assert!(
            Reader::at(&m, 12).name().is_ok(),
            "a bare buffer has no header"
        );
    }

    #[test]
    fn writer_reports_full() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        assert!(w.name(&n("example.org."), false).is_err());
        assert!(w.u32(1).is_ok());
        assert_eq!(w.u8(1), Err(Full));
    }

    #[test]
    fn a_long_message_still_compresses_against_recent_names() {
        let mut buf = alloc::vec![0u8; 8192];
        let mut w = Writer::new(&mut buf);
        let zone = Name::parse("big.test.", &Name::root()).unwrap();
        for i in 0..100 {
            let n = Name::parse(&alloc::format!("host{i}"), &zone).unwrap();
            w.name(&n, true).unwrap();
        }
        let n = Name::parse("host99", &zone).unwrap();
        let before = w.len();
        w.name(&n, true).unwrap();
        assert_eq!(w.len() - before, 2, "the previous owner is a pointer");
        let before = w.len();
        w.name(&zone, true).unwrap();
        assert_eq!(w.len() - before, 2, "the apex stays in the fixed slots");
        // Truncation forgets names written after the cut.
        let cut = w.len();
        w.name(&Name::parse("fresh", &zone).unwrap(), true).unwrap();
        w.truncate(cut);
        let before = w.len();
        w.name(&Name::parse("fresh", &zone).unwrap(), true).unwrap();
        assert_eq!(w.len() - before, 6 + 2);
    }

    /// 0x20 (draft-vixie-dnsext-dns0x20): an answer echoes the question
    /// in the asker's case, and the answer's owner (the name asked) points
    /// at it.
    #[test]
    fn answers_keep_the_askers_case() {
        use crate::authority::{serve, Ctx, Policy, Transport};
        use crate::zone::{parser::parse_str, Zone};
        let origin = n("example.org.");
        let t =
            "$TTL 60\n@ SOA ns hm 1 3600 600 7200 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n";
        let mut zs = crate::zoneset::ZoneSet::default();
        zs.insert(Zone::from_records(
            origin.clone(),
            &parse_str("z", t, &origin).unwrap().records,
        ));
        let mut q = alloc::vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(n("wWw.ExAmPlE.oRg.").wire());
        q.extend_from_slice(&[0, 1, 0, 1]);
        let policy = Policy::default();
        let mut ctx = Ctx::new(Transport::Udp, 0, &policy);
        let mut out = alloc::vec![0u8; 1232];
        let mut answer = alloc::vec::Vec::new();
        serve(&mut zs, &q, &mut ctx, &mut out, &mut |m| {
            answer.push(m.to_vec())
        });
        let a = &answer[0];
        let mut r = Reader::message(a, 12);
        assert_eq!(r.name().unwrap().to_text(), "wWw.ExAmPlE.oRg.");
        r.u32().unwrap();
        assert_eq!(
            &a[r.pos()..r.pos() + 2],
            &[0xc0, 12],
            "the owner points at the question"
        );
        assert_eq!(r.name().unwrap().to_text(), "wWw.ExAmPlE.oRg.");
    }
}
