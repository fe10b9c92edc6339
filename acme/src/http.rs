//! The header rules ACME relies on (RFC 8555 6.1 User-Agent, 6.5
//! Replay-Nonce, 6.6 Retry-After) over the https crate's messages.

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

pub use gitns_https::http::{HttpRequest, HttpResponse, Method};

/// The header rules ACME adds to a response (the message types are the
/// https crate's: one type per concept, no conversion in between).
pub trait AcmeHeaders {
    /// A well-formed `Replay-Nonce` (RFC 8555 6.5.1: base64url, non-empty).
    fn replay_nonce(&self) -> Option<&str>;
    /// The `Location` header as a URL of bounded length.
    fn location(&self) -> Option<&str>;
    /// `Retry-After` (RFC 7231 7.1.3) as an absolute unix time, never
    /// before `now`: delay-seconds or an HTTP-date.
    fn retry_after(&self, now: u64) -> Option<u64>;
}

impl AcmeHeaders for HttpResponse {
    fn replay_nonce(&self) -> Option<&str> {
        let nonce = self.header("Replay-Nonce")?.trim();
        let ok =
            !nonce.is_empty() && nonce.len() <= MAX_NONCE_LEN && crate::b64::is_url_alphabet(nonce);
        ok.then_some(nonce)
    }

    fn location(&self) -> Option<&str> {
        let url = self.header("Location")?.trim();
        (!url.is_empty() && url.len() <= MAX_URL_LEN).then_some(url)
    }

    fn retry_after(&self, now: u64) -> Option<u64> {
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
