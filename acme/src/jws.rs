//! JWS in flattened JSON serialization (RFC 7515 7.2.2) as ACME requires it
//! (RFC 8555 6.2): ES256, a protected header with `nonce` and `url`, and
//! either the account `jwk` (newAccount) or its `kid` (everything else).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::b64;
use crate::key::AccountKey;

/// How the request names its key (RFC 8555 6.2: exactly one of the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer<'a> {
    /// The full public key: newAccount (RFC 8555 7.3).
    Jwk,
    /// The account URL returned as `Location` by newAccount.
    Kid(&'a str),
}

/// Build the JSON body of an ACME POST. An empty `payload` makes a
/// POST-as-GET (RFC 8555 6.3: the payload is the empty string).
pub fn sign(
    key: &AccountKey,
    signer: Signer<'_>,
    nonce: &str,
    url: &str,
    payload: &[u8],
) -> Vec<u8> {
    let key_member = match signer {
        Signer::Jwk => format!(r#""jwk":{}"#, key.jwk()),
        Signer::Kid(kid) => format!(r#""kid":{}"#, json_string(kid)),
    };
    let header = format!(
        r#"{{"alg":"ES256",{},"nonce":{},"url":{}}}"#,
        key_member,
        json_string(nonce),
        json_string(url)
    );
    let protected = b64::url(header.as_bytes());
    let payload = b64::url(payload);
    // RFC 7515 5.1: the signing input is ASCII(protected || '.' || payload).
    let signing_input = format!("{protected}.{payload}");
    let signature = b64::url(&key.sign(signing_input.as_bytes()));
    format!(r#"{{"protected":"{protected}","payload":"{payload}","signature":"{signature}"}}"#)
        .into_bytes()
}

/// A JSON string literal with RFC 8259 7 escaping.
fn json_string(text: &str) -> String {
    // Serializing a &str cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::Signature;
    use serde_json::Value;

    fn key() -> AccountKey {
        AccountKey::from_seed(b"jws test seed, sixteen+ bytes").unwrap()
    }

    fn decode(body: &[u8]) -> (Value, Vec<u8>, Vec<u8>, String) {
        let jws: Value = serde_json::from_slice(body).unwrap();
        let protected = jws["protected"].as_str().unwrap();
        let payload = jws["payload"].as_str().unwrap();
        let header = serde_json::from_slice(&b64::url_decode(protected).unwrap()).unwrap();
        let sig = b64::url_decode(jws["signature"].as_str().unwrap()).unwrap();
        (
            header,
            b64::url_decode(payload).unwrap(),
            sig,
            format!("{protected}.{payload}"),
        )
    }

    #[test]
    fn new_account_carries_the_jwk() {
        let key = key();
        let body = sign(&key, Signer::Jwk, "n0nce", "https://ca/acct", b"{}");
        let (header, payload, sig, input) = decode(&body);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["nonce"], "n0nce");
        assert_eq!(header["url"], "https://ca/acct");
        assert_eq!(
            header["jwk"],
            serde_json::from_str::<Value>(key.jwk()).unwrap()
        );
        assert!(header.get("kid").is_none());
        assert_eq!(payload, b"{}");
        assert_eq!(sig.len(), 64);
        let sig = Signature::from_slice(&sig).unwrap();
        key.verifying_key().verify(input.as_bytes(), &sig).unwrap();
    }

    #[test]
    fn post_as_get_with_kid_and_escaping() {
        let key = key();
        let body = sign(
            &key,
            Signer::Kid("https://ca/acct/1"),
            "n",
            "https://ca/\"o\"",
            b"",
        );
        let (header, payload, _, input) = decode(&body);
        assert_eq!(header["kid"], "https://ca/acct/1");
        assert_eq!(header["url"], "https://ca/\"o\"");
        assert!(header.get("jwk").is_none());
        assert!(payload.is_empty());
        assert!(input.ends_with('.'));
    }
}
