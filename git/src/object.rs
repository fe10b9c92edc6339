//! Git objects: kinds, commits and trees (parsing and building).

use crate::oid::Oid;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Object kinds (pack type numbers 1-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tree => "tree",
            Kind::Blob => "blob",
            Kind::Tag => "tag",
        }
    }

    pub fn from_pack(t: u8) -> Option<Kind> {
        Some(match t {
            1 => Kind::Commit,
            2 => Kind::Tree,
            3 => Kind::Blob,
            4 => Kind::Tag,
            _ => return None,
        })
    }

    pub fn pack_type(self) -> u8 {
        match self {
            Kind::Commit => 1,
            Kind::Tree => 2,
            Kind::Blob => 3,
            Kind::Tag => 4,
        }
    }
}

/// An object with its contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub kind: Kind,
    pub data: Vec<u8>,
}

impl Object {
    pub fn id(&self) -> Oid {
        Oid::of(self.kind.name(), &self.data)
    }
}

/// A tree entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub mode: u32,
    pub name: Vec<u8>,
    pub id: Oid,
}

impl Entry {
    /// A regular file (blob), executable or not.
    pub fn is_file(&self) -> bool {
        self.mode == 0o100644 || self.mode == 0o100755
    }
}

/// Parse a tree object.
pub fn parse_tree(data: &[u8]) -> Option<Vec<Entry>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let sp = data[i..].iter().position(|&b| b == b' ')? + i;
        let mode = u32::from_str_radix(core::str::from_utf8(&data[i..sp]).ok()?, 8).ok()?;
        let nul = data[sp + 1..].iter().position(|&b| b == 0)? + sp + 1;
        let name = data[sp + 1..nul].to_vec();
        let id = Oid(data.get(nul + 1..nul + 21)?.try_into().ok()?);
        if name.is_empty() || name.contains(&b'/') {
            return None;
        }
        out.push(Entry { mode, name, id });
        i = nul + 21;
    }
    Some(out)
}

/// Build a tree object from entries (sorted the way git sorts them:
/// by name, directories compared as if followed by '/').
pub fn build_tree(entries: &mut [Entry]) -> Object {
    entries.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let mut data = Vec::new();
    for e in entries.iter() {
        data.extend_from_slice(format!("{:o} ", e.mode).as_bytes());
        data.extend_from_slice(&e.name);
        data.push(0);
        data.extend_from_slice(&e.id.0);
    }
    Object {
        kind: Kind::Tree,
        data,
    }
}

fn sort_key(e: &Entry) -> Vec<u8> {
    let mut k = e.name.clone();
    if e.mode == 0o40000 {
        k.push(b'/');
    }
    k
}

/// The fields of a commit we use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub tree: Oid,
    pub parents: Vec<Oid>,
    pub message: String,
}

/// Parse a commit object.
pub fn parse_commit(data: &[u8]) -> Option<Commit> {
    let text = core::str::from_utf8(data).ok()?;
    let (head, message) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut tree = None;
    let mut parents = Vec::new();
    for line in head.lines() {
        if let Some(t) = line.strip_prefix("tree ") {
            tree = Oid::from_hex(t.as_bytes());
        } else if let Some(p) = line.strip_prefix("parent ") {
            parents.push(Oid::from_hex(p.as_bytes())?);
        }
    }
    Some(Commit {
        tree: tree?,
        parents,
        message: String::from(message),
    })
}

/// An identity and time for author/committer lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub email: String,
    /// Seconds since the epoch.
    pub time: u64,
    /// Offset like "+0000".
    pub tz: String,
}

/// Build a commit object; time comes from the caller (sans-I/O).
pub fn build_commit(
    tree: Oid,
    parents: &[Oid],
    author: &Signature,
    committer: &Signature,
    message: &str,
) -> Object {
    let mut s = format!("tree {tree}\n");
    for p in parents {
        s.push_str(&format!("parent {p}\n"));
    }
    let sig = |x: &Signature| format!("{} <{}> {} {}", x.name, x.email, x.time, x.tz);
    s.push_str(&format!(
        "author {}\ncommitter {}\n\n{}",
        sig(author),
        sig(committer),
        message
    ));
    if !message.ends_with('\n') {
        s.push('\n');
    }
    Object {
        kind: Kind::Commit,
        data: s.into_bytes(),
    }
}
