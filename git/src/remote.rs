//! Remote addresses as operators write them (`--remote=`): scp-like
//! `user@host:path`, `ssh://[user@]host[:port]/path` and the older
//! `ssh+git://` / `git+ssh://` spellings, each with an optional
//! `#branch` (default `main`).

use alloc::string::{String, ToString};
use core::fmt;

/// A parsed SSH remote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub user: String,
    pub host: String,
    pub port: u16,
    /// The repository path as the server's shell sees it.
    pub path: String,
    pub branch: String,
}

/// Why a remote was not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteError {
    /// `https://`, `git://`, `file://`...: not (yet) supported.
    Scheme(String),
    Empty(&'static str),
    BadPort(String),
    /// A character the remote command line cannot carry safely.
    BadChar(char),
    /// An `https://` or `git://` URL that does not parse.
    Url(String),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteError::Scheme(s) => write!(
                f,
                "scheme `{s}` is not supported (use git@host:path, ssh://user@host[:port]/path, https://host/path or git://host/path)"
            ),
            RemoteError::Empty(what) => write!(f, "the {what} is empty"),
            RemoteError::BadPort(p) => write!(f, "`{p}` is not a port number"),
            RemoteError::BadChar(c) => write!(f, "character {c:?} is not allowed in a remote"),
            RemoteError::Url(e) => write!(f, "{e}"),
        }
    }
}

impl Remote {
    /// Parse a `--remote` value.
    pub fn parse(s: &str) -> Result<Remote, RemoteError> {
        let (addr, branch) = match s.rsplit_once('#') {
            Some((a, b)) => (a, b),
            None => (s, "main"),
        };
        if branch.is_empty() {
            return Err(RemoteError::Empty("branch"));
        }
        let mut r = if let Some((scheme, rest)) = addr.split_once("://") {
            match scheme {
                "ssh" | "ssh+git" | "git+ssh" => Self::url(rest)?,
                other => return Err(RemoteError::Scheme(other.to_string())),
            }
        } else {
            Self::scp(addr)?
        };
        r.branch = branch.to_string();
        r.validate()?;
        Ok(r)
    }

    /// `[user@]host[:port]/path` (after `ssh://`).
    fn url(rest: &str) -> Result<Remote, RemoteError> {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (user, hostport) = split_user(authority);
        // An IPv6 literal is bracketed (RFC 3986 3.2.2): `[fd00::1]:2222`.
        let (host, port) = match bracketed(hostport) {
            Some((h, "")) => (h, None),
            Some((h, rest)) => (h, Some(rest.strip_prefix(':').unwrap_or(rest))),
            None => match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            },
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| RemoteError::BadPort(p.to_string()))?,
            None => 22,
        };
        // git strips the leading slash of `ssh://host/~user/repo`.
        let path = path.strip_prefix("/~").map_or(path.to_string(), |p| {
            let mut s = String::from("~");
            s.push_str(p);
            s
        });
        Ok(Remote {
            user: user.to_string(),
            host: host.to_string(),
            port,
            path,
            branch: String::new(),
        })
    }

    /// scp-like `[user@]host:path`, the host an IPv6 literal in brackets
    /// as git writes it (`git@[fd00::1]:zones.git`).
    fn scp(addr: &str) -> Result<Remote, RemoteError> {
        let at = addr
            .find('[')
            .filter(|&i| i == 0 || addr[..i].ends_with('@'));
        let (user, host, path) = match at {
            Some(i) => {
                let (host, rest) = bracketed(&addr[i..]).ok_or(RemoteError::BadChar('['))?;
                let path = rest.strip_prefix(':').ok_or(RemoteError::BadChar('['))?;
                let user = addr[..i].strip_suffix('@').unwrap_or("git");
                (user, host, path)
            }
            None => {
                let Some((authority, path)) = addr.split_once(':') else {
                    return Err(RemoteError::Scheme(addr.to_string()));
                };
                let (user, host) = split_user(authority);
                (user, host, path)
            }
        };
        Ok(Remote {
            user: user.to_string(),
            host: host.to_string(),
            port: 22,
            path: path.to_string(),
            branch: String::new(),
        })
    }

    fn validate(&self) -> Result<(), RemoteError> {
        if self.host.is_empty() {
            return Err(RemoteError::Empty("host"));
        }
        if self.path.is_empty() {
            return Err(RemoteError::Empty("repository path"));
        }
        let bad = |c: char| c.is_control() || c == '\'' || c == ' ';
        for part in [&self.user, &self.host, &self.path, &self.branch] {
            if let Some(c) = part.chars().find(|&c| bad(c)) {
                return Err(RemoteError::BadChar(c));
            }
        }
        Ok(())
    }

    /// The command that runs `service` (`git-upload-pack`,
    /// `git-receive-pack`) on the server, quoted as git itself quotes it.
    pub fn command(&self, service: &str) -> String {
        alloc::format!("{service} '{}'", self.path)
    }
}

impl Remote {
    /// The upload-pack command asking for protocol v2 through the
    /// environment (`env GIT_PROTOCOL=version=2 git-upload-pack '<path>'`):
    /// sunset cannot send an SSH `env` request, and a login shell runs this
    /// form whether or not sshd accepts GIT_PROTOCOL. git-shell refuses it;
    /// the caller then falls back to [`Remote::command`] (protocol v0).
    pub fn upload_pack_v2(&self) -> String {
        alloc::format!(
            "env GIT_PROTOCOL=version=2 {}",
            self.command("git-upload-pack")
        )
    }
}

/// `user@host` -> (user, host); no user means `git`, as in git@host:path.
/// `[host]rest` -> (host, rest); None when `s` does not start with `[`
/// or has no `]`.
fn bracketed(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('[')?;
    inner.split_once(']')
}

fn split_user(s: &str) -> (&str, &str) {
    match s.rsplit_once('@') {
        Some((u, h)) => (u, h),
        None => ("git", s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(user: &str, host: &str, port: u16, path: &str, branch: &str) -> Remote {
        Remote {
            user: user.into(),
            host: host.into(),
            port,
            path: path.into(),
            branch: branch.into(),
        }
    }

    #[test]
    fn every_spelling_operators_use() {
        let cases = [
            (
                "git@10.0.0.1:zones.git",
                r("git", "10.0.0.1", 22, "zones.git", "main"),
            ),
            (
                "git@10.0.0.1:zones.git#prod",
                r("git", "10.0.0.1", 22, "zones.git", "prod"),
            ),
            (
                "ssh://root@10.0.0.1:2222/srv/zones.git",
                r("root", "10.0.0.1", 2222, "/srv/zones.git", "main"),
            ),
            (
                "ssh+git://git@host/zones#b",
                r("git", "host", 22, "/zones", "b"),
            ),
            (
                "git+ssh://host/~me/z.git",
                r("git", "host", 22, "~me/z.git", "main"),
            ),
            (
                "10.0.0.1:/srv/z.git",
                r("git", "10.0.0.1", 22, "/srv/z.git", "main"),
            ),
            // IPv6 literals in brackets, as git takes them.
            (
                "git@[fd00::1]:zones.git",
                r("git", "fd00::1", 22, "zones.git", "main"),
            ),
            (
                "[fd00::1]:/srv/z.git#b",
                r("git", "fd00::1", 22, "/srv/z.git", "b"),
            ),
            (
                "ssh://root@[fd00::1]:2222/srv/zones.git",
                r("root", "fd00::1", 2222, "/srv/zones.git", "main"),
            ),
            (
                "ssh://[fd00::1]/zones.git",
                r("git", "fd00::1", 22, "/zones.git", "main"),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(Remote::parse(s), Ok(want), "{s}");
        }
        assert_eq!(
            Remote::parse("git@h:z.git")
                .unwrap()
                .command("git-upload-pack"),
            "git-upload-pack 'z.git'"
        );
    }

    #[test]
    fn bad_remotes_are_named_errors() {
        assert_eq!(
            Remote::parse("https://github.com/x/y"),
            Err(RemoteError::Scheme("https".into()))
        );
        assert_eq!(
            Remote::parse("ssh://h:0/x"),
            Err(RemoteError::BadPort("0".into()))
        );
        assert_eq!(
            Remote::parse("ssh://h:99999/x"),
            Err(RemoteError::BadPort("99999".into()))
        );
        assert_eq!(
            Remote::parse("git@h:"),
            Err(RemoteError::Empty("repository path"))
        );
        assert_eq!(Remote::parse("git@:x"), Err(RemoteError::Empty("host")));
        assert_eq!(Remote::parse("git@h:x#"), Err(RemoteError::Empty("branch")));
        assert_eq!(Remote::parse("git@h:it's"), Err(RemoteError::BadChar('\'')));
        assert_eq!(
            Remote::parse("git@[fd00::1:zones.git"),
            Err(RemoteError::BadChar('['))
        );
        assert_eq!(
            Remote::parse("git@[fd00::1]zones.git"),
            Err(RemoteError::BadChar('['))
        );
        assert_eq!(
            Remote::parse("ssh://[fd00::1]:x/z"),
            Err(RemoteError::BadPort("x".into()))
        );
        assert_eq!(
            Remote::parse("justaname"),
            Err(RemoteError::Scheme("justaname".into()))
        );
    }
}
