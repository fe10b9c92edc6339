//! Randomness for the TLS layer from `getrandom` 0.4 (the guest's custom
//! backend; the OS on the host), never ring's `SystemRandom`: a leaf the
//! provider and the key exchange groups share.

use rustls::crypto::{GetRandomFailed, SecureRandom};
use rustls::Error;

/// Fill `buf` from getrandom 0.4; rustls's error when it cannot.
pub fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|_| Error::FailedToGetRandomBytes)
}

/// rustls's `SecureRandom` over getrandom 0.4.
#[derive(Debug)]
pub struct GetRandom;

impl SecureRandom for GetRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        getrandom::fill(buf).map_err(|_| GetRandomFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_differ() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        fill_random(&mut a).unwrap();
        fill_random(&mut b).unwrap();
        assert_ne!(a, b);
        let mut c = [0u8; 32];
        GetRandom.fill(&mut c).unwrap();
        assert_ne!(c, [0u8; 32]);
    }
}
