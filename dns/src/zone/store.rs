//! The in-memory zone: nodes keyed in canonical order (so a subtree is a
//! contiguous range), each holding its RRsets.
//!
//! Representation (docs/design.md, 2026-12-05): a node is one block of
//! bytes holding its owner name (case preserved) and its canonical key,
//! both relative to the apex, and every RRset with its RDATAs,
//! length-prefixed. Blocks are written one after the other into 64 KiB
//! chunks (an arena); the zone's index is a vector of `u32` block names
//! sorted by key (binary search; an insert moves the names after it, 4 MB
//! for a 1,000,000-name zone). So a name costs its bytes plus 4, with no
//! allocation of its own. Readers get [`Node`], [`RRset`] and [`Rdatas`]:
//! `Copy` views that borrow from the zone. A change to a node decodes it,
//! edits and writes a new block; the old one is garbage until the arena is
//! compacted (once garbage outweighs live blocks, and by every clone, which
//! copies the live blocks in order). Only names at or below the apex are
//! held: records elsewhere are left out (the checks and UPDATE refuse them
//! before they get here).

use super::chain::Nsec3Owners;
use super::finding::{Notes, Src};
use super::index::NameIndex;
use super::parser::Record;
use crate::name::Name;
use crate::rtype;
use alloc::vec::Vec;
use core::fmt;

// Block layout, integers little-endian (in the arena each block follows
// its length, LEB128):
//   u8 wire length, u16 key length, then the owner's wire form without the
//   apex's labels and root, its canonical key without the apex's key (both
//   empty at the apex), then RRsets in type order: u16 type, u32 TTL,
//   u16 file, u32 line, u16 column, count (LEB128), then `count` times u16
//   length + RDATA (RDATAs sorted, no duplicates).
const HEAD: usize = 3;
const SET_HEAD: usize = 14;

fn put_count(out: &mut Vec<u8>, n: u32) {
    let (b, len) = count_bytes(n);
    out.extend_from_slice(&b[..len]);
}

/// A count's bytes (seven bits each, low first, the high bit set on all
/// but the last) and how many, on the stack.
#[inline]
fn count_bytes(mut n: u32) -> ([u8; 5], usize) {
    let (mut b, mut i) = ([0u8; 5], 0);
    while n >= 0x80 {
        b[i] = n as u8 | 0x80;
        n >>= 7;
        i += 1;
    }
    b[i] = n as u8;
    (b, i + 1)
}

/// A count at `*pos`, moving past it.
#[inline]
fn get_count(b: &[u8], pos: &mut usize) -> u32 {
    let (mut n, mut shift) = (0u32, 0);
    loop {
        let x = b[*pos];
        *pos += 1;
        n |= ((x & 0x7f) as u32) << shift;
        if x < 0x80 {
            return n;
        }
        shift += 7;
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Where the blocks live: 64 KiB chunks filled one after the other (a
/// block larger than that gets a chunk of its own). A block is named by a
/// `u32`: chunk number << 16 | offset, and starts with its length (LEB128).
/// An edit writes a new block; the old one stays as garbage until the
/// arena is compacted (a clone of the zone copies only live blocks).
#[derive(Default)]
struct Arena {
    chunks: Vec<Vec<u8>>,
    /// Bytes of blocks no longer referenced.
    dead: usize,
    /// Bytes of all blocks written.
    used: usize,
}

const CHUNK: usize = 1 << 16;

impl Arena {
    /// Store `block`; its name.
    fn push(&mut self, block: &[u8]) -> u32 {
        let (head, h) = count_bytes(block.len() as u32);
        let head = &head[..h];
        let need = head.len() + block.len();
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() == CHUNK && c.len() + need <= CHUNK);
        if !fits {
            assert!(self.chunks.len() < 1 << 16, "zone larger than 4 GiB");
            self.chunks.push(Vec::with_capacity(CHUNK.max(need)));
        }
        let n = self.chunks.len() - 1;
        let c = &mut self.chunks[n];
        let at = c.len();
        c.extend_from_slice(head);
        c.extend_from_slice(block);
        self.used += need;
        ((n as u32) << 16) | at as u32
    }

    /// The block named `r` (after its length).
    #[inline]
    fn get(&self, r: u32) -> &[u8] {
        let c = &self.chunks[(r >> 16) as usize];
        let mut at = (r & 0xffff) as usize;
        let len = get_count(c, &mut at) as usize;
        &c[at..at + len]
    }

    #[inline]
    fn key(&self, r: u32) -> &[u8] {
        key_of(self.get(r))
    }

    /// `r` is garbage from now on.
    fn drop_block(&mut self, r: u32) {
        self.dead += self.get(r).len() + 1;
    }
}

#[inline]
fn key_of(b: &[u8]) -> &[u8] {
    let start = HEAD + b[0] as usize;
    &b[start..start + u16_at(b, 1) as usize]
}

/// An index entry: a block and the first four bytes of its key (zero
/// padded, big-endian), so most probes of a search compare two integers
/// and never touch the block. Prefixes order as the keys do: a smaller
/// prefix is a smaller key; equal prefixes need the keys.
#[derive(Clone, Copy)]
struct Slot {
    pre: u32,
    at: u32,
}

#[inline]
fn prefix(k: &[u8]) -> u32 {
    let mut p = [0u8; 4];
    let n = k.len().min(4);
    p[..n].copy_from_slice(&k[..n]);
    u32::from_be_bytes(p)
}

impl Slot {
    fn new(key: &[u8], at: u32) -> Slot {
        Slot {
            pre: prefix(key),
            at,
        }
    }
}

/// All RRsets of one owner name (a view into the zone).
#[derive(Clone, Copy)]
pub struct Node<'z> {
    b: &'z [u8],
    apex: &'z Name,
}

impl<'z> Node<'z> {
    /// The owner's labels below the apex in wire form (no root), case as
    /// first read.
    fn rel_wire(&self) -> &'z [u8] {
        &self.b[HEAD..HEAD + self.b[0] as usize]
    }

    /// The owner name.
    pub fn name(&self) -> Name {
        // On the stack: answering allocates nothing (issue 9).
        let mut w = [0u8; crate::name::MAX_WIRE];
        let (r, a) = (self.rel_wire(), self.apex.wire());
        let n = r.len() + a.len();
        w[..r.len()].copy_from_slice(r);
        w[r.len()..n].copy_from_slice(a);
        Name::from_wire(&w[..n]).expect("names in a zone are valid")
    }

    /// True when the owner is `n` (case-insensitive, RFC 4343).
    pub fn name_is(&self, n: &Name) -> bool {
        let (r, a, w) = (self.rel_wire(), self.apex.wire(), n.wire());
        w.len() == r.len() + a.len()
            && w[..r.len()].eq_ignore_ascii_case(r)
            && w[r.len()..].eq_ignore_ascii_case(a)
    }

    /// The canonical key of the owner (see [`Name::key`]) without the
    /// apex's: empty at the apex. Nodes of a zone are in the order of these.
    pub fn key(&self) -> &'z [u8] {
        key_of(self.b)
    }

    fn sets_start(&self) -> usize {
        HEAD + self.b[0] as usize + u16_at(self.b, 1) as usize
    }

    /// The RRsets in type order.
    pub fn rrsets(&self) -> RRsets<'z> {
        RRsets {
            b: self.b,
            pos: self.sets_start(),
        }
    }

    /// The RRset of type `t`.
    pub fn get(&self, t: u16) -> Option<RRset<'z>> {
        self.rrsets()
            .take_while(|s| s.rtype <= t)
            .find(|s| s.rtype == t)
    }

    /// The RRSIG RRset whose RDATAs cover type `t` (RFC 4034 3.1.1): None
    /// when no RRSIG here covers it.
    pub fn sigs(&self, t: u16) -> Option<RRset<'z>> {
        let covers = |rd: &[u8]| rd.get(..2) == Some(&t.to_be_bytes()[..]);
        self.rrsets()
            .take_while(|s| s.rtype <= rtype::RRSIG)
            .find(|s| s.rtype == rtype::RRSIG && s.rdatas.iter().any(covers))
    }

    /// An NSEC3 owner: one label below the apex with an NSEC3 RRset
    /// (RFC 5155 3: the hashed owner name).
    fn is_nsec3_owner(&self) -> bool {
        let k = self.key();
        k.iter().filter(|&&b| b == 0).count() == 1 && self.get(rtype::NSEC3).is_some()
    }
}

impl PartialEq for Node<'_> {
    /// Same owner (case-insensitive) and the same RRsets.
    fn eq(&self, o: &Node<'_>) -> bool {
        self.key() == o.key() && self.rrsets().eq(o.rrsets())
    }
}

impl Eq for Node<'_> {}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name())
            .field("rrsets", &self.rrsets().collect::<Vec<_>>())
            .finish()
    }
}

/// Iterator over the RRsets of a node.
#[derive(Clone)]
pub struct RRsets<'z> {
    b: &'z [u8],
    pos: usize,
}

impl<'z> Iterator for RRsets<'z> {
    type Item = RRset<'z>;

    fn next(&mut self) -> Option<RRset<'z>> {
        let b = self.b;
        let p = self.pos;
        if p >= b.len() {
            return None;
        }
        let mut start = p + SET_HEAD;
        let n = get_count(b, &mut start);
        let mut end = start;
        for _ in 0..n {
            end += 2 + u16_at(b, end) as usize;
        }
        self.pos = end;
        Some(RRset {
            rtype: u16_at(b, p),
            ttl: u32_at(b, p + 2),
            src: Src {
                file: u16_at(b, p + 6),
                line: u32_at(b, p + 8),
                col: u16_at(b, p + 12),
            },
            rdatas: Rdatas {
                n,
                b: &b[start..end],
            },
        })
    }
}

/// An RRset: one owner, type and TTL, one or more RDATAs (wire form).
#[derive(Clone, Copy, Debug)]
pub struct RRset<'z> {
    pub rtype: u16,
    pub ttl: u32,
    /// Where its first record was read, for messages. Not part of equality.
    pub src: Src,
    pub rdatas: Rdatas<'z>,
}

impl RRset<'_> {
    /// The type an RRSIG RRset covers (RFC 4034 3.1.1): a node holds one
    /// RRSIG RRset per type covered. None for other types.
    pub fn covered(&self) -> Option<u16> {
        let rd = self.rdatas.first().filter(|_| self.rtype == rtype::RRSIG)?;
        rd.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// `o` is the same RRset (type, and type covered) in another version.
    pub fn same_set(&self, o: &RRset<'_>) -> bool {
        self.rtype == o.rtype && self.covered() == o.covered()
    }
}

impl PartialEq for RRset<'_> {
    fn eq(&self, o: &RRset<'_>) -> bool {
        self.rtype == o.rtype && self.ttl == o.ttl && self.rdatas == o.rdatas
    }
}

impl Eq for RRset<'_> {}

/// The RDATAs of an RRset, in wire order, without duplicates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Rdatas<'z> {
    n: u32,
    b: &'z [u8],
}

impl<'z> Rdatas<'z> {
    /// The RDATAs.
    pub fn iter(&self) -> RdataIter<'z> {
        RdataIter {
            b: self.b,
            left: self.n,
        }
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The first (lowest in wire order).
    pub fn first(&self) -> Option<&'z [u8]> {
        self.iter().next()
    }

    /// True when `rd` is one of them.
    pub fn contains(&self, rd: &[u8]) -> bool {
        self.iter().any(|x| x == rd)
    }

    /// Owned copies.
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(|x| x.to_vec()).collect()
    }
}

impl fmt::Debug for Rdatas<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'z> IntoIterator for Rdatas<'z> {
    type Item = &'z [u8];
    type IntoIter = RdataIter<'z>;

    fn into_iter(self) -> RdataIter<'z> {
        self.iter()
    }
}

impl<'z> IntoIterator for &Rdatas<'z> {
    type Item = &'z [u8];
    type IntoIter = RdataIter<'z>;

    fn into_iter(self) -> RdataIter<'z> {
        self.iter()
    }
}

/// Iterator over RDATAs.
#[derive(Clone)]
pub struct RdataIter<'z> {
    b: &'z [u8],
    left: u32,
}

impl<'z> Iterator for RdataIter<'z> {
    type Item = &'z [u8];

    fn next(&mut self) -> Option<&'z [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let len = u16_at(self.b, 0) as usize;
        let (rd, rest) = self.b[2..].split_at(len);
        self.b = rest;
        Some(rd)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for RdataIter<'_> {}

/// One record waiting to be encoded into a node.
#[derive(Clone, Copy)]
struct Rec {
    rtype: u16,
    ttl: u32,
    src: Src,
    /// Order of arrival (the first record of an RRset gives its `src`).
    seq: u32,
    at: u32,
    len: u32,
}

/// `a` and `b` (records over `data`) belong to one RRset of a block: one
/// type and, for RRSIG, one type covered (RFC 4034 3: an RRSIG has the TTL
/// of the RRset it covers, so RRSIGs covering different types keep theirs).
fn same_set(data: &[u8], a: &Rec, b: &Rec) -> bool {
    in_set(data, a, b.rtype, rec_data(data, b))
}

fn rec_data<'d>(data: &'d [u8], r: &Rec) -> &'d [u8] {
    &data[r.at as usize..(r.at + r.len) as usize]
}

/// The record `r` belongs to the RRset of a record `rtype` `rd`.
fn in_set(data: &[u8], r: &Rec, rtype: u16, rd: &[u8]) -> bool {
    r.rtype == rtype && (rtype != rtype::RRSIG || rec_data(data, r).get(..2) == rd.get(..2))
}

/// The records of one node being assembled or edited (buffers reused
/// from node to node).
#[derive(Default)]
struct Pending {
    recs: Vec<Rec>,
    data: Vec<u8>,
    out: Vec<u8>,
}

impl Pending {
    /// Add one record; false (nothing added) when its RDATA is longer
    /// than the u16 a block holds its length in (RFC 1035 3.2.1).
    fn push(&mut self, rtype: u16, ttl: u32, src: Src, rdata: &[u8]) -> bool {
        if rdata.len() > crate::rdata::MAX_RDATA {
            return false;
        }
        let at = self.data.len() as u32;
        self.data.extend_from_slice(rdata);
        self.recs.push(Rec {
            rtype,
            ttl,
            src,
            seq: self.recs.len() as u32,
            at,
            len: rdata.len() as u32,
        });
        true
    }

    /// Append the records of `node`.
    fn load(&mut self, node: Node<'_>) {
        for s in node.rrsets() {
            for rd in s.rdatas {
                self.push(s.rtype, s.ttl, s.src, rd);
            }
        }
    }

    fn clear(&mut self) {
        self.recs.clear();
        self.data.clear();
    }

    fn retain(&mut self, f: impl Fn(u16, &[u8]) -> bool) {
        let data = &self.data;
        self.recs
            .retain(|r| f(r.rtype, &data[r.at as usize..(r.at + r.len) as usize]));
    }

    /// Sort by type, then RDATA (the order of a block).
    fn sort(&mut self) {
        let data = &self.data;
        let rd = |r: &Rec| &data[r.at as usize..(r.at + r.len) as usize];
        self.recs
            .sort_by(|a, b| a.rtype.cmp(&b.rtype).then_with(|| rd(a).cmp(rd(b))));
    }

    /// Warn of duplicate records and of RRsets whose records differ in TTL
    /// (RFC 2181 5.2), at the record concerned. `owner` names them.
    fn lint(&mut self, owner: &dyn Fn() -> Name, notes: &mut Notes) {
        self.sort();
        let data = &self.data;
        let rd = |r: &Rec| &data[r.at as usize..(r.at + r.len) as usize];
        for g in self.recs.chunk_by(|a, b| same_set(data, a, b)) {
            // Named only for a note (one string per RRset otherwise).
            let t = || crate::rtype::to_text(g[0].rtype);
            let first = g.iter().min_by_key(|r| r.seq).map_or(0, |r| r.ttl);
            let odd = g.iter().filter(|r| r.ttl != first).min_by_key(|r| r.seq);
            if let Some(r) = odd {
                let min = g.iter().map(|r| r.ttl).min().unwrap_or(0);
                notes.push(r.src, || {
                    alloc::format!(
                        "{} {}: TTL {} differs from {first} of the RRset's first record; \
                         all are served with {min} (RFC 2181 5.2)",
                        owner(),
                        t(),
                        r.ttl
                    )
                });
            }
            for w in g.windows(2).filter(|w| rd(&w[0]) == rd(&w[1])) {
                let dup = if w[0].seq > w[1].seq { &w[0] } else { &w[1] };
                notes.push(dup.src, || {
                    alloc::format!("{} {}: duplicate record, one copy kept", owner(), t())
                });
            }
        }
    }

    /// One block for the owner of relative wire form `wire` and relative
    /// key `key`: RRsets by type, RDATAs in wire order without duplicates,
    /// each RRset with its smallest TTL (RFC 2181 5.2) and the place of its
    /// first record. None when no record is left. Clears the records.
    fn encode(&mut self, wire: &[u8], key: &[u8]) -> Option<&[u8]> {
        if self.recs.is_empty() {
            self.data.clear();
            return None;
        }
        self.sort();
        let data = &self.data;
        let rd = |r: &Rec| &data[r.at as usize..(r.at + r.len) as usize];
        let out = &mut self.out;
        out.clear();
        out.push(wire.len() as u8);
        out.extend_from_slice(&(key.len() as u16).to_le_bytes());
        out.extend_from_slice(wire);
        out.extend_from_slice(key);
        let recs = &self.recs;
        let mut i = 0;
        while i < recs.len() {
            let t = recs[i].rtype;
            let j = i + recs[i..]
                .iter()
                .take_while(|r| same_set(data, &recs[i], r))
                .count();
            let group = &recs[i..j];
            let ttl = group.iter().map(|r| r.ttl).min().unwrap_or(0);
            let src = group
                .iter()
                .min_by_key(|r| r.seq)
                .map_or(Src::default(), |r| r.src);
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&ttl.to_le_bytes());
            out.extend_from_slice(&src.file.to_le_bytes());
            out.extend_from_slice(&src.line.to_le_bytes());
            out.extend_from_slice(&src.col.to_le_bytes());
            let mut n: u32 = 0;
            let mut last: Option<&[u8]> = None;
            for r in group {
                let d = rd(r);
                if last != Some(d) {
                    last = Some(d);
                    n += 1;
                }
            }
            put_count(out, n);
            let mut last: Option<&[u8]> = None;
            for r in group {
                let d = rd(r);
                if last == Some(d) {
                    continue;
                }
                last = Some(d);
                out.extend_from_slice(&(d.len() as u16).to_le_bytes());
                out.extend_from_slice(d);
            }
            i = j;
        }
        self.recs.clear();
        self.data.clear();
        Some(&self.out[..])
    }
}

/// Nodes per part of a [`ZoneBuilder`]'s list: one list doubling as it
/// grows copied 8 MiB at once near 1,000,000 names, in the middle of a
/// transfer whose primary waits on our TCP window (Knot gives up after
/// 500 ms without taking a message; on a loaded host such a copy and its
/// fresh pages took longer). Parts never move; `finish` joins them.
const PART: usize = 1 << 16;

/// Builds a zone from records in any order. Records of one owner that
/// follow each other (the usual master file) are assembled in place; the
/// nodes are sorted once at the end.
pub struct ZoneBuilder {
    origin: Name,
    okey: Vec<u8>,
    arena: Arena,
    /// The nodes so far, in parts of [`PART`] (see there).
    nodes: Vec<Vec<Slot>>,
    /// The owner being assembled: wire and key (whole).
    wire: Vec<u8>,
    key: Vec<u8>,
    open: bool,
    p: Pending,
    /// Duplicates and TTL differences found (warnings).
    notes: Notes,
}

impl ZoneBuilder {
    pub fn new(origin: Name) -> ZoneBuilder {
        ZoneBuilder {
            okey: origin.key().to_vec(),
            origin,
            arena: Arena::default(),
            nodes: Vec::new(),
            wire: Vec::new(),
            key: Vec::new(),
            open: false,
            p: Pending::default(),
            notes: Notes::default(),
        }
    }

    /// Add one record (left out unless its owner is at or below the apex).
    /// False, and nothing added, when the RDATA is longer than 65535 octets
    /// (RFC 1035 3.2.1).
    pub fn add(&mut self, name: &Name, rtype: u16, ttl: u32, rdata: &[u8], src: Src) -> bool {
        let w = name.wire();
        if !(self.open && self.wire.len() == w.len() && self.wire.eq_ignore_ascii_case(w)) {
            self.flush();
            self.wire.clear();
            self.wire.extend_from_slice(w);
            name.key_into(&mut self.key);
            self.open = true;
        }
        self.p.push(rtype, ttl, src, rdata)
    }

    fn flush(&mut self) {
        if !core::mem::take(&mut self.open) {
            return;
        }
        match rel(&self.wire, &self.key, &self.origin, &self.okey) {
            Some((w, k)) => {
                let whole = &self.wire;
                let owner = || Name::from_wire(whole).unwrap_or_else(Name::root);
                self.p.lint(&owner, &mut self.notes);
                if let Some(b) = self.p.encode(w, k) {
                    let at = self.arena.push(b);
                    // The first part grows as usual (small zones stay
                    // small); the next ones are made whole.
                    match self.nodes.last().map(Vec::len) {
                        None => self.nodes.push(Vec::new()),
                        Some(PART) => self.nodes.push(Vec::with_capacity(PART)),
                        Some(_) => {}
                    }
                    let part = self.nodes.last_mut().expect("a part with room");
                    part.push(Slot::new(k, at));
                }
            }
            None => self.p.clear(),
        }
    }

    pub fn finish(self) -> Zone {
        self.finish_noted().0
    }

    /// [`ZoneBuilder::finish`], with the duplicates and TTL differences
    /// found (warnings).
    pub fn finish_noted(mut self) -> (Zone, Notes) {
        self.flush();
        let parts = core::mem::take(&mut self.nodes);
        let mut nodes = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for p in parts {
            nodes.extend_from_slice(&p);
        }
        let arena = &mut self.arena;
        // Stable: blocks of one owner keep their order of arrival. Merged
        // in place, so the list is never held twice.
        nodes.sort_by(|a, b| {
            a.pre
                .cmp(&b.pre)
                .then_with(|| arena.key(a.at).cmp(arena.key(b.at)))
        });
        let mut kept = 0;
        for i in 0..nodes.len() {
            if kept > 0 && arena.key(nodes[kept - 1].at) == arena.key(nodes[i].at) {
                let (a, b) = (nodes[kept - 1].at, nodes[i].at);
                let (va, vb) = (
                    Node {
                        b: arena.get(a),
                        apex: &self.origin,
                    },
                    Node {
                        b: arena.get(b),
                        apex: &self.origin,
                    },
                );
                self.p.load(va);
                self.p.load(vb);
                self.p.lint(&|| va.name(), &mut self.notes);
                let (wire, key) = (va.rel_wire().to_vec(), va.key().to_vec());
                if let Some(m) = self.p.encode(&wire, &key) {
                    nodes[kept - 1].at = arena.push(m);
                }
                arena.drop_block(a);
                arena.drop_block(b);
            } else {
                nodes.swap(kept, i);
                kept += 1;
            }
        }
        nodes.truncate(kept);
        nodes.shrink_to_fit();
        let mut z = Zone {
            okey: self.okey,
            origin: self.origin,
            arena: self.arena,
            nodes,
            index: NameIndex::default(),
            nsec3: Nsec3Owners::default(),
        };
        z.tidy();
        if !z.index.built() {
            z.reindex();
        }
        (z, self.notes)
    }
}

/// The relative wire form and key of a name (whole `wire` and `key`) at or
/// below the apex `origin` of key `okey`; None elsewhere.
fn rel<'a>(
    wire: &'a [u8],
    key: &'a [u8],
    origin: &Name,
    okey: &[u8],
) -> Option<(&'a [u8], &'a [u8])> {
    let k = key.strip_prefix(okey)?;
    let w = &wire[..wire.len().checked_sub(origin.wire().len())?];
    Some((w, k))
}

/// A node saved by [`Zone::save`]: its key within the zone and its block
/// (None: there was no node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    key: Vec<u8>,
    block: Option<Vec<u8>>,
}

impl Saved {
    /// The node's key within the zone (empty at the apex).
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

/// A zone: its apex and its nodes.
pub struct Zone {
    /// The apex (never changed once built: nodes are relative to it).
    pub origin: Name,
    okey: Vec<u8>,
    arena: Arena,
    /// The nodes' blocks, sorted by key, one per key.
    nodes: Vec<Slot>,
    /// The same blocks by hash of their key, for exact lookups.
    index: NameIndex,
    /// The NSEC3 owners, in order (empty without NSEC3).
    nsec3: Nsec3Owners,
}

impl Clone for Zone {
    /// A compact copy: the live blocks, in order.
    fn clone(&self) -> Zone {
        let mut arena = Arena::default();
        let nodes = self
            .nodes
            .iter()
            .map(|s| Slot {
                pre: s.pre,
                at: arena.push(self.arena.get(s.at)),
            })
            .collect();
        let mut z = Zone {
            origin: self.origin.clone(),
            okey: self.okey.clone(),
            arena,
            nodes,
            index: NameIndex::default(),
            nsec3: Nsec3Owners::default(),
        };
        z.reindex();
        z
    }
}

impl PartialEq for Zone {
    /// Same apex and the same nodes (owner case and `src` aside).
    fn eq(&self, o: &Zone) -> bool {
        self.origin == o.origin && self.nodes.len() == o.nodes.len() && self.nodes().eq(o.nodes())
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Zone")
            .field("origin", &self.origin)
            .field("nodes", &self.nodes().collect::<Vec<_>>())
            .finish()
    }
}

impl Zone {
    /// Build from records (no checks: see [`super::check`]). Duplicate
    /// RDATAs collapse; an RRset takes the smallest TTL given (RFC 2181 5.2).
    /// Records outside the zone are left out.
    pub fn from_records(origin: Name, records: &[Record]) -> Zone {
        let mut b = ZoneBuilder::new(origin);
        for r in records {
            b.add(
                &r.name,
                r.rtype,
                r.ttl,
                &r.rdata,
                Src::new(r.file, r.line, r.col),
            );
        }
        b.finish()
    }

    /// As [`Zone::from_records`], consuming the records.
    pub fn from_owned_records(origin: Name, records: Vec<Record>) -> Zone {
        Zone::from_records(origin, &records)
    }

    /// Where the node of relative key `k` is, or would go.
    fn find(&self, k: &[u8]) -> Result<usize, usize> {
        let kp = prefix(k);
        self.nodes.binary_search_by(|s| self.cmp_slot(s, k, kp))
    }

    /// The key of slot `s` against key `k` of prefix `kp`.
    #[inline]
    fn cmp_slot(&self, s: &Slot, k: &[u8], kp: u32) -> core::cmp::Ordering {
        s.pre.cmp(&kp).then_with(|| self.arena.key(s.at).cmp(k))
    }

    /// Build the hash index over the nodes as they are.
    fn reindex(&mut self) {
        let arena = &self.arena;
        self.index = NameIndex::build(self.nodes.iter().map(|s| s.at), |r| arena.key(r));
        let owners = self.nodes.iter().map(|s| s.at);
        let owners = owners.filter(|&r| self.view(r).is_nsec3_owner()).collect();
        self.nsec3 = Nsec3Owners::from_sorted(owners);
    }

    fn view(&self, r: u32) -> Node<'_> {
        Node {
            b: self.arena.get(r),
            apex: &self.origin,
        }
    }

    /// Compact the arena once garbage is most of it.
    fn tidy(&mut self) {
        if self.arena.dead > CHUNK && self.arena.dead * 2 > self.arena.used {
            *self = self.clone();
        }
    }

    /// The key of a whole key within this zone, as [`Node::key`] (None
    /// outside it).
    pub fn rel_key<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        key.strip_prefix(&self.okey[..])
    }

    /// Decode the node at `name` (or start an empty one when `create`),
    /// let `f` edit its records, store the result (none left: removed).
    /// Names outside the zone are not changed.
    fn edit(&mut self, name: &Name, create: bool, f: impl FnOnce(&mut Pending)) {
        let key = name.key();
        let Some((wire, k)) = rel(name.wire(), &key, &self.origin, &self.okey) else {
            return;
        };
        let mut p = Pending::default();
        let at = self.find(k);
        let wire = match at {
            Ok(i) => {
                let old = self.view(self.nodes[i].at);
                p.load(old);
                old.rel_wire().to_vec()
            }
            Err(_) if create => wire.to_vec(),
            Err(_) => return,
        };
        f(&mut p);
        let new = p.encode(&wire, k).map(|b| self.arena.push(b));
        self.put(k, at, new);
    }

    /// The node at `name` as it is now (or its absence), to look at or put
    /// back after edits ([`Zone::restore`]). None outside the zone.
    pub fn save(&self, name: &Name) -> Option<Saved> {
        let key = name.key();
        let (_, k) = rel(name.wire(), &key, &self.origin, &self.okey)?;
        let block = self
            .find(k)
            .ok()
            .map(|i| self.arena.get(self.nodes[i].at).to_vec());
        Some(Saved {
            key: k.to_vec(),
            block,
        })
    }

    /// A saved node as it was.
    pub fn saved_node<'a>(&'a self, s: &'a Saved) -> Option<Node<'a>> {
        s.block.as_deref().map(|b| Node {
            b,
            apex: &self.origin,
        })
    }

    /// The node now at the key of `s`.
    pub fn current(&self, s: &Saved) -> Option<Node<'_>> {
        self.find(&s.key).ok().map(|i| self.view(self.nodes[i].at))
    }

    /// Is the node of `s` now as it was saved?
    pub fn unchanged(&self, s: &Saved) -> bool {
        self.current(s) == self.saved_node(s)
    }

    /// Put a saved node back as it was.
    pub fn restore(&mut self, s: &Saved) {
        let k = &s.key[..];
        let at = self.find(k);
        let new = s.block.as_deref().map(|b| self.arena.push(b));
        self.put(k, at, new);
    }

    /// Make block `new` (None: no node) the node of key `k`, which [`Zone::find`]
    /// gave `at`: the slot and the index follow, the old block is garbage.
    fn put(&mut self, k: &[u8], at: Result<usize, usize>, new: Option<u32>) {
        let old = at.ok().map(|i| self.nodes[i].at);
        let arena = &self.arena;
        let key_of = |r| arena.key(r);
        match (at, new) {
            (Ok(i), Some(r)) => {
                self.index.replace(k, r, key_of);
                self.nodes[i].at = r;
            }
            (Ok(i), None) => {
                self.index.remove(k, key_of);
                self.nodes.remove(i);
            }
            (Err(i), Some(r)) => {
                self.index.insert(k, r, key_of);
                self.nodes.insert(i, Slot::new(k, r));
            }
            (Err(_), None) => {}
        }
        if !self.nsec3.is_empty() || new.is_some_and(|r| self.view(r).is_nsec3_owner()) {
            let owner = new.filter(|&r| self.view(r).is_nsec3_owner());
            let arena = &self.arena;
            self.nsec3.set(k, owner, |r| arena.key(r));
        }
        if let Some(r) = old {
            self.arena.drop_block(r);
        }
        self.tidy();
    }

    /// Replace (or create) the RRset of `rtype` at `name`.
    /// False, and nothing changed, when an RDATA is longer than 65535
    /// octets.
    pub fn replace_rrset(&mut self, name: &Name, rtype: u16, ttl: u32, rdatas: &[&[u8]]) -> bool {
        if rdatas.iter().any(|rd| rd.len() > crate::rdata::MAX_RDATA) {
            return false;
        }
        self.edit(name, true, |p| {
            p.retain(|t, _| t != rtype);
            for rd in rdatas {
                p.push(rtype, ttl, Src::default(), rd);
            }
        });
        true
    }

    /// Add one RR (an existing equal RDATA keeps one copy; the RRset takes
    /// the new TTL). `single`: the RRset holds one RR (CNAME replaces).
    /// False, and nothing changed, when the RDATA is longer than 65535
    /// octets.
    pub fn add_rr(
        &mut self,
        name: &Name,
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
        single: bool,
    ) -> bool {
        if rdata.len() > crate::rdata::MAX_RDATA {
            return false;
        }
        self.edit(name, true, |p| {
            let data = &p.data;
            let src = p
                .recs
                .iter()
                .filter(|r| in_set(data, r, rtype, rdata))
                .min_by_key(|r| r.seq)
                .map_or(Src::default(), |r| r.src);
            if single {
                p.retain(|t, _| t != rtype);
            }
            let data = &p.data;
            for r in p.recs.iter_mut().filter(|r| in_set(data, r, rtype, rdata)) {
                r.ttl = ttl;
            }
            p.push(rtype, ttl, src, rdata);
        });
        true
    }

    /// Make the node at `name` hold exactly `rrs` (type, TTL, RDATA),
    /// RRSIGs included; none: the node goes. A signer writes the names it
    /// changed this way (issue 26).
    pub fn replace_node(&mut self, name: &Name, rrs: &[(u16, u32, &[u8])]) {
        self.edit(name, true, |p| {
            p.clear();
            for &(t, ttl, rd) in rrs {
                p.push(t, ttl, Src::default(), rd);
            }
        });
    }

    /// Delete every RRset at `name` except the types in `keep`.
    pub fn delete_name(&mut self, name: &Name, keep: &[u16]) {
        self.edit(name, false, |p| p.retain(|t, _| keep.contains(&t)));
    }

    /// Delete the RRset of `rtype` at `name`.
    pub fn delete_rrset(&mut self, name: &Name, rtype: u16) {
        self.edit(name, false, |p| p.retain(|t, _| t != rtype));
    }

    /// Delete one RR.
    pub fn delete_rr(&mut self, name: &Name, rtype: u16, rdata: &[u8]) {
        self.edit(name, false, |p| p.retain(|t, r| t != rtype || r != rdata));
    }

    /// Set the SOA serial.
    pub fn set_serial(&mut self, serial: u32) -> Option<()> {
        let rd = self.soa()?.rdatas.first()?;
        let mut r = crate::wire::Reader::new(rd);
        r.name().ok()?;
        r.name().ok()?;
        let at = r.pos();
        rd.get(at..at + 4)?;
        let origin = self.origin.clone();
        self.edit(&origin, false, |p| {
            if let Some(soa) = p.recs.iter().find(|r| r.rtype == rtype::SOA).copied() {
                let at = soa.at as usize + at;
                p.data[at..at + 4].copy_from_slice(&serial.to_be_bytes());
            }
        });
        Some(())
    }

    /// The last node whose [`Node::key`] sorts before `k` (a key within
    /// the zone): the owner of the NSEC that may cover `k` (RFC 4034 6.1).
    pub fn node_before(&self, k: &[u8]) -> Option<Node<'_>> {
        let kp = prefix(k);
        let i = self
            .nodes
            .partition_point(|s| self.cmp_slot(s, k, kp).is_lt());
        i.checked_sub(1).map(|i| self.view(self.nodes[i].at))
    }

    /// The NSEC3 owner of [`Node::key`] `k`, or the one before it in the
    /// circular chain: the NSEC3 that matches or covers a hash (RFC 5155
    /// 7.2). None when the zone has no NSEC3.
    pub fn nsec3_at_or_before(&self, k: &[u8]) -> Option<Node<'_>> {
        let arena = &self.arena;
        let r = self.nsec3.at_or_before(k, |r| arena.key(r))?;
        Some(self.view(r))
    }

    /// The node at exactly `name`.
    pub fn node(&self, name: &Name) -> Option<Node<'_>> {
        self.node_by_key(&name.key())
    }

    /// The node whose canonical key is `key` (whole, as [`Name::key`]).
    pub fn node_by_key(&self, key: &[u8]) -> Option<Node<'_>> {
        let k = self.rel_key(key)?;
        let at = self.index.get(k, |r| self.arena.key(r))?;
        Some(self.view(at))
    }

    /// True when some node lies strictly below `name` (so `name` exists,
    /// possibly as an empty non-terminal, RFC 4592 2.2.2).
    pub fn has_descendants(&self, name: &Name) -> bool {
        self.has_descendants_key(&name.key())
    }

    /// [`Zone::has_descendants`] by canonical key.
    pub fn has_descendants_key(&self, k: &[u8]) -> bool {
        let Some(k) = self.rel_key(k) else {
            // Above the apex: every node is below.
            return self.okey.starts_with(k) && !self.nodes.is_empty();
        };
        // The first key after `k` is below it when anything is.
        let kp = prefix(k);
        let next = self
            .nodes
            .partition_point(|s| self.cmp_slot(s, k, kp).is_le());
        self.nodes.get(next).is_some_and(|s| {
            let key = self.arena.key(s.at);
            key.starts_with(k) && key.len() > k.len()
        })
    }

    /// The SOA RRset of the apex.
    pub fn soa(&self) -> Option<RRset<'_>> {
        self.node(&self.origin)?.get(rtype::SOA)
    }

    /// The SOA serial.
    pub fn serial(&self) -> Option<u32> {
        let rd = self.soa()?.rdatas.first()?;
        let mut r = crate::wire::Reader::new(rd);
        r.name().ok()?;
        r.name().ok()?;
        r.u32().ok()
    }

    /// Every node in canonical order.
    pub fn nodes(&self) -> impl Iterator<Item = Node<'_>> {
        self.nodes.iter().map(|s| self.view(s.at))
    }

    /// The nodes from [`Node::key`] `key` on (that node included).
    pub fn nodes_from(&self, key: &[u8]) -> impl Iterator<Item = Node<'_>> {
        let kp = prefix(key);
        let from = self
            .nodes
            .partition_point(|s| self.cmp_slot(s, key, kp).is_lt());
        self.nodes[from..].iter().map(|s| self.view(s.at))
    }

    /// Number of nodes (owner names with data).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of RRs.
    pub fn record_count(&self) -> usize {
        self.nodes()
            .flat_map(|n| n.rrsets())
            .map(|s| s.rdatas.len())
            .sum()
    }

    /// The closest delegation (NS below the apex) at or above `name`, if any.
    pub fn delegation_above(&self, name: &Name) -> Option<Node<'_>> {
        self.delegation_above_key(&name.key(), name.label_count())
    }

    /// [`Zone::delegation_above`] for the name of canonical key `key`
    /// with `labels` labels.
    pub fn delegation_above_key(&self, key: &[u8], labels: usize) -> Option<Node<'_>> {
        let depth = self.origin.label_count();
        (depth + 1..=labels).find_map(|k| {
            self.node_by_key(Name::key_prefix(key, k))
                .filter(|node| node.get(rtype::NS).is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parser::parse_str;

    #[test]
    fn nodes_and_empty_non_terminals() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let p = parse_str("z", "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n@ NS ns\nns A 192.0.2.1\na.b.c A 192.0.2.2\nd NS ns.other.\nx.d A 192.0.2.3\n", &o).unwrap();
        let z = Zone::from_records(o.clone(), &p.records);
        let n = |s: &str| Name::parse(s, &o).unwrap();
        assert_eq!(z.serial(), Some(7));
        assert!(z.node(&n("b.c")).is_none());
        assert!(z.has_descendants(&n("b.c")), "empty non-terminal");
        assert!(z.has_descendants(&n("c")));
        assert!(!z.has_descendants(&n("a.b.c")));
        assert!(!z.has_descendants(&n("ns")));
        assert!(z.has_descendants(&o));
        assert_eq!(z.delegation_above(&n("x.d")).unwrap().name(), n("d"));
        assert!(z.delegation_above(&n("ns")).is_none());
        assert!(z.delegation_above(&o).is_none());
        assert_eq!(z.record_count(), 6);
    }

    #[test]
    fn a_builder_past_one_part_of_nodes_keeps_them_all_in_order() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let mut b = ZoneBuilder::new(o.clone());
        let n = PART as u32 + 1000;
        // Backwards, and one owner again after the first part filled.
        for i in (0..n).rev() {
            let name = Name::parse(&alloc::format!("h{i}"), &o).unwrap();
            b.add(&name, crate::rtype::A, 60, &i.to_be_bytes(), Src::default());
        }
        let h7 = Name::parse("h7", &o).unwrap();
        b.add(&h7, crate::rtype::A, 60, &[192, 0, 2, 7], Src::default());
        let z = b.finish();
        assert_eq!(z.node_count(), n as usize);
        assert_eq!(z.record_count(), n as usize + 1);
        assert_eq!(
            z.node(&h7)
                .unwrap()
                .get(crate::rtype::A)
                .unwrap()
                .rdatas
                .len(),
            2
        );
        let last = Name::parse(&alloc::format!("h{}", n - 1), &o).unwrap();
        assert!(z.node(&last).is_some());
        let keys: Vec<Vec<u8>> = z.nodes().map(|v| v.key().to_vec()).collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "sorted, one per owner"
        );
    }

    #[test]
    fn records_merge_sort_and_dedupe_in_any_order() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let text = "$TTL 60\n@ SOA ns hm 7 2 3 4 5\nWWW 90 A 192.0.2.9\nns A 192.0.2.1\n@ NS ns\nwww 30 A 192.0.2.2\nwww TXT x\nwww A 192.0.2.9\n";
        let p = parse_str("z", text, &o).unwrap();
        let z = Zone::from_records(o.clone(), &p.records);
        let www = z.node(&Name::parse("www", &o).unwrap()).unwrap();
        assert_eq!(
            www.name().wire()[1],
            b'W',
            "the first spelling of the owner"
        );
        assert!(www.name_is(&Name::parse("wWw", &o).unwrap()));
        assert!(!www.name_is(&Name::parse("www.x", &o).unwrap()));
        assert_eq!(www.key(), b"www\0", "keys are relative to the apex");
        let sets: Vec<RRset> = www.rrsets().collect();
        assert_eq!(sets.len(), 2);
        assert_eq!(
            (sets[0].rtype, sets[0].ttl, sets[0].src),
            (rtype::A, 30, Src::new(0, 3, 1))
        );
        assert_eq!(
            sets[0].rdatas.to_vec(),
            [[192, 0, 2, 2].to_vec(), [192, 0, 2, 9].to_vec()]
        );
        assert_eq!(sets[1].rtype, rtype::TXT);
        assert_eq!(z.node_count(), 3);
        assert_eq!(z.record_count(), 6);
        // The same records in another order make the same zone.
        let mut rev = p.records.clone();
        rev.reverse();
        assert_eq!(Zone::from_records(o.clone(), &rev), z);
    }

    #[test]
    fn edits_keep_one_canonical_form() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let p = parse_str(
            "z",
            "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n",
            &o,
        )
        .unwrap();
        let mut z = Zone::from_records(o.clone(), &p.records);
        let ns = Name::parse("ns", &o).unwrap();
        z.add_rr(&ns, rtype::A, 30, &[192, 0, 2, 0], false);
        z.add_rr(&ns, rtype::A, 30, &[192, 0, 2, 0], false);
        let a = z.node(&ns).unwrap().get(rtype::A).unwrap();
        assert_eq!((a.ttl, a.rdatas.len()), (30, 2));
        assert_eq!(a.rdatas.first(), Some(&[192, 0, 2, 0][..]));
        assert_eq!(a.src, Src::new(0, 4, 1), "an RRset keeps where it was read");
        z.delete_rr(&ns, rtype::A, &[192, 0, 2, 0]);
        z.delete_rr(&ns, rtype::A, &[192, 0, 2, 1]);
        assert!(z.node(&ns).is_none(), "a node without RRsets goes");
        z.set_serial(9).unwrap();
        assert_eq!(z.serial(), Some(9));
        z.replace_rrset(&ns, rtype::AAAA, 5, &[&[0; 16]]);
        assert_eq!(z.node(&ns).unwrap().get(rtype::AAAA).unwrap().ttl, 5);
        z.delete_name(&o, &[rtype::SOA]);
        assert!(z.node(&o).unwrap().get(rtype::NS).is_none());
        assert_eq!(z.serial(), Some(9));
        // New names go to their place in canonical order.
        for n in ["z", "a", "m.q", "b", "q"] {
            z.add_rr(
                &Name::parse(n, &o).unwrap(),
                rtype::A,
                1,
                &[1, 2, 3, 4],
                false,
            );
        }
        z.delete_rrset(&Name::parse("b", &o).unwrap(), rtype::A);
        let keys: Vec<&[u8]> = z.nodes().map(|n| n.key()).collect();
        let want: [&[u8]; 6] = [b"", b"a\0", b"ns\0", b"q\0", b"q\0m\0", b"z\0"];
        assert_eq!(keys, want);
        assert!(z.has_descendants(&Name::parse("q", &o).unwrap()));
        assert!(!z.has_descendants(&Name::parse("m.q", &o).unwrap()));
        assert!(z.has_descendants(&Name::parse("org.", &o).unwrap()));
        assert!(!z.has_descendants(&Name::parse("other.", &o).unwrap()));
        let from: Vec<&[u8]> = z.nodes_from(b"p").map(|n| n.key()).collect();
        assert_eq!(from, want[3..]);
        // Names outside the zone are never held.
        z.add_rr(
            &Name::parse("x.other.", &o).unwrap(),
            rtype::A,
            1,
            &[1, 2, 3, 4],
            false,
        );
        assert_eq!(z.node_count(), 6);
    }

    #[test]
    fn blocks_across_chunks_big_blocks_and_garbage() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let mut text = alloc::string::String::from("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n");
        for i in 0..5000 {
            text.push_str(&alloc::format!("h{i} A 10.0.{}.{}\n", i / 256, i % 256));
        }
        // One RRset of 400 x 200 octets: a block larger than a chunk.
        for i in 0..400 {
            text.push_str(&alloc::format!("big TXT \"{i:0200}\"\n"));
        }
        let p = parse_str("z", &text, &o).unwrap();
        let z = Zone::from_records(o.clone(), &p.records);
        assert!(z.arena.chunks.len() > 2);
        assert_eq!(z.record_count(), 2 + 5000 + 400);
        let big = Name::parse("big", &o).unwrap();
        assert_eq!(
            z.node(&big).unwrap().get(rtype::TXT).unwrap().rdatas.len(),
            400
        );
        assert!(
            z.arena
                .get(z.find(b"big\0").map(|i| z.nodes[i].at).unwrap())
                .len()
                > CHUNK
        );
        // Edits leave garbage; the arena is compacted before it dominates.
        let mut e = z.clone();
        for round in 0..40u8 {
            for i in 0..5000 {
                let n = Name::parse(&alloc::format!("h{i}"), &o).unwrap();
                e.add_rr(&n, rtype::TXT, 60, &[1, round], false);
                e.delete_rrset(&n, rtype::TXT);
            }
        }
        assert!(e == z);
        assert!(e.arena.dead * 2 <= e.arena.used.max(2 * CHUNK));
        let c = e.clone();
        assert!(c == z);
        assert_eq!((c.arena.dead, c.node_count()), (0, 5002));
    }

    #[test]
    fn rdata_lengths_are_checked_where_they_are_written() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let www = Name::parse("www", &o).unwrap();
        let (max, over) = (alloc::vec![7u8; 65535], alloc::vec![7u8; 65536]);
        let mut b = ZoneBuilder::new(o.clone());
        assert!(b.add(&www, 65280, 60, &max, Src::default()));
        assert!(!b.add(&www, 65281, 60, &over, Src::default()));
        let mut z = b.finish();
        let node = z.node(&www).unwrap();
        assert_eq!(node.get(65280).unwrap().rdatas.first(), Some(&max[..]));
        assert!(node.get(65281).is_none());
        assert!(!z.add_rr(&www, 65282, 60, &over, false));
        assert!(!z.replace_rrset(&www, 65282, 60, &[&max, &over]));
        assert!(z.add_rr(&www, 65282, 60, &max, false));
        assert_eq!(z.node(&www).unwrap().rrsets().count(), 2);
    }

    #[test]
    fn the_hash_index_follows_every_edit() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let p = parse_str(
            "z",
            "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n",
            &o,
        )
        .unwrap();
        let mut z = Zone::from_records(o.clone(), &p.records);
        let n = |i: u32| Name::parse(&alloc::format!("H{i}.x"), &o).unwrap();
        // Add 3000 names (the index grows several times), move some (a
        // second RRset rewrites the block), delete every third.
        for i in 0..3000 {
            z.add_rr(&n(i), rtype::A, 60, &i.to_be_bytes(), false);
        }
        for i in (0..3000).step_by(7) {
            z.add_rr(&n(i), rtype::TXT, 60, &[1, b'x'], false);
        }
        for i in (0..3000).step_by(3) {
            z.delete_name(&n(i), &[]);
        }
        for i in 0..3000 {
            let found = z.node(&n(i));
            assert_eq!(found.is_some(), i % 3 != 0, "H{i}.x");
            if let Some(node) = found {
                assert!(node.get(rtype::A).is_some());
                assert_eq!(node.get(rtype::TXT).is_some(), i % 7 == 0);
            }
        }
        // Every node in order is found through the index, by any case.
        for node in z.nodes() {
            let upper =
                Name::parse(&node.name().to_text().to_ascii_uppercase(), &Name::root()).unwrap();
            assert!(z.node(&upper).is_some(), "{}", node.name());
        }
        // The empty non-terminal "x" is no node.
        assert!(z.node(&Name::parse("x", &o).unwrap()).is_none());
        assert_eq!(z.index.len, z.node_count());
    }

    #[test]
    fn key_prefixes_order_as_the_keys() {
        let o = Name::root();
        let mut keys: Vec<Vec<u8>> = [
            "a", "a.a", "b.a", "ab", "abcd", "abcde", "abc", "\\000", "\\001.x", "z.y.x",
        ]
        .iter()
        .map(|t| Name::parse(t, &o).unwrap().key().to_vec())
        .collect();
        keys.push(Vec::new());
        keys.sort();
        for w in keys.windows(2) {
            assert!(prefix(&w[0]) <= prefix(&w[1]), "{w:?}");
        }
    }
}
