//! gitns-acme: an RFC 8555 (ACME) client core as a sans-I/O state machine.
//!
//! `no_std` + `alloc`; no clock, socket or RNG is touched. Time is unix
//! seconds passed in; the account key is derived from a seed and signs
//! with RFC 6979 deterministic ECDSA P-256, so no randomness is needed.
//!
//! Use: [`AccountKey::from_seed`], [`Client::new`], [`Client::start_order`]
//! with a DER CSR, then loop: drain [`Client::poll_output`], perform each
//! [`Output`] (HTTPS request, TXT publish, wait), feed the result back with
//! [`Client::handle`]; the order ends with `Output::Certificate` or
//! `Output::Failed`. Only dns-01 (RFC 8555 8.4) is supported.
//!
//! Around the protocol, what an appliance serving its own zones decides:
//! [`schedule`] (which CSR needs a certificate when, backoff after
//! failures), [`txt_wait`] (when the challenge TXT records count as out)
//! and [`records`] (CSRs and certificates as TLSA records, challenge TXT
//! records, the UPDATE writing a certificate back).
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod b64;
pub mod cert;
pub mod client;
pub mod csr;
mod der;
pub mod dns01;
pub mod driver;
pub mod error;
pub mod http;
mod httpdate;
mod json;
pub mod jws;
pub mod key;
pub mod pem;
pub mod problem;
pub mod records;
pub mod resources;
pub mod schedule;
mod time;
pub mod txt_wait;
pub mod x509;

#[cfg(any(test, feature = "fake-ca"))]
pub mod fake;
#[cfg(any(test, feature = "fake-ca"))]
pub mod testdata;

pub use cert::{needs_renewal, CertInfo, DEFAULT_RENEWAL_MARGIN};
pub use client::{Client, Input, Limits, OrderId, Output};
pub use error::AcmeError;
pub use http::{AcmeHeaders, HttpRequest, HttpResponse, Method};
pub use key::{AccountKey, KeyError};
pub use problem::ProblemType;
