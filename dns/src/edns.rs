//! EDNS options (RFC 6891 6.1.2): the ones a query may carry that change the
//! answer (NSID, RFC 5001; COOKIE, RFC 7873; edns-tcp-keepalive, RFC 7828),
//! and the OPT record of a response.

use crate::rtype::OPT;
use crate::wire::{Full, Writer};

/// Option codes (IANA "DNS EDNS0 Option Codes").
pub const NSID: u16 = 3;
pub const COOKIE: u16 = 10;
pub const KEEPALIVE: u16 = 11;

/// The COOKIE option of a query (RFC 7873 4): the client cookie and, when
/// the client learned one, the server cookie it sends back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientCookie {
    pub client: [u8; 8],
    server: [u8; 32],
    server_len: u8,
}

impl ClientCookie {
    /// The server cookie the client sent (empty: it has none yet).
    pub fn server(&self) -> &[u8] {
        &self.server[..self.server_len as usize]
    }
}

/// The options of a query that gitns acts on; every other option is
/// ignored (RFC 6891 6.1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// NSID asked for (RFC 5001 2.1: an empty option).
    pub nsid: bool,
    /// edns-tcp-keepalive sent (RFC 7828 3.1).
    pub keepalive: bool,
    pub cookie: Option<ClientCookie>,
}

/// A malformed option: the query gets FORMERR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// Parse the options in the RDATA of a query's OPT record.
pub fn parse_options(mut rdata: &[u8]) -> Result<Options, Malformed> {
    let mut o = Options::default();
    while !rdata.is_empty() {
        let [c0, c1, l0, l1, rest @ ..] = rdata else {
            return Err(Malformed);
        };
        let (code, len) = (
            u16::from_be_bytes([*c0, *c1]),
            u16::from_be_bytes([*l0, *l1]),
        );
        let value = rest.get(..len as usize).ok_or(Malformed)?;
        match code {
            NSID => o.nsid = true,
            // RFC 7828 3.2.1: a client sends the option empty.
            KEEPALIVE if len != 0 => return Err(Malformed),
            KEEPALIVE => o.keepalive = true,
            // RFC 7873 5.2.2: a second COOKIE option is malformed too.
            COOKIE if o.cookie.is_some() => return Err(Malformed),
            COOKIE => o.cookie = Some(cookie(value)?),
            _ => {}
        }
        rdata = &rest[len as usize..];
    }
    Ok(o)
}

/// RFC 7873 5.2.2: 8 bytes (client only) or 16 to 40 bytes (client and
/// server cookie); any other length is FORMERR.
fn cookie(v: &[u8]) -> Result<ClientCookie, Malformed> {
    if v.len() != 8 && !(16..=40).contains(&v.len()) {
        return Err(Malformed);
    }
    let mut c = ClientCookie {
        server_len: (v.len() - 8) as u8,
        ..Default::default()
    };
    c.client.copy_from_slice(&v[..8]);
    c.server[..v.len() - 8].copy_from_slice(&v[8..]);
    Ok(c)
}

/// The OPT record of a response (RFC 6891 6.1.3) and what it carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reply<'a> {
    /// Our UDP payload size.
    pub payload: u16,
    /// RFC 3225 3: the DO bit copied from the query.
    pub dnssec_ok: bool,
    /// RFC 5001 2.2: our server identifier, when asked and configured.
    pub nsid: Option<&'a [u8]>,
    /// RFC 7873 4: client cookie and our fresh server cookie.
    pub cookie: Option<[u8; 24]>,
    /// RFC 7828 3.3.2: our idle timeout in 100 ms units (TCP only).
    pub keepalive: Option<u16>,
}

impl Reply<'_> {
    /// Bytes the record takes in the additional section.
    pub fn len(&self) -> usize {
        11 + self.nsid.map_or(0, |n| 4 + n.len())
            + self.cookie.map_or(0, |_| 4 + 24)
            + self.keepalive.map_or(0, |_| 6)
    }

    /// Never empty: the fixed part alone is 11 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Write the record, with the upper 8 bits of a 12-bit RCODE.
    pub fn write(&self, w: &mut Writer, rcode: u16) -> Result<(), Full> {
        w.u8(0)?;
        w.u16(OPT)?;
        w.u16(self.payload)?;
        let flags = if self.dnssec_ok { 0x8000 } else { 0 };
        w.u32((((rcode as u32 >> 4) & 0xff) << 24) | flags)?;
        w.u16((self.len() - 11) as u16)?;
        if let Some(n) = self.nsid {
            option(w, NSID, n)?;
        }
        if let Some(c) = &self.cookie {
            option(w, COOKIE, c)?;
        }
        if let Some(k) = self.keepalive {
            option(w, KEEPALIVE, &k.to_be_bytes())?;
        }
        Ok(())
    }
}

fn option(w: &mut Writer, code: u16, value: &[u8]) -> Result<(), Full> {
    w.u16(code)?;
    w.u16(value.len() as u16)?;
    w.bytes(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(code: u16, v: &[u8]) -> alloc::vec::Vec<u8> {
        let mut o = alloc::vec::Vec::new();
        o.extend_from_slice(&code.to_be_bytes());
        o.extend_from_slice(&(v.len() as u16).to_be_bytes());
        o.extend_from_slice(v);
        o
    }

    #[test]
    fn options_parse_and_unknown_ones_are_ignored() {
        let mut rd = opt(NSID, &[]);
        rd.extend(opt(12, &[0; 7])); // padding: ignored
        rd.extend(opt(KEEPALIVE, &[]));
        rd.extend(opt(COOKIE, &[1; 24]));
        let o = parse_options(&rd).unwrap();
        assert!(o.nsid && o.keepalive);
        let c = o.cookie.unwrap();
        assert_eq!((c.client, c.server()), ([1; 8], &[1u8; 16][..]));
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
    }

    #[test]
    fn malformed_options() {
        for len in (0..8).chain(9..16).chain(41..44) {
            assert_eq!(
                parse_options(&opt(COOKIE, &[0; 44][..len])),
                Err(Malformed),
                "{len}"
            );
        }
        let mut two = opt(COOKIE, &[0; 8]);
        two.extend(opt(COOKIE, &[0; 8]));
        assert_eq!(parse_options(&two), Err(Malformed));
        assert_eq!(parse_options(&opt(KEEPALIVE, &[0, 1])), Err(Malformed));
        assert_eq!(parse_options(&[0, 3, 0]), Err(Malformed), "short header");
        assert_eq!(
            parse_options(&[0, 3, 0, 2, 1]),
            Err(Malformed),
            "short value"
        );
    }

    #[test]
    fn reply_record() {
        let r = Reply {
            payload: 1232,
            dnssec_ok: true,
            nsid: Some(b"ns1"),
            cookie: Some([7; 24]),
            keepalive: Some(100),
        };
        let mut buf = [0u8; 128];
        let mut w = Writer::new(&mut buf);
        r.write(&mut w, 16).unwrap();
        assert_eq!(w.len(), r.len());
        let b = w.written();
        assert_eq!(
            &b[..11],
            &[0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 7 + 28 + 6]
        );
        assert_eq!(&b[11..18], &[0, 3, 0, 3, b'n', b's', b'1']);
        assert_eq!(&b[b.len() - 6..], &[0, 11, 0, 2, 0, 100]);
    }
}
