//! What the secondary core hands its caller: the clocks in, the actions
//! out.

use super::xfr_in::Received;
use crate::name::Name;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

/// The two clocks: monotonic milliseconds (timers) and wall-clock
/// seconds since the epoch (TSIG).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub mono_ms: u64,
    pub wall: u64,
}

/// What the caller does for the secondary.
#[derive(Debug)]
pub enum Action {
    /// Send this SOA query over UDP; feed the answer to `on_udp`.
    Query {
        to: SocketAddr,
        msg: Vec<u8>,
    },
    /// Open a TCP connection to `to`, send `msg` (with its two-byte length,
    /// RFC 1035 4.2.2) and feed each message of the answer to
    /// `on_transfer(zone, ...)`; `on_closed` if the connection ends first.
    /// A transfer, or a SOA query whose UDP answer was truncated.
    Transfer {
        to: SocketAddr,
        zone: Name,
        msg: Vec<u8>,
    },
    /// Drop the transfer connection of `zone`, if one is open.
    Close {
        zone: Name,
    },
    /// Serve this: a whole zone replaces the copy served, differences
    /// apply to it ([`ixfr_apply::apply`]; when they do not, call
    /// `apply_failed`).
    Install {
        zone: Name,
        data: Received,
    },
    /// EXPIRE passed: answer SERVFAIL for `zone` until an `Install`.
    Expire {
        zone: Name,
    },
    /// `zone` left the catalog we follow (or is reset): it was taken out
    /// of the served set; forget what else is kept about it.
    Dropped {
        zone: Name,
    },
    Log(String),
}
