//! The dns-01 challenge (RFC 8555 8.4): the TXT record to publish.

use alloc::format;
use alloc::string::String;
use sha2::{Digest, Sha256};

use crate::b64;
use crate::key::AccountKey;

/// Longest challenge token accepted (RFC 8555 8.1 asks for >= 128 bits;
/// Let's Encrypt and Pebble send 43 characters).
const MAX_TOKEN_LEN: usize = 256;

/// The owner name: `_acme-challenge.<domain>.`, absolute, with a wildcard's
/// `*.` removed (RFC 8555 8.4; 7.1.4: the authorization of `*.d` is for `d`).
pub fn txt_name(domain: &str) -> String {
    let base = domain.strip_prefix("*.").unwrap_or(domain);
    format!("_acme-challenge.{}.", base.trim_end_matches('.'))
}

/// The TXT value: base64url(SHA-256(keyAuthorization)), where the key
/// authorization is `token "." thumbprint` (RFC 8555 8.1).
pub fn txt_value(token: &str, key: &AccountKey) -> String {
    let key_authorization = format!("{token}.{}", key.thumbprint());
    b64::url(&Sha256::digest(key_authorization.as_bytes()))
}

/// A token is base64url text (RFC 8555 8.1) of bounded length.
pub fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= MAX_TOKEN_LEN && b64::is_url_alphabet(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(txt_name("example.org"), "_acme-challenge.example.org.");
        assert_eq!(txt_name("*.example.org"), "_acme-challenge.example.org.");
        assert_eq!(txt_name("example.org."), "_acme-challenge.example.org.");
    }

    #[test]
    fn value_is_digest_of_key_authorization() {
        let key = AccountKey::from_seed(b"dns01 test seed 0123456789").unwrap();
        let value = txt_value("tok", &key);
        let expected = b64::url(&Sha256::digest(
            format!("tok.{}", key.thumbprint()).as_bytes(),
        ));
        assert_eq!(value, expected);
        assert_eq!(value.len(), 43);
    }

    #[test]
    fn tokens() {
        assert!(valid_token("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"));
        assert!(!valid_token(""));
        assert!(!valid_token("a.b"));
        assert!(!valid_token(&"a".repeat(MAX_TOKEN_LEN + 1)));
    }
}
