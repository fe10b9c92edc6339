//! gitns-dns: zone files, the authority (answering), TSIG, NOTIFY, UPDATE and
//! zone transfers, as sans-I/O no_std code.
#![no_std]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod authority;
pub mod base64;
pub mod keys;
pub mod lookup;
pub mod message;
mod loc;
pub mod name;
pub mod notify_out;
pub mod rdata;
mod svcb;
pub mod zone;
pub mod zoneset;
pub mod rtype;
pub mod serial;
pub mod transfer;
pub mod update;
pub mod tsig;
pub mod wire;
