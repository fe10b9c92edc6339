//! The HTTPS rows of `cargo xtask bench git` (issue 28): a depth-1 clone of
//! the same repository through git's own `git http-backend` behind
//! lighttpd (TLS 1.3 from a CA made here, in the benchmark's namespace),
//! by gitns's read-only fetch (git/src/http_fetch.rs, driven over a host
//! TCP socket, checkout built) and by `git clone` of the same URL.

use crate::gitclient::{clock, drive};
use crate::githttp::{Place, WebGit};
use crate::netns::Netns;
use crate::sshd::GitServer;
use gitns_git::checkout::Checkout;
use gitns_git::http_fetch::HttpFetch;
use gitns_git::pack::Limits;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::smart_http::Auth;
use gitns_https::{Anchors, Url};
use std::time::{Duration, Instant};

const URL: &str = "https://10.0.0.1/git/zones.git";

/// (gitns clone ms, git clone ms), `n` runs each.
pub(super) fn clones(
    ns: &Netns,
    srv: &GitServer,
    n: usize,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    crate::deps::install(&[
        ("lighttpd", "lighttpd"),
        ("/usr/lib/lighttpd/mod_openssl.so", "lighttpd-mod-openssl"),
    ])?;
    let place = Place {
        ns: Some(ns),
        bind: "10.0.0.1",
        https_port: 443,
        daemon_port: 9418,
    };
    let web = WebGit::start(place, &srv.dir.join("web"), &srv.dir, &["10.0.0.1"]);
    let der = web.ca_der.clone();
    let mut ours = Vec::new();
    for _ in 0..n {
        let der = der.clone();
        ours.push(ns.run_in(move || clone_once(&der))??);
    }
    let ca = web.dir.join("ca.pem");
    let mut git = Vec::new();
    for i in 0..n {
        let into = srv.dir.join(format!("https-c{i}"));
        let t0 = Instant::now();
        crate::util::run_ok(
            ns.command("git")
                .args(["clone", "-q", "--depth", "1", URL])
                .arg(&into)
                .env("GIT_SSL_CAINFO", &ca),
        )?;
        git.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    Ok((ours, git))
}

/// One clone by gitns over HTTPS, checkout built; its time in ms.
fn clone_once(ca_der: &[u8]) -> Result<f64, String> {
    let mut anchors = Anchors::empty();
    anchors.add_der(ca_der).map_err(|e| e.to_string())?;
    let url = Url::parse(URL).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let fetch = Fetch::new("main", Vec::new(), true, 512 << 20);
    let mut f = HttpFetch::new(&url, Auth::None, fetch, anchors, 512 << 20, clock(t0));
    let to_ip = |h: &str| h.to_string();
    match drive(&mut f, t0, &to_ip, Duration::from_secs(120)).map_err(|e| e.to_string())? {
        Fetched::Pack { head, pack } => {
            Checkout::from_pack(&pack, head, Limits::default(), None)
                .map_err(|e| format!("{e:?}"))?;
        }
        other => return Err(format!("unexpected {other:?}")),
    }
    Ok(t0.elapsed().as_secs_f64() * 1e3)
}
