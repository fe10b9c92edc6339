//! gitns's git client (the session the image runs) against the embedded
//! russh remote over real SSH on 127.0.0.1: clone, fetch, push, and the
//! faults the client must survive with a clear error: a connection dropped
//! mid-pack, a stalled server (timeouts fire), garbage instead of
//! pkt-lines, an oversized pack, a refused push, a wrong user key, a wrong
//! host key.

use gitns_git::checkout::Checkout;
use gitns_git::object::Signature;
use gitns_git::pack::Limits;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::proto::push::{Push, Pushed};
use gitns_git::proto::ProtoError;
use gitns_git::session::{Op, Outcome, SessionError, Timeouts};
use gitns_git::ssh::{Credential, SshError};
use std::net::TcpListener;
use xtask::sshremote::repo::Repo;
use xtask::sshremote::{Faults, SshRemote};

const USER: [u8; 32] = [0x31; 32];

fn sig() -> Signature {
    Signature {
        name: "t".into(),
        email: "t@e".into(),
        time: 1_700_000_000,
        tz: "+0000".into(),
    }
}

fn remote(faults: Faults, blob: usize) -> SshRemote {
    let mut repo = Repo::new("main");
    // Pseudo-random text so the pack does not compress away.
    let mut x: u32 = 1;
    let big: Vec<u8> = (0..blob)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            b'a' + (x >> 16) as u8 % 26
        })
        .collect();
    repo.commit(
        &[
            ("example.org", b"$TTL 60\n@ SOA ns hm 1 2 3 4 5\n"),
            ("big", &big),
        ],
        &sig(),
        "init",
    );
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    SshRemote::start(l, repo, gitns_git::ssh::ed25519_public(&USER), faults).unwrap()
}

fn run(
    r: &SshRemote,
    seed: [u8; 32],
    pin: Option<&str>,
    cmd: &str,
    op: Op,
    idle_ms: u64,
) -> Result<Outcome, SessionError> {
    let t = Timeouts {
        idle_ns: idle_ms * 1_000_000,
        total_ns: 20_000_000_000,
    };
    xtask::gitclient::run(
        r.local_addr(),
        "git",
        Credential::Ed25519Seed(seed),
        pin,
        cmd,
        op,
        t,
    )
}

fn clone(r: &SshRemote, max_pack: usize) -> Result<Outcome, SessionError> {
    let op = Op::Fetch(Fetch::new("main", vec![], false, max_pack));
    run(
        r,
        USER,
        Some(&r.fingerprint()),
        "git-upload-pack '/zones.git'",
        op,
        5_000,
    )
}

#[test]
fn clone_fetch_push_over_ssh() {
    let r = remote(Faults::default(), 1000);
    let Ok(Outcome::Fetched(Fetched::Pack { head, pack })) = clone(&r, 1 << 20) else {
        panic!("clone")
    };
    let c = Checkout::from_pack(&pack, head, Limits::default(), None).unwrap();
    assert_eq!(c.files().len(), 2);
    let (next, p) = c
        .commit(
            &[("example.org".into(), Some(b"v2\n".to_vec()))],
            &sig(),
            "UPDATE",
        )
        .unwrap();
    let op = Op::Push(Push::new("main", c.head, next.head, p));
    let out = run(
        &r,
        USER,
        Some(&r.fingerprint()),
        "git-receive-pack '/zones.git'",
        op,
        5_000,
    );
    assert_eq!(out, Ok(Outcome::Pushed(Pushed::Ok)));
    let repo = r.repo.lock().unwrap();
    assert_eq!(repo.head, Some(next.head));
    assert_eq!(repo.read_file("example.org").unwrap(), b"v2\n");
    drop(repo);
    // The fetch after it: up to date.
    let op = Op::Fetch(Fetch::new("main", vec![next.head], false, 1 << 20));
    let out = run(
        &r,
        USER,
        Some(&r.fingerprint()),
        "git-upload-pack '/zones.git'",
        op,
        5_000,
    );
    assert_eq!(out, Ok(Outcome::Fetched(Fetched::UpToDate(next.head))));
}

#[test]
fn wrong_keys_are_refused() {
    let r = remote(Faults::default(), 10);
    let op = || Op::Fetch(Fetch::new("main", vec![], false, 1 << 20));
    let wrong_pin = gitns_git::ssh::fingerprint_ed25519(&[1; 32]);
    match run(
        &r,
        USER,
        Some(&wrong_pin),
        "git-upload-pack 'z'",
        op(),
        5_000,
    ) {
        Err(SessionError::Ssh(SshError::HostKeyMismatch { observed, .. })) => {
            assert_eq!(observed, r.fingerprint())
        }
        other => panic!("{other:?}"),
    }
    let other = run(
        &r,
        [0x99; 32],
        Some(&r.fingerprint()),
        "git-upload-pack 'z'",
        op(),
        5_000,
    );
    assert!(
        matches!(other, Err(SessionError::Ssh(_)) | Err(SessionError::Closed)),
        "{other:?}"
    );
}

#[test]
fn faults_end_in_clear_errors() {
    // Dropped mid-pack.
    let r = remote(
        Faults {
            drop_after_bytes: Some(20_000),
            ..Default::default()
        },
        200_000,
    );
    let out = clone(&r, 1 << 20);
    assert!(matches!(out, Err(SessionError::Closed)), "{out:?}");
    // Stalled after the advertisement: the idle timeout fires.
    let r = remote(
        Faults {
            stall: true,
            ..Default::default()
        },
        10,
    );
    let op = Op::Fetch(Fetch::new("main", vec![], false, 1 << 20));
    let t0 = std::time::Instant::now();
    let out = run(
        &r,
        USER,
        Some(&r.fingerprint()),
        "git-upload-pack 'z'",
        op,
        500,
    );
    assert_eq!(out, Err(SessionError::Stalled));
    assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    // Garbage instead of pkt-lines.
    let r = remote(
        Faults {
            garbage: true,
            ..Default::default()
        },
        10,
    );
    let out = clone(&r, 1 << 20);
    assert!(
        matches!(out, Err(SessionError::Proto(ProtoError::Malformed(_)))),
        "{out:?}"
    );
    // A pack over the client's limit.
    let r = remote(Faults::default(), 200_000);
    assert_eq!(
        clone(&r, 50_000),
        Err(SessionError::Proto(ProtoError::TooLarge))
    );
    // Pushes refused: an error value, the remote unchanged.
    let r = remote(
        Faults {
            reject_pushes: true,
            ..Default::default()
        },
        10,
    );
    let Ok(Outcome::Fetched(Fetched::Pack { head, pack })) = clone(&r, 1 << 20) else {
        panic!()
    };
    let c = Checkout::from_pack(&pack, head, Limits::default(), None).unwrap();
    let (next, p) = c
        .commit(&[("a".into(), Some(b"1".to_vec()))], &sig(), "m")
        .unwrap();
    let op = Op::Push(Push::new("main", c.head, next.head, p));
    let out = run(
        &r,
        USER,
        Some(&r.fingerprint()),
        "git-receive-pack 'z'",
        op,
        5_000,
    );
    assert!(
        matches!(out, Ok(Outcome::Pushed(Pushed::Rejected(_)))),
        "{out:?}"
    );
    assert_eq!(r.repo.lock().unwrap().head, Some(c.head));
}

#[test]
fn a_failing_remote_command_ends_at_once_with_its_message() {
    // The remote writes its reason to stderr and exits: the client must
    // read past stderr, see the end and report the reason, long before
    // its idle timeout.
    let r = remote(Faults::default(), 10);
    let op = Op::Fetch(Fetch::new("main", vec![], false, 1 << 20));
    let t0 = std::time::Instant::now();
    let out = run(&r, USER, Some(&r.fingerprint()), "rm -rf /", op, 10_000);
    match out {
        Err(SessionError::RemoteExit(why)) => {
            assert!(why.contains("is not a git command"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        t0.elapsed()
    );
}
