//! Base64 helpers: base64url without padding for JOSE (RFC 7515 2, RFC 8555
//! 6.1) and standard base64 for PEM bodies (RFC 7468 3).

use alloc::string::String;
use alloc::vec::Vec;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// base64url without padding (RFC 7515 2, "Base64url Encoding").
pub fn url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decode base64url without padding; `None` on any invalid character.
pub fn url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Decode standard base64 with padding (the body of a PEM block).
pub fn std_decode(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// True if `text` only uses the base64url alphabet (RFC 4648 5), no padding.
pub fn is_url_alphabet(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_round_trip_without_padding() {
        assert_eq!(url(b"\xfb\xff"), "-_8");
        assert_eq!(url_decode("-_8").unwrap(), b"\xfb\xff");
        assert!(url_decode("+/8=").is_none());
    }

    #[test]
    fn std_decodes_padding() {
        assert_eq!(std_decode(b"aGk=").unwrap(), b"hi");
        assert!(std_decode(b"a-k=").is_none());
    }

    #[test]
    fn alphabet() {
        assert!(is_url_alphabet("abcXYZ019-_"));
        assert!(!is_url_alphabet("a=b"));
        assert!(!is_url_alphabet("a b"));
    }
}
