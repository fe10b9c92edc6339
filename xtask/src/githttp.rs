//! A public git server for tests: git's own `git http-backend` (CGI)
//! behind lighttpd with TLS from a CA made here, and `git daemon
//! --export-all`, both serving the repositories under one directory; on
//! the host's loopback or inside a test's network namespace.
//!
//! lighttpd's paths: `/git/` is git http-backend, `/v0/` the same with the
//! `Git-Protocol` header hidden from it (a server that speaks only
//! protocol v0), `/private/` the same behind basic auth ([`USER`],
//! [`PASSWORD`]), and `/old/` answers 301 to `/git/`.

use crate::netns::Netns;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const LIGHTTPD: &str = "/usr/sbin/lighttpd";
/// Basic auth of `/private/`.
pub const USER: &str = "zones";
pub const PASSWORD: &str = "s3cret";

/// Where the servers run: addresses, ports, namespace.
#[derive(Clone, Copy)]
pub struct Place<'a> {
    /// None: the host's own network.
    pub ns: Option<&'a Netns>,
    /// The address both listen on.
    pub bind: &'a str,
    pub https_port: u16,
    pub daemon_port: u16,
}

/// lighttpd and git daemon over `repos`.
pub struct WebGit {
    web: Option<Child>,
    daemon: Option<Child>,
    pub dir: PathBuf,
    /// The CA the server's certificate comes from (DER), and one it does
    /// not come from.
    pub ca_der: Vec<u8>,
    pub other_ca_der: Vec<u8>,
    pub https_port: u16,
    pub daemon_port: u16,
    repos: PathBuf,
    bind: String,
}

/// A program of the git in PATH (`git --exec-path`): git-http-backend,
/// git-daemon.
pub fn git_core(program: &str) -> PathBuf {
    let out = Command::new("git").arg("--exec-path").output();
    let dir = out
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Path::new(&dir).join(program)
}

/// Can these tests run here?
pub fn available() -> bool {
    Path::new(LIGHTTPD).exists()
        && Path::new("/usr/lib/lighttpd/mod_openssl.so").exists()
        && git_core("git-http-backend").exists()
        && git_core("git-daemon").exists()
}

fn command(ns: Option<&Netns>, program: &str) -> Command {
    match ns {
        Some(ns) => ns.command(program),
        None => Command::new(program),
    }
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

/// A self-signed CA `name` (.pem, .key); its DER.
fn make_ca(dir: &Path, name: &str) -> Vec<u8> {
    let (key, pem, der) = (
        format!("{name}.key"),
        format!("{name}.pem"),
        format!("{name}.der"),
    );
    let subj = format!("/CN={name}");
    #[rustfmt::skip]
    openssl(dir, &[
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", &key, "-out", &pem, "-days", "3", "-subj", &subj,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &["x509", "-in", &pem, "-outform", "DER", "-out", &der]);
    std::fs::read(dir.join(der)).expect("CA DER")
}

/// server.pem/server.key for `names` (DNS names and IP addresses), from
/// the CA `ca`.
fn make_server_cert(dir: &Path, names: &[&str]) {
    let san: Vec<String> = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(_) => format!("IP:{n}"),
            Err(_) => format!("DNS:{n}"),
        })
        .collect();
    std::fs::write(
        dir.join("ext.cnf"),
        format!(
            "subjectAltName={}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
            san.join(",")
        ),
    )
    .unwrap();
    #[rustfmt::skip]
    openssl(dir, &[
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=git",
    ]);
    #[rustfmt::skip]
    openssl(dir, &[
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
    ]);
}

fn lighttpd_conf(dir: &Path, repos: &Path, bind: &str, port: u16) -> String {
    let backend = git_core("git-http-backend");
    let backend = backend.display();
    let d = dir.display();
    let r = repos.display();
    format!(
        r#"server.document-root = "{d}/www"
server.bind = "{bind}"
server.port = {port}
server.errorlog = "{d}/lighttpd.log"
server.modules = ("mod_openssl", "mod_alias", "mod_setenv", "mod_redirect", "mod_auth", "mod_authn_file", "mod_cgi")
ssl.engine = "enable"
ssl.pemfile = "{d}/server.pem"
ssl.privkey = "{d}/server.key"
setenv.add-environment = ("GIT_PROJECT_ROOT" => "{r}", "GIT_HTTP_EXPORT_ALL" => "1")
url.redirect = ("^/old/(.*)$" => "/git/$1")
url.redirect-code = 301
alias.url = ("/git" => "{backend}", "/private" => "{backend}", "/v0" => "{d}/v0.cgi")
cgi.assign = ("" => "")
auth.backend = "plain"
auth.backend.plain.userfile = "{d}/users"
$HTTP["url"] =~ "^/private" {{
  auth.require = ("" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
}}
"#
    )
}

impl WebGit {
    /// Certificates for `names`, the configuration in `dir`; both servers
    /// started at `place`, serving the repositories under `repos`.
    pub fn start(place: Place, dir: &Path, repos: &Path, names: &[&str]) -> WebGit {
        std::fs::create_dir_all(dir.join("www")).expect("web dir");
        let ca_der = make_ca(dir, "ca");
        let other_ca_der = make_ca(dir, "other");
        make_server_cert(dir, names);
        let v0 = dir.join("v0.cgi");
        std::fs::write(
            &v0,
            format!(
                "#!/bin/sh\nunset HTTP_GIT_PROTOCOL\nexec {}\n",
                git_core("git-http-backend").display()
            ),
        )
        .unwrap();
        Command::new("chmod").arg("755").arg(&v0).status().unwrap();
        std::fs::write(dir.join("users"), format!("{USER}:{PASSWORD}\n")).unwrap();
        let conf = lighttpd_conf(dir, repos, place.bind, place.https_port);
        std::fs::write(dir.join("lighttpd.conf"), conf).unwrap();
        let mut w = WebGit {
            web: None,
            daemon: None,
            dir: dir.to_path_buf(),
            ca_der,
            other_ca_der,
            https_port: place.https_port,
            daemon_port: place.daemon_port,
            repos: repos.to_path_buf(),
            bind: place.bind.to_string(),
        };
        w.start_web(place.ns);
        w.start_daemon(place.ns);
        w
    }

    /// (Re)start lighttpd; waits until it listens.
    pub fn start_web(&mut self, ns: Option<&Netns>) {
        let child = command(ns, LIGHTTPD)
            .args(["-D", "-f"])
            .arg(self.dir.join("lighttpd.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("lighttpd");
        self.web = Some(wait_listening(ns, child, self.https_port, "lighttpd"));
    }

    /// (Re)start git daemon; waits until it listens.
    pub fn start_daemon(&mut self, ns: Option<&Netns>) {
        // git-daemon itself: `git daemon` runs it as a child that a kill
        // of `git` would leave listening.
        let daemon = git_core("git-daemon");
        let child = command(ns, &daemon.to_string_lossy())
            .args(["--export-all", "--reuseaddr"])
            .arg(format!("--listen={}", self.bind))
            .arg(format!("--port={}", self.daemon_port))
            .arg(format!("--base-path={}", self.repos.display()))
            .arg(&self.repos)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        self.daemon = Some(wait_listening(ns, child, self.daemon_port, "git daemon"));
    }

    /// Stop lighttpd (only the process we started).
    pub fn stop_web(&mut self) {
        stop(&mut self.web);
    }

    /// Stop git daemon (only the process we started).
    pub fn stop_daemon(&mut self) {
        stop(&mut self.daemon);
    }

    /// lighttpd's error log (CGI stderr lands there too).
    pub fn web_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("lighttpd.log")).unwrap_or_default()
    }
}

impl Drop for WebGit {
    fn drop(&mut self) {
        self.stop_web();
        self.stop_daemon();
    }
}

fn stop(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// Wait (10 s at most) until something listens on TCP `port` in `ns`.
fn wait_listening(ns: Option<&Netns>, mut child: Child, port: u16, what: &str) -> Child {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        let ss = command(ns, "ss")
            .args(["-Htln", &format!("sport = :{port}")])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if ss.contains("LISTEN") {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what} did not listen on {port}");
}
