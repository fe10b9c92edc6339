//! The HTTP messages exchanged with the transport, and the header rules
//! ACME relies on (RFC 8555 6.1, 6.5 Replay-Nonce, 6.6 Retry-After).

use alloc::string::String;
use alloc::vec::Vec;

use crate::httpdate;

/// `User-Agent` sent on every request (RFC 8555 6.1: clients MUST send one).
pub const USER_AGENT: &str = concat!("gitns-acme/", env!("CARGO_PKG_VERSION"));
/// Content type of every ACME POST (RFC 8555 6.2).
pub const JOSE_JSON: &str = "application/jose+json";
/// Content type asked for the certificate download (RFC 8555 7.4.2).
pub const PEM_CHAIN: &str = "application/pem-certificate-chain";
/// Longest `Replay-Nonce` kept; longer ones are ignored.
const MAX_NONCE_LEN: usize = 256;
/// Longest URL taken from a `Location` header.
pub const MAX_URL_LEN: usize = 2048;

/// Request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
        }
    }
}

/// A request for the transport. `headers` hold what ACME needs
/// (User-Agent, Content-Type, Accept); the transport adds Host,
/// Content-Length and connection management.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// Header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

/// A complete response from the transport (body already de-chunked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Header value by case-insensitive name (RFC 7230 3.2), first match.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A well-formed `Replay-Nonce` (RFC 8555 6.5.1: base64url, non-empty).
    pub fn replay_nonce(&self) -> Option<&str> {
        let nonce = self.header("Replay-Nonce")?.trim();
        let ok =
            !nonce.is_empty() && nonce.len() <= MAX_NONCE_LEN && crate::b64::is_url_alphabet(nonce);
        ok.then_some(nonce)
    }

    /// The `Location` header as a URL of bounded length.
    pub fn location(&self) -> Option<&str> {
        let url = self.header("Location")?.trim();
        (!url.is_empty() && url.len() <= MAX_URL_LEN).then_some(url)
    }

    /// `Retry-After` (RFC 7231 7.1.3) as an absolute unix time, never
    /// before `now`: delay-seconds or an HTTP-date.
    pub fn retry_after(&self, now: u64) -> Option<u64> {
        let value = self.header("Retry-After")?.trim();
        let at = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // Up to 19 digits fit a u64; anything longer is "very long".
            let secs = value.parse::<u64>().unwrap_or(u64::MAX);
            now.saturating_add(secs)
        } else {
            httpdate::parse(value)?
        };
        Some(at.max(now))
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn resp(headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: vec![],
        }
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let r = resp(&[("replay-NONCE", "abc_-9"), ("LOCATION", " https://ca/o/1 ")]);
        assert_eq!(r.replay_nonce(), Some("abc_-9"));
        assert_eq!(r.location(), Some("https://ca/o/1"));
        assert_eq!(r.header("missing"), None);
    }

    #[test]
    fn malformed_nonce_ignored() {
        assert_eq!(resp(&[("Replay-Nonce", "a+b")]).replay_nonce(), None);
        assert_eq!(resp(&[("Replay-Nonce", "")]).replay_nonce(), None);
        let long = "a".repeat(MAX_NONCE_LEN + 1);
        assert_eq!(resp(&[("Replay-Nonce", &long)]).replay_nonce(), None);
    }

    #[test]
    fn retry_after_forms() {
        let now = 1_000;
        assert_eq!(
            resp(&[("Retry-After", "120")]).retry_after(now),
            Some(1_120)
        );
        assert_eq!(
            resp(&[("Retry-After", "99999999999999999999999")]).retry_after(now),
            Some(u64::MAX)
        );
        let date = resp(&[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        assert_eq!(date.retry_after(0), Some(784_111_777));
        assert_eq!(date.retry_after(900_000_000), Some(900_000_000)); // past -> now
        assert_eq!(resp(&[("Retry-After", "soon")]).retry_after(now), None);
        assert_eq!(resp(&[("Retry-After", "-5")]).retry_after(now), None);
        assert_eq!(resp(&[]).retry_after(now), None);
    }
}
