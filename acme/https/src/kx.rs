//! Key exchange groups that draw their secrets from `getrandom` 0.4.
//!
//! rustls's *ring* groups generate ephemeral keys with ring's
//! `SystemRandom`, whose `SecureRandom` trait is sealed: on Linux it is the
//! getrandom syscall, fatal in the guest. These groups do the same
//! (EC)DHE with x25519-dalek and p256 instead.
//!
//! RFC 8446 §4.2.7 (supported_groups), §4.2.8.2 (key share encodings) and
//! §7.4 ((EC)DHE shared secret calculation).

use alloc::boxed::Box;
use alloc::vec::Vec;

use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved};
use zeroize::Zeroize;

use crate::random::fill_random;

/// X25519 (RFC 7748), NamedGroup 0x001d.
pub static X25519: &dyn SupportedKxGroup = &X25519Group;
/// secp256r1 / P-256, NamedGroup 0x0017.
pub static SECP256R1: &dyn SupportedKxGroup = &P256Group;

/// Both groups, most preferred first: the client sends an X25519 key share;
/// a server that wants P-256 asks for it with a HelloRetryRequest.
pub static ALL: &[&dyn SupportedKxGroup] = &[&X25519Group, &P256Group];

#[derive(Debug)]
struct X25519Group;

struct X25519Exchange {
    secret: [u8; 32],
    public: [u8; 32],
}

impl SupportedKxGroup for X25519Group {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let mut secret = [0u8; 32];
        fill_random(&mut secret)?;
        // RFC 7748 §6.1: the public value is X25519(a, 9); x25519() clamps.
        let public = x25519_dalek::x25519(secret, x25519_dalek::X25519_BASEPOINT_BYTES);
        Ok(Box::new(X25519Exchange { secret, public }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

impl ActiveKeyExchange for X25519Exchange {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        // RFC 8446 §4.2.8.2: the X25519 key share is exactly 32 bytes.
        let peer: [u8; 32] = peer_pub_key
            .try_into()
            .map_err(|_| Error::from(PeerMisbehaved::InvalidKeyShare))?;
        let mut shared = x25519_dalek::x25519(self.secret, peer);
        // RFC 8446 §7.4.2: abort when the shared secret is all zeroes (the
        // peer sent a small-order point).
        if shared.iter().all(|b| *b == 0) {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        let out = SharedSecret::from(&shared[..]);
        shared.zeroize();
        Ok(out)
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

impl Drop for X25519Exchange {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

#[derive(Debug)]
struct P256Group;

struct P256Exchange {
    secret: p256::SecretKey,
    public: Vec<u8>,
}

impl SupportedKxGroup for P256Group {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let secret = p256_secret()?;
        // RFC 8446 §4.2.8.2: UncompressedPointRepresentation (0x04 || X || Y).
        let public = secret.public_key().to_sec1_bytes().into_vec();
        Ok(Box::new(P256Exchange { secret, public }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::secp256r1
    }
}

/// A uniformly random non-zero scalar below the group order: 32 random
/// bytes are out of range with probability ~2^-32, so a few tries suffice.
fn p256_secret() -> Result<p256::SecretKey, Error> {
    for _ in 0..8 {
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes)?;
        let key = p256::SecretKey::from_slice(&bytes);
        bytes.zeroize();
        if let Ok(key) = key {
            return Ok(key);
        }
    }
    Err(Error::FailedToGetRandomBytes)
}

impl ActiveKeyExchange for P256Exchange {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        // RFC 8446 §4.2.8.2: only the 65-byte uncompressed form is allowed;
        // from_sec1_bytes checks the point is on the curve and not identity.
        if peer_pub_key.len() != 65 || peer_pub_key[0] != 4 {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        let peer = p256::PublicKey::from_sec1_bytes(peer_pub_key)
            .map_err(|_| Error::from(PeerMisbehaved::InvalidKeyShare))?;
        // RFC 8446 §7.4.1 (ECDHE): the shared secret is the x coordinate.
        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), peer.as_affine());
        Ok(SharedSecret::from(&shared.raw_secret_bytes()[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp256r1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(group: &dyn SupportedKxGroup) {
        let a = group.start().unwrap();
        let b = group.start().unwrap();
        assert_eq!(a.group(), group.name());
        let pa = a.pub_key().to_vec();
        let pb = b.pub_key().to_vec();
        assert_ne!(pa, pb);
        let sa = a.complete(&pb).unwrap();
        let sb = b.complete(&pa).unwrap();
        assert_eq!(sa.secret_bytes(), sb.secret_bytes());
        assert_eq!(sa.secret_bytes().len(), 32);
    }

    #[test]
    fn x25519_agrees() {
        agree(X25519);
        assert_eq!(X25519.start().unwrap().pub_key().len(), 32);
    }

    #[test]
    fn p256_agrees_with_uncompressed_points() {
        agree(SECP256R1);
        let k = SECP256R1.start().unwrap();
        assert_eq!(k.pub_key().len(), 65);
        assert_eq!(k.pub_key()[0], 4);
    }

    #[test]
    fn bad_peer_shares_are_errors() {
        for group in ALL {
            for bad in [&[][..], &[4u8; 31][..], &[0u8; 65][..], &[4u8; 66][..]] {
                assert!(group.start().unwrap().complete(bad).is_err());
            }
        }
        // A small-order point (here 0) gives an all-zero X25519 secret.
        assert!(X25519.start().unwrap().complete(&[0u8; 32]).is_err());
    }

    #[test]
    fn rfc7748_x25519_vector() {
        // RFC 7748 §6.1, Alice's key pair.
        let a = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let pa = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        assert_eq!(
            x25519_dalek::x25519(a, x25519_dalek::X25519_BASEPOINT_BYTES),
            pa
        );
    }

    fn hex(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }
}
