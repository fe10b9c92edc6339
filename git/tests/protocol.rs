//! The smart-protocol state machines against real `git upload-pack` and
//! `git receive-pack` subprocesses (what sshd runs for an SSH remote):
//! clone (v0 and v2, shallow), incremental fetch with haves, up to date,
//! push, and both kinds of rejection.

mod common;
use common::git;

use gitns_git::object::{self, Entry, Kind, Object, Signature};
use gitns_git::oid::Oid;
use gitns_git::pack::{self, Limits};
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::proto::push::{Push, Pushed};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A bare repository with `n` commits on main (made in a work clone).
fn bare(name: &str, n: u32) -> (PathBuf, PathBuf) {
    let base = std::env::temp_dir().join(format!("gitns-proto-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (b, w) = (base.join("bare.git"), base.join("work"));
    std::fs::create_dir_all(&b).unwrap();
    std::fs::create_dir_all(&w).unwrap();
    git(&b, &["init", "-q", "--bare", "-b", "main"]);
    git(&w, &["init", "-q", "-b", "main"]);
    git(&w, &["config", "user.name", "t"]);
    git(&w, &["config", "user.email", "t@example.org"]);
    git(&w, &["remote", "add", "origin", b.to_str().unwrap()]);
    for i in 0..n {
        commit(&w, i);
    }
    git(&w, &["push", "-q", "origin", "main"]);
    (b, w)
}

fn commit(w: &Path, i: u32) {
    std::fs::write(
        w.join("example.org"),
        format!("$TTL 60\n@ SOA ns hm {i} 2 3 4 5\n@ NS ns\n"),
    )
    .unwrap();
    git(w, &["add", "-A"]);
    git(w, &["commit", "-q", "-m", &format!("serial {i}")]);
}

/// Run a state machine against `git <service> <dir>` over pipes.
fn converse(
    service: &str,
    dir: &Path,
    v2: bool,
    take: &mut dyn FnMut() -> Vec<u8>,
    input: &mut dyn FnMut(&[u8]) -> bool,
) {
    let mut c = Command::new("git");
    c.arg(service)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if v2 {
        c.env("GIT_PROTOCOL", "version=2");
    }
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 65536];
    loop {
        let out = take();
        if !out.is_empty() {
            stdin.write_all(&out).unwrap();
            stdin.flush().unwrap();
        }
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 || input(&buf[..n]) {
            let out = take();
            let _ = stdin.write_all(&out);
            break;
        }
    }
    drop(stdin);
    let _ = child.wait();
}

fn fetch(dir: &Path, haves: Vec<Oid>, v2: bool) -> Fetched {
    let f = std::cell::RefCell::new(Fetch::new("main", haves, v2, 64 << 20));
    converse(
        "upload-pack",
        dir,
        v2,
        &mut || f.borrow_mut().take_output(),
        &mut |d| {
            f.borrow_mut().input(d).unwrap();
            f.borrow().result().is_some()
        },
    );
    let r = f.borrow().result().cloned().expect("fetch finished");
    r
}

fn head(dir: &Path) -> Oid {
    Oid::from_hex(git(dir, &["rev-parse", "main"]).trim().as_bytes()).unwrap()
}

fn objects(p: &[u8], have: &BTreeMap<Oid, Object>) -> BTreeMap<Oid, Object> {
    pack::parse(p, Limits::default(), &|id| have.get(id).cloned())
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn clone_then_fetch_v0_and_v2() {
    for v2 in [false, true] {
        let (b, w) = bare(if v2 { "v2" } else { "v0" }, 5);
        let Fetched::Pack { head: h1, pack } = fetch(&b, vec![], v2) else {
            panic!("expected a pack")
        };
        assert_eq!(h1, head(&b));
        let got = objects(&pack, &BTreeMap::new());
        let c = object::parse_commit(&got[&h1].data).unwrap();
        assert_eq!(c.message, "serial 4\n");
        let tree = object::parse_tree(&got[&c.tree].data).unwrap();
        assert_eq!(tree.len(), 1, "shallow clone of the head: one file");
        assert!(
            got.len() <= 3,
            "depth 1: commit, tree, blob ({} objects)",
            got.len()
        );
        // Up to date.
        assert_eq!(fetch(&b, vec![h1], v2), Fetched::UpToDate(h1));
        // Two new commits: an incremental fetch with our head as a have.
        commit(&w, 5);
        commit(&w, 6);
        git(&w, &["push", "-q", "origin", "main"]);
        let Fetched::Pack { head: h2, pack } = fetch(&b, vec![h1], v2) else {
            panic!("expected a pack")
        };
        assert_eq!(h2, head(&b));
        let more = objects(&pack, &got);
        assert_eq!(
            object::parse_commit(&more[&h2].data).unwrap().message,
            "serial 6\n"
        );
        assert!(!more.contains_key(&h1), "haves are not sent again");
    }
}

/// A file pushed and removed again is not in the next fetch: depth 1
/// with our head as shallow brings the new head's tree only. A file back
/// at an older content (which the server would think we hold through
/// history we never fetched) comes whole.
#[test]
fn later_fetches_bring_the_head_not_the_history() {
    for v2 in [false, true] {
        let (b, w) = bare(if v2 { "hist2" } else { "hist0" }, 2);
        let Fetched::Pack { head: h1, pack } = fetch(&b, vec![], v2) else {
            panic!("expected a pack")
        };
        let got = objects(&pack, &BTreeMap::new());
        let big = "x".repeat(1 << 20);
        std::fs::write(w.join("big"), &big).unwrap();
        git(&w, &["add", "-A"]);
        git(&w, &["commit", "-q", "-m", "big"]);
        git(&w, &["rm", "-q", "big"]);
        // example.org back to its content at serial 0 (before our head).
        commit(&w, 0);
        git(&w, &["push", "-q", "origin", "main"]);
        let Fetched::Pack { head: h2, pack } = fetch(&b, vec![h1], v2) else {
            panic!("expected a pack")
        };
        assert_eq!(h2, head(&b));
        assert!(
            pack.len() < 64 << 10,
            "{} bytes: the big file came",
            pack.len()
        );
        let more = objects(&pack, &got);
        assert!(more.values().all(|o| o.data.len() < 1 << 20));
        let c = object::parse_commit(&more[&h2].data).unwrap();
        let tree = object::parse_tree(&more[&c.tree].data).unwrap();
        assert_eq!(tree.len(), 1);
        let blob = &more[&tree[0].id];
        assert!(String::from_utf8_lossy(&blob.data).contains("SOA ns hm 0 "));
    }
}

fn push(dir: &Path, old: Oid, new: Oid, pack: Vec<u8>) -> Pushed {
    let p = std::cell::RefCell::new(Push::new("main", old, new, pack));
    converse(
        "receive-pack",
        dir,
        false,
        &mut || p.borrow_mut().take_output(),
        &mut |d| {
            p.borrow_mut().input(d).unwrap();
            p.borrow().result().is_some()
        },
    );
    let r = p.borrow().result().cloned().expect("push finished");
    r
}

fn new_commit(
    parent: Oid,
    text: &str,
    msg: &str,
    tree_from: &BTreeMap<Oid, Object>,
) -> (Oid, Vec<u8>) {
    let _ = tree_from;
    let blob = Object {
        kind: Kind::Blob,
        data: text.as_bytes().to_vec(),
    };
    let tree = object::build_tree(&mut [Entry {
        mode: 0o100644,
        name: b"example.org".to_vec(),
        id: blob.id(),
    }]);
    let who = Signature {
        name: "gitns".into(),
        email: "gitns@example.org".into(),
        time: 1_700_000_100,
        tz: "+0000".into(),
    };
    let c = object::build_commit(tree.id(), &[parent], &who, &who, msg);
    (c.id(), pack::write(&[c, tree, blob]))
}

#[test]
fn push_then_rejections() {
    let (b, w) = bare("push", 2);
    git(&b, &["config", "receive.denyNonFastForwards", "true"]);
    let h = head(&b);
    let (c1, p1) = new_commit(
        h,
        "$TTL 60\n@ SOA ns hm 9 2 3 4 5\n",
        "personal._update via gitns\n",
        &BTreeMap::new(),
    );
    assert_eq!(push(&b, h, c1, p1), Pushed::Ok);
    assert_eq!(head(&b), c1);
    assert_eq!(
        git(&b, &["log", "-1", "--format=%s", "main"]).trim(),
        "personal._update via gitns"
    );
    git(&b, &["fsck", "--strict"]);
    // Someone pushed in between: our old head is stale.
    git(&w, &["pull", "-q", "origin", "main"]);
    commit(&w, 10);
    git(&w, &["push", "-q", "origin", "main"]);
    let (c2, p2) = new_commit(c1, "x\n", "late\n", &BTreeMap::new());
    assert!(matches!(push(&b, c1, c2, p2), Pushed::Rejected(_)));
    // A non-fast-forward with the right old head: the server says ng.
    let now = head(&b);
    let (c3, p3) = new_commit(h, "y\n", "rewrite\n", &BTreeMap::new());
    match push(&b, now, c3, p3) {
        Pushed::Rejected(why) => assert!(
            why.contains("non-fast-forward") || why.contains("fast"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(head(&b), now, "the remote stays the truth");
}
