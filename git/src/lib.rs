//! gitns-git: git objects, packfiles (with OFS/REF deltas, every object and
//! the trailer checked) and pkt-line, as sans-I/O no_std code. The smart
//! protocol and the SSH transport build on these.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod checkout;
#[cfg(feature = "ssh")]
pub mod client;
#[cfg(feature = "ssh")]
pub mod conn;
#[cfg(feature = "http")]
pub mod daemon;
pub mod delta;
#[cfg(feature = "ssh")]
pub mod exec;
#[cfg(all(test, feature = "ssh"))]
mod fake;
#[cfg(feature = "http")]
pub mod http_fetch;
#[cfg(feature = "http")]
pub mod location;
pub mod object;
pub mod oid;
pub mod pack;
pub mod pktline;
pub mod proto;
#[cfg(feature = "ssh")]
pub mod push_queue;
#[cfg(feature = "http")]
pub mod readonly;
pub mod remote;
pub mod schedule;
#[cfg(feature = "ssh")]
pub mod session;
#[cfg(feature = "http")]
pub mod smart_http;
#[cfg(feature = "ssh")]
pub mod ssh;
#[cfg(feature = "http")]
pub mod transfer;
pub mod zlib;
