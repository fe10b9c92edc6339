//! Problem documents (RFC 7807, RFC 8555 6.7): the ACME error types and
//! a tolerant parser for `application/problem+json` bodies.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::Deserialize;

const ACME_URN: &str = "urn:ietf:params:acme:error:";
/// Subproblems (RFC 8555 6.7.1) folded into the detail text, at most.
const MAX_SUBPROBLEMS: usize = 8;
/// Longest detail text kept from a server.
const MAX_DETAIL: usize = 1024;

/// The error types of RFC 8555 6.7 (and 9.7.2's registry), short names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemType {
    AccountDoesNotExist,
    AlreadyRevoked,
    BadCsr,
    BadNonce,
    BadPublicKey,
    BadRevocationReason,
    BadSignatureAlgorithm,
    Caa,
    Compound,
    Connection,
    Dns,
    ExternalAccountRequired,
    IncorrectResponse,
    InvalidContact,
    Malformed,
    OrderNotReady,
    RateLimited,
    RejectedIdentifier,
    ServerInternal,
    Tls,
    Unauthorized,
    UnsupportedContact,
    UnsupportedIdentifier,
    UserActionRequired,
    /// Any other `type` URI (or none: RFC 7807 3.1 "about:blank").
    Other(String),
}

const NAMES: [(&str, ProblemType); 24] = [
    ("accountDoesNotExist", ProblemType::AccountDoesNotExist),
    ("alreadyRevoked", ProblemType::AlreadyRevoked),
    ("badCSR", ProblemType::BadCsr),
    ("badNonce", ProblemType::BadNonce),
    ("badPublicKey", ProblemType::BadPublicKey),
    ("badRevocationReason", ProblemType::BadRevocationReason),
    ("badSignatureAlgorithm", ProblemType::BadSignatureAlgorithm),
    ("caa", ProblemType::Caa),
    ("compound", ProblemType::Compound),
    ("connection", ProblemType::Connection),
    ("dns", ProblemType::Dns),
    (
        "externalAccountRequired",
        ProblemType::ExternalAccountRequired,
    ),
    ("incorrectResponse", ProblemType::IncorrectResponse),
    ("invalidContact", ProblemType::InvalidContact),
    ("malformed", ProblemType::Malformed),
    ("orderNotReady", ProblemType::OrderNotReady),
    ("rateLimited", ProblemType::RateLimited),
    ("rejectedIdentifier", ProblemType::RejectedIdentifier),
    ("serverInternal", ProblemType::ServerInternal),
    ("tls", ProblemType::Tls),
    ("unauthorized", ProblemType::Unauthorized),
    ("unsupportedContact", ProblemType::UnsupportedContact),
    ("unsupportedIdentifier", ProblemType::UnsupportedIdentifier),
    ("userActionRequired", ProblemType::UserActionRequired),
];

impl ProblemType {
    /// From a `type` URI such as `urn:ietf:params:acme:error:badNonce`.
    pub fn from_uri(uri: &str) -> Self {
        uri.strip_prefix(ACME_URN)
            .and_then(|short| NAMES.iter().find(|(n, _)| *n == short))
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| ProblemType::Other(String::from(truncate(uri, 200))))
    }

    /// The short name (`badNonce`), or the full URI for `Other`.
    pub fn as_str(&self) -> &str {
        if let ProblemType::Other(uri) = self {
            return uri;
        }
        NAMES.iter().find(|(_, t)| t == self).map_or("", |(n, _)| n)
    }
}

impl fmt::Display for ProblemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed problem document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemType,
    /// `detail`, then "; <identifier>: <detail>" per subproblem.
    pub detail: String,
}

#[derive(Deserialize)]
struct RawProblem {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    subproblems: Option<Vec<RawSubproblem>>,
}

#[derive(Deserialize)]
struct RawSubproblem {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    identifier: Option<RawIdentifier>,
}

#[derive(Deserialize)]
struct RawIdentifier {
    #[serde(default)]
    value: Option<String>,
}

/// Parse a problem document body; `None` if it is not one.
pub fn parse(body: &[u8]) -> Option<Problem> {
    if !crate::json::is_object(body) {
        return None;
    }
    let raw: RawProblem = serde_json::from_slice(body).ok()?;
    Some(from_raw(raw))
}

/// A problem embedded in another object (challenge/order `error`).
pub fn from_value(value: &serde_json::Value) -> Option<Problem> {
    RawProblem::deserialize(value).ok().map(from_raw)
}

fn from_raw(raw: RawProblem) -> Problem {
    let kind = ProblemType::from_uri(raw.kind.as_deref().unwrap_or("about:blank"));
    let mut detail = String::from(truncate(raw.detail.as_deref().unwrap_or(""), MAX_DETAIL));
    for sub in raw
        .subproblems
        .unwrap_or_default()
        .iter()
        .take(MAX_SUBPROBLEMS)
    {
        let who = sub
            .identifier
            .as_ref()
            .and_then(|i| i.value.as_deref())
            .unwrap_or("?");
        let what = sub.detail.as_deref().unwrap_or("");
        detail.push_str(&format!(
            "; {}: {}",
            truncate(who, 255),
            truncate(what, MAX_DETAIL)
        ));
    }
    Problem { kind, detail }
}

/// At most `max` bytes, cut on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_nonce() {
        let body = br#"{"type":"urn:ietf:params:acme:error:badNonce","detail":"JWS has an invalid anti-replay nonce","status":400}"#;
        let p = parse(body).unwrap();
        assert_eq!(p.kind, ProblemType::BadNonce);
        assert_eq!(p.detail, "JWS has an invalid anti-replay nonce");
        assert_eq!(p.kind.as_str(), "badNonce");
    }

    #[test]
    fn subproblems_are_folded_in() {
        let body = br#"{"type":"urn:ietf:params:acme:error:compound","detail":"bad",
            "subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier",
            "detail":"no","identifier":{"type":"dns","value":"x.example"}}]}"#;
        let p = parse(body).unwrap();
        assert_eq!(p.kind, ProblemType::Compound);
        assert_eq!(p.detail, "bad; x.example: no");
    }

    #[test]
    fn unknown_and_wrong_types() {
        assert_eq!(
            parse(br#"{"type":"about:blank"}"#).unwrap().kind,
            ProblemType::Other(String::from("about:blank"))
        );
        assert_eq!(parse(br#"{}"#).unwrap().kind.as_str(), "about:blank");
        assert!(parse(br#"{"type":5}"#).is_none());
        assert!(parse(b"<html>").is_none());
        assert!(parse(b"[]").is_none());
    }

    #[test]
    fn truncation_respects_utf8() {
        assert_eq!(truncate("h\u{e9}llo", 2), "h");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
