//! The read-only transports against real servers on 127.0.0.1: git's own
//! `git http-backend` (CGI) behind lighttpd with TLS from a test CA, and
//! `git daemon --export-all`, both serving one zone repository
//! (xtask/src/githttp.rs). Our client (git/src/http_fetch.rs,
//! git/src/daemon.rs) is driven over std sockets the way the appliance's
//! byte pump drives it, `git.test` resolved to 127.0.0.1 by the driver (as
//! `--resolver` does in the image). Each step is run with `git clone` too
//! as the control: clone with protocol v2 and v0, fetch after a commit, up
//! to date, a redirect, a wrong CA refused, basic auth right and wrong.

mod common;

use gitns_git::checkout::Checkout;
use gitns_git::daemon::DaemonFetch;
use gitns_git::http_fetch::HttpFetch;
use gitns_git::location::Location;
use gitns_git::pack::Limits;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::proto::ProtoError;
use gitns_git::smart_http::{Auth, HttpGitError};
use gitns_git::transfer::{FetchError, Transfer};
use gitns_https::tls_error::TlsError;
use gitns_https::{Anchors, ExchangeError};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xtask::gitclient::clock;
use xtask::githttp::{Place, WebGit, PASSWORD, USER};
use xtask::sshd::GitServer;

const ZONE: &str =
    "$ORIGIN example.org.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The repository and its servers.
struct World {
    srv: GitServer,
    web: WebGit,
}

fn world(test: &str) -> Option<World> {
    let have = xtask::githttp::available();
    if !common::needs(
        test,
        have,
        "lighttpd, lighttpd-mod-openssl and git-http-backend",
    ) {
        return None;
    }
    let srv = GitServer::repository(test, &[("example.org", ZONE)]);
    let place = Place {
        ns: None,
        bind: "127.0.0.1",
        https_port: free_port(),
        daemon_port: free_port(),
    };
    let web = WebGit::start(
        place,
        &srv.dir.join("web"),
        &srv.dir,
        &["git.test", "127.0.0.1"],
    );
    Some(World { srv, web })
}

/// The byte pump, `git.test` resolved to 127.0.0.1.
fn drive(t: &mut dyn Transfer, t0: Instant) -> Result<Fetched, FetchError> {
    let to_ip = |host: &str| match host {
        "git.test" => "127.0.0.1".to_string(),
        other => other.to_string(),
    };
    xtask::gitclient::drive(t, t0, &to_ip, Duration::from_secs(60))
}

fn anchors(der: &[u8]) -> Anchors {
    let mut a = Anchors::empty();
    a.add_der(der).unwrap();
    a
}

/// Fetch over HTTPS from `url` with `haves` = the head of `have`.
fn https(
    url: &str,
    auth: Auth,
    anchors: Anchors,
    have: Option<&Checkout>,
) -> (Result<Fetched, FetchError>, HttpFetch) {
    let Location::Https(r) = Location::parse(url).unwrap() else {
        panic!("{url}")
    };
    let haves = have.map(|c| vec![c.head]).unwrap_or_default();
    let fetch = Fetch::new(&r.branch, haves, true, 16 << 20);
    let t0 = Instant::now();
    let mut f = HttpFetch::new(&r.url, auth, fetch, anchors, 16 << 20, clock(t0));
    (drive(&mut f, t0), f)
}

fn daemon(url: &str, have: Option<&Checkout>) -> (Result<Fetched, FetchError>, DaemonFetch) {
    let Location::Daemon(r) = Location::parse(url).unwrap() else {
        panic!("{url}")
    };
    let haves = have.map(|c| vec![c.head]).unwrap_or_default();
    let t0 = Instant::now();
    let mut f = DaemonFetch::new(&r, Fetch::new(&r.branch, haves, true, 16 << 20), clock(t0));
    (drive(&mut f, t0), f)
}

/// The checkout after a fetch (the old one when up to date).
fn checkout(r: Result<Fetched, FetchError>, have: Option<&Checkout>) -> Checkout {
    match r.unwrap_or_else(|e| panic!("{e}")) {
        Fetched::Pack { head, pack } => {
            Checkout::from_pack(&pack, head, Limits::default(), have).unwrap()
        }
        Fetched::UpToDate(h) => {
            let c = have.expect("up to date on a clone").clone();
            assert_eq!(c.head, h);
            c
        }
    }
}

fn files(c: &Checkout) -> Vec<(String, String)> {
    c.files()
        .into_iter()
        .map(|(n, d)| (n, String::from_utf8(d).unwrap()))
        .collect()
}

/// The control: git itself clones `url` (trusting `ca`, `git.test`
/// resolved to 127.0.0.1); true when it could.
fn git_clone(w: &World, url: &str, ca: &str) -> bool {
    let into = w.srv.dir.join(format!("control-{}", free_port()));
    let resolve = format!(
        "http.curloptResolve=git.test:{}:127.0.0.1",
        w.web.https_port
    );
    let status = Command::new("git")
        .args([
            "-c",
            &resolve,
            "-c",
            "protocol.version=2",
            "clone",
            "-q",
            "--depth=1",
            url,
        ])
        .arg(&into)
        .env("GIT_SSL_CAINFO", w.web.dir.join(ca))
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    status.success() && std::fs::read_to_string(into.join("example.org")).is_ok()
}

#[test]
fn https_v2_clone_fetch_after_a_commit_and_up_to_date() {
    let Some(w) = world("https_v2_clone_fetch_after_a_commit_and_up_to_date") else {
        return;
    };
    let url = format!("https://git.test:{}/git/zones.git", w.web.https_port);
    assert!(git_clone(&w, &url, "ca.pem"), "control: git clone");
    let (r, f) = https(&url, Auth::None, anchors(&w.web.ca_der), None);
    assert!(f.protocol_v2(), "git http-backend speaks v2 when asked");
    assert_eq!(
        f.generation(),
        1,
        "info/refs, ls-refs and fetch on one kept-alive connection"
    );
    let first = checkout(r, None);
    assert_eq!(
        first.head.to_string(),
        w.srv.bare(&["rev-parse", "main"]).trim()
    );
    assert_eq!(
        files(&first),
        [("example.org".to_string(), ZONE.to_string())]
    );

    let (r, _) = https(&url, Auth::None, anchors(&w.web.ca_der), Some(&first));
    assert_eq!(r, Ok(Fetched::UpToDate(first.head)));

    w.srv.commit(
        &[("example.net", "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n")],
        "next",
    );
    let (r, _) = https(&url, Auth::None, anchors(&w.web.ca_der), Some(&first));
    let second = checkout(r, Some(&first));
    assert_eq!(
        second.head.to_string(),
        w.srv.bare(&["rev-parse", "main"]).trim()
    );
    let names: Vec<String> = files(&second).into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["example.net", "example.org"]);
    // An IP literal URL: the certificate's IP SAN.
    let by_ip = format!("https://127.0.0.1:{}/git/zones.git", w.web.https_port);
    let (r, _) = https(&by_ip, Auth::None, anchors(&w.web.ca_der), None);
    assert_eq!(checkout(r, None).head, second.head);
}

#[test]
fn https_v0_server_redirect_and_missing_repository() {
    let Some(w) = world("https_v0_server_redirect_and_missing_repository") else {
        return;
    };
    let v0 = format!("https://git.test:{}/v0/zones.git", w.web.https_port);
    assert!(
        git_clone(&w, &v0, "ca.pem"),
        "control: git clone of the v0 path"
    );
    let (r, f) = https(&v0, Auth::None, anchors(&w.web.ca_der), None);
    assert!(
        !f.protocol_v2(),
        "the v0 path hides Git-Protocol from the backend"
    );
    let first = checkout(r, None);
    assert_eq!(
        files(&first),
        [("example.org".to_string(), ZONE.to_string())]
    );
    let (r, _) = https(&v0, Auth::None, anchors(&w.web.ca_der), Some(&first));
    assert_eq!(r, Ok(Fetched::UpToDate(first.head)));

    let old = format!("https://git.test:{}/old/zones.git#main", w.web.https_port);
    assert!(
        git_clone(&w, &old.replace("#main", ""), "ca.pem"),
        "control: git follows it"
    );
    let (r, f) = https(&old, Auth::None, anchors(&w.web.ca_der), None);
    assert_eq!(checkout(r, None).head, first.head);
    assert_eq!(
        f.url(),
        format!("https://git.test:{}/git/zones.git", w.web.https_port)
    );

    let missing = format!("https://git.test:{}/git/nope.git", w.web.https_port);
    let (r, _) = https(&missing, Auth::None, anchors(&w.web.ca_der), None);
    assert_eq!(r, Err(FetchError::Http(HttpGitError::NotFound)));
    let branch = format!(
        "https://git.test:{}/git/zones.git#nobranch",
        w.web.https_port
    );
    let (r, _) = https(&branch, Auth::None, anchors(&w.web.ca_der), None);
    assert_eq!(
        r,
        Err(FetchError::Http(HttpGitError::Proto(
            ProtoError::NoSuchBranch("refs/heads/nobranch".into())
        )))
    );
}

#[test]
fn https_wrong_ca_is_refused_with_a_clear_error() {
    let Some(w) = world("https_wrong_ca_is_refused_with_a_clear_error") else {
        return;
    };
    let url = format!("https://git.test:{}/git/zones.git", w.web.https_port);
    assert!(
        !git_clone(&w, &url, "other.pem"),
        "control: git refuses it too"
    );
    for a in [anchors(&w.web.other_ca_der), Anchors::lets_encrypt()] {
        let (r, f) = https(&url, Auth::None, a, None);
        let e = r.unwrap_err();
        assert_eq!(
            e,
            FetchError::Https(ExchangeError::Tls(TlsError::UnknownIssuer))
        );
        assert!(e.to_string().contains("--remote-ca="), "{e}");
        assert!(f.was_connected());
    }
}

#[test]
fn https_basic_auth_right_and_wrong() {
    let Some(w) = world("https_basic_auth_right_and_wrong") else {
        return;
    };
    let url = format!("https://git.test:{}/private/zones.git", w.web.https_port);
    let with = |user: &str, pass: &str| url.replace("https://", &format!("https://{user}:{pass}@"));
    assert!(
        git_clone(&w, &with(USER, PASSWORD), "ca.pem"),
        "control: right password"
    );
    assert!(
        !git_clone(&w, &with(USER, "wrong"), "ca.pem"),
        "control: wrong password"
    );
    let (r, _) = https(&url, Auth::None, anchors(&w.web.ca_der), None);
    assert_eq!(r, Err(FetchError::Http(HttpGitError::AuthRequired)));
    let wrong = Auth::from_options(Some(USER), Some("wrong"));
    let (r, _) = https(&url, wrong, anchors(&w.web.ca_der), None);
    assert_eq!(r, Err(FetchError::Http(HttpGitError::AuthRefused(401))));
    let right = Auth::from_options(Some(USER), Some(PASSWORD));
    let (r, _) = https(&url, right, anchors(&w.web.ca_der), None);
    assert_eq!(
        files(&checkout(r, None)),
        [("example.org".to_string(), ZONE.to_string())]
    );
}

#[test]
fn git_daemon_clone_fetch_and_unknown_repository() {
    let Some(w) = world("git_daemon_clone_fetch_and_unknown_repository") else {
        return;
    };
    let url = format!("git://127.0.0.1:{}/zones.git", w.web.daemon_port);
    let into = w.srv.dir.join("control-daemon");
    xtask::sshd::git(&w.srv.dir, &["clone", "-q", &url, into.to_str().unwrap()]);
    let (r, f) = daemon(&url, None);
    assert!(f.protocol_v2(), "git daemon passes version=2 on");
    let first = checkout(r, None);
    assert_eq!(
        files(&first),
        [("example.org".to_string(), ZONE.to_string())]
    );
    let (r, _) = daemon(&url, Some(&first));
    assert_eq!(r, Ok(Fetched::UpToDate(first.head)));
    w.srv.commit(
        &[("example.org", &ZONE.replace(" 1 2 3 4 5", " 2 2 3 4 5"))],
        "next",
    );
    let (r, _) = daemon(&url, Some(&first));
    let second = checkout(r, Some(&first));
    assert_eq!(
        second.head.to_string(),
        w.srv.bare(&["rev-parse", "main"]).trim()
    );
    assert!(files(&second)[0].1.contains(" 2 2 3 4 5"));

    let missing = format!("git://127.0.0.1:{}/nope.git", w.web.daemon_port);
    match daemon(&missing, None).0 {
        Err(FetchError::Proto(ProtoError::Remote(why))) => {
            assert!(
                why.contains("not exported") || why.contains("access denied"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
}
