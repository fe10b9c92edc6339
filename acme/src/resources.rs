//! The ACME resources the client reads (RFC 8555 7.1): directory,
//! account, order, authorization, challenge. Unknown members are ignored;
//! a missing required member or a wrong type is an error.

use alloc::string::String;
use alloc::vec::Vec;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::AcmeError;
use crate::http::MAX_URL_LEN;
use crate::json::is_object;

/// Resource status (RFC 8555 7.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Ready,
    Processing,
    Valid,
    Invalid,
    Deactivated,
    Expired,
    Revoked,
    Unknown,
}

impl Status {
    fn from_name(name: &str) -> Self {
        match name {
            "pending" => Status::Pending,
            "ready" => Status::Ready,
            "processing" => Status::Processing,
            "valid" => Status::Valid,
            "invalid" => Status::Invalid,
            "deactivated" => Status::Deactivated,
            "expired" => Status::Expired,
            "revoked" => Status::Revoked,
            _ => Status::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Ready => "ready",
            Status::Processing => "processing",
            Status::Valid => "valid",
            Status::Invalid => "invalid",
            Status::Deactivated => "deactivated",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
            Status::Unknown => "unknown",
        }
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Status::from_name(&name))
    }
}

/// Directory (RFC 8555 7.1.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    pub new_nonce: String,
    pub new_account: String,
    pub new_order: String,
    #[serde(default)]
    pub meta: Option<Meta>,
}

/// Directory metadata (RFC 8555 7.1.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default)]
    pub terms_of_service: Option<String>,
    #[serde(default)]
    pub external_account_required: Option<bool>,
}

/// Account (RFC 8555 7.1.2): only its status matters here.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub status: Status,
}

/// Order (RFC 8555 7.1.3).
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub status: Status,
    #[serde(default)]
    pub authorizations: Vec<String>,
    #[serde(default)]
    pub finalize: Option<String>,
    #[serde(default)]
    pub certificate: Option<String>,
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

/// Identifier (RFC 8555 7.1.3, 9.7.7).
#[derive(Debug, Clone, Deserialize)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// Authorization (RFC 8555 7.1.4).
#[derive(Debug, Clone, Deserialize)]
pub struct Authorization {
    pub identifier: Identifier,
    pub status: Status,
    #[serde(default)]
    pub challenges: Vec<Challenge>,
    #[serde(default)]
    pub wildcard: Option<bool>,
}

/// Challenge (RFC 8555 7.1.5, 8).
#[derive(Debug, Clone, Deserialize)]
pub struct Challenge {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub status: Status,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

impl Authorization {
    /// The dns-01 challenge (RFC 8555 8.4), if offered.
    pub fn dns01(&self) -> Option<&Challenge> {
        self.challenges.iter().find(|c| c.kind == "dns-01")
    }
}

/// Parse a JSON resource; `what` names it in the error.
pub fn parse<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, AcmeError> {
    if !is_object(body) {
        return Err(AcmeError::Malformed(what));
    }
    serde_json::from_slice(body).map_err(|_| AcmeError::Malformed(what))
}

/// A URL from a resource: non-empty, bounded, http(s).
pub fn check_url<'a>(url: &'a str, what: &'static str) -> Result<&'a str, AcmeError> {
    let scheme = url.starts_with("https://") || url.starts_with("http://");
    if !scheme || url.len() > MAX_URL_LEN {
        return Err(AcmeError::Malformed(what));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pebble_like_directory() {
        let body = br#"{"keyChange":"https://127.0.0.1:14000/rollover-account-key",
            "meta":{"externalAccountRequired":false,"termsOfService":"data:text/plain,Do%20what%20thou%20wilt"},
            "newAccount":"https://127.0.0.1:14000/sign-me-up","newNonce":"https://127.0.0.1:14000/nonce-plz",
            "newOrder":"https://127.0.0.1:14000/order-plz","revokeCert":"https://127.0.0.1:14000/revoke-cert"}"#;
        let dir: Directory = parse(body, "directory").unwrap();
        assert_eq!(dir.new_nonce, "https://127.0.0.1:14000/nonce-plz");
        assert_eq!(dir.meta.unwrap().external_account_required, Some(false));
    }

    #[test]
    fn authorization_with_challenges() {
        let body = br#"{"status":"pending","identifier":{"type":"dns","value":"example.org"},
            "challenges":[{"type":"http-01","url":"https://ca/c/1","token":"t1","status":"pending"},
            {"type":"dns-01","url":"https://ca/c/2","token":"t2","status":"pending"}],
            "expires":"2026-01-01T00:00:00Z","wildcard":false}"#;
        let authz: Authorization = parse(body, "authorization").unwrap();
        assert_eq!(authz.status, Status::Pending);
        assert_eq!(authz.dns01().unwrap().token.as_deref(), Some("t2"));
    }

    #[test]
    fn wrong_types_and_unknown_status() {
        assert_eq!(
            parse::<Order>(br#"{"status":5}"#, "order").unwrap_err(),
            AcmeError::Malformed("order")
        );
        let order: Order = parse(br#"{"status":"weird"}"#, "order").unwrap();
        assert_eq!(order.status, Status::Unknown);
        assert!(parse::<Directory>(br#"{"newNonce":"x"}"#, "directory").is_err());
        assert!(parse::<Directory>(b"\xff\xfe", "directory").is_err());
        assert!(parse::<Account>(br#"["valid"]"#, "account").is_err());
    }

    #[test]
    fn urls() {
        assert!(check_url("https://ca/x", "u").is_ok());
        assert!(check_url("ftp://ca/x", "u").is_err());
        assert!(check_url("", "u").is_err());
    }
}
