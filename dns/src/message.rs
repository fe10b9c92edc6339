//! DNS message header and the parts of a request the authority reads:
//! question and EDNS (RFC 1035 4.1, RFC 6891).

use crate::name::Name;
use crate::rtype::{OPT, TSIG};
use crate::wire::{Reader, WireError};

/// Opcodes (RFC 1035 4.1.1, RFC 1996, RFC 2136).
pub const OPCODE_QUERY: u8 = 0;
pub const OPCODE_NOTIFY: u8 = 4;
pub const OPCODE_UPDATE: u8 = 5;

/// RCODEs, including extended ones (RFC 6895 2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Rcode {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NxDomain = 3,
    NotImp = 4,
    Refused = 5,
    YxDomain = 6,
    YxRrset = 7,
    NxRrset = 8,
    NotAuth = 9,
    NotZone = 10,
    BadVers = 16,
    /// RFC 7873 8.
    BadCookie = 23,
}

/// The fixed header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub fn parse(r: &mut Reader) -> Result<Header, WireError> {
        Ok(Header {
            id: r.u16()?,
            flags: r.u16()?,
            qdcount: r.u16()?,
            ancount: r.u16()?,
            nscount: r.u16()?,
            arcount: r.u16()?,
        })
    }

    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }

    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }
}

/// The question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// As the client spelled it (case preserved, RFC 4343).
    pub name: Name,
    pub qtype: u16,
    pub qclass: u16,
}

/// EDNS of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    pub payload: u16,
    pub version: u8,
    pub dnssec_ok: bool,
    /// The options gitns acts on (parsed for version 0 only).
    pub opts: crate::edns::Options,
}

/// A request parsed once, for everything the authority reads of it: the
/// header, the question, the OPT, where each section starts and where the
/// TSIG record is. An UPDATE's zone, prerequisite and update sections are
/// the question, answer and authority sections (RFC 2136 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub header: Header,
    pub question: Option<Question>,
    pub edns: Option<Edns>,
    /// Offsets where the answer, authority and additional sections start.
    pub answer_at: usize,
    pub authority_at: usize,
    pub additional_at: usize,
    pub tsig: TsigAt,
}

/// Where a request's TSIG record is (RFC 8945 5.1: once, the last record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsigAt {
    Absent,
    /// The last record, starting at this offset.
    Last(usize),
    /// Before the last record, or twice: FORMERR.
    Misplaced,
}

/// Why a request cannot be answered normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Too short for a header, or a response: drop it silently.
    Drop,
    /// Answer FORMERR (header id/flags known).
    FormErr(Header),
}

/// Skip one resource record.
pub fn skip_rr(r: &mut Reader) -> Result<(u16, u16, u32), WireError> {
    r.name()?;
    let (t, c, ttl) = (r.u16()?, r.u16()?, r.u32()?);
    let len = r.u16()? as usize;
    r.bytes(len)?;
    Ok((t, c, ttl))
}

/// Parse a request: header, the question, and an OPT in the additional
/// section (RFC 6891 6.1.1: more than one OPT is FORMERR).
pub fn parse_request(msg: &[u8]) -> Result<Request, RequestError> {
    let mut r = Reader::message(msg, 0);
    let header = Header::parse(&mut r).map_err(|_| RequestError::Drop)?;
    if header.qr() {
        return Err(RequestError::Drop);
    }
    let formerr = RequestError::FormErr(header);
    let question = match header.qdcount {
        0 => None,
        1 => Some(Question {
            name: r.name().map_err(|_| formerr)?,
            qtype: r.u16().map_err(|_| formerr)?,
            qclass: r.u16().map_err(|_| formerr)?,
        }),
        _ => return Err(formerr),
    };
    let answer_at = r.pos();
    for _ in 0..header.ancount {
        skip_rr(&mut r).map_err(|_| formerr)?;
    }
    let authority_at = r.pos();
    for _ in 0..header.nscount {
        skip_rr(&mut r).map_err(|_| formerr)?;
    }
    let additional_at = r.pos();
    let mut edns = None;
    let mut tsig = TsigAt::Absent;
    for i in 0..header.arcount {
        let at = r.pos();
        let (t, class, ttl) = skip_rr(&mut r).map_err(|_| formerr)?;
        if t == TSIG {
            tsig = match tsig {
                TsigAt::Absent if i + 1 == header.arcount => TsigAt::Last(at),
                _ => TsigAt::Misplaced,
            };
        } else if t == OPT {
            // RFC 6891 6.1.1: the owner is the root.
            if edns.is_some() || msg.get(at) != Some(&0) {
                return Err(formerr);
            }
            let version = (ttl >> 16) as u8;
            // RFC 6891 6.1.3: options of another version are not ours to
            // read (that query gets BADVERS).
            let opts = match version {
                0 => crate::edns::parse_options(&msg[at + 11..r.pos()]).map_err(|_| formerr)?,
                _ => Default::default(),
            };
            edns = Some(Edns {
                payload: class,
                version,
                dnssec_ok: ttl & 0x8000 != 0,
                opts,
            });
        }
    }
    if r.remaining() != 0 {
        return Err(formerr);
    }
    Ok(Request {
        header,
        question,
        edns,
        answer_at,
        authority_at,
        additional_at,
        tsig,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], extra: &[u8], arcount: u16) -> alloc::vec::Vec<u8> {
        let mut m = alloc::vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, arcount as u8];
        m.extend_from_slice(name);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend_from_slice(extra);
        m
    }

    const OPT_RR: [u8; 11] = [0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0];

    #[test]
    fn parses_question_and_edns() {
        let m = query(b"\x03www\x07example\x03org\x00", &OPT_RR, 1);
        let q = parse_request(&m).unwrap();
        assert_eq!(q.header.id, 0x1234);
        assert!(q.header.rd());
        assert_eq!(q.question.unwrap().qtype, 1);
        assert_eq!(
            q.edns,
            Some(Edns {
                payload: 1232,
                version: 0,
                dnssec_ok: true,
                opts: Default::default(),
            })
        );
    }

    #[test]
    fn bad_requests() {
        assert_eq!(parse_request(&[0; 5]), Err(RequestError::Drop));
        let mut m = query(b"\x00", &[], 0);
        m[2] |= 0x80;
        assert_eq!(
            parse_request(&m),
            Err(RequestError::Drop),
            "responses are dropped"
        );
        let mut two = OPT_RR.to_vec();
        two.extend_from_slice(&OPT_RR);
        assert!(matches!(
            parse_request(&query(b"\x00", &two, 2)),
            Err(RequestError::FormErr(_))
        ));
        assert!(matches!(
            parse_request(&query(b"\x05ab", &[], 0)),
            Err(RequestError::FormErr(_))
        ));
        let mut m = query(b"\x00", &[], 0);
        m[5] = 2;
        assert!(matches!(parse_request(&m), Err(RequestError::FormErr(_))));
        let mut m = query(b"\x00", &[], 0);
        m.push(0);
        assert!(
            matches!(parse_request(&m), Err(RequestError::FormErr(_))),
            "trailing garbage"
        );
    }

    /// A TSIG-typed record (root owner, class ANY, empty RDATA: where it
    /// is, not whether it is valid).
    const TSIG_RR: [u8; 11] = [0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0];

    #[test]
    fn sections_and_the_tsig_are_found_once() {
        // One answer and one authority record (an UPDATE's prerequisite
        // and update), then an OPT and a TSIG.
        let a_rr = [0u8, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1];
        let mut body = a_rr.to_vec();
        body.extend_from_slice(&a_rr);
        body.extend_from_slice(&OPT_RR);
        body.extend_from_slice(&TSIG_RR);
        let mut m = query(b"\x00", &body, 2);
        (m[7], m[9]) = (1, 1);
        let q = parse_request(&m).unwrap();
        let answer_at = 12 + 5;
        assert_eq!(q.answer_at, answer_at);
        assert_eq!(q.authority_at, answer_at + a_rr.len());
        assert_eq!(q.additional_at, answer_at + 2 * a_rr.len());
        assert_eq!(q.tsig, TsigAt::Last(m.len() - TSIG_RR.len()));
        // RFC 8945 5.1: a TSIG before the last record, or twice.
        let mut body = TSIG_RR.to_vec();
        body.extend_from_slice(&OPT_RR);
        assert_eq!(
            parse_request(&query(b"\x00", &body, 2)).unwrap().tsig,
            TsigAt::Misplaced
        );
        let two = [TSIG_RR, TSIG_RR].concat();
        assert_eq!(
            parse_request(&query(b"\x00", &two, 2)).unwrap().tsig,
            TsigAt::Misplaced
        );
        assert_eq!(
            parse_request(&query(b"\x00", &OPT_RR, 1)).unwrap().tsig,
            TsigAt::Absent
        );
    }
}
