//! The error an order ends with.

use alloc::string::String;
use core::fmt;

use crate::key::KeyError;
use crate::pem::PemError;
use crate::problem::ProblemType;
use crate::x509::X509Error;

/// Why an order failed (or could not start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcmeError {
    /// `start_order` while another order runs.
    Busy,
    /// The CSR given to `start_order` is unusable.
    Csr(X509Error),
    /// The account key could not be made.
    Key(KeyError),
    /// The server answered with a problem document (RFC 8555 6.7).
    Problem { kind: ProblemType, detail: String },
    /// An error status without a problem document.
    Http { status: u16 },
    /// A response we cannot use; names what was wrong with it.
    Malformed(&'static str),
    /// A response body over `Limits::max_body`.
    BodyTooLarge,
    /// The transport failed more than `Limits::max_retries` times in a row.
    Transport(String),
    /// More than `Limits::max_bad_nonces` badNonce answers in a row.
    TooManyBadNonces,
    /// The order or an authorization did not settle within `Limits::max_polls`.
    TooManyPolls,
    /// The server asked us to wait longer than `Limits::max_wait`.
    WaitTooLong,
    /// The order has more identifiers or authorizations than allowed.
    TooManyAuthorizations,
    /// An authorization offers no dns-01 challenge (RFC 8555 8.4).
    NoDnsChallenge { identifier: String },
    /// An authorization (its challenge) failed validation.
    Challenge { identifier: String, detail: String },
    /// The order became invalid (RFC 8555 7.1.6).
    OrderInvalid(String),
    /// The server requires external account binding (RFC 8555 7.3.4).
    ExternalAccountRequired,
    /// The account is deactivated or revoked (RFC 8555 7.1.2).
    AccountUnusable,
    /// The certificate chain is not PEM.
    Pem(PemError),
    /// The issued leaf certificate is unusable.
    Certificate(X509Error),
    /// The issued leaf does not cover a requested name.
    NameMissing(String),
}

impl From<PemError> for AcmeError {
    fn from(e: PemError) -> Self {
        AcmeError::Pem(e)
    }
}

impl fmt::Display for AcmeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Busy => f.write_str("an order is already running"),
            Self::Csr(e) => write!(f, "CSR: {e}"),
            Self::Key(e) => e.fmt(f),
            Self::Problem { kind, detail } => write!(f, "ACME {kind}: {detail}"),
            Self::Http { status } => write!(f, "HTTP status {status}"),
            Self::Malformed(what) => write!(f, "malformed response: {what}"),
            Self::BodyTooLarge => f.write_str("response body too large"),
            Self::Transport(msg) => write!(f, "transport: {msg}"),
            Self::TooManyBadNonces => f.write_str("too many badNonce answers"),
            Self::TooManyPolls => f.write_str("order did not settle (too many polls)"),
            Self::WaitTooLong => f.write_str("server asked to wait too long"),
            Self::TooManyAuthorizations => f.write_str("too many identifiers/authorizations"),
            Self::NoDnsChallenge { identifier } => write!(f, "{identifier}: no dns-01 challenge"),
            Self::Challenge { identifier, detail } => write!(f, "{identifier}: {detail}"),
            Self::OrderInvalid(detail) => write!(f, "order invalid: {detail}"),
            Self::ExternalAccountRequired => f.write_str("CA requires external account binding"),
            Self::AccountUnusable => f.write_str("ACME account deactivated or revoked"),
            Self::Pem(e) => write!(f, "certificate chain: {e}"),
            Self::Certificate(e) => write!(f, "certificate: {e}"),
            Self::NameMissing(name) => write!(f, "issued certificate lacks {name}"),
        }
    }
}
