//! Checking the TSIG of every message of a transfer we asked for (RFC 8945
//! 5.3.1): the first message's MAC covers our request's MAC, the message
//! and the full TSIG variables; each later signed message covers the prior
//! MAC, every unsigned message since it (whole, as received), itself and
//! the timers only. Up to 99 messages may come unsigned in between (NSD
//! signs every 96th); the 100th unsigned one, or an unsigned last message,
//! is an error. The HMAC runs over the unsigned messages as they arrive,
//! so none of them is kept.

use crate::keys::{Algorithm, Key};
use crate::message::Header;
use crate::tsig::{self, TsigRr};
use alloc::vec::Vec;
use hmac::{Hmac, Mac};

/// Unsigned messages allowed in a row (RFC 8945 5.3.1: "at least every
/// 100th").
pub const MAX_UNSIGNED: u32 = 99;

/// Why a message of the stream is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// The first message, or 100 in a row, or the last, carried no TSIG.
    Unsigned,
    /// The TSIG record is malformed or not last.
    Malformed,
    /// Another key or algorithm than the one we asked with.
    WrongKey,
    /// The MAC does not verify.
    BadSig,
    /// Signed outside the fudge of our wall clock (RFC 8945 5.2.3).
    BadTime,
    /// The primary put this TSIG error in (BADKEY, BADSIG, BADTIME...).
    Error(u16),
}

/// A running HMAC of one algorithm.
enum Running {
    Sha1(Hmac<sha1::Sha1>),
    Sha224(Hmac<sha2::Sha224>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
    Sha512(Hmac<sha2::Sha512>),
}

impl Running {
    fn new(a: Algorithm, secret: &[u8]) -> Running {
        macro_rules! new {
            ($v:ident) => {
                Running::$v(Mac::new_from_slice(secret).expect("HMAC takes any key length"))
            };
        }
        match a {
            Algorithm::Sha1 => new!(Sha1),
            Algorithm::Sha224 => new!(Sha224),
            Algorithm::Sha256 => new!(Sha256),
            Algorithm::Sha384 => new!(Sha384),
            Algorithm::Sha512 => new!(Sha512),
        }
    }

    fn update(&mut self, b: &[u8]) {
        match self {
            Running::Sha1(m) => m.update(b),
            Running::Sha224(m) => m.update(b),
            Running::Sha256(m) => m.update(b),
            Running::Sha384(m) => m.update(b),
            Running::Sha512(m) => m.update(b),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Running::Sha1(m) => m.finalize().into_bytes().to_vec(),
            Running::Sha224(m) => m.finalize().into_bytes().to_vec(),
            Running::Sha256(m) => m.finalize().into_bytes().to_vec(),
            Running::Sha384(m) => m.finalize().into_bytes().to_vec(),
            Running::Sha512(m) => m.finalize().into_bytes().to_vec(),
        }
    }
}

/// The TSIG state of one response stream.
pub struct Chain {
    key: Key,
    /// The MAC the next signed message covers first: our request's, then
    /// the last verified one.
    prior: Vec<u8>,
    /// The HMAC over the prior MAC and the unsigned messages since.
    running: Option<Running>,
    unsigned: u32,
    first: bool,
}

impl Chain {
    /// A stream answering a request we signed with `key`, whose MAC was
    /// `request_mac`.
    pub fn new(key: Key, request_mac: Vec<u8>) -> Chain {
        Chain {
            key,
            prior: request_mac,
            running: None,
            unsigned: 0,
            first: true,
        }
    }

    fn running(&mut self) -> &mut Running {
        let (key, prior) = (&self.key, &self.prior);
        self.running.get_or_insert_with(|| {
            let mut m = Running::new(key.algorithm, &key.secret);
            m.update(&(prior.len() as u16).to_be_bytes());
            m.update(prior);
            m
        })
    }

    /// Check one message (`additional_at`: where its additional section
    /// starts) at wall-clock `wall` seconds. `Ok(true)` when it was signed.
    pub fn message(
        &mut self,
        msg: &[u8],
        h: &Header,
        additional_at: usize,
        wall: u64,
    ) -> Result<bool, ChainError> {
        let t = tsig::find(msg, h, additional_at).map_err(|_| ChainError::Malformed)?;
        let Some(t) = t else {
            self.unsigned += 1;
            if self.first || self.unsigned > MAX_UNSIGNED {
                return Err(ChainError::Unsigned);
            }
            self.running().update(msg);
            return Ok(false);
        };
        self.signed(msg, &t, wall)?;
        Ok(true)
    }

    fn signed(&mut self, msg: &[u8], t: &TsigRr, wall: u64) -> Result<(), ChainError> {
        if t.key_name != self.key.name
            || tsig::algorithm_of(&t.algorithm) != Some(self.key.algorithm)
        {
            return Err(ChainError::WrongKey);
        }
        if t.error != 0 {
            return Err(ChainError::Error(t.error));
        }
        let full = tsig::mac_len(self.key.algorithm);
        if t.mac.len() > full || t.mac.len() < (full / 2).max(10) {
            return Err(ChainError::BadSig);
        }
        // RFC 8945 4.3.3 for the first message, 5.3.1 (timers) after it.
        let (signed, vars) = tsig::signed_and_variables(msg, t, !self.first);
        let mut m = self.running().clone_state();
        m.update(&signed);
        m.update(&vars);
        if !tsig::ct_eq_prefix(&t.mac, &m.finish()) {
            return Err(ChainError::BadSig);
        }
        if wall.abs_diff(t.time_signed) > t.fudge as u64 {
            return Err(ChainError::BadTime);
        }
        self.running = None;
        self.prior = t.mac.clone();
        self.unsigned = 0;
        self.first = false;
        Ok(())
    }

    /// The stream ended: its last message must have been signed.
    pub fn finish(&self) -> Result<(), ChainError> {
        if self.first || self.unsigned > 0 {
            return Err(ChainError::Unsigned);
        }
        Ok(())
    }
}

impl Running {
    /// A copy of the state (a failed check leaves the chain as it was).
    fn clone_state(&self) -> Running {
        match self {
            Running::Sha1(m) => Running::Sha1(m.clone()),
            Running::Sha224(m) => Running::Sha224(m.clone()),
            Running::Sha256(m) => Running::Sha256(m.clone()),
            Running::Sha384(m) => Running::Sha384(m.clone()),
            Running::Sha512(m) => Running::Sha512(m.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_request;
    use crate::name::Name;
    use crate::wire::{Reader, Writer};

    fn key(secret: u8) -> Key {
        Key {
            name: Name::parse("127.0.0.1.127.0.0.2._transfer.example.org.", &Name::root()).unwrap(),
            algorithm: Algorithm::Sha256,
            secret: alloc::vec![secret; 32],
        }
    }

    /// A signed AXFR request and its TSIG.
    fn request(k: &Key) -> (Vec<u8>, TsigRr) {
        let mut m = alloc::vec![0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(Name::parse("example.org.", &Name::root()).unwrap().wire());
        m.extend_from_slice(&[0, 252, 0, 1]);
        let len = m.len();
        let signed = tsig::sign_request(&m, k, 1000);
        let r = parse_request(&signed).unwrap();
        let t = tsig::find(&signed, &r.header, len).unwrap().unwrap();
        (signed, t)
    }

    /// `n` response messages (header only, a distinct count byte each),
    /// every one signed as a primary signs them.
    fn stream(k: &Key, req: &TsigRr, n: usize) -> Vec<Vec<u8>> {
        let mut prior: Option<Vec<u8>> = None;
        (0..n)
            .map(|i| {
                let mut buf = alloc::vec![0u8; 512];
                let mut w = Writer::new(&mut buf);
                w.bytes(&[0, 9, 0x84, 0, 0, 0, 0, i as u8, 0, 0, 0, 0])
                    .unwrap();
                let mac = match &prior {
                    None => tsig::sign_response_mac(&mut w, k, req, 1001),
                    Some(p) => tsig::sign_continuation(&mut w, k, req, p, 1001),
                };
                prior = Some(mac.unwrap());
                let l = w.len();
                buf.truncate(l);
                buf
            })
            .collect()
    }

    fn feed(c: &mut Chain, msgs: &[Vec<u8>], wall: u64) -> Result<(), ChainError> {
        for m in msgs {
            let h = Header::parse(&mut Reader::message(m, 0)).unwrap();
            c.message(m, &h, 12, wall)?;
        }
        c.finish()
    }

    #[test]
    fn every_message_signed_verifies() {
        let k = key(7);
        let (_, t) = request(&k);
        let msgs = stream(&k, &t, 5);
        assert_eq!(
            feed(&mut Chain::new(k.clone(), t.mac.clone()), &msgs, 1000),
            Ok(())
        );
    }

    #[test]
    fn failures() {
        let k = key(7);
        let (_, t) = request(&k);
        let msgs = stream(&k, &t, 3);
        let chain = || Chain::new(k.clone(), t.mac.clone());
        // Another request's MAC, another secret, the clock off.
        let mut other = Chain::new(k.clone(), alloc::vec![1; 32]);
        assert_eq!(feed(&mut other, &msgs, 1000), Err(ChainError::BadSig));
        let wrong = stream(&key(8), &t, 3);
        assert_eq!(feed(&mut chain(), &wrong, 1000), Err(ChainError::BadSig));
        assert_eq!(feed(&mut chain(), &msgs, 2000), Err(ChainError::BadTime));
        // Reordered messages break the chain.
        let swapped = [msgs[0].clone(), msgs[2].clone(), msgs[1].clone()];
        assert_eq!(feed(&mut chain(), &swapped, 1000), Err(ChainError::BadSig));
        // A message dropped from the middle.
        let dropped = [msgs[0].clone(), msgs[2].clone()];
        assert_eq!(feed(&mut chain(), &dropped, 1000), Err(ChainError::BadSig));
        // The TSIG stripped from the first or the last message.
        let strip = |m: &Vec<u8>| {
            let mut s = m[..12].to_vec();
            s[11] = 0;
            s
        };
        let first = [strip(&msgs[0]), msgs[1].clone()];
        assert_eq!(feed(&mut chain(), &first, 1000), Err(ChainError::Unsigned));
        let last = [msgs[0].clone(), msgs[1].clone(), strip(&msgs[2])];
        assert_eq!(feed(&mut chain(), &last, 1000), Err(ChainError::Unsigned));
        // Only the first message, stream cut there: fine as a stream of one.
        assert_eq!(feed(&mut chain(), &msgs[..1], 1000), Ok(()));
    }

    /// Messages 1..n-1 unsigned, as NSD sends them: the next signed
    /// message's MAC covers them.
    #[test]
    fn unsigned_messages_in_between() {
        let k = key(7);
        let (_, t) = request(&k);
        for n in [2usize, 50, 101, 102] {
            let msgs = unsigned_between(&k, &t, n);
            let r = feed(&mut Chain::new(k.clone(), t.mac.clone()), &msgs, 1000);
            let want = if n - 2 <= MAX_UNSIGNED as usize {
                Ok(())
            } else {
                Err(ChainError::Unsigned)
            };
            assert_eq!(r, want, "{n} messages");
        }
        // A changed unsigned message fails the next signed one.
        let mut msgs = unsigned_between(&k, &t, 5);
        msgs[2][5] ^= 1;
        let r = feed(&mut Chain::new(k.clone(), t.mac.clone()), &msgs, 1000);
        assert_eq!(r, Err(ChainError::BadSig));
    }

    /// First and last signed, the `n - 2` between unsigned.
    fn unsigned_between(k: &Key, req: &TsigRr, n: usize) -> Vec<Vec<u8>> {
        let body = |i: usize| alloc::vec![0, 9, 0x84, 0, 0, 0, 0, i as u8, 0, 0, 0, 0];
        let mut buf = alloc::vec![0u8; 512];
        let mut w = Writer::new(&mut buf);
        w.bytes(&body(0)).unwrap();
        let first_mac = tsig::sign_response_mac(&mut w, k, req, 1001).unwrap();
        let l = w.len();
        let mut out = alloc::vec![buf[..l].to_vec()];
        let middle: Vec<Vec<u8>> = (1..n - 1).map(body).collect();
        // The last MAC covers the prior MAC, the unsigned messages and the
        // last one (RFC 8945 5.3.1).
        let last = body(n - 1);
        let alg = tsig::algorithm_name(k.algorithm);
        let timers = tsig::variables(&k.name, &alg, 1001, tsig::FUDGE, 0, &[], true);
        let mut parts: Vec<&[u8]> = Vec::new();
        let len = (first_mac.len() as u16).to_be_bytes();
        parts.push(&len);
        parts.push(&first_mac);
        for m in &middle {
            parts.push(m);
        }
        parts.push(&last);
        parts.push(&timers);
        let mac = tsig::hmac(k.algorithm, &k.secret, &parts);
        // Reuse sign_continuation's record layout with our MAC: sign the
        // last message, then put the MAC computed over the whole run in.
        let mut buf = alloc::vec![0u8; 512];
        let mut w = Writer::new(&mut buf);
        w.bytes(&last).unwrap();
        let placeholder = tsig::sign_continuation(&mut w, k, req, &first_mac, 1001).unwrap();
        let l = w.len();
        let mut signed = buf[..l].to_vec();
        let at = signed
            .windows(placeholder.len())
            .position(|x| x == placeholder.as_slice())
            .unwrap();
        signed[at..at + mac.len()].copy_from_slice(&mac);
        out.extend(middle);
        out.push(signed);
        out
    }
}
