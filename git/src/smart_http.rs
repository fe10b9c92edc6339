//! git's smart HTTP protocol (gitprotocol-http), client side, sans-I/O:
//! the requests of one fetch and what their responses mean. The git
//! commands themselves are [`Fetch`]'s, the same code SSH runs; this layer
//! only cuts its conversation into requests:
//!
//! 1. `GET <repo>/info/refs?service=git-upload-pack` with
//!    `Git-Protocol: version=2`: a v2 server answers with its capability
//!    advertisement, an older one with the v0 ref advertisement (after a
//!    `# service=git-upload-pack` packet and a flush, gitprotocol-http
//!    "Smart Clients").
//! 2. `POST <repo>/git-upload-pack` with what [`Fetch`] wants to send
//!    (v2: `command=ls-refs`, then `command=fetch`; v0: the wants, haves
//!    and `done` in one request, "Smart Service git-upload-pack"), each
//!    response fed back to it, until it has its result.
//!
//! Redirects of the first request are followed within https (as git's
//! `http.followRedirects=initial`): the repository URL becomes the new one
//! less the `/info/refs?...` it ends with.

use crate::pktline::{self, Pkt};
use crate::proto::fetch::{Fetch, Fetched};
use crate::proto::ProtoError;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use gitns_https::{HttpRequest, HttpResponse, Method, Url};

const REFS: &str = "/info/refs?service=git-upload-pack";
const ADVERT_TYPE: &str = "application/x-git-upload-pack-advertisement";
const RESULT_TYPE: &str = "application/x-git-upload-pack-result";
const REQUEST_TYPE: &str = "application/x-git-upload-pack-request";
/// Servers (GitHub's among them) tell git clients by a `git/` agent.
const AGENT: &str = "git/2 (gitns)";
/// Redirects followed before giving up (git's curl default is 20).
const MAX_REDIRECTS: u8 = 5;

/// Credentials for a private repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    #[default]
    None,
    /// HTTP basic (RFC 7617): a user and its password or access token
    /// (GitHub, GitLab and Gitea take a token as the password).
    Basic { user: String, secret: String },
    /// `Authorization: Bearer <token>` (RFC 6750 2.1).
    Bearer(String),
}

impl Auth {
    /// `--remote-user` and `--remote-token`: both make basic auth, a token
    /// alone a bearer token.
    pub fn from_options(user: Option<&str>, token: Option<&str>) -> Auth {
        match (user, token) {
            (Some(u), t) => Auth::Basic {
                user: u.to_string(),
                secret: t.unwrap_or("").to_string(),
            },
            (None, Some(t)) => Auth::Bearer(t.to_string()),
            (None, None) => Auth::None,
        }
    }

    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { user, secret } => {
                let raw = format!("{user}:{secret}");
                Some(format!("Basic {}", base64(raw.as_bytes())))
            }
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
        }
    }
}

/// What the server's answers meant when they were not what git expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpGitError {
    /// 401 without credentials: the repository is private.
    AuthRequired,
    /// 401 or 403 with credentials: they were refused.
    AuthRefused(u16),
    /// 404: no repository there.
    NotFound,
    /// Another status; the URL asked.
    Status(u16, String),
    /// Not a smart HTTP server (a "dumb" one, or a web page).
    NotSmart(String),
    /// A redirect that is not followed (another scheme, too many, on a POST).
    Redirect(String),
    /// The git conversation itself.
    Proto(ProtoError),
}

impl fmt::Display for HttpGitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpGitError::AuthRequired => write!(
                f,
                "HTTP 401: the repository needs credentials (--remote-user=, --remote-token=)"
            ),
            HttpGitError::AuthRefused(s) => {
                write!(f, "HTTP {s}: the server refused the credentials")
            }
            HttpGitError::NotFound => write!(f, "HTTP 404: no repository at this URL"),
            HttpGitError::Status(s, url) => write!(f, "HTTP {s} from {url}"),
            HttpGitError::NotSmart(why) => {
                write!(f, "not a smart git HTTP server ({why})")
            }
            HttpGitError::Redirect(why) => write!(f, "redirect not followed: {why}"),
            HttpGitError::Proto(e) => write!(f, "git protocol: {e:?}"),
        }
    }
}

impl From<ProtoError> for HttpGitError {
    fn from(e: ProtoError) -> Self {
        HttpGitError::Proto(e)
    }
}

/// One fetch over smart HTTP.
pub struct SmartHttp {
    /// The repository URL (no trailing `/`), redirects applied.
    base: String,
    auth: Auth,
    fetch: Fetch,
    /// The info/refs answer was taken.
    refs_done: bool,
    redirects: u8,
    pending: Option<HttpRequest>,
}

impl SmartHttp {
    /// Run `fetch` (made with `v2` asked for) against the repository `url`.
    pub fn new(url: &Url, auth: Auth, fetch: Fetch) -> SmartHttp {
        let mut s = SmartHttp {
            base: url.to_string(),
            auth,
            fetch,
            refs_done: false,
            redirects: 0,
            pending: None,
        };
        s.pending = Some(s.request(Method::Get, format!("{}{REFS}", s.base), vec![]));
        s
    }

    /// The repository URL, after redirects.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The next request to send, once.
    pub fn take_request(&mut self) -> Option<HttpRequest> {
        self.pending.take()
    }

    /// The fetch's result once it has one.
    pub fn result(&self) -> Option<&Fetched> {
        self.fetch.result()
    }

    /// Whether the server speaks protocol v2 (known after the first answer).
    pub fn protocol_v2(&self) -> bool {
        self.fetch.protocol_v2()
    }

    /// The response to the last request taken.
    pub fn response(&mut self, resp: HttpResponse) -> Result<(), HttpGitError> {
        match resp.status {
            200..=299 => {}
            301 | 302 | 303 | 307 | 308 => return self.redirect(&resp),
            401 | 403 if self.auth != Auth::None => {
                return Err(HttpGitError::AuthRefused(resp.status))
            }
            401 => return Err(HttpGitError::AuthRequired),
            404 => return Err(HttpGitError::NotFound),
            s => return Err(HttpGitError::Status(s, self.base.clone())),
        }
        let want = if self.refs_done {
            RESULT_TYPE
        } else {
            ADVERT_TYPE
        };
        let ctype = resp.header("content-type").unwrap_or("");
        if !ctype.trim().eq_ignore_ascii_case(want) {
            return Err(HttpGitError::NotSmart(format!("Content-Type `{ctype}`")));
        }
        let body = if self.refs_done {
            &resp.body[..]
        } else {
            self.refs_done = true;
            skip_service_preamble(&resp.body)?
        };
        self.fetch.input(body)?;
        if self.fetch.result().is_some() {
            return Ok(());
        }
        let out = self.fetch.take_output();
        if out.is_empty() {
            return Err(ProtoError::Malformed("the answer ended early".into()).into());
        }
        let url = format!("{}/git-upload-pack", self.base);
        self.pending = Some(self.request(Method::Post, url, out));
        Ok(())
    }

    fn request(&self, method: Method, url: String, body: Vec<u8>) -> HttpRequest {
        let mut headers = vec![("User-Agent".to_string(), AGENT.to_string())];
        if self.fetch.protocol_v2() {
            // gitprotocol-v2 "HTTP Transport": on every request.
            headers.push(("Git-Protocol".into(), "version=2".into()));
        }
        if method == Method::Post {
            headers.push(("Content-Type".into(), REQUEST_TYPE.into()));
            headers.push(("Accept".into(), RESULT_TYPE.into()));
        }
        if let Some(a) = self.auth.header() {
            headers.push(("Authorization".into(), a));
        }
        HttpRequest {
            method,
            url,
            headers,
            body,
        }
    }

    /// Follow a redirect of the info/refs request (RFC 9110 15.4).
    fn redirect(&mut self, resp: &HttpResponse) -> Result<(), HttpGitError> {
        let to = resp.header("location").unwrap_or("");
        let refuse = |why: &str| Err(HttpGitError::Redirect(format!("{why} ({to})")));
        if self.refs_done {
            return refuse("a redirect of a POST");
        }
        self.redirects += 1;
        if self.redirects > MAX_REDIRECTS {
            return refuse("too many redirects");
        }
        let absolute = if to.starts_with('/') && !to.starts_with("//") {
            let here = Url::parse(&self.base).map_err(|_| HttpGitError::Redirect(to.into()))?;
            format!("https://{}{to}", here.authority())
        } else {
            to.to_string()
        };
        if !absolute
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            return refuse("to another scheme than https");
        }
        let Some(base) = absolute.strip_suffix(REFS) else {
            return refuse("not to a repository's info/refs");
        };
        let url = Url::parse(base).map_err(|e| HttpGitError::Redirect(format!("{e} ({to})")))?;
        log::info!("git: {} redirects to {url}", self.base);
        self.base = url.to_string();
        let refs = format!("{}{REFS}", self.base);
        self.pending = Some(self.request(Method::Get, refs, vec![]));
        Ok(())
    }
}

/// gitprotocol-http "Smart Service Discovery": a v0 answer (and some v2
/// ones) starts with `# service=git-upload-pack` and a flush; the rest is
/// what upload-pack says.
fn skip_service_preamble(body: &[u8]) -> Result<&[u8], HttpGitError> {
    let bad = |_| ProtoError::Malformed("bad pkt-line length".into());
    match pktline::decode(body).map_err(bad)? {
        Some((Pkt::Data(d), n)) if d.starts_with(b"# service=") => {
            if d.strip_suffix(b"\n").unwrap_or(d) != b"# service=git-upload-pack" {
                let line = String::from_utf8_lossy(d).trim().to_string();
                return Err(HttpGitError::NotSmart(line));
            }
            match pktline::decode(&body[n..]).map_err(bad)? {
                Some((Pkt::Flush, m)) => Ok(&body[n + m..]),
                _ => Err(ProtoError::Malformed("no flush after # service=".into()).into()),
            }
        }
        _ => Ok(body),
    }
}

/// Standard base64 with padding (RFC 4648 4), for basic auth.
fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oid::Oid;

    fn head() -> Oid {
        Oid::from_hex(b"1111111111111111111111111111111111111111").unwrap()
    }

    fn pkts(lines: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        for l in lines {
            match *l {
                "0000" => pktline::flush(&mut v),
                "0001" => v.extend_from_slice(b"0001"),
                l => pktline::encode(&mut v, l.as_bytes()),
            }
        }
        v
    }

    fn ok(ctype: &str, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), ctype.into())],
            body,
        }
    }

    fn status(s: u16, location: &str) -> HttpResponse {
        HttpResponse {
            status: s,
            headers: vec![("Location".into(), location.into())],
            body: vec![],
        }
    }

    fn smart(auth: Auth, haves: Vec<Oid>) -> SmartHttp {
        let url = Url::parse("https://git.test/zones.git").unwrap();
        SmartHttp::new(&url, auth, Fetch::new("main", haves, true, 1 << 20))
    }

    #[test]
    fn v2_asks_refs_then_ls_refs_then_fetch_and_reads_the_pack() {
        let mut s = smart(Auth::None, vec![]);
        let get = s.take_request().unwrap();
        assert_eq!(
            get.url,
            "https://git.test/zones.git/info/refs?service=git-upload-pack"
        );
        assert_eq!(get.header("git-protocol"), Some("version=2"));
        assert!(s.take_request().is_none(), "once");
        let caps = pkts(&[
            "# service=git-upload-pack\n",
            "0000",
            "version 2\n",
            "ls-refs\n",
            "fetch=shallow\n",
            "0000",
        ]);
        s.response(ok(ADVERT_TYPE, caps)).unwrap();
        let ls = s.take_request().unwrap();
        assert_eq!(ls.url, "https://git.test/zones.git/git-upload-pack");
        assert_eq!(ls.header("content-type"), Some(REQUEST_TYPE));
        assert!(ls.body.starts_with(b"0014command=ls-refs\n"));
        let refs = pkts(&[&format!("{} refs/heads/main\n", head()), "0000"]);
        s.response(ok(RESULT_TYPE, refs)).unwrap();
        let fetch = s.take_request().unwrap();
        let text = String::from_utf8_lossy(&fetch.body).into_owned();
        assert!(
            text.contains("command=fetch") && text.contains(&format!("want {}", head())),
            "{text}"
        );
        let mut pack = pkts(&["packfile\n"]);
        pktline::encode(&mut pack, b"\x01PACKDATA");
        pktline::flush(&mut pack);
        s.response(ok(RESULT_TYPE, pack)).unwrap();
        assert_eq!(
            s.result(),
            Some(&Fetched::Pack {
                head: head(),
                pack: b"PACKDATA".to_vec()
            })
        );
        assert!(s.protocol_v2());
    }

    #[test]
    fn v0_server_gets_wants_in_one_post_and_up_to_date_needs_no_post() {
        let advert = pkts(&[
            "# service=git-upload-pack\n",
            "0000",
            &format!("{} refs/heads/main\0side-band-64k ofs-delta\n", head()),
            "0000",
        ]);
        let mut s = smart(Auth::None, vec![]);
        s.take_request();
        s.response(ok(ADVERT_TYPE, advert.clone())).unwrap();
        let post = s.take_request().unwrap();
        let text = String::from_utf8_lossy(&post.body).into_owned();
        assert!(
            text.starts_with(&format!("0056want {} side-band-64k", head())),
            "{text}"
        );
        assert!(text.ends_with("done\n"), "{text}");
        assert!(post.header("git-protocol").is_none(), "v0 from now on");
        let mut answer = pkts(&[
            "shallow 1111111111111111111111111111111111111111\n",
            "0000",
            "NAK\n",
        ]);
        pktline::encode(&mut answer, b"\x01PACK");
        pktline::flush(&mut answer);
        s.response(ok(RESULT_TYPE, answer)).unwrap();
        assert!(matches!(s.result(), Some(Fetched::Pack { .. })));

        let mut s = smart(Auth::None, vec![head()]);
        s.take_request();
        s.response(ok(ADVERT_TYPE, advert)).unwrap();
        assert_eq!(s.result(), Some(&Fetched::UpToDate(head())));
        assert!(s.take_request().is_none());
    }

    #[test]
    fn statuses_are_named_errors() {
        let cases = [
            (Auth::None, 401, HttpGitError::AuthRequired),
            (
                Auth::Bearer("t".into()),
                401,
                HttpGitError::AuthRefused(401),
            ),
            (
                Auth::Bearer("t".into()),
                403,
                HttpGitError::AuthRefused(403),
            ),
            (Auth::None, 404, HttpGitError::NotFound),
            (
                Auth::None,
                500,
                HttpGitError::Status(500, "https://git.test/zones.git".into()),
            ),
        ];
        for (auth, code, want) in cases {
            let mut s = smart(auth, vec![]);
            s.take_request();
            assert_eq!(s.response(status(code, "")), Err(want));
        }
        let mut s = smart(Auth::None, vec![]);
        s.take_request();
        let e = s.response(ok("text/plain", b"dumb".to_vec())).unwrap_err();
        assert_eq!(
            e,
            HttpGitError::NotSmart("Content-Type `text/plain`".into())
        );
        let mut s = smart(Auth::None, vec![]);
        s.take_request();
        let e = s
            .response(ok(
                ADVERT_TYPE,
                pkts(&["# service=git-receive-pack\n", "0000"]),
            ))
            .unwrap_err();
        assert!(matches!(e, HttpGitError::NotSmart(_)), "{e:?}");
        let mut s = smart(Auth::None, vec![]);
        s.take_request();
        let e = s
            .response(ok(ADVERT_TYPE, pkts(&["ERR no such repository\n"])))
            .unwrap_err();
        assert_eq!(
            e,
            HttpGitError::Proto(ProtoError::Remote("no such repository".into()))
        );
    }

    #[test]
    fn redirects_within_https_only() {
        let mut s = smart(Auth::None, vec![]);
        s.take_request();
        s.response(status(
            301,
            "https://git2.test/moved.git/info/refs?service=git-upload-pack",
        ))
        .unwrap();
        assert_eq!(s.url(), "https://git2.test/moved.git");
        assert_eq!(
            s.take_request().unwrap().url,
            "https://git2.test/moved.git/info/refs?service=git-upload-pack"
        );
        s.response(status(302, "/z/info/refs?service=git-upload-pack"))
            .unwrap();
        assert_eq!(s.url(), "https://git2.test/z");
        let e = s.response(status(
            302,
            "http://git2.test/z/info/refs?service=git-upload-pack",
        ));
        assert!(matches!(e, Err(HttpGitError::Redirect(_))), "{e:?}");
        let e = s.response(status(302, "https://git2.test/login"));
        assert!(matches!(e, Err(HttpGitError::Redirect(_))), "{e:?}");
        let mut s = smart(Auth::None, vec![]);
        for _ in 0..MAX_REDIRECTS {
            s.take_request();
            s.response(status(307, "/a/info/refs?service=git-upload-pack"))
                .unwrap();
        }
        let e = s.response(status(307, "/a/info/refs?service=git-upload-pack"));
        assert_eq!(
            e,
            Err(HttpGitError::Redirect(
                "too many redirects (/a/info/refs?service=git-upload-pack)".into()
            ))
        );
    }

    #[test]
    fn credentials_go_on_every_request() {
        let a = Auth::from_options(Some("Aladdin"), Some("open sesame"));
        let mut s = smart(a, vec![]);
        let get = s.take_request().unwrap();
        assert_eq!(
            get.header("authorization"),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        let mut s = smart(Auth::from_options(None, Some("tok")), vec![]);
        assert_eq!(
            s.take_request().unwrap().header("authorization"),
            Some("Bearer tok")
        );
        assert_eq!(Auth::from_options(None, None), Auth::None);
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }
}
