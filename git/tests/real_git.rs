//! The git core against real git: packs made by `git repack` (OFS_DELTA)
//! and thin packs by `git pack-objects --thin` (REF_DELTA against objects
//! we have) parse to exactly the objects git lists; a pack and a commit we
//! build are accepted by `git index-pack` and `git fsck`.

mod common;
use common::git;

use gitns_git::object::{self, Entry, Kind, Object, Signature};
use gitns_git::oid::Oid;
use gitns_git::pack::{self, Limits};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gitns-git-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["config", "user.name", "test"]);
    git(&dir, &["config", "user.email", "test@example.org"]);
    for i in 0..12 {
        let mut zone = String::from("$TTL 3600\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n");
        for h in 0..(200 + i * 10) {
            zone.push_str(&format!("host{h} A 192.0.2.{}\n", h % 250));
        }
        std::fs::write(dir.join("example.org"), &zone).unwrap();
        std::fs::write(dir.join(format!("z{}.net", i % 3)), format!("serial {i}\n")).unwrap();
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", &format!("change {i}")]);
    }
    dir
}

fn all_objects(dir: &Path) -> BTreeMap<String, String> {
    git(dir, &["cat-file", "--batch-all-objects", "--batch-check"])
        .lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next().unwrap().to_string(), w.next().unwrap().to_string())
        })
        .collect()
}

fn none(_: &Oid) -> Option<Object> {
    None
}

#[test]
fn repacked_objects_with_deltas_parse_exactly() {
    let dir = repo("repack");
    git(&dir, &["repack", "-adfq", "--depth=50", "--window=250"]);
    let packdir = dir.join(".git/objects/pack");
    let pack = std::fs::read_dir(&packdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pack"))
        .unwrap();
    let bytes = std::fs::read(&pack).unwrap();
    let verify = git(&dir, &["verify-pack", "-v", pack.to_str().unwrap()]);
    assert!(
        verify.contains("chain length"),
        "git made deltas: {}",
        &verify[verify.len().saturating_sub(300)..]
    );
    let objs = pack::parse(&bytes, Limits::default(), &none).unwrap();
    let want = all_objects(&dir);
    let got: BTreeMap<String, String> = objs
        .iter()
        .map(|(id, o)| (id.to_string(), o.kind.name().to_string()))
        .collect();
    assert_eq!(got, want);
    // The root tree of HEAD lists the zone files, as git ls-tree does.
    let head = Oid::from_hex(git(&dir, &["rev-parse", "HEAD"]).trim().as_bytes()).unwrap();
    let by_id: BTreeMap<Oid, &Object> = objs.iter().map(|(i, o)| (*i, o)).collect();
    let commit = object::parse_commit(&by_id[&head].data).unwrap();
    let tree = object::parse_tree(&by_id[&commit.tree].data).unwrap();
    let names: Vec<String> = tree
        .iter()
        .filter(|e| e.is_file())
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .collect();
    let ls: Vec<String> = git(&dir, &["ls-tree", "--name-only", "HEAD"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(names, ls);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn thin_packs_resolve_against_known_objects() {
    let dir = repo("thin");
    let full = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["pack-objects", "--stdout", "--revs", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let full_bytes = feed(full, b"HEAD~1\n");
    let base = pack::parse(&full_bytes, Limits::default(), &none).unwrap();
    let have: BTreeMap<Oid, Object> = base.into_iter().collect();
    let thin = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["pack-objects", "--stdout", "--revs", "--thin", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let thin_bytes = feed(thin, b"HEAD\n^HEAD~1\n");
    assert!(
        matches!(
            pack::parse(&thin_bytes, Limits::default(), &none),
            Err(pack::PackError::MissingBase(_))
        ),
        "a thin pack needs its bases"
    );
    let objs = pack::parse(&thin_bytes, Limits::default(), &|id| have.get(id).cloned()).unwrap();
    let head_tree = git(&dir, &["rev-parse", "HEAD^{tree}"]);
    assert!(objs
        .iter()
        .any(|(id, o)| o.kind == Kind::Tree && id.to_string() == head_tree.trim()));
    let _ = std::fs::remove_dir_all(&dir);
}

fn feed(mut child: std::process::Child, input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn our_commit_and_pack_are_accepted_by_git() {
    let dir = std::env::temp_dir().join(format!("gitns-git-ours-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "--bare", "-b", "main"]);
    let blob = Object {
        kind: Kind::Blob,
        data: b"$TTL 60\n@ SOA ns hm 1 2 3 4 5\n".to_vec(),
    };
    let keys = Object {
        kind: Kind::Blob,
        data: b"k._update.example.org. DNSKEY 0 3 163 AAAA\n".to_vec(),
    };
    let tree = object::build_tree(&mut [
        Entry {
            mode: 0o100644,
            name: b"example.org._keys".to_vec(),
            id: keys.id(),
        },
        Entry {
            mode: 0o100644,
            name: b"example.org".to_vec(),
            id: blob.id(),
        },
    ]);
    let who = Signature {
        name: "gitns".into(),
        email: "gitns@example.org".into(),
        time: 1_700_000_000,
        tz: "+0000".into(),
    };
    let commit = object::build_commit(
        tree.id(),
        &[],
        &who,
        &who,
        "personal._update.example.org. via gitns",
    );
    let p = pack::write(&[commit.clone(), tree.clone(), blob, keys]);
    let mut ix = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["index-pack", "--stdin", "-v"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        ix.stdin.take().unwrap().write_all(&p).unwrap();
    }
    let out = ix.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(
        &dir,
        &["update-ref", "refs/heads/main", &commit.id().to_string()],
    );
    git(&dir, &["fsck", "--strict"]);
    assert_eq!(
        git(&dir, &["log", "--format=%s %an", "main"]).trim(),
        "personal._update.example.org. via gitns gitns"
    );
    assert_eq!(
        git(&dir, &["ls-tree", "--name-only", "main"]),
        "example.org\nexample.org._keys\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
