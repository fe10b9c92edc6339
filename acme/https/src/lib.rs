//! gitns-https: a `no_std` + `alloc`, sans-I/O HTTPS client core.
//!
//! The in-image ACME client rides on it; the appliance loop moves bytes
//! between a smoltcp TCP socket and these state machines. Nothing here
//! reads a clock, opens a socket or touches the OS: time comes in as `now`
//! (unix seconds), bytes come in and go out as slices, and randomness comes
//! from the `getrandom` 0.4 crate (the image defines its custom backend).
//!
//! Layers, bottom up:
//! - [`provider`] + [`kx`] + [`random`] + [`clock`]: a rustls `CryptoProvider` built from
//!   rustls's *ring* cipher suites and signature checks, with our own RNG and
//!   key exchange (X25519, secp256r1) so ring's `SystemRandom` (a syscall) is
//!   never linked; and a `TimeProvider` fed by the caller's `now`.
//! - [`roots`]: trust anchors (ISRG Root X1/X2 compiled in, plus DER given at
//!   run time).
//! - [`tls`]: [`TlsClient`], a TLS client over rustls's unbuffered API
//!   ([`tls_error`]: why it failed).
//! - [`url`], [`http`], [`response`]: URL parsing and the HTTP/1.1 codec
//!   (RFC 9112).
//! - [`exchange`]: [`HttpsExchange`], request in, response out.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod clock;
pub mod exchange;
pub mod http;
pub mod kx;
pub mod provider;
pub mod random;
pub mod response;
pub mod roots;
pub mod tls;
pub mod tls_error;
pub mod url;

pub use exchange::{ExchangeError, HttpsExchange};
pub use http::{HttpError, HttpRequest, HttpResponse, Method};
pub use response::{Limits, ResponseParser};
pub use roots::Anchors;
pub use tls::{TlsClient, TlsState};
pub use tls_error::TlsError;
pub use url::{Url, UrlError};
