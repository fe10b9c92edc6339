//! HTTP/1.1 messages (RFC 9110 semantics, RFC 9112 syntax): the plain
//! request and response types the ACME client uses, and request encoding.
//! Response decoding is in [`crate::response`].

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::url::Url;

/// The `User-Agent` of a request that names none (RFC 9110 §10.1.5).
pub const USER_AGENT: &str = "gitns";

/// The methods an ACME client needs (RFC 8555 §6.2 uses GET, HEAD for
/// newNonce, and POST for everything else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET (RFC 9110 §9.3.1).
    Get,
    /// HEAD (RFC 9110 §9.3.2): the response has no body.
    Head,
    /// POST (RFC 9110 §9.3.3).
    Post,
}

impl Method {
    /// The method token.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
        }
    }
}

/// A request: method, absolute `https://` URL, extra header fields, body.
/// The one request type: the ACME core (acme/) makes these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL (see [`crate::url`]).
    pub url: String,
    /// Extra header fields, e.g. `("Content-Type", "application/jose+json")`.
    /// Host, Content-Length, Connection and Transfer-Encoding are ours.
    pub headers: Vec<(String, String)>,
    /// The body (sent with a Content-Length).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first field named `name`, compared case-insensitively
    /// (RFC 9110 §5.1).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

/// A response: status, header fields in order, body (de-chunked).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code (RFC 9110 §15), 200..=599 (interim 1xx are skipped).
    pub status: u16,
    /// Header fields as received (names keep their case; compare with
    /// [`HttpResponse::header`]).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first field named `name`, compared case-insensitively
    /// (RFC 9110 §5.1).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// A 2xx status (RFC 9110 §15.3).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Every field named `name` (e.g. the several `Link` fields of an ACME
    /// response), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why an HTTP message could not be built or parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// A request header name is not a token or its value holds CR, LF or NUL.
    BadHeader,
    /// A request header is one this codec sets itself.
    ReservedHeader,
    /// The status line is not `HTTP/1.x NNN reason`.
    BadStatusLine,
    /// A response header line is malformed.
    BadHeaderLine,
    /// The response head is over [`crate::Limits::max_head_bytes`] or has
    /// too many fields.
    HeadTooLarge,
    /// The body is over [`crate::Limits::max_body_bytes`].
    BodyTooLarge,
    /// Content-Length is not a number, or several disagree.
    BadContentLength,
    /// A Transfer-Encoding other than `chunked` (none is asked for).
    UnsupportedTransferEncoding,
    /// Chunked framing is malformed (RFC 9112 §7.1).
    BadChunk,
    /// 101 Switching Protocols: never asked for.
    UnexpectedUpgrade,
    /// The connection ended before the message did.
    Truncated,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpError::BadHeader => "invalid request header",
            HttpError::ReservedHeader => "request header is set by the codec",
            HttpError::BadStatusLine => "invalid status line",
            HttpError::BadHeaderLine => "invalid header line",
            HttpError::HeadTooLarge => "response head too large",
            HttpError::BodyTooLarge => "response body too large",
            HttpError::BadContentLength => "invalid Content-Length",
            HttpError::UnsupportedTransferEncoding => "unsupported Transfer-Encoding",
            HttpError::BadChunk => "invalid chunked encoding",
            HttpError::UnexpectedUpgrade => "unexpected 101 Switching Protocols",
            HttpError::Truncated => "connection closed before the response ended",
        })
    }
}

/// RFC 9110 §5.6.2 tchar.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Header fields the codec writes itself (RFC 9112 §6, §9.3; RFC 9110
/// §7.2); a caller's copy would conflict.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "trailer",
];

/// Encode `req` for `url` (already parsed from `req.url`): request line in
/// origin-form (RFC 9112 §3), Host, User-Agent and Accept unless the caller
/// gives its own (one field each: ACME's User-Agent, RFC 8555 §6.1, was
/// sent beside ours), the caller's fields, Content-Length (RFC 9112 §6.2: sent for POST even when 0, and
/// for any non-empty body), `Connection: keep-alive`, then the body.
pub fn encode_request(req: &HttpRequest, url: &Url) -> Result<Vec<u8>, HttpError> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        req.method.as_str(),
        url.target,
        url.authority()
    );
    let has = |n: &str| req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("user-agent") {
        head.push_str(&format!("User-Agent: {USER_AGENT}\r\n"));
    }
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    for (name, value) in &req.headers {
        check_field(name, value)?;
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if req.method == Method::Post || !req.body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("Connection: keep-alive\r\n\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&req.body);
    Ok(out)
}

/// A field name must be a token (RFC 9110 §5.1) and not one of ours; a
/// value must not hold CR, LF or NUL (RFC 9110 §5.5), nor start or end
/// with whitespace.
fn check_field(name: &str, value: &str) -> Result<(), HttpError> {
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(HttpError::BadHeader);
    }
    if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
        return Err(HttpError::ReservedHeader);
    }
    let bad_byte = value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
    if bad_byte || value.trim() != value {
        return Err(HttpError::BadHeader);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn req(method: Method, url: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpRequest {
        HttpRequest {
            method,
            url: url.to_string(),
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    fn encode(r: &HttpRequest) -> Result<String, HttpError> {
        let url = Url::parse(&r.url).unwrap();
        encode_request(r, &url).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn get_request() {
        let r = req(Method::Get, "https://a.example/dir?x=1", &[], b"");
        assert_eq!(
            encode(&r).unwrap(),
            "GET /dir?x=1 HTTP/1.1\r\nHost: a.example\r\nUser-Agent: gitns\r\n\
             Accept: */*\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn post_with_body_and_headers() {
        let r = req(
            Method::Post,
            "https://[::1]:14000/new-acct",
            &[
                ("Content-Type", "application/jose+json"),
                ("Accept", "application/json"),
            ],
            b"{}",
        );
        assert_eq!(
            encode(&r).unwrap(),
            "POST /new-acct HTTP/1.1\r\nHost: [::1]:14000\r\nUser-Agent: gitns\r\n\
             Content-Type: application/jose+json\r\nAccept: application/json\r\n\
             Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"
        );
        let empty = req(Method::Post, "https://a.b/", &[], b"");
        assert!(encode(&empty).unwrap().contains("Content-Length: 0\r\n"));
        let head = req(Method::Head, "https://a.b/nonce", &[], b"");
        assert!(encode(&head)
            .unwrap()
            .starts_with("HEAD /nonce HTTP/1.1\r\n"));
        assert!(!encode(&head).unwrap().contains("Content-Length"));
    }

    #[test]
    fn one_user_agent_the_callers_when_given() {
        let r = req(
            Method::Get,
            "https://a.b/dir",
            &[("user-agent", "gitns-acme/1")],
            b"",
        );
        let head = encode(&r).unwrap();
        let agents: Vec<&str> = head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("user-agent:"))
            .collect();
        assert_eq!(agents, ["user-agent: gitns-acme/1"], "{head}");
    }

    #[test]
    fn header_injection_refused() {
        let cases = [
            (("X-A", "v\r\nHost: evil"), HttpError::BadHeader),
            (("X-A", "v\n"), HttpError::BadHeader),
            (("X-A", " v"), HttpError::BadHeader),
            (("X A", "v"), HttpError::BadHeader),
            (("X:A", "v"), HttpError::BadHeader),
            (("", "v"), HttpError::BadHeader),
            (("host", "evil"), HttpError::ReservedHeader),
            (("Content-Length", "5"), HttpError::ReservedHeader),
            (("Transfer-Encoding", "chunked"), HttpError::ReservedHeader),
        ];
        for ((n, v), e) in cases {
            let r = req(Method::Get, "https://a.b/", &[(n, v)], b"");
            assert_eq!(encode(&r), Err(e), "{n:?}: {v:?}");
        }
    }

    #[test]
    fn response_header_lookup() {
        let r = HttpResponse {
            status: 201,
            headers: vec![
                ("Link".to_string(), "<a>;rel=\"up\"".to_string()),
                ("replay-nonce".to_string(), "abc".to_string()),
                ("LINK".to_string(), "<b>;rel=\"index\"".to_string()),
            ],
            body: vec![],
        };
        assert_eq!(r.header("Replay-Nonce"), Some("abc"));
        assert_eq!(r.header("missing"), None);
        let links: Vec<&str> = r.headers_named("link").collect();
        assert_eq!(links, ["<a>;rel=\"up\"", "<b>;rel=\"index\""]);
    }
}
