//! Domain names (RFC 1035 3.1): uncompressed wire form, text form with
//! `\DDD` and `\.` escapes, case-insensitive comparison, and a key whose
//! byte order is the canonical DNS order (RFC 4034 6.1) so that a zone's
//! names sit in a `BTreeMap` with every subtree contiguous.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use smallvec::SmallVec;

/// Longest name in wire form (RFC 1035 2.3.4).
pub const MAX_WIRE: usize = 255;
/// Longest label.
pub const MAX_LABEL: usize = 63;

/// Name bytes kept inline (no heap allocation): 56 covers nearly every
/// name a query carries; a longer one spills to the heap. 64 bytes in all.
const INLINE: usize = 56;

/// A fully qualified name in uncompressed wire form, case preserved.
#[derive(Clone)]
pub struct Name {
    wire: SmallVec<[u8; INLINE]>,
}

/// A canonical key ([`Name::key`]), inline up to 64 bytes.
pub type Key = SmallVec<[u8; 64]>;

/// Longest key: every byte of a 255-byte name escaped (two bytes each).
const MAX_KEY: usize = 2 * MAX_WIRE;

/// Why a name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    EmptyLabel,
    LabelTooLong,
    NameTooLong,
    BadEscape,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::EmptyLabel => "empty label",
            NameError::LabelTooLong => "label longer than 63 octets",
            NameError::NameTooLong => "name longer than 255 octets",
            NameError::BadEscape => "bad escape (\\DDD needs three digits up to 255)",
        })
    }
}

impl Name {
    /// The root name.
    pub fn root() -> Name {
        Name {
            wire: smallvec::smallvec![0],
        }
    }

    /// From uncompressed wire form (validated).
    pub fn from_wire(wire: &[u8]) -> Option<Name> {
        let mut i = 0;
        loop {
            let len = *wire.get(i)? as usize;
            if len > MAX_LABEL {
                return None;
            }
            i += 1 + len;
            if len == 0 {
                break;
            }
        }
        (i == wire.len() && i <= MAX_WIRE).then(|| Name {
            wire: SmallVec::from_slice(wire),
        })
    }

    /// From labels (each 1..=63 octets), root last implicitly.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Result<Name, NameError> {
        let mut wire = SmallVec::new();
        for l in labels {
            if l.is_empty() {
                return Err(NameError::EmptyLabel);
            }
            if l.len() > MAX_LABEL {
                return Err(NameError::LabelTooLong);
            }
            wire.push(l.len() as u8);
            wire.extend_from_slice(l);
        }
        wire.push(0);
        if wire.len() > MAX_WIRE {
            return Err(NameError::NameTooLong);
        }
        Ok(Name { wire })
    }

    /// Parse text: absolute when it ends in an unescaped `.`, otherwise
    /// relative to `origin`. `@` is the origin.
    pub fn parse(text: &str, origin: &Name) -> Result<Name, NameError> {
        if text == "@" {
            return Ok(origin.clone());
        }
        if text == "." {
            return Ok(Name::root());
        }
        let tail = if text.ends_with('.') {
            1
        } else {
            origin.wire.len()
        };
        let mut wire = SmallVec::with_capacity(text.len() + 1 + tail);
        let absolute = text_to_wire(text.as_bytes(), &mut wire)?;
        if absolute {
            wire.push(0);
        } else {
            wire.extend_from_slice(&origin.wire);
        }
        if wire.len() > MAX_WIRE {
            return Err(NameError::NameTooLong);
        }
        wire.shrink_to_fit();
        Ok(Name { wire })
    }

    /// Uncompressed wire form.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// Labels from the leftmost, without the root.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            wire: &self.wire,
            pos: 0,
        }
    }

    /// Number of labels, root excluded.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// True for the root.
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// The name without its leftmost label (root stays root).
    pub fn parent(&self) -> Name {
        if self.is_root() {
            return self.clone();
        }
        let skip = 1 + self.wire[0] as usize;
        Name {
            wire: SmallVec::from_slice(&self.wire[skip..]),
        }
    }

    /// The suffix made of the last `n` labels.
    pub fn suffix(&self, n: usize) -> Name {
        let total = self.label_count();
        let mut w = &self.wire[..];
        for _ in 0..total.saturating_sub(n) {
            w = &w[1 + w[0] as usize..];
        }
        Name {
            wire: SmallVec::from_slice(w),
        }
    }

    /// `*.` + self.
    pub fn wildcard_child(&self) -> Option<Name> {
        let mut wire: SmallVec<[u8; INLINE]> = smallvec::smallvec![1, b'*'];
        wire.extend_from_slice(&self.wire);
        (wire.len() <= MAX_WIRE).then_some(Name { wire })
    }

    /// Prepend the labels of `prefix` (relative: its root is dropped).
    pub fn prepend(&self, prefix: &Name) -> Option<Name> {
        let mut wire = SmallVec::from_slice(&prefix.wire[..prefix.wire.len() - 1]);
        wire.extend_from_slice(&self.wire);
        (wire.len() <= MAX_WIRE).then_some(Name { wire })
    }

    /// The labels of self in front of `suffix`, as a relative prefix name
    /// (None when self is not at or below suffix).
    pub fn strip_suffix(&self, suffix: &Name) -> Option<Name> {
        let (a, b) = (self.label_count(), suffix.label_count());
        if a < b || !self.is_at_or_below(suffix) {
            return None;
        }
        let mut cut = 0;
        for l in self.labels().take(a - b) {
            cut += 1 + l.len();
        }
        let mut wire = SmallVec::from_slice(&self.wire[..cut]);
        wire.push(0);
        Some(Name { wire })
    }

    /// True when self equals `other` or lies below it.
    pub fn is_at_or_below(&self, other: &Name) -> bool {
        let (a, b) = (self.label_count(), other.label_count());
        a >= b && self.suffix(b) == *other
    }

    /// The same name in lowercase.
    pub fn to_lowercase(&self) -> Name {
        let mut wire = self.wire.clone();
        let mut i = 0;
        while i < wire.len() {
            let len = wire[i] as usize;
            for b in &mut wire[i + 1..i + 1 + len] {
                b.make_ascii_lowercase();
            }
            i += 1 + len;
        }
        Name { wire }
    }

    /// Key in canonical order (RFC 4034 6.1): labels right to left,
    /// lowercased, each followed by 0x00, with 0x00/0x01 inside labels
    /// escaped as 0x01 0x01 / 0x01 0x02. A subtree's keys share a prefix.
    pub fn key(&self) -> Key {
        let mut buf = [0u8; MAX_KEY];
        let n = self.key_buf(&mut buf);
        Key::from_slice(&buf[..n])
    }

    /// [`Name::key`] into `k` (cleared first), reusing its buffer.
    pub fn key_into(&self, k: &mut Vec<u8>) {
        let mut buf = [0u8; MAX_KEY];
        let n = self.key_buf(&mut buf);
        k.clear();
        k.extend_from_slice(&buf[..n]);
    }

    /// Write the key into `buf`; its length. Built on the stack and copied
    /// once: pushing byte by byte into a vector cost ~700 instructions a
    /// key (callgrind, `bench query`).
    fn key_buf(&self, buf: &mut [u8; MAX_KEY]) -> usize {
        // Where each label starts (a name has at most 127 labels).
        let mut starts = [0u8; 128];
        let (mut n, mut i) = (0, 0);
        while self.wire[i] != 0 {
            starts[n] = i as u8;
            n += 1;
            i += 1 + self.wire[i] as usize;
        }
        let mut len = 0;
        for &at in starts[..n].iter().rev() {
            let at = at as usize;
            for &b in &self.wire[at + 1..at + 1 + self.wire[at] as usize] {
                // At most 2 bytes a name byte plus 1 a label: MAX_KEY holds
                // the longest name (253 bytes of labels).
                match b {
                    0 | 1 => {
                        buf[len] = 1;
                        buf[len + 1] = b + 1;
                        len += 2;
                    }
                    _ => {
                        buf[len] = b.to_ascii_lowercase();
                        len += 1;
                    }
                }
            }
            buf[len] = 0;
            len += 1;
        }
        len
    }

    /// The canonical key of the suffix of `labels` labels of the name whose
    /// key is `key` (a prefix of it: keys run right to left and 0x00 only
    /// ends a label), without building the suffix.
    pub fn key_prefix(key: &[u8], labels: usize) -> &[u8] {
        if labels == 0 {
            return &key[..0];
        }
        let mut seen = 0;
        for (i, &b) in key.iter().enumerate() {
            if b == 0 {
                seen += 1;
                if seen == labels {
                    return &key[..=i];
                }
            }
        }
        key
    }

    /// Text form, absolute (trailing dot), with escapes.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = fmt::write(&mut s, format_args!("{self}"));
        s
    }
}

/// Presentation text to length-prefixed labels appended to `wire` (no
/// root); returns whether the text was absolute. Errors as found left to
/// right, a label over 63 octets only once the text is otherwise valid.
fn text_to_wire(t: &[u8], wire: &mut SmallVec<[u8; INLINE]>) -> Result<bool, NameError> {
    let mut absolute = false;
    let mut too_long = false;
    let mut start = wire.len();
    wire.push(0);
    let mut len = 0usize;
    let mut i = 0;
    while i < t.len() {
        match t[i] {
            b'\\' => {
                let d = t.get(i + 1..i + 4);
                if let Some(d) = d.filter(|d| d.iter().all(u8::is_ascii_digit)) {
                    let v = (d[0] - b'0') as u32 * 100
                        + (d[1] - b'0') as u32 * 10
                        + (d[2] - b'0') as u32;
                    if v > 255 {
                        return Err(NameError::BadEscape);
                    }
                    wire.push(v as u8);
                    i += 4;
                } else if let Some(&c) = t.get(i + 1) {
                    if c.is_ascii_digit() {
                        return Err(NameError::BadEscape);
                    }
                    wire.push(c);
                    i += 2;
                } else {
                    return Err(NameError::BadEscape);
                }
                len += 1;
                continue;
            }
            b'.' => {
                if len == 0 {
                    return Err(NameError::EmptyLabel);
                }
                wire[start] = len.min(255) as u8;
                too_long |= len > MAX_LABEL;
                start = wire.len();
                wire.push(0);
                len = 0;
                if i + 1 == t.len() {
                    absolute = true;
                }
            }
            c => {
                wire.push(c);
                len += 1;
            }
        }
        i += 1;
    }
    if len > 0 {
        wire[start] = len.min(255) as u8;
        too_long |= len > MAX_LABEL;
    } else {
        wire.pop();
        if !absolute {
            return Err(NameError::EmptyLabel);
        }
    }
    if too_long {
        return Err(NameError::LabelTooLong);
    }
    Ok(absolute)
}

/// Iterator over the labels of a name.
pub struct Labels<'a> {
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.wire.get(self.pos)? as usize;
        if len == 0 {
            return None;
        }
        let l = self.wire.get(self.pos + 1..self.pos + 1 + len)?;
        self.pos += 1 + len;
        Some(l)
    }
}

impl PartialEq for Name {
    /// Case-insensitive (RFC 4343).
    fn eq(&self, other: &Name) -> bool {
        self.wire.len() == other.wire.len() && self.wire.eq_ignore_ascii_case(&other.wire)
    }
}

impl Eq for Name {}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        let special = |b: u8| {
            matches!(b, b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$')
                || !(0x21..=0x7e).contains(&b)
        };
        for l in self.labels() {
            // Most labels need no escape: one write for the whole label.
            if let (false, Ok(text)) = (l.iter().any(|&b| special(b)), core::str::from_utf8(l)) {
                f.write_str(text)?;
                f.write_str(".")?;
                continue;
            }
            for &b in l {
                match b {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        write!(f, "\\{}", b as char)?
                    }
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{b:03}")?,
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn key_prefixes_are_the_keys_of_suffixes() {
        let n = Name::parse("A.b\\000c.Example.ORG.", &Name::root()).unwrap();
        let key = n.key();
        for k in 0..=n.label_count() {
            assert_eq!(Name::key_prefix(&key, k), &n.suffix(k).key()[..], "{k}");
        }
    }

    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    #[test]
    fn text_round_trip_with_escapes() {
        let o = n("example.org.");
        assert_eq!(
            Name::parse("www", &o).unwrap().to_string(),
            "www.example.org."
        );
        assert_eq!(Name::parse("@", &o).unwrap(), o);
        let e = Name::parse("a\\.b\\032c\\\\.x.", &o).unwrap();
        assert_eq!(e.labels().next().unwrap(), b"a.b c\\");
        assert_eq!(e.to_string(), "a\\.b\\032c\\\\.x.");
        assert_eq!(Name::parse(&e.to_string(), &o).unwrap(), e);
    }

    #[test]
    fn bad_names() {
        let r = Name::root();
        assert_eq!(Name::parse("a..b.", &r), Err(NameError::EmptyLabel));
        assert_eq!(
            Name::parse(&"x".repeat(64), &r),
            Err(NameError::LabelTooLong)
        );
        let long = ["abcdefghij"; 30].join(".");
        assert_eq!(Name::parse(&long, &r), Err(NameError::NameTooLong));
        assert_eq!(Name::parse("a\\25", &r), Err(NameError::BadEscape));
        assert_eq!(Name::parse("a\\256", &r), Err(NameError::BadEscape));
        assert_eq!(Name::parse("", &r), Err(NameError::EmptyLabel));
        // A long label is reported only when nothing else is wrong.
        let long = "x".repeat(300);
        assert_eq!(
            Name::parse(&format!("{long}..a"), &r),
            Err(NameError::EmptyLabel)
        );
        assert_eq!(
            Name::parse(&format!("{long}.a\\"), &r),
            Err(NameError::BadEscape)
        );
        assert_eq!(Name::parse(&long, &r), Err(NameError::LabelTooLong));
        assert_eq!(Name::parse("a.b.", &r).unwrap().wire(), b"\x01a\x01b\x00");
        assert_eq!(Name::parse("a.", &n("x.")).unwrap().wire(), b"\x01a\x00");
        assert_eq!(
            Name::parse("a\\065", &n("x.")).unwrap().wire(),
            b"\x02aA\x01x\x00"
        );
    }

    #[test]
    fn relations() {
        let a = n("www.Example.ORG.");
        let z = n("example.org.");
        assert!(a.is_at_or_below(&z));
        assert!(!z.is_at_or_below(&a));
        assert_eq!(a.parent(), z);
        assert_eq!(a.suffix(1), n("org."));
        assert_eq!(a.strip_suffix(&z).unwrap().to_string(), "www.");
        assert_eq!(z.wildcard_child().unwrap(), n("*.example.org."));
        assert_eq!(a, n("WWW.example.org."));
        assert_eq!(a.label_count(), 3);
    }

    #[test]
    fn keys_sort_canonically_and_group_subtrees() {
        // RFC 4034 6.1 example order.
        let order = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let keys: Vec<Vec<u8>> = order.iter().map(|s| n(s).key().to_vec()).collect();
        for w in keys.windows(2) {
            assert!(w[0] < w[1], "{:?} !< {:?}", w[0], w[1]);
        }
        let sub = n("a.example.").key();
        assert!(n("x.y.a.example.").key().starts_with(&sub));
        assert!(!n("ab.example.").key().starts_with(&sub));
    }

    #[test]
    fn wire_validation() {
        assert!(Name::from_wire(&[3, b'w', b'w', b'w', 0]).is_some());
        assert!(Name::from_wire(&[3, b'w', b'w']).is_none());
        assert!(Name::from_wire(&[64]).is_none());
        assert!(Name::from_wire(&[0, 0]).is_none());
    }
}
