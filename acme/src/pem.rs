//! PEM certificate chains (RFC 7468 5, the `application/pem-certificate-chain`
//! body of RFC 8555 7.4.2 / 9.1): text -> DER certificates, leaf first.

use alloc::vec::Vec;
use core::fmt;

use crate::b64;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";
/// The most certificates accepted in one chain.
pub const MAX_CERTS: usize = 8;

/// Why a PEM chain was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemError {
    /// No CERTIFICATE block at all.
    Empty,
    /// A block without its END line, or a BEGIN inside a block.
    Unterminated,
    /// The body of a block is not base64.
    BadBase64,
    /// More than [`MAX_CERTS`] certificates.
    TooMany,
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "no certificate in PEM",
            Self::Unterminated => "unterminated PEM block",
            Self::BadBase64 => "bad base64 in PEM block",
            Self::TooMany => "too many certificates in PEM chain",
        })
    }
}

/// Decode every CERTIFICATE block in order. Text outside blocks is
/// ignored (RFC 7468 2 allows explanatory text); lines may end in CRLF.
pub fn decode_chain(text: &[u8]) -> Result<Vec<Vec<u8>>, PemError> {
    let mut certs = Vec::new();
    let mut body: Option<Vec<u8>> = None;
    for line in text.split(|&b| b == b'\n').map(trim) {
        match body.as_mut() {
            None if line == BEGIN => body = Some(Vec::new()),
            None => {}
            Some(_) if line == BEGIN => return Err(PemError::Unterminated),
            Some(b64text) if line == END => {
                if certs.len() == MAX_CERTS {
                    return Err(PemError::TooMany);
                }
                certs.push(b64::std_decode(b64text).ok_or(PemError::BadBase64)?);
                body = None;
            }
            Some(b64text) => b64text.extend_from_slice(line),
        }
    }
    if body.is_some() {
        return Err(PemError::Unterminated);
    }
    if certs.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(certs)
}

fn trim(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn decodes_a_chain_leaf_first() {
        let certs = decode_chain(testdata::CHAIN_PEM).unwrap();
        assert_eq!(certs.len(), 2);
        assert!(certs.iter().all(|c| c[0] == 0x30));
    }

    #[test]
    fn crlf_and_surrounding_text() {
        let text =
            b"hello\r\n-----BEGIN CERTIFICATE-----\r\naGk=\r\n-----END CERTIFICATE-----\r\nbye";
        assert_eq!(decode_chain(text).unwrap(), [b"hi".to_vec()]);
    }

    #[test]
    fn errors() {
        assert_eq!(decode_chain(b""), Err(PemError::Empty));
        assert_eq!(
            decode_chain(b"-----BEGIN CERTIFICATE-----\naGk="),
            Err(PemError::Unterminated)
        );
        let nested = b"-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n";
        assert_eq!(decode_chain(nested), Err(PemError::Unterminated));
        let bad = b"-----BEGIN CERTIFICATE-----\n*!\n-----END CERTIFICATE-----\n";
        assert_eq!(decode_chain(bad), Err(PemError::BadBase64));
        let one = "-----BEGIN CERTIFICATE-----\naGk=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            decode_chain(one.repeat(MAX_CERTS + 1).as_bytes()),
            Err(PemError::TooMany)
        );
    }
}
