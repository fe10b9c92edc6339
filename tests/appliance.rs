//! The appliance from the operator's point of view, with real tools only:
//! OpenSSH sshd + a bare zone repository in the test's namespace, the
//! image booted with --remote/--ssh-key/--ssh-authenticator, dig for
//! answers, a pushed commit + signed NOTIFY, nsupdate whose change lands as
//! a commit in the remote, a broken commit that keeps the old zone.

mod common;
use common::*;
use std::time::Duration;
use xtask::sshd::{key, GitServer};

const T: Duration = Duration::from_secs(30);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const SEED: [u8; 32] = [0x5a; 32];

fn zone(serial: u32, extra: &str) -> String {
    format!(
        "$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 10.0.0.2\nns2 A 10.0.0.1\nwww A 192.0.2.{}\n{extra}",
        serial % 200
    )
}

fn keys() -> String {
    format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\n")
}

fn serial(ns: &Netns) -> String {
    dig(ns, &["x25519.net", "SOA", "+short"])
}

/// sshd in `ns` with a repository of `files`, trusting the test's key.
fn server(ns: &Netns, tag: &str, files: &[(&str, &str)]) -> GitServer {
    GitServer::start(ns, tag, &key(SEED).1, files)
}

/// The appliance's arguments for `srv`: address, remote, key, and the
/// host key pin (`srv`'s own unless `pin`), then `extra`.
fn git_args(srv: &GitServer, pin: Option<&str>, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "--ipv4=10.0.0.2/24".to_string(),
        srv.remote(),
        format!("--ssh-key={}", key(SEED).0),
        format!("--ssh-authenticator={}", pin.unwrap_or(&srv.fingerprint)),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Boot the image against `srv`.
fn boot_git(ns: &Netns, srv: &GitServer, pin: Option<&str>, extra: &[&str]) -> Guest {
    let a = git_args(srv, pin, extra);
    Guest::boot(ns, &a.iter().map(String::as_str).collect::<Vec<_>>())
}

fn skip_all(test: &str) -> bool {
    !kvm_or_skip(test) || !netns_or_skip(test) || !sshd_or_skip(test)
}

#[test]
fn zones_from_git_notify_update_and_a_broken_commit() {
    let test = "zones_from_git_notify_update_and_a_broken_commit";
    if skip_all(test) {
        return;
    }
    let ns = netns("appliance");
    let srv = server(
        &ns,
        "appliance",
        &[("x25519.net", &zone(1, "")), ("x25519.net._keys", &keys())],
    );
    let g = boot_git(&ns, &srv, None, &["--ipv4-gateway=10.0.0.1", "-l", "debug"]);
    g.wait_for("git: main is at", T);
    // sshd runs the `env GIT_PROTOCOL=version=2 git-upload-pack` form.
    g.wait_for("the remote speaks protocol v2", T);
    assert!(serial(&ns).contains(" 1 "), "{}", serial(&ns));
    // Knot as a secondary (ns2 = 10.0.0.1) transfers with the zone's key.
    let knot = knot_secondary(&ns, "x25519.net", "personal._update.x25519.net", SECRET);
    eventually("Knot serving serial 1", T, || {
        run_in(
            &ns,
            "dig",
            &[
                "@10.0.0.1",
                "+time=1",
                "+tries=1",
                "x25519.net",
                "SOA",
                "+short",
            ],
        )
        .contains(" 1 ")
    });
    let www = dig(&ns, &["www.x25519.net", "A", "+short"]);
    assert_eq!(www.trim(), "192.0.2.1");

    // The operator pushes a new serial and sends a signed NOTIFY with the
    // short key name, as the seeds do.
    srv.commit(&[("x25519.net", &zone(2, ""))], "serial 2");
    let key = format!("hmac-sha256:personal._update:{SECRET}");
    let out = dig(
        &ns,
        &["x25519.net", "SOA", "+opcode=notify", "+norec", "-y", &key],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    eventually("serial 2 after NOTIFY", T, || serial(&ns).contains(" 2 "));

    // nsupdate: acknowledged only once the commit is in the remote.
    let before = srv.bare(&["rev-parse", "main"]).trim().to_string();
    let script =
        "server 10.0.0.2\nzone x25519.net\nupdate add new.x25519.net 300 A 192.0.2.77\nsend\n";
    let (ok, out) = nsupdate(&ns, &["-y", &key], script);
    assert!(ok, "nsupdate: {out}");
    // Read back independently with gix: author, parent, message, content.
    let info = xtask::gitread::commit_info(&srv.repo, "main").unwrap();
    assert_eq!(info.author_name, "personal._update.x25519.net via gitns");
    assert_eq!(info.author_email, "gitns@10.0.0.2");
    assert_eq!(info.parents, [before]);
    assert_eq!(
        info.message,
        "UPDATE of x25519.net. by personal._update.x25519.net. from 10.0.0.1\n"
    );
    let pushed = xtask::gitread::file_at(&srv.repo, "main", "x25519.net")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&pushed).contains("new.x25519.net. 300 IN A 192.0.2.77"));
    let log = srv.bare(&["log", "-1", "--format=%an|%s", "main"]);
    assert_eq!(
        log.trim(),
        "personal._update.x25519.net via gitns|UPDATE of x25519.net. by personal._update.x25519.net. from 10.0.0.1"
    );
    let file = srv.bare(&["show", "main:x25519.net"]);
    assert!(file.contains("192.0.2.77"), "{file}");
    assert!(
        file.contains(" 3 "),
        "serial bumped to 3 in the pushed file: {file}"
    );
    assert_eq!(srv.bare(&["fsck", "--strict"]), "");
    let new = dig(&ns, &["new.x25519.net", "A", "+short"]);
    assert_eq!(new.trim(), "192.0.2.77");
    // gitns NOTIFYs Knot, which transfers the updated zone.
    eventually("Knot serving the UPDATE", T, || {
        run_in(
            &ns,
            "dig",
            &[
                "@10.0.0.1",
                "+time=1",
                "+tries=1",
                "new.x25519.net",
                "A",
                "+short",
            ],
        )
        .contains("192.0.2.77")
    });
    // Knot asked for IXFR and got the difference.
    g.wait_for(
        "transfer of x25519.net. serial 3 to 10.0.0.1: incremental",
        T,
    );
    drop(knot);
    // The key file is untouched by the commit.
    assert_eq!(srv.bare(&["show", "main:x25519.net._keys"]), keys());

    // A broken zone is rejected with file:line:col, the last good version
    // stays served.
    srv.commit(&[("x25519.net", &zone(4, "bad A 1.2.3\n"))], "broken");
    let out = dig(
        &ns,
        &["x25519.net", "SOA", "+opcode=notify", "+norec", "-y", &key],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    g.wait_for("zone rejected: x25519.net:8:", T);
    assert!(serial(&ns).contains(" 3 "), "{}", serial(&ns));
    assert_eq!(
        dig(&ns, &["new.x25519.net", "A", "+short"]).trim(),
        "192.0.2.77"
    );
    // Clone, two NOTIFY fetches and the push ran on kept SSH connections
    // (new session channels, no new login per command). One connection
    // takes four channels (sunset's MAX_CHANNELS; a channel the server
    // closed first is not reused) and the upload-pack started ahead for
    // the next fetch takes one the push then ends: two logins at most,
    // where a connection per command would be four.
    // A NOTIFY's fetch ran on an upload-pack started before the commit
    // it had to see (the serials above show it saw them).
    assert!(g.output().contains("(started ahead)"), "{}", g.output());
    assert!(
        srv.logins() <= 2,
        "{}\n--- sshd ---\n{}",
        g.output(),
        srv.log()
    );
}

#[test]
fn a_wrong_host_key_is_refused_and_named() {
    let test = "a_wrong_host_key_is_refused_and_named";
    if skip_all(test) {
        return;
    }
    let ns = netns("hostkey");
    let srv = server(&ns, "hostkey", &[("x25519.net", &zone(1, ""))]);
    let wrong = gitns_git::ssh::fingerprint_ed25519(&[1; 32]);
    let g = boot_git(&ns, &srv, Some(&wrong), &[]);
    g.wait_for("host key mismatch", T);
    let out = g.output();
    assert!(
        out.contains(&wrong) && out.contains(&srv.fingerprint),
        "{out}"
    );
    // Still up, answering (nothing to serve yet: REFUSED).
    let a = dig(&ns, &["x25519.net", "SOA"]);
    assert!(a.contains("status: REFUSED"), "{a}");
}

#[test]
fn an_update_racing_a_push_keeps_both_changes() {
    let test = "an_update_racing_a_push_keeps_both_changes";
    if skip_all(test) {
        return;
    }
    let ns = netns("race");
    let srv = server(
        &ns,
        "race",
        &[("x25519.net", &zone(1, "")), ("x25519.net._keys", &keys())],
    );
    let g = boot_git(&ns, &srv, None, &[]);
    g.wait_for("git: main is at", T);
    // The operator pushes without a NOTIFY: the appliance's head is stale
    // when the UPDATE comes, its push is rejected, it fetches and applies
    // the UPDATE again on the operator's commit.
    srv.commit(
        &[("x25519.net", &zone(10, "op A 192.0.2.10\n"))],
        "operator",
    );
    let key = format!("hmac-sha256:personal._update:{SECRET}");
    let script =
        "server 10.0.0.2\nzone x25519.net\nupdate add new.x25519.net 300 A 192.0.2.77\nsend\n";
    let (ok, out) = nsupdate(&ns, &["-y", &key], script);
    assert!(ok, "nsupdate: {out}");
    g.wait_for("push rejected", T);
    let file = srv.bare(&["show", "main:x25519.net"]);
    assert!(
        file.contains("192.0.2.10") && file.contains("192.0.2.77"),
        "{file}"
    );
    assert!(
        file.contains(" 11 "),
        "serial rose past the operator's: {file}"
    );
    assert_eq!(srv.bare(&["rev-list", "--count", "main"]).trim(), "3");
    assert_eq!(
        dig(&ns, &["op.x25519.net", "A", "+short"]).trim(),
        "192.0.2.10"
    );
    assert_eq!(
        dig(&ns, &["new.x25519.net", "A", "+short"]).trim(),
        "192.0.2.77"
    );
}

#[test]
fn remote_down_at_boot_then_up() {
    let test = "remote_down_at_boot_then_up";
    if skip_all(test) {
        return;
    }
    let ns = netns("remotedown");
    let mut srv = server(&ns, "remotedown", &[("x25519.net", &zone(7, ""))]);
    srv.stop_sshd();
    let g = boot_git(&ns, &srv, None, &[]);
    g.wait_for("cannot connect to 10.0.0.1:22", T);
    assert!(dig(&ns, &["x25519.net", "SOA"]).contains("status: REFUSED"));
    srv.start_sshd(&ns);
    g.wait_for("git: main is at", T);
    assert!(serial(&ns).contains(" 7 "), "{}", serial(&ns));
}

/// With a storage device the last zone set from git is kept there: after a
/// restart with the remote down, the zones are served at once from it.
/// `--sync-interval` fetches without any NOTIFY.
#[test]
fn cached_zones_survive_a_restart_and_sync_interval_polls() {
    let test = "cached_zones_survive_a_restart_and_sync_interval_polls";
    if skip_all(test) {
        return;
    }
    let ns = netns("gitcache");
    let mut srv = server(&ns, "gitcache", &[("x25519.net", &zone(21, ""))]);
    // A cache from an earlier run (serial 20); the clone replaces it.
    let dev = zone_device(&ns, &[("x25519.net", &zone(20, ""))]);
    let args = git_args(&srv, None, &["--sync-interval=1"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for("git: main is at", T);
    assert!(serial(&ns).contains(" 21 "));
    // No NOTIFY: the interval fetch finds the new commit.
    srv.commit(&[("x25519.net", &zone(22, ""))], "serial 22");
    eventually("serial 22 from --sync-interval", T, || {
        serial(&ns).contains(" 22 ")
    });
    // Restart with the remote down: served from the device before any fetch.
    drop(g);
    srv.stop_sshd();
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for(" ready", T);
    assert!(serial(&ns).contains(" 22 "), "{}", serial(&ns));
    g.wait_for("retrying in", T);
}

/// A remote path that is not a repository: git's own message reaches the
/// log at once (the client reads the remote's stderr), and retries follow.
#[test]
fn a_wrong_repository_path_logs_gits_reason() {
    let test = "a_wrong_repository_path_logs_gits_reason";
    if skip_all(test) {
        return;
    }
    let ns = netns("badpath");
    let srv = server(&ns, "badpath", &[("x25519.net", &zone(1, ""))]);
    let mut a = git_args(&srv, None, &[]);
    a[1] = "--remote=root@10.0.0.1:/nonexistent/zones.git".into();
    let g = Guest::boot(&ns, &a.iter().map(String::as_str).collect::<Vec<_>>());
    g.wait_for(
        "does not appear to be a git repository",
        Duration::from_secs(5),
    );
    g.wait_for("retrying in", T);
}

/// A remote that refuses the `env GIT_PROTOCOL=version=2 ...` command form
/// (as git-shell does): the appliance goes on at once with the plain
/// command and protocol v0. Against one that ignores the environment (an
/// old git) the v0 answer is recognised. Both with the embedded russh
/// remote in the test's namespace.
#[test]
fn protocol_v2_request_falls_back_to_v0() {
    use xtask::sshremote::{repo::Repo, Faults, SshRemote};
    let test = "protocol_v2_request_falls_back_to_v0";
    if !kvm_or_skip(test) || !netns_or_skip(test) {
        return;
    }
    for refuse_env in [true, false] {
        let ns = netns(if refuse_env { "v2refuse" } else { "v2ignore" });
        let mut repo = Repo::new("main");
        let who = gitns_git::object::Signature {
            name: "t".into(),
            email: "t@e".into(),
            time: 1_700_000_000,
            tz: "+0000".into(),
        };
        repo.commit(&[("x25519.net", zone(9, "").as_bytes())], &who, "zones");
        let l = ns
            .run_in(|| std::net::TcpListener::bind("10.0.0.1:22"))
            .unwrap()
            .unwrap();
        let pubkey = gitns_git::ssh::ed25519_public(&SEED);
        let faults = Faults {
            refuse_env,
            ..Default::default()
        };
        let r = SshRemote::start(l, repo, pubkey, faults).unwrap();
        let args = [
            "--ipv4=10.0.0.2/24".to_string(),
            "--remote=git@10.0.0.1:zones.git".to_string(),
            format!("--ssh-key={}", key(SEED).0),
            format!("--ssh-authenticator={}", r.fingerprint()),
        ];
        let g = Guest::boot(&ns, &args.iter().map(String::as_str).collect::<Vec<_>>());
        g.wait_for("the remote speaks protocol v0", T);
        g.wait_for("git: main is at", T);
        assert!(serial(&ns).contains(" 9 "));
        let out = g.output();
        assert_eq!(
            out.contains("refused `env GIT_PROTOCOL"),
            refuse_env,
            "{out}"
        );
        assert!(
            !out.contains("retrying in"),
            "no backoff for the fallback: {out}"
        );
    }
}

/// `--remote` by host name: the image asks the resolver it was given
/// (Knot, authoritative for the lab's zone) and clones from that address.
#[test]
fn a_remote_named_by_host_is_resolved_through_the_resolver() {
    let test = "a_remote_named_by_host_is_resolved_through_the_resolver";
    if skip_all(test) {
        return;
    }
    let ns = netns("hostname");
    let srv = server(&ns, "hostname", &[("x25519.net", &zone(4, ""))]);
    let _knot = knot_authority(
        &ns,
        "lab.test",
        "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 10.0.0.1\ngit A 10.0.0.1\n",
    );
    let remote = srv.remote().replace("@10.0.0.1:", "@git.lab.test:");
    let mut a = git_args(&srv, None, &["--resolver=10.0.0.1"]);
    a[1] = remote;
    let g = Guest::boot(&ns, &a.iter().map(String::as_str).collect::<Vec<_>>());
    g.wait_for("resolve: git.lab.test", T);
    g.wait_for("git: main is at", T);
    assert!(serial(&ns).contains(" 4 "), "{}", g.output());
    assert!(g.output().contains("10.0.0.1"), "{}", g.output());
    drop(g);
    // Without a resolver a host name is a configuration error.
    let mut a = git_args(&srv, None, &[]);
    a[1] = "--remote=git@git.lab.test:zones.git".into();
    let mut g = Guest::boot(&ns, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(g.wait_exit(T).code(), Some(64), "{}", g.output());
    assert!(g.output().contains("--resolver"), "{}", g.output());
}
