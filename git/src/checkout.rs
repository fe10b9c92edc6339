//! What the appliance holds of the remote branch: the head commit, its root
//! tree and the blobs of its root-level files (the zone and key files).
//! Built from the pack of a clone or fetch; makes the commit and pack of a
//! change for push. Subdirectories are kept in the tree untouched but their
//! contents are never read.

use crate::object::{self, Entry, Kind, Object, Signature};
use crate::oid::Oid;
use crate::pack::{self, Limits, PackError};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// Why a fetched pack does not give a checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckoutError {
    Pack(PackError),
    /// The head commit, its tree or a root-level blob is in neither the
    /// pack nor what we already had.
    Missing(Oid),
    /// The head is not a commit, or the commit or tree does not parse.
    Malformed(Oid),
}

impl core::fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CheckoutError::Pack(e) => write!(f, "{e}"),
            CheckoutError::Missing(id) => write!(f, "object {id} is missing"),
            CheckoutError::Malformed(id) => write!(f, "object {id} is malformed"),
        }
    }
}

/// The state of the branch as we know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    pub head: Oid,
    tree: Vec<Entry>,
    blobs: BTreeMap<Oid, Vec<u8>>,
}

impl Checkout {
    /// The checkout of `head` from `pack`, with objects of `previous` (the
    /// checkout the fetch sent haves for) filling in unchanged files.
    pub fn from_pack(
        pack: &[u8],
        head: Oid,
        limits: Limits,
        previous: Option<&Checkout>,
    ) -> Result<Checkout, CheckoutError> {
        let known = |id: &Oid| {
            previous.and_then(|p| p.blobs.get(id)).map(|d| Object {
                kind: Kind::Blob,
                data: d.clone(),
            })
        };
        let objects: BTreeMap<Oid, Object> = pack::parse(pack, limits, &known)
            .map_err(CheckoutError::Pack)?
            .into_iter()
            .collect();
        let commit = objects.get(&head).ok_or(CheckoutError::Missing(head))?;
        let tree_id = match commit.kind {
            Kind::Commit => {
                object::parse_commit(&commit.data)
                    .ok_or(CheckoutError::Malformed(head))?
                    .tree
            }
            _ => return Err(CheckoutError::Malformed(head)),
        };
        let tree = match (objects.get(&tree_id), previous) {
            (Some(t), _) if t.kind == Kind::Tree => {
                object::parse_tree(&t.data).ok_or(CheckoutError::Malformed(tree_id))?
            }
            (None, Some(p)) if p.tree_id() == tree_id => p.tree.clone(),
            _ => return Err(CheckoutError::Missing(tree_id)),
        };
        let mut blobs = BTreeMap::new();
        for e in tree.iter().filter(|e| e.is_file()) {
            let data = match objects.get(&e.id) {
                Some(o) if o.kind == Kind::Blob => o.data.clone(),
                Some(_) => return Err(CheckoutError::Malformed(e.id)),
                None => previous
                    .and_then(|p| p.blobs.get(&e.id).cloned())
                    .ok_or(CheckoutError::Missing(e.id))?,
            };
            blobs.insert(e.id, data);
        }
        Ok(Checkout { head, tree, blobs })
    }

    fn tree_id(&self) -> Oid {
        object::build_tree(&mut self.tree.clone()).id()
    }

    /// The root-level regular files (UTF-8 names not starting with a dot),
    /// as the zone set loads them.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        self.tree
            .iter()
            .filter(|e| e.is_file() && !e.name.starts_with(b"."))
            .filter_map(|e| {
                let name = core::str::from_utf8(&e.name).ok()?;
                Some((String::from(name), self.blobs.get(&e.id)?.clone()))
            })
            .collect()
    }

    /// A commit on top of `head` that sets each named root-level file to
    /// its new contents (None removes it). Returns the checkout after it
    /// and the pack holding the new objects, ready for push; None when
    /// nothing changes.
    pub fn commit(
        &self,
        changes: &[(String, Option<Vec<u8>>)],
        author: &Signature,
        message: &str,
    ) -> Option<(Checkout, Vec<u8>)> {
        let mut next = self.clone();
        let mut objects = Vec::new();
        for (name, data) in changes {
            next.tree.retain(|e| e.name != name.as_bytes());
            if let Some(data) = data {
                let blob = Object {
                    kind: Kind::Blob,
                    data: data.clone(),
                };
                let id = blob.id();
                next.tree.push(Entry {
                    mode: 0o100644,
                    name: name.as_bytes().to_vec(),
                    id,
                });
                next.blobs.insert(id, data.clone());
                objects.push(blob);
            }
        }
        let tree = object::build_tree(&mut next.tree);
        if tree.id() == self.tree_id() {
            return None;
        }
        let live: Vec<Oid> = next.tree.iter().map(|e| e.id).collect();
        next.blobs.retain(|id, _| live.contains(id));
        let commit = object::build_commit(tree.id(), &[self.head], author, author, message);
        next.head = commit.id();
        objects.push(tree);
        objects.push(commit);
        Some((next, pack::write(&objects)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sig() -> Signature {
        Signature {
            name: "k._update.example via gitns".into(),
            email: "gitns@localhost".into(),
            time: 1_700_000_000,
            tz: "+0000".into(),
        }
    }

    /// A one-commit repository as a pack: files at the root and a subdir.
    fn repo(files: &[(&str, &str)]) -> (Oid, Vec<u8>) {
        let mut objects = Vec::new();
        let mut entries = Vec::new();
        for (n, d) in files {
            let b = Object {
                kind: Kind::Blob,
                data: d.as_bytes().to_vec(),
            };
            entries.push(Entry {
                mode: 0o100644,
                name: n.as_bytes().to_vec(),
                id: b.id(),
            });
            objects.push(b);
        }
        let sub = object::build_tree(&mut vec![]);
        entries.push(Entry {
            mode: 0o40000,
            name: b"docs".to_vec(),
            id: sub.id(),
        });
        objects.push(sub);
        let tree = object::build_tree(&mut entries);
        let c = object::build_commit(tree.id(), &[], &sig(), &sig(), "init");
        let head = c.id();
        objects.push(tree);
        objects.push(c);
        (head, pack::write(&objects))
    }

    #[test]
    fn files_of_a_cloned_head_and_a_commit_on_top() {
        let (head, p) = repo(&[
            ("example.org", "zone\n"),
            (".gitignore", "x"),
            ("_keys", "k"),
        ]);
        let c = Checkout::from_pack(&p, head, Limits::default(), None).unwrap();
        assert_eq!(
            c.files(),
            vec![
                ("_keys".into(), b"k".to_vec()),
                ("example.org".into(), b"zone\n".to_vec())
            ]
        );
        let changes = vec![
            ("example.org".into(), Some(b"zone 2\n".to_vec())),
            ("_keys".into(), None),
        ];
        let (next, pushed) = c.commit(&changes, &sig(), "update").unwrap();
        // The pushed pack alone, on top of what we had, gives the new state.
        let again = Checkout::from_pack(&pushed, next.head, Limits::default(), Some(&c)).unwrap();
        assert_eq!(again, next);
        assert_eq!(
            next.files(),
            vec![("example.org".into(), b"zone 2\n".to_vec())]
        );
        assert!(next.tree.iter().any(|e| e.name == b"docs"), "subdir kept");
        // A change to the same contents makes no commit.
        let same = vec![("example.org".into(), Some(b"zone 2\n".to_vec()))];
        assert_eq!(next.commit(&same, &sig(), "noop"), None);
    }

    #[test]
    fn a_pack_without_the_head_or_its_blobs_is_an_error() {
        let (head, p) = repo(&[("a", "1")]);
        let other = Oid([9; 20]);
        assert_eq!(
            Checkout::from_pack(&p, other, Limits::default(), None),
            Err(CheckoutError::Missing(other))
        );
        let c = Checkout::from_pack(&p, head, Limits::default(), None).unwrap();
        // A head whose blob is nowhere: only the commit and tree are sent.
        let (next, _) = c
            .commit(&[("b".into(), Some(b"2".to_vec()))], &sig(), "m")
            .unwrap();
        let commit = object::build_commit(
            object::build_tree(&mut next.tree.clone()).id(),
            &[head],
            &sig(),
            &sig(),
            "m",
        );
        let thin = pack::write(&[object::build_tree(&mut next.tree.clone()), commit.clone()]);
        let missing = next.tree.iter().find(|e| e.name == b"b").unwrap().id;
        assert_eq!(
            Checkout::from_pack(&thin, commit.id(), Limits::default(), Some(&c)),
            Err(CheckoutError::Missing(missing))
        );
        assert_eq!(
            Checkout::from_pack(b"PACKjunk", head, Limits::default(), None),
            Err(CheckoutError::Pack(PackError::BadHeader))
        );
    }
}
