//! Standard base64 with padding (RFC 4648 4), as DNSKEY/RRSIG text uses it.

use alloc::string::String;
use alloc::vec::Vec;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Decode; None when malformed.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s.as_bytes()).ok()
}

/// Encode.
pub fn encode(b: &[u8]) -> String {
    STANDARD.encode(b)
}
