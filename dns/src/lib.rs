//! gitns-dns: zone files, the authority (answering), TSIG, NOTIFY, UPDATE and
//! zone transfers, as sans-I/O no_std code.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod answer;
pub mod authority;
pub mod base64;
pub mod catalog;
mod chaos;
pub mod cookie;
pub mod ctx;
pub mod dnssec;
pub mod edns;
pub mod journal;
pub mod key_text;
pub mod keys;
mod loc;
pub mod lookup;
pub mod message;
pub mod name;
pub mod notify_hold;
pub mod notify_out;
pub mod prepare;
pub mod probe;
pub mod rdata;
pub mod resolver;
mod respond;
pub mod rrl;
pub mod rtype;
pub mod secondary;
pub mod serial;
mod siphash;
pub mod stub;
mod svcb;
mod text;
pub mod transfer;
pub mod tsig;
pub mod update;
pub mod wire;
pub mod zone;
pub mod zoneset;
