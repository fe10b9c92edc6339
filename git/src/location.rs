//! Where a zone repository is, as `--remote=` says: over SSH (see
//! [`crate::remote`]), over HTTPS (`https://host[:port]/path`, git's smart
//! HTTP, read-only) or from a git daemon (`git://host[:port]/path`, port
//! 9418, read-only). Each takes an optional `#branch` (default `main`).

use crate::remote::{Remote, RemoteError};
use alloc::format;
use alloc::string::{String, ToString};
use gitns_https::Url;

/// The default port of the git daemon (gitprotocol-pack "git:// Transport").
pub const DAEMON_PORT: u16 = 9418;

/// A parsed `--remote=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Ssh(Remote),
    Https(HttpsRemote),
    Daemon(DaemonRemote),
}

/// An `https://` repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsRemote {
    /// The repository URL, without a trailing `/` (requests append
    /// `/info/refs?...` and `/git-upload-pack` to it).
    pub url: Url,
    pub branch: String,
}

/// A `git://` repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonRemote {
    pub host: String,
    pub port: u16,
    /// The path as the daemon sees it (starts with `/`).
    pub path: String,
    pub branch: String,
}

impl Location {
    /// Parse a `--remote` value.
    pub fn parse(s: &str) -> Result<Location, RemoteError> {
        let scheme = s.split_once("://").map(|(a, _)| a.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("https") => HttpsRemote::parse(s).map(Location::Https),
            Some("git") => DaemonRemote::parse(s).map(Location::Daemon),
            _ => Remote::parse(s).map(Location::Ssh),
        }
    }

    /// The host name (or address) to look up.
    pub fn host(&self) -> &str {
        match self {
            Location::Ssh(r) => &r.host,
            Location::Https(r) => &r.url.host,
            Location::Daemon(r) => &r.host,
        }
    }

    /// The branch served.
    pub fn branch(&self) -> &str {
        match self {
            Location::Ssh(r) => &r.branch,
            Location::Https(r) => &r.branch,
            Location::Daemon(r) => &r.branch,
        }
    }

    /// True when pushes are possible (SSH only: the other two are
    /// read-only transports).
    pub fn writable(&self) -> bool {
        matches!(self, Location::Ssh(_))
    }
}

/// `address#branch` -> (address, branch), `main` when none is given.
fn split_branch(s: &str) -> Result<(&str, String), RemoteError> {
    let (addr, branch) = s.rsplit_once('#').unwrap_or((s, "main"));
    if branch.is_empty() {
        return Err(RemoteError::Empty("branch"));
    }
    if let Some(c) = branch.chars().find(|c| c.is_control() || *c == ' ') {
        return Err(RemoteError::BadChar(c));
    }
    Ok((addr, branch.to_string()))
}

impl HttpsRemote {
    fn parse(s: &str) -> Result<HttpsRemote, RemoteError> {
        let (addr, branch) = split_branch(s)?;
        let mut url = Url::parse(addr).map_err(|e| RemoteError::Url(e.to_string()))?;
        if url.target.contains('?') {
            return Err(RemoteError::Url("a repository URL has no query".into()));
        }
        while url.target.len() > 1 && url.target.ends_with('/') {
            url.target.pop();
        }
        if url.target == "/" {
            return Err(RemoteError::Empty("repository path"));
        }
        Ok(HttpsRemote { url, branch })
    }
}

impl DaemonRemote {
    fn parse(s: &str) -> Result<DaemonRemote, RemoteError> {
        let (addr, branch) = split_branch(s)?;
        let rest = &addr[addr.find("://").map_or(0, |i| i + 3)..];
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        // The URL grammar is the https one (host forms, port range).
        let url =
            Url::parse(&format!("https://{rest}")).map_err(|e| RemoteError::Url(e.to_string()))?;
        let explicit_port = authority
            .rsplit_once(':')
            .is_some_and(|(h, _)| !h.is_empty() && (!h.starts_with('[') || h.ends_with(']')));
        let path = String::from(url.target.trim_end_matches('/'));
        if path.is_empty() || path.contains('?') {
            return Err(RemoteError::Empty("repository path"));
        }
        if let Some(c) = path.chars().find(|c| c.is_control() || *c == '\0') {
            return Err(RemoteError::BadChar(c));
        }
        Ok(DaemonRemote {
            host: url.host.clone(),
            port: if explicit_port { url.port } else { DAEMON_PORT },
            path,
            branch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn https(s: &str) -> HttpsRemote {
        match Location::parse(s) {
            Ok(Location::Https(r)) => r,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn daemon(s: &str) -> DaemonRemote {
        match Location::parse(s) {
            Ok(Location::Daemon(r)) => r,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn https_forms() {
        let r = https("https://git.example/zones.git");
        assert_eq!(r.url.to_string(), "https://git.example/zones.git");
        assert_eq!(r.branch, "main");
        let r = https("https://Git.Example:8443/org/zones/#prod");
        assert_eq!(r.url.to_string(), "https://git.example:8443/org/zones");
        assert_eq!(r.branch, "prod");
        assert_eq!(r.url.port, 8443);
        assert!(!Location::Https(r).writable());
    }

    #[test]
    fn daemon_forms() {
        let r = daemon("git://10.0.0.1/srv/zones.git");
        assert_eq!(
            (r.host.as_str(), r.port, r.path.as_str(), r.branch.as_str()),
            ("10.0.0.1", 9418, "/srv/zones.git", "main")
        );
        let r = daemon("git://git.example:9999/zones#b");
        assert_eq!((r.port, r.branch.as_str()), (9999, "b"));
        let r = daemon("git://[::1]/z");
        assert_eq!((r.host.as_str(), r.port), ("::1", 9418));
        let r = daemon("git://[::1]:1234/z");
        assert_eq!(r.port, 1234);
    }

    #[test]
    fn ssh_still_parses_and_errors_are_named() {
        let l = Location::parse("git@h:z.git").unwrap();
        assert!(l.writable());
        assert_eq!((l.host(), l.branch()), ("h", "main"));
        let bad = [
            "https://h/",
            "https://h",
            "git://h/",
            "https://h/z#",
            "https://u:p@h/z",
            "https://h/z?x=1",
            "git://h:0/z",
            "https://h:99999/z",
        ];
        for s in bad {
            assert!(Location::parse(s).is_err(), "{s}");
        }
        assert_eq!(
            Location::parse("ftp://h/z"),
            Err(RemoteError::Scheme("ftp".into()))
        );
    }
}
