//! The demo remote's repository: objects in memory (built with gitns's own
//! git object code), one branch. Enough to serve clones and fetches and to
//! take pushes; the demo reads the commits back from here.

use gitns_git::object::{self, Entry, Kind, Object, Signature};
use gitns_git::oid::Oid;
use std::collections::{BTreeMap, BTreeSet};

/// An in-memory repository with one branch.
#[derive(Clone, Debug, Default)]
pub struct Repo {
    pub objects: BTreeMap<Oid, Object>,
    /// The branch name and its head (None before the first commit).
    pub branch: String,
    pub head: Option<Oid>,
}

impl Repo {
    pub fn new(branch: &str) -> Repo {
        Repo {
            branch: branch.to_string(),
            ..Default::default()
        }
    }

    fn put(&mut self, o: Object) -> Oid {
        let id = o.id();
        self.objects.insert(id, o);
        id
    }

    /// A commit on the branch head that sets the root-level `files`.
    pub fn commit(&mut self, files: &[(&str, &[u8])], who: &Signature, message: &str) -> Oid {
        let mut entries: Vec<Entry> = self.head.and_then(|h| self.tree_of(&h)).unwrap_or_default();
        for (name, data) in files {
            let id = self.put(Object {
                kind: Kind::Blob,
                data: data.to_vec(),
            });
            entries.retain(|e| e.name != name.as_bytes());
            entries.push(Entry {
                mode: 0o100644,
                name: name.as_bytes().to_vec(),
                id,
            });
        }
        let tree = self.put(object::build_tree(&mut entries));
        let parents: Vec<Oid> = self.head.into_iter().collect();
        let c = self.put(object::build_commit(tree, &parents, who, who, message));
        self.head = Some(c);
        c
    }

    /// The root tree entries of commit `c`.
    pub fn tree_of(&self, c: &Oid) -> Option<Vec<Entry>> {
        let commit = object::parse_commit(&self.objects.get(c)?.data)?;
        object::parse_tree(&self.objects.get(&commit.tree)?.data)
    }

    /// A root-level file at the head.
    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        let e = self
            .tree_of(&self.head?)?
            .into_iter()
            .find(|e| e.name == name.as_bytes())?;
        Some(self.objects.get(&e.id)?.data.clone())
    }

    /// The newest `n` commits: (id, author line, first message line).
    pub fn log(&self, n: usize) -> Vec<(Oid, String, String)> {
        let mut out = Vec::new();
        let mut at = self.head;
        while let (Some(c), true) = (at, out.len() < n) {
            let Some(o) = self.objects.get(&c) else { break };
            let text = String::from_utf8_lossy(&o.data).into_owned();
            let author = text
                .lines()
                .find_map(|l| l.strip_prefix("author "))
                .map(|a| a.split(" <").next().unwrap_or(a).to_string())
                .unwrap_or_default();
            let msg = text
                .split_once("\n\n")
                .map(|(_, m)| m.lines().next().unwrap_or("").to_string())
                .unwrap_or_default();
            out.push((c, author, msg));
            at = object::parse_commit(&o.data).and_then(|p| p.parents.first().copied());
        }
        out
    }

    /// Every object reachable from commit `c`'s tree (the tree itself,
    /// subtrees and blobs), not following parents.
    pub fn tree_closure(&self, c: &Oid) -> BTreeSet<Oid> {
        let mut out = BTreeSet::new();
        let Some(commit) = self
            .objects
            .get(c)
            .and_then(|o| object::parse_commit(&o.data))
        else {
            return out;
        };
        let mut todo = vec![commit.tree];
        while let Some(t) = todo.pop() {
            if !out.insert(t) {
                continue;
            }
            if let Some(o) = self.objects.get(&t) {
                if o.kind == Kind::Tree {
                    for e in object::parse_tree(&o.data).unwrap_or_default() {
                        todo.push(e.id);
                    }
                }
            }
        }
        out
    }
}
