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
pub mod delta;
#[cfg(feature = "ssh")]
pub mod exec;
#[cfg(all(test, feature = "ssh"))]
mod fake;
pub mod object;
pub mod oid;
pub mod pack;
pub mod pktline;
pub mod proto;
pub mod remote;
pub mod schedule;
#[cfg(feature = "ssh")]
pub mod session;
#[cfg(feature = "ssh")]
pub mod ssh;
pub mod zlib;
