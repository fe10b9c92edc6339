//! The read-only transports against real servers on 127.0.0.1: git's own
//! `git http-backend` (CGI) behind lighttpd with TLS from a test CA, and
//! `git daemon --export-all`, both serving one zone repository. Our client
//! (git/src/http_fetch.rs, git/src/daemon.rs) is driven over std sockets
//! the way the appliance's byte pump drives it, `git.test` resolved to
//! 127.0.0.1 by the driver (as `--resolver` does in the image). Each step
//! is run with `git clone` too as the control: clone with protocol v2 and
//! v0, fetch after a commit, up to date, a redirect, a wrong CA refused,
//! basic auth right and wrong.

mod common;

use common::git;
use gitns_git::checkout::Checkout;
use gitns_git::daemon::DaemonFetch;
use gitns_git::http_fetch::HttpFetch;
use gitns_git::location::Location;
use gitns_git::pack::Limits;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::proto::ProtoError;
use gitns_git::smart_http::{Auth, HttpGitError};
use gitns_git::transfer::{FetchError, Now, Transfer};
use gitns_https::tls_error::TlsError;
use gitns_https::{Anchors, ExchangeError};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BACKEND: &str = "/usr/lib/git-core/git-http-backend";
const ZONE: &str =
    "$ORIGIN example.org.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed and its directory removed at the end.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(port: u16, child: &mut Child, what: &str) {
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not listen on {port}");
}

/// Everything one test serves: the bare repository, a work tree that
/// commits to it, the test CA and another CA, lighttpd, git daemon.
struct World {
    dir: PathBuf,
    bare: PathBuf,
    work: PathBuf,
    ca_der: Vec<u8>,
    other_ca_der: Vec<u8>,
    web: Server,
    daemon: Server,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn have_tools() -> bool {
    let ok = Path::new("/usr/sbin/lighttpd").exists()
        && Path::new("/usr/lib/lighttpd/mod_openssl.so").exists()
        && Path::new(BACKEND).exists();
    if !ok {
        assert_ne!(
            std::env::var("GITNS_REQUIRE_KVM").as_deref(),
            Ok("1"),
            "these tests need lighttpd, lighttpd-mod-openssl and git (cargo xtask deps)"
        );
        let line = "SKIP http_backend: lighttpd, lighttpd-mod-openssl or git-http-backend missing";
        eprintln!("{line}");
        if let Some(path) = std::env::var_os("GITNS_SKIP_LOG") {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{line}");
            }
        }
    }
    ok
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`name`.pem, .key, .der).
fn ca(dir: &Path, name: &str) -> Vec<u8> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "3",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-in",
            &format!("{name}.pem"),
            "-outform",
            "DER",
            "-out",
            &format!("{name}.der"),
        ],
    );
    std::fs::read(dir.join(format!("{name}.der"))).unwrap()
}

/// The server's certificate for git.test and 127.0.0.1, from the CA `ca`.
fn server_cert(dir: &Path) {
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:git.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=git.test",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn commit(work: &Path, bare: &Path, file: &str, text: &str) {
    std::fs::write(work.join(file), text).unwrap();
    git(work, &["add", "-A"]);
    git(
        work,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "-m",
            file,
        ],
    );
    git(work, &["push", "-q", bare.to_str().unwrap(), "main"]);
}

/// lighttpd: /git/ is git http-backend, /v0/ the same without the
/// Git-Protocol header (a server that speaks only v0), /private/ the same
/// behind basic auth (user `zones`, password `s3cret`), /old/ redirects
/// to /git/.
fn lighttpd(dir: &Path, port: u16) -> Server {
    let v0 = dir.join("v0.cgi");
    std::fs::write(
        &v0,
        format!("#!/bin/sh\nunset HTTP_GIT_PROTOCOL\nexec {BACKEND}\n"),
    )
    .unwrap();
    Command::new("chmod").arg("755").arg(&v0).status().unwrap();
    std::fs::write(dir.join("users"), "zones:s3cret\n").unwrap();
    std::fs::create_dir_all(dir.join("www")).unwrap();
    let d = dir.display();
    let conf = format!(
        r#"server.document-root = "{d}/www"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{d}/lighttpd.log"
server.modules = ("mod_openssl", "mod_alias", "mod_setenv", "mod_redirect", "mod_auth", "mod_authn_file", "mod_cgi")
ssl.engine = "enable"
ssl.pemfile = "{d}/server.pem"
ssl.privkey = "{d}/server.key"
setenv.add-environment = ("GIT_PROJECT_ROOT" => "{d}/repos", "GIT_HTTP_EXPORT_ALL" => "1")
url.redirect = ("^/old/(.*)$" => "/git/$1")
url.redirect-code = 301
alias.url = ("/git" => "{BACKEND}", "/private" => "{BACKEND}", "/v0" => "{d}/v0.cgi")
cgi.assign = ("" => "")
auth.backend = "plain"
auth.backend.plain.userfile = "{d}/users"
$HTTP["url"] =~ "^/private" {{
  auth.require = ("" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
}}
"#
    );
    std::fs::write(dir.join("lighttpd.conf"), conf).unwrap();
    let mut child = Command::new("/usr/sbin/lighttpd")
        .args(["-D", "-f"])
        .arg(dir.join("lighttpd.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_listening(port, &mut child, "lighttpd");
    Server { child, port }
}

fn git_daemon(dir: &Path, port: u16) -> Server {
    let mut child = Command::new("git")
        .args([
            "daemon",
            "--export-all",
            "--reuseaddr",
            "--listen=127.0.0.1",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", dir.join("repos").display()))
        .arg(dir.join("repos"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port, &mut child, "git daemon");
    Server { child, port }
}

fn world() -> Option<World> {
    if !have_tools() {
        return None;
    }
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("gitns-http-{}-{k}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bare = dir.join("repos/zones.git");
    let work = dir.join("work");
    for d in [&bare, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    git(&bare, &["init", "-q", "--bare", "-b", "main"]);
    git(&work, &["init", "-q", "-b", "main"]);
    commit(&work, &bare, "example.org", ZONE);
    let ca_der = ca(&dir, "ca");
    let other_ca_der = ca(&dir, "other");
    server_cert(&dir);
    let web = lighttpd(&dir, free_port());
    let daemon = git_daemon(&dir, free_port());
    Some(World {
        dir,
        bare,
        work,
        ca_der,
        other_ca_der,
        web,
        daemon,
    })
}

fn now(t0: Instant) -> Now {
    Now {
        ns: t0.elapsed().as_nanos() as u64,
        unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    }
}

/// The byte pump: a TCP connection per generation, `git.test` resolved
/// to 127.0.0.1; bounded to 60 s.
fn drive(t: &mut dyn Transfer) -> Result<Fetched, FetchError> {
    let t0 = Instant::now();
    let mut generation = 0;
    let mut tcp: Option<TcpStream> = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        assert!(t0.elapsed() < Duration::from_secs(60), "the fetch hangs");
        if t.generation() != generation {
            generation = t.generation();
            let (host, port) = t.endpoint();
            let ip = if host == "git.test" {
                "127.0.0.1"
            } else {
                host
            };
            tcp = TcpStream::connect((ip, port)).ok();
            match &tcp {
                Some(s) => {
                    s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
                    t.transport_up();
                }
                None => t.transport_closed(now(t0)),
            }
        }
        if let Some(s) = tcp.as_mut() {
            let out = t.pending_output().to_vec();
            if !out.is_empty() && s.write_all(&out).is_ok() {
                t.consume_output(out.len());
            }
            match s.read(&mut buf) {
                Ok(0) => {
                    tcp = None;
                    t.transport_closed(now(t0));
                }
                Ok(n) => t.input(now(t0), &buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    tcp = None;
                    t.transport_closed(now(t0));
                }
            }
        }
        if let Some(r) = t.poll(now(t0)) {
            return r.clone();
        }
    }
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
    let mut f = HttpFetch::new(&r.url, auth, fetch, anchors, 16 << 20, now(Instant::now()));
    (drive(&mut f), f)
}

fn daemon(url: &str, have: Option<&Checkout>) -> (Result<Fetched, FetchError>, DaemonFetch) {
    let Location::Daemon(r) = Location::parse(url).unwrap() else {
        panic!("{url}")
    };
    let haves = have.map(|c| vec![c.head]).unwrap_or_default();
    let mut f = DaemonFetch::new(
        &r,
        Fetch::new(&r.branch, haves, true, 16 << 20),
        now(Instant::now()),
    );
    (drive(&mut f), f)
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
    let into = w.dir.join(format!("control-{}", free_port()));
    let resolve = format!("http.curloptResolve=git.test:{}:127.0.0.1", w.web.port);
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
        .env("GIT_SSL_CAINFO", w.dir.join(ca))
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    status.success() && std::fs::read_to_string(into.join("example.org")).is_ok()
}

#[test]
fn https_v2_clone_fetch_after_a_commit_and_up_to_date() {
    let Some(w) = world() else { return };
    let url = format!("https://git.test:{}/git/zones.git", w.web.port);
    assert!(git_clone(&w, &url, "ca.pem"), "control: git clone");
    let (r, f) = https(&url, Auth::None, anchors(&w.ca_der), None);
    assert!(f.protocol_v2(), "git http-backend speaks v2 when asked");
    let first = checkout(r, None);
    assert_eq!(
        first.head.to_string(),
        git(&w.bare, &["rev-parse", "main"]).trim()
    );
    assert_eq!(
        files(&first),
        [("example.org".to_string(), ZONE.to_string())]
    );

    let (r, _) = https(&url, Auth::None, anchors(&w.ca_der), Some(&first));
    assert_eq!(r, Ok(Fetched::UpToDate(first.head)));

    commit(
        &w.work,
        &w.bare,
        "example.net",
        "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n",
    );
    let (r, _) = https(&url, Auth::None, anchors(&w.ca_der), Some(&first));
    let second = checkout(r, Some(&first));
    assert_eq!(
        second.head.to_string(),
        git(&w.bare, &["rev-parse", "main"]).trim()
    );
    let names: Vec<String> = files(&second).into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["example.net", "example.org"]);
    // An IP literal URL: the certificate's IP SAN.
    let by_ip = format!("https://127.0.0.1:{}/git/zones.git", w.web.port);
    let (r, _) = https(&by_ip, Auth::None, anchors(&w.ca_der), None);
    assert_eq!(checkout(r, None).head, second.head);
}

#[test]
fn https_v0_server_redirect_and_missing_repository() {
    let Some(w) = world() else { return };
    let v0 = format!("https://git.test:{}/v0/zones.git", w.web.port);
    assert!(
        git_clone(&w, &v0, "ca.pem"),
        "control: git clone of the v0 path"
    );
    let (r, f) = https(&v0, Auth::None, anchors(&w.ca_der), None);
    assert!(
        !f.protocol_v2(),
        "the v0 path hides Git-Protocol from the backend"
    );
    let first = checkout(r, None);
    assert_eq!(
        files(&first),
        [("example.org".to_string(), ZONE.to_string())]
    );
    let (r, _) = https(&v0, Auth::None, anchors(&w.ca_der), Some(&first));
    assert_eq!(r, Ok(Fetched::UpToDate(first.head)));

    let old = format!("https://git.test:{}/old/zones.git#main", w.web.port);
    assert!(
        git_clone(&w, &old.replace("#main", ""), "ca.pem"),
        "control: git follows it"
    );
    let (r, f) = https(&old, Auth::None, anchors(&w.ca_der), None);
    assert_eq!(checkout(r, None).head, first.head);
    assert_eq!(
        f.url(),
        format!("https://git.test:{}/git/zones.git", w.web.port)
    );

    let missing = format!("https://git.test:{}/git/nope.git", w.web.port);
    let (r, _) = https(&missing, Auth::None, anchors(&w.ca_der), None);
    assert_eq!(r, Err(FetchError::Http(HttpGitError::NotFound)));
    let branch = format!("https://git.test:{}/git/zones.git#nobranch", w.web.port);
    let (r, _) = https(&branch, Auth::None, anchors(&w.ca_der), None);
    assert_eq!(
        r,
        Err(FetchError::Http(HttpGitError::Proto(
            ProtoError::NoSuchBranch("refs/heads/nobranch".into())
        )))
    );
}

#[test]
fn https_wrong_ca_is_refused_with_a_clear_error() {
    let Some(w) = world() else { return };
    let url = format!("https://git.test:{}/git/zones.git", w.web.port);
    assert!(
        !git_clone(&w, &url, "other.pem"),
        "control: git refuses it too"
    );
    for a in [anchors(&w.other_ca_der), Anchors::lets_encrypt()] {
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
    let Some(w) = world() else { return };
    let url = format!("https://git.test:{}/private/zones.git", w.web.port);
    let with = |user: &str, pass: &str| url.replace("https://", &format!("https://{user}:{pass}@"));
    assert!(
        git_clone(&w, &with("zones", "s3cret"), "ca.pem"),
        "control: right password"
    );
    assert!(
        !git_clone(&w, &with("zones", "wrong"), "ca.pem"),
        "control: wrong password"
    );
    let (r, _) = https(&url, Auth::None, anchors(&w.ca_der), None);
    assert_eq!(r, Err(FetchError::Http(HttpGitError::AuthRequired)));
    let wrong = Auth::from_options(Some("zones"), Some("wrong"));
    let (r, _) = https(&url, wrong, anchors(&w.ca_der), None);
    assert_eq!(r, Err(FetchError::Http(HttpGitError::AuthRefused(401))));
    let right = Auth::from_options(Some("zones"), Some("s3cret"));
    let (r, _) = https(&url, right, anchors(&w.ca_der), None);
    assert_eq!(
        files(&checkout(r, None)),
        [("example.org".to_string(), ZONE.to_string())]
    );
}

#[test]
fn git_daemon_clone_fetch_and_unknown_repository() {
    let Some(w) = world() else { return };
    let url = format!("git://127.0.0.1:{}/zones.git", w.daemon.port);
    let into = w.dir.join("control-daemon");
    git(&w.dir, &["clone", "-q", &url, into.to_str().unwrap()]);
    let (r, f) = daemon(&url, None);
    assert!(f.protocol_v2(), "git daemon passes version=2 on");
    let first = checkout(r, None);
    assert_eq!(
        files(&first),
        [("example.org".to_string(), ZONE.to_string())]
    );
    let (r, _) = daemon(&url, Some(&first));
    assert_eq!(r, Ok(Fetched::UpToDate(first.head)));
    commit(
        &w.work,
        &w.bare,
        "example.org",
        &ZONE.replace(" 1 2 3 4 5", " 2 2 3 4 5"),
    );
    let (r, _) = daemon(&url, Some(&first));
    let second = checkout(r, Some(&first));
    assert_eq!(
        second.head.to_string(),
        git(&w.bare, &["rev-parse", "main"]).trim()
    );
    assert!(files(&second)[0].1.contains(" 2 2 3 4 5"));

    let missing = format!("git://127.0.0.1:{}/nope.git", w.daemon.port);
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
