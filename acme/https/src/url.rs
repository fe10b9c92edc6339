//! `https://host[:port]/path?query` URLs (RFC 3986 §3, RFC 9110 §4.2.2).
//!
//! Only what an ACME client meets: the `https` scheme, a DNS name or an
//! IPv4 / bracketed IPv6 literal, an optional port (default 443), and a
//! path with an optional query. No user info, no percent-decoding (the
//! path is sent as given), and a fragment is dropped (RFC 3986 §3.5: it
//! is never sent to the server).

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

/// Why a URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlError {
    /// The scheme is not `https`.
    NotHttps,
    /// There is no host.
    NoHost,
    /// The host is not a DNS name, IPv4 or bracketed IPv6 literal.
    BadHost,
    /// The port is not a number in 1..=65535.
    BadPort,
    /// `user@host` forms are refused (RFC 9110 §4.2.4).
    UserInfo,
    /// The path or query holds a space, control or non-ASCII byte.
    BadPath,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::NotHttps => "URL scheme is not https",
            UrlError::NoHost => "URL has no host",
            UrlError::BadHost => "URL host is not a DNS name or IP address",
            UrlError::BadPort => "URL port is not in 1..=65535",
            UrlError::UserInfo => "URL user info is not supported",
            UrlError::BadPath => "URL path has invalid characters",
        })
    }
}

/// The kind of host a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// A DNS name (lower-cased).
    Dns,
    /// An IPv4 literal.
    Ipv4(Ipv4Addr),
    /// An IPv6 literal (written in brackets in the URL).
    Ipv6(Ipv6Addr),
}

/// A parsed `https` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// The host without brackets: a DNS name or an IP literal.
    pub host: String,
    /// What kind of host `host` is.
    pub kind: Host,
    /// The port (443 unless given).
    pub port: u16,
    /// The request target: path (at least "/") and `?query` if any.
    pub target: String,
}

impl Url {
    /// Parse `s` (see the module doc for what is accepted).
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        let rest = strip_scheme(s)?;
        let rest = rest.split('#').next().unwrap_or("");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, kind, port) = parse_authority(authority)?;
        let target = parse_target(target)?;
        Ok(Url {
            host,
            kind,
            port,
            target,
        })
    }

    /// The `Host` header value (RFC 9110 §7.2): host, brackets for IPv6,
    /// and `:port` unless it is the default 443.
    pub fn authority(&self) -> String {
        let host = match self.kind {
            Host::Ipv6(_) => format!("[{}]", self.host),
            _ => self.host.clone(),
        };
        if self.port == 443 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// True when `other` is the same origin (RFC 6454 §5): one TLS
    /// connection may carry requests for both.
    pub fn same_origin(&self, other: &Url) -> bool {
        self.host == other.host && self.port == other.port
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "https://{}{}", self.authority(), self.target)
    }
}

fn strip_scheme(s: &str) -> Result<&str, UrlError> {
    let (scheme, rest) = s.split_once("://").ok_or(UrlError::NotHttps)?;
    if scheme.eq_ignore_ascii_case("https") {
        Ok(rest)
    } else {
        Err(UrlError::NotHttps)
    }
}

fn parse_authority(a: &str) -> Result<(String, Host, u16), UrlError> {
    if a.is_empty() {
        return Err(UrlError::NoHost);
    }
    let (host, port) = if let Some(v6) = a.strip_prefix('[') {
        let (inside, after) = v6.split_once(']').ok_or(UrlError::BadHost)?;
        let ip: Ipv6Addr = inside.parse().map_err(|_| UrlError::BadHost)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlError::BadPort)?),
        };
        return Ok((ip.to_string(), Host::Ipv6(ip), parse_port(port)?));
    } else {
        match a.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let port = parse_port(port)?;
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok((ip.to_string(), Host::Ipv4(ip), port));
    }
    if !is_dns_name(host) {
        return Err(UrlError::BadHost);
    }
    Ok((host.to_ascii_lowercase(), Host::Dns, port))
}

fn parse_port(p: Option<&str>) -> Result<u16, UrlError> {
    let Some(p) = p else { return Ok(443) };
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::BadPort);
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::BadPort),
        Ok(n) => Ok(n),
    }
}

/// LDH labels of 1..=63 bytes, 253 bytes in all (RFC 1035 §2.3.4,
/// RFC 1123 §2.1); `_` is tolerated; no trailing dot; not all-numeric
/// at the end (that would be a mistyped IPv4 address).
fn is_dns_name(h: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let last_numeric = h
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    h.len() <= 253 && h.split('.').all(label_ok) && !last_numeric
}

/// The request target (RFC 9112 §3.2.1 origin-form): "/" when empty.
fn parse_target(t: &str) -> Result<String, UrlError> {
    if t.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(UrlError::BadPath);
    }
    Ok(if t.is_empty() {
        String::from("/")
    } else if t.starts_with('?') {
        format!("/{t}")
    } else {
        String::from(t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn dns_host_default_port() {
        let u = ok("https://acme-v02.api.letsencrypt.org/directory");
        assert_eq!(u.host, "acme-v02.api.letsencrypt.org");
        assert_eq!(u.kind, Host::Dns);
        assert_eq!(u.port, 443);
        assert_eq!(u.target, "/directory");
        assert_eq!(u.authority(), "acme-v02.api.letsencrypt.org");
        assert_eq!(
            u.to_string(),
            "https://acme-v02.api.letsencrypt.org/directory"
        );
    }

    #[test]
    fn port_query_case_and_fragment() {
        let u = ok("HTTPS://Pebble.Test:14000/dir?x=1&y=%20#frag");
        assert_eq!(u.host, "pebble.test");
        assert_eq!(u.port, 14000);
        assert_eq!(u.target, "/dir?x=1&y=%20");
        assert_eq!(u.authority(), "pebble.test:14000");
        assert_eq!(ok("https://a.b").target, "/");
        assert_eq!(ok("https://a.b?q").target, "/?q");
        assert_eq!(ok("https://a.b:443/").authority(), "a.b");
    }

    #[test]
    fn ip_literals() {
        let u = ok("https://127.0.0.1:14000/dir");
        assert_eq!(u.kind, Host::Ipv4(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(u.host, "127.0.0.1");
        let u = ok("https://[::1]:8443/x");
        assert_eq!(u.kind, Host::Ipv6(Ipv6Addr::LOCALHOST));
        assert_eq!(u.host, "::1");
        assert_eq!(u.port, 8443);
        assert_eq!(u.authority(), "[::1]:8443");
        assert_eq!(ok("https://[2001:DB8::1]").authority(), "[2001:db8::1]");
    }

    #[test]
    fn refused() {
        let cases = [
            ("http://a.b/", UrlError::NotHttps),
            ("ftp://a.b/", UrlError::NotHttps),
            ("a.b/", UrlError::NotHttps),
            ("https:///x", UrlError::NoHost),
            ("https://:443/x", UrlError::NoHost),
            ("https://u:p@a.b/", UrlError::UserInfo),
            ("https://a.b:/", UrlError::BadPort),
            ("https://a.b:0/", UrlError::BadPort),
            ("https://a.b:65536/", UrlError::BadPort),
            ("https://a.b:+1/", UrlError::BadPort),
            ("https://a.b:1:2/", UrlError::BadPort),
            ("https://[::1/", UrlError::BadHost),
            ("https://[::1]x/", UrlError::BadPort),
            ("https://[zz]/", UrlError::BadHost),
            ("https://a..b/", UrlError::BadHost),
            ("https://-a.b/", UrlError::BadHost),
            ("https://a.b./", UrlError::BadHost),
            ("https://1.2.3.256/", UrlError::BadHost),
            ("https://ex ample/", UrlError::BadHost),
            ("https://é.fr/", UrlError::BadHost),
            ("https://a.b/x y", UrlError::BadPath),
            ("https://a.b/x\r\nHost: evil", UrlError::BadPath),
            ("https://a.b/é", UrlError::BadPath),
        ];
        for (s, e) in cases {
            assert_eq!(Url::parse(s), Err(e), "{s}");
        }
    }

    #[test]
    fn same_origin() {
        let a = ok("https://a.b/x");
        assert!(a.same_origin(&ok("https://A.b:443/y")));
        assert!(!a.same_origin(&ok("https://a.b:444/x")));
        assert!(!a.same_origin(&ok("https://c.b/x")));
    }
}
