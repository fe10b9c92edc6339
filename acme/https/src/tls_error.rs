//! Why a TLS connection failed, in our words rather than rustls's: a leaf
//! the trust anchors and the client share.

use core::fmt;

use rustls::{CertificateError, Error};

/// Why a TLS connection could not be made or went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsError {
    /// The server name is neither a DNS name nor an IP address.
    BadServerName,
    /// A trust anchor is not a parsable X.509 certificate.
    BadAnchor,
    /// There is no trust anchor to verify against.
    NoAnchors,
    /// `now` is 0: certificate validity cannot be judged.
    NoTime,
    /// The random source failed.
    NoRandom,
    /// The server's certificate (or one of its chain) has expired.
    Expired,
    /// The server's certificate is not valid yet.
    NotYetValid,
    /// The chain does not end in one of our anchors.
    UnknownIssuer,
    /// The certificate is not for the name we asked for.
    WrongName,
    /// Any other certificate problem (bad signature, encoding, usage...).
    BadCertificate,
    /// The server sent a fatal alert (RFC 8446 §6.2 AlertDescription).
    AlertReceived(u8),
    /// No common protocol version, cipher suite, group or signature scheme.
    Incompatible,
    /// The server sent something that is not valid TLS.
    Protocol,
    /// More data buffered than the limits allow.
    TooMuchData,
    /// The transport ended without a close_notify (RFC 8446 §6.1).
    Truncated,
    /// Written after [`crate::TlsClient::close`], or to a connection the peer closed.
    Closed,
    /// A rustls state we do not expect (a bug).
    Internal,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            TlsError::BadServerName => "server name is not a DNS name or IP address",
            TlsError::BadAnchor => "trust anchor is not a valid certificate",
            TlsError::NoAnchors => "no trust anchor",
            TlsError::NoTime => "current time unknown",
            TlsError::NoRandom => "random source failed",
            TlsError::Expired => "certificate expired",
            TlsError::NotYetValid => "certificate not valid yet",
            TlsError::UnknownIssuer => "certificate issuer unknown",
            TlsError::WrongName => "certificate not valid for the server name",
            TlsError::BadCertificate => "invalid certificate",
            TlsError::AlertReceived(d) => return write!(f, "server sent TLS alert {d}"),
            TlsError::Incompatible => "no TLS parameters in common with the server",
            TlsError::Protocol => "TLS protocol violation by the server",
            TlsError::TooMuchData => "too much buffered TLS data",
            TlsError::Truncated => "connection ended without close_notify",
            TlsError::Closed => "TLS connection closed",
            TlsError::Internal => "internal TLS error",
        };
        f.write_str(s)
    }
}

impl From<&Error> for TlsError {
    fn from(e: &Error) -> TlsError {
        match e {
            Error::InvalidCertificate(c) => certificate_error(c),
            Error::AlertReceived(d) => TlsError::AlertReceived(u8::from(*d)),
            Error::FailedToGetCurrentTime => TlsError::NoTime,
            Error::FailedToGetRandomBytes => TlsError::NoRandom,
            Error::PeerIncompatible(_) | Error::NoApplicationProtocol => TlsError::Incompatible,
            Error::InvalidMessage(_)
            | Error::InappropriateMessage { .. }
            | Error::InappropriateHandshakeMessage { .. }
            | Error::PeerMisbehaved(_)
            | Error::DecryptError
            | Error::PeerSentOversizedRecord
            | Error::NoCertificatesPresented
            | Error::UnsupportedNameType => TlsError::Protocol,
            _ => TlsError::Internal,
        }
    }
}

fn certificate_error(c: &CertificateError) -> TlsError {
    match c {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => TlsError::Expired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            TlsError::NotYetValid
        }
        CertificateError::UnknownIssuer => TlsError::UnknownIssuer,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            TlsError::WrongName
        }
        _ => TlsError::BadCertificate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_mapping() {
        let e = Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(TlsError::from(&e), TlsError::UnknownIssuer);
        let e = Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        assert_eq!(TlsError::from(&e), TlsError::AlertReceived(40));
        assert_eq!(TlsError::from(&Error::DecryptError), TlsError::Protocol);
    }
}
