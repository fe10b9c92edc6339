//! What the authority gets besides the message: the operator's answer
//! policy, and per request the facts only the caller knows (transport,
//! clocks, client address, path MTU, TCP idle timeout, cookie secrets,
//! the rate limiter). Sans-I/O: all of it is passed in.

use crate::cookie::Secrets;
use crate::rrl::Rrl;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

/// How the request arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Our default EDNS UDP payload size (DNS flag day 2020: fits any path
/// with a 1280-byte IPv6 MTU without fragmenting).
pub const EDNS_PAYLOAD: u16 = 1232;

/// What the operator configures about answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `--axfr`: zone transfers without TSIG.
    pub unsigned_axfr: bool,
    /// `--edns-udp-size`: the largest UDP response we send to an EDNS
    /// client, and the size our OPT advertises (RFC 6891 6.2.5).
    pub edns_udp_size: u16,
    /// `--nsid`: the NSID we return when asked (RFC 5001).
    pub nsid: Option<Vec<u8>>,
    /// `--identity`: CH TXT `id.server` / `hostname.bind`.
    pub identity: Option<Vec<u8>>,
    /// `--version`: CH TXT `version.bind` / `version.server`.
    pub version: Option<Vec<u8>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unsigned_axfr: false,
            edns_udp_size: EDNS_PAYLOAD,
            nsid: None,
            identity: None,
            version: None,
        }
    }
}

/// One request's surroundings.
pub struct Ctx<'a> {
    pub transport: Transport,
    /// Wall clock, seconds since the epoch (TSIG, cookies).
    pub now: u64,
    /// Monotonic milliseconds (rate limiting).
    pub mono_ms: u64,
    pub policy: &'a Policy,
    /// The UPDATE comes from the appliance itself (certificates written
    /// back by ACME), not from the network: no key needed. Never set for a
    /// message that arrived on a socket.
    pub internal: bool,
    /// A NOTIFY for a zone not served that no known key verifies is not
    /// answered but raises `Event::Held` (the caller reloads first).
    pub hold: bool,
    /// The client's address (cookies, rate limiting).
    pub client: IpAddr,
    /// The largest UDP payload the path carries in one IP packet: the
    /// interface MTU minus the IP and UDP headers (no IP fragments).
    pub path_max: usize,
    /// Our TCP idle timeout in 100 ms units (RFC 7828 3.3.2).
    pub keepalive: Option<u16>,
    /// Server cookies (RFC 7873); None: the COOKIE option is ignored.
    pub cookies: Option<&'a Secrets>,
    /// Response rate limiting of UDP answers; None: off.
    pub rrl: Option<&'a mut Rrl>,
}

impl<'a> Ctx<'a> {
    /// A request over `transport` at wall time `now` with nothing else
    /// known: no cookies, no rate limiting, no path limit.
    pub fn new(transport: Transport, now: u64, policy: &'a Policy) -> Ctx<'a> {
        Ctx {
            transport,
            now,
            mono_ms: 0,
            policy,
            internal: false,
            hold: false,
            client: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            path_max: 65_535,
            keepalive: None,
            cookies: None,
            rrl: None,
        }
    }
}

/// The UDP payload that fits one IP packet to `client` on a link with
/// this MTU (IPv4 header 20 bytes, IPv6 40, UDP 8).
pub fn udp_path_max(mtu: usize, client: IpAddr) -> usize {
    let ip = if client.is_ipv4() { 20 } else { 40 };
    mtu.saturating_sub(ip + 8)
}
