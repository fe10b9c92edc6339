//! Reading a primary's answers: is this message the answer to what we
//! sent (ID, QR, opcode, question on the first message, RFC 5936 2.2.2),
//! did it succeed, and its answer records one by one, class IN, RDATA
//! decompressed and checked against its type.

use super::request::Sent;
use super::tsig_chain::ChainError;
use crate::message::Header;
use crate::name::Name;
use crate::rtype::IN;
use crate::wire::Reader;
use alloc::vec::Vec;
use core::fmt;

/// Why a check or a transfer failed. The zone keeps its last good copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XfrError {
    /// The message is not a well-formed DNS answer.
    Malformed,
    /// Not the answer to our request (ID, opcode, question).
    NotOurs,
    /// The primary answered with this RCODE.
    Rcode(u8),
    /// TSIG missing or wrong on some message.
    Tsig(ChainError),
    /// A record outside the zone.
    OutOfZone(Name),
    /// A SOA where none belongs, or SOAs that do not match (RFC 1995 4,
    /// RFC 5936 2.2).
    BadSoa,
    /// The transfer carries an older version than we hold (RFC 1982).
    SerialBack { have: u32, got: u32 },
    /// The stream ended before its closing SOA.
    Truncated,
    /// The answer has TC set (RFC 1035 4.1.1): over UDP, ask again over
    /// TCP (RFC 7766 5); over TCP, an error.
    Tc,
    /// Records or messages after the closing SOA.
    Trailing,
    /// More records or bytes than the limits allow.
    Limit,
}

impl fmt::Display for XfrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XfrError::Malformed => f.write_str("malformed message"),
            XfrError::NotOurs => f.write_str("not an answer to our request"),
            // RFC 8945 5.2: NOTAUTH is how a primary says our TSIG failed.
            XfrError::Rcode(9) => f.write_str(
                "primary answered NOTAUTH (RCODE 9): it does not take our TSIG key (name, algorithm or secret differ)",
            ),
            XfrError::Rcode(5) => f.write_str("primary answered REFUSED (RCODE 5): no transfer for us"),
            XfrError::Rcode(r) => write!(f, "primary answered RCODE {r}"),
            XfrError::Tsig(e) => write!(f, "TSIG: {e:?}"),
            XfrError::OutOfZone(n) => write!(f, "record {n} outside the zone"),
            XfrError::BadSoa => f.write_str("SOA records out of place"),
            XfrError::SerialBack { have, got } => {
                write!(f, "serial went back from {have} to {got}")
            }
            XfrError::Truncated => f.write_str("stream ended before the closing SOA"),
            XfrError::Tc => f.write_str("answer truncated (TC)"),
            XfrError::Trailing => f.write_str("data after the closing SOA"),
            XfrError::Limit => f.write_str("transfer over the size limits"),
        }
    }
}

/// One answer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rr {
    pub owner: Name,
    pub rtype: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// Check that `msg` answers `sent` and succeeded; its header and a reader
/// at the answer section. `first`: the first message of the answer (it
/// must echo the question; later ones may, RFC 5936 2.2).
pub fn open<'m>(msg: &'m [u8], sent: &Sent, first: bool) -> Result<(Header, Reader<'m>), XfrError> {
    let mut r = Reader::message(msg, 0);
    let h = Header::parse(&mut r).map_err(|_| XfrError::Malformed)?;
    if !h.qr() || h.id != sent.id || h.opcode() != 0 {
        return Err(XfrError::NotOurs);
    }
    if h.qdcount > 1 || (first && h.qdcount == 0) {
        return Err(XfrError::NotOurs);
    }
    for _ in 0..h.qdcount {
        let name = r.name().map_err(|_| XfrError::Malformed)?;
        let qtype = r.u16().map_err(|_| XfrError::Malformed)?;
        let qclass = r.u16().map_err(|_| XfrError::Malformed)?;
        if name != sent.zone || qtype != sent.qtype || qclass != IN {
            return Err(XfrError::NotOurs);
        }
    }
    let rcode = (h.flags & 0xf) as u8;
    if rcode != 0 {
        return Err(XfrError::Rcode(rcode));
    }
    // TC on a TCP answer, or a UDP one we ask again over TCP.
    if h.flags & 0x0200 != 0 {
        return Err(XfrError::Tc);
    }
    Ok((h, r))
}

/// The next answer record (class IN only).
pub fn read_rr(r: &mut Reader) -> Result<Rr, XfrError> {
    let mut rr = Rr::empty();
    read_rr_into(r, &mut rr)?;
    Ok(rr)
}

impl Rr {
    /// A record to read into ([`read_rr_into`]): the root, no RDATA.
    pub fn empty() -> Rr {
        Rr {
            owner: Name::root(),
            rtype: 0,
            ttl: 0,
            rdata: Vec::new(),
        }
    }
}

/// [`read_rr`] into `rr`, its RDATA buffer reused: a transfer reads every
/// record through one (issue 23: 1,000,000 records, one allocation each).
pub fn read_rr_into(r: &mut Reader, rr: &mut Rr) -> Result<(), XfrError> {
    let bad = |_| XfrError::Malformed;
    rr.owner = r.name().map_err(bad)?;
    let (rtype, class, ttl) = (
        r.u16().map_err(bad)?,
        r.u16().map_err(bad)?,
        r.u32().map_err(bad)?,
    );
    let len = r.u16().map_err(bad)? as usize;
    if class != IN {
        return Err(XfrError::Malformed);
    }
    crate::rdata::from_wire_into(rtype, r, len, &mut rr.rdata).map_err(bad)?;
    (rr.rtype, rr.ttl) = (rtype, ttl);
    Ok(())
}

/// Past the authority section (after the answers were read): where the
/// additional section starts.
pub fn skip_authority(r: &mut Reader, h: &Header) -> Result<usize, XfrError> {
    for _ in 0..h.nscount {
        crate::message::skip_rr(r).map_err(|_| XfrError::Malformed)?;
    }
    Ok(r.pos())
}
