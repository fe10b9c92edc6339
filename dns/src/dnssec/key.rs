//! A zone's signing keys: ECDSAP256SHA256 (13, RFC 6605) and ED25519 (15,
//! RFC 8080), their DNSKEY RDATA (RFC 4034 2.1) and key tag (RFC 4034
//! appendix B), made from random bytes passed in, and the line they are
//! kept as in the zone's `_dnssec_keys` file (never served).
//!
//! Both sign with ring and neither draws randomness while signing:
//! Ed25519 from the seed (deterministic by design), ECDSA with ring's
//! hedged nonces fed a fixed "random" input (see [`ecdsa_sign`]), which
//! makes them a keyed hash of the private key and the message, as RFC
//! 6979's are. p256 derives the public key and signs in the one case
//! ring's nonce is out of range every time.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

/// The DNSSEC algorithms gitns signs with (RFC 8624 3.1: both MUST/
/// RECOMMENDED for signing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    EcdsaP256Sha256,
    Ed25519,
}

impl Algorithm {
    /// The IANA number (RFC 4034 A.1).
    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// From its mnemonic or number: `ecdsap256sha256`/`13`,
    /// `ed25519`/`15` (any case).
    pub fn from_text(s: &str) -> Option<Algorithm> {
        match s.to_ascii_lowercase().as_str() {
            "ecdsap256sha256" | "13" => Some(Algorithm::EcdsaP256Sha256),
            "ed25519" | "15" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ecdsap256sha256",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

/// What a key signs: a CSK everything, a KSK the DNSKEY RRset, a ZSK the
/// rest (RFC 6781 3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Csk,
    Ksk,
    Zsk,
}

impl Role {
    pub fn from_text(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "csk" => Some(Role::Csk),
            "ksk" => Some(Role::Ksk),
            "zsk" => Some(Role::Zsk),
            _ => None,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Role::Csk => "csk",
            Role::Ksk => "ksk",
            Role::Zsk => "zsk",
        }
    }

    /// DNSKEY flags (RFC 4034 2.1.1, RFC 3757): Zone Key, plus SEP for
    /// the keys the parent's DS points at.
    pub fn flags(self) -> u16 {
        match self {
            Role::Zsk => 256,
            Role::Csk | Role::Ksk => 257,
        }
    }

    /// Does a key of this role sign RRsets of `rtype`? DNSKEY, CDS and
    /// CDNSKEY by the KSK (RFC 7344 4.1), the others by the ZSK.
    pub fn signs(self, rtype: u16) -> bool {
        use crate::rtype::{CDNSKEY, CDS, DNSKEY};
        let key_set = matches!(rtype, DNSKEY | CDS | CDNSKEY);
        match self {
            Role::Csk => true,
            Role::Ksk => key_set,
            Role::Zsk => !key_set,
        }
    }
}

enum Secret {
    /// ring's key pair (about 5x faster than p256 0.14's signing, which
    /// has no assembly), and p256's for the fallback of [`ecdsa_sign`].
    Ecdsa(alloc::boxed::Box<(EcdsaKeyPair, p256::ecdsa::SigningKey)>),
    Ed25519(ring::signature::Ed25519KeyPair),
}

/// A private key with its role, creation time and public DNSKEY RDATA.
pub struct Key {
    pub role: Role,
    pub algorithm: Algorithm,
    /// When it was made (seconds since the epoch).
    pub created: u64,
    secret: Secret,
    /// The private scalar or seed, as kept in the key file.
    private: [u8; 32],
    dnskey: Vec<u8>,
    tag: u16,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Key({} {} tag {})",
            self.role.text(),
            self.algorithm.mnemonic(),
            self.tag
        )
    }
}

/// Why a key could not be made or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Not a private key of the algorithm (wrong length, out of range).
    BadPrivate,
    /// The random source gave no usable scalar in 16 tries.
    NoScalar,
    /// A key line that does not read: what is wrong.
    Syntax(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::BadPrivate => f.write_str("not a valid private key for its algorithm"),
            KeyError::NoScalar => f.write_str("no valid P-256 scalar from the random source"),
            KeyError::Syntax(s) => f.write_str(s),
        }
    }
}

impl Key {
    /// The key of `private` (a P-256 scalar or an Ed25519 seed, 32 bytes).
    pub fn from_private(
        role: Role,
        algorithm: Algorithm,
        created: u64,
        private: &[u8],
    ) -> Result<Key, KeyError> {
        let private: [u8; 32] = private.try_into().map_err(|_| KeyError::BadPrivate)?;
        let (secret, public) = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let k = p256::ecdsa::SigningKey::from_slice(&private)
                    .map_err(|_| KeyError::BadPrivate)?;
                let sec1 = k.verifying_key().to_sec1_point(false);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &private,
                    sec1.as_bytes(),
                    &fixed_random(0),
                )
                .map_err(|_| KeyError::BadPrivate)?;
                // RFC 6605 4: x | y, without SEC1's leading 0x04.
                (
                    Secret::Ecdsa((pair, k).into()),
                    sec1.as_bytes()[1..].to_vec(),
                )
            }
            Algorithm::Ed25519 => {
                let k = ring::signature::Ed25519KeyPair::from_seed_unchecked(&private)
                    .map_err(|_| KeyError::BadPrivate)?;
                let public = ring::signature::KeyPair::public_key(&k).as_ref().to_vec();
                (Secret::Ed25519(k), public)
            }
        };
        // RFC 4034 2.1: flags, protocol 3, algorithm, public key.
        let mut dnskey = role.flags().to_be_bytes().to_vec();
        dnskey.extend_from_slice(&[3, algorithm.number()]);
        dnskey.extend_from_slice(&public);
        Ok(Key {
            role,
            algorithm,
            created,
            secret,
            private,
            tag: key_tag(&dnskey),
            dnskey,
        })
    }

    /// A new key from `random` (the platform's CSPRNG): 32 bytes, drawn
    /// again while they are no P-256 scalar (probability ~2^-32 each).
    pub fn generate(
        role: Role,
        algorithm: Algorithm,
        created: u64,
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Key, KeyError> {
        for _ in 0..16 {
            let mut b = [0u8; 32];
            random(&mut b);
            if let Ok(k) = Key::from_private(role, algorithm, created, &b) {
                return Ok(k);
            }
        }
        Err(KeyError::NoScalar)
    }

    /// The DNSKEY RDATA.
    pub fn dnskey(&self) -> &[u8] {
        &self.dnskey
    }

    /// The key tag (RFC 4034 appendix B).
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// The DS RDATA of this key at `owner` with digest type 2, SHA-256
    /// (RFC 4034 5.1.4, RFC 4509 2.1): what the parent publishes, and the
    /// CDS the child offers it (RFC 7344 3.1).
    pub fn ds(&self, owner: &crate::name::Name) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(owner.to_lowercase().wire())
            .chain_update(&self.dnskey)
            .finalize();
        let mut rd = self.tag.to_be_bytes().to_vec();
        rd.extend_from_slice(&[self.algorithm.number(), 2]);
        rd.extend_from_slice(&digest);
        rd
    }

    /// The signature of `data` as RRSIG's signature field: r | s (RFC 6605
    /// 4) or the 64-byte Ed25519 signature (RFC 8080 4).
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        match &self.secret {
            Secret::Ecdsa(keys) => ecdsa_sign(&keys.0, &keys.1, data),
            Secret::Ed25519(k) => k.sign(data).as_ref().to_vec(),
        }
    }

    /// The key file line: `ROLE ALGORITHM CREATED PRIVATE-BASE64 ; tag N`.
    pub fn to_line(&self) -> String {
        format!(
            "{} {} {} {} ; tag {}",
            self.role.text(),
            self.algorithm.mnemonic(),
            self.created,
            crate::base64::encode(&self.private),
            self.tag
        )
    }

    /// A key from its line (the text before any `;`).
    pub fn from_line(line: &str) -> Result<Key, KeyError> {
        let fields: Vec<&str> = line
            .split(';')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let [role, alg, created, private] = fields[..] else {
            return Err(KeyError::Syntax(
                "a key is `ROLE ALGORITHM CREATED PRIVATE-BASE64`".into(),
            ));
        };
        let bad = |what: &str, v: &str| KeyError::Syntax(format!("bad {what} {v:?}"));
        let role = Role::from_text(role).ok_or_else(|| bad("role (csk|ksk|zsk)", role))?;
        let algorithm = Algorithm::from_text(alg).ok_or_else(|| bad("algorithm", alg))?;
        let created = created.parse().map_err(|_| bad("creation time", created))?;
        let private = crate::base64::decode(private).ok_or_else(|| bad("base64", private))?;
        Key::from_private(role, algorithm, created, &private)
    }
}

/// ring's `SecureRandom` is sealed: besides its SystemRandom (the
/// getrandom syscall, which the guest lacks) only the fixed sources of
/// its hidden, deprecated `test` module implement it. A fixed byte is
/// what ECDSA here wants: see [`ecdsa_sign`].
#[allow(deprecated)]
fn fixed_random(byte: u8) -> ring::test::rand::FixedByteRandom {
    ring::test::rand::FixedByteRandom { byte }
}

/// The ECDSA P-256 signature of `data` (RFC 6605 4: r | s). ring's
/// nonce is SHA-256(K | R | SHA-256(data)), K = SHA-256(R0 | private key)
/// fixed when the key is made, R and R0 from its random source (ring's
/// hedge against a weak RNG). With R and R0 a fixed byte the nonce is a
/// secret-keyed hash of the message: distinct per message, unknown
/// without the key, the same for the same key and message (the property
/// RFC 6979 3 is after; its HMAC-DRBG construction is not used). ring
/// rejects a nonce >= n (chance about 2^-32) and then retries with the
/// same source, so fails: the next byte gives another nonce; after 8
/// such (never seen) p256's RFC 6979 signing takes over.
fn ecdsa_sign(pair: &EcdsaKeyPair, k: &p256::ecdsa::SigningKey, data: &[u8]) -> Vec<u8> {
    for byte in 0..8 {
        if let Ok(s) = pair.sign(&fixed_random(byte), data) {
            return s.as_ref().to_vec();
        }
    }
    rfc6979_sign(k, data)
}

/// p256's ECDSA with RFC 6979 nonces (the fallback of [`ecdsa_sign`]).
fn rfc6979_sign(k: &p256::ecdsa::SigningKey, data: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer;
    let s: p256::ecdsa::Signature = k.sign(data);
    s.to_bytes().to_vec()
}

/// RFC 4034 appendix B: the ones-complement-like sum of the RDATA as
/// 16-bit words, folded once.
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            b as u32
        } else {
            (b as u32) << 8
        };
    }
    ac += (ac >> 16) & 0xffff;
    (ac & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// RFC 6605 6.1's example key: its DNSKEY's public key and key tag.
    #[test]
    fn rfc6605_example_key() {
        let private =
            crate::base64::decode("GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=").unwrap();
        let k = Key::from_private(Role::Csk, Algorithm::EcdsaP256Sha256, 0, &private).unwrap();
        let public = "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==";
        assert_eq!(crate::base64::encode(&k.dnskey()[4..]), public);
        assert_eq!(k.tag(), 55648);
        let owner = crate::name::Name::parse("example.net.", &crate::name::Name::root()).unwrap();
        assert_eq!(
            crate::rdata::hex(&k.ds(&owner)[4..]),
            "b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17"
        );
        assert_eq!(&k.ds(&owner)[..4], &[0xd9, 0x60, 13, 2]);
    }

    /// RFC 8080 6.1's example key: public key and key tag.
    #[test]
    fn rfc8080_example_key() {
        let private =
            crate::base64::decode("ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=").unwrap();
        let k = Key::from_private(Role::Csk, Algorithm::Ed25519, 0, &private).unwrap();
        assert_eq!(
            crate::base64::encode(&k.dnskey()[4..]),
            "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="
        );
        assert_eq!(k.tag(), 3613);
        let owner = crate::name::Name::parse("EXAMPLE.com.", &crate::name::Name::root()).unwrap();
        assert_eq!(
            crate::rdata::hex(&k.ds(&owner)[4..]),
            "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b"
        );
        // Ed25519 is deterministic: RFC 8080 6.1's MX signature.
        let sig = k.sign(b"x");
        assert_eq!(sig.len(), 64);
        assert_eq!(sig, k.sign(b"x"));
    }

    #[test]
    fn ecdsa_signatures_verify() {
        use p256::ecdsa::signature::Verifier;
        let mut n = 0u8;
        let mut random = |b: &mut [u8]| {
            n += 1;
            b.fill(n)
        };
        let k = Key::generate(Role::Zsk, Algorithm::EcdsaP256Sha256, 5, &mut random).unwrap();
        let mut sec1 = alloc::vec![4u8];
        sec1.extend_from_slice(&k.dnskey()[4..]);
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let ring_vk = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            &sec1,
        );
        let Secret::Ecdsa(keys) = &k.secret else {
            unreachable!()
        };
        let fallback = rfc6979_sign(&keys.1, b"data");
        for sig in [k.sign(b"data"), fallback.clone()] {
            assert_eq!(sig.len(), 64);
            let s = p256::ecdsa::Signature::from_slice(&sig).unwrap();
            assert!(vk.verify(b"data", &s).is_ok());
            assert!(vk.verify(b"other", &s).is_err());
            assert!(ring_vk.verify(b"data", &sig).is_ok());
            assert!(ring_vk.verify(b"other", &sig).is_err());
        }
        // Deterministic, one nonce per message (a repeated nonce would
        // repeat r, the first half), and not RFC 6979's.
        assert_eq!(k.sign(b"data"), k.sign(b"data"));
        assert_ne!(k.sign(b"data")[..32], k.sign(b"other")[..32]);
        assert_ne!(k.sign(b"data"), fallback);
        // Another key signs the same message with another nonce.
        let k2 = Key::generate(Role::Zsk, Algorithm::EcdsaP256Sha256, 5, &mut random).unwrap();
        assert_ne!(k.sign(b"data")[..32], k2.sign(b"data")[..32]);
        assert_eq!(&k.dnskey()[..4], &[1, 0, 3, 13]);
    }

    #[test]
    fn key_lines_round_trip_and_bad_ones_say_why() {
        let mut random = |b: &mut [u8]| b.fill(7);
        let k = Key::generate(Role::Ksk, Algorithm::Ed25519, 1_796_000_000, &mut random).unwrap();
        let line = k.to_line();
        assert!(line.starts_with("ksk ed25519 1796000000 "), "{line}");
        let back = Key::from_line(&line).unwrap();
        assert_eq!(
            (back.dnskey(), back.tag(), back.created),
            (k.dnskey(), k.tag(), 1_796_000_000)
        );
        let err = |l: &str| Key::from_line(l).unwrap_err().to_string();
        assert!(err("ksk ed25519 1").contains("a key is"));
        assert!(err("ksk rsa 1 AAAA").contains("bad algorithm"));
        assert!(err("ksk ed25519 x AAAA").contains("creation time"));
        assert!(err("ksk ed25519 1 AAAA").contains("not a valid private key"));
        // P-256's order n is below 2^256 - 1: all ones is no scalar.
        let ones = crate::base64::encode(&[0xff; 32]);
        assert!(err(&format!("zsk 13 1 {ones}")).contains("not a valid"));
    }

    #[test]
    fn roles_sign_their_types() {
        use crate::rtype::{A, CDS, DNSKEY};
        assert!(Role::Ksk.signs(DNSKEY) && Role::Ksk.signs(CDS) && !Role::Ksk.signs(A));
        assert!(Role::Zsk.signs(A) && !Role::Zsk.signs(DNSKEY));
        assert!(Role::Csk.signs(A) && Role::Csk.signs(DNSKEY));
        assert_eq!((Role::Ksk.flags(), Role::Zsk.flags()), (257, 256));
    }
}
