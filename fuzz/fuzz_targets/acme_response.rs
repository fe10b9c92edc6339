//! The ACME client fed arbitrary server answers at every step of an order
//! (the fake CA answers the rest): never panics, and every order ends with
//! Certificate or Failed within a bounded number of inputs. The DER, PEM
//! and HTTP-date readers get the raw input too.
//!
//! Input: per request one selector byte (0-191 the fake CA's answer,
//! 192-223 its body replaced by a chunk, 224-247 a whole answer: status as
//! two bytes big-endian mod 1000, a header count, (header index, chunk)
//! each, a body chunk; above a transport error); a chunk is a two-byte
//! little-endian length and the bytes. The seeds in fuzz/corpus/acme_response
//! put answers captured from Pebble there (directory, newNonce, problem
//! documents). Built with `--cfg fuzzing`, signatures are stand-ins (see
//! gitns_acme::key and csr): an input costs no curve arithmetic.
#![no_main]

use std::sync::OnceLock;

use gitns_acme::fake::{self, FakeCa};
use gitns_acme::http::AcmeHeaders;
use gitns_acme::{
    cert, csr, pem, testdata, AccountKey, Client, HttpRequest, HttpResponse, Input, Limits,
};
use libfuzzer_sys::fuzz_target;

const T0: u64 = 1_800_000_000;
const HEADERS: [&str; 5] = [
    "Replay-Nonce",
    "Location",
    "Retry-After",
    "Content-Type",
    "X-Other",
];

fn key() -> AccountKey {
    static KEY: OnceLock<AccountKey> = OnceLock::new();
    KEY.get_or_init(|| AccountKey::from_seed(b"fuzz account seed, 32 bytes long").unwrap())
        .clone()
}

/// Bytes drawn from the front of the fuzz input.
struct Source<'a>(&'a [u8]);

impl<'a> Source<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn chunk(&mut self) -> &'a [u8] {
        let len =
            usize::from(self.byte().unwrap_or(0)) | usize::from(self.byte().unwrap_or(0)) << 8;
        let (head, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn text(&mut self) -> String {
        String::from_utf8_lossy(self.chunk()).into_owned()
    }

    /// Replace (or keep) the fake CA's answer.
    fn answer(&mut self, resp: HttpResponse) -> Input {
        let Some(sel) = self.byte() else {
            return Input::Response(resp);
        };
        match sel {
            0..=191 => Input::Response(resp),
            192..=223 => Input::Response(HttpResponse {
                body: self.chunk().to_vec(),
                ..resp
            }),
            224..=247 => {
                let high = self.byte().unwrap_or(0);
                let status = u16::from_be_bytes([high, self.byte().unwrap_or(0)]) % 1000;
                let count = usize::from(self.byte().unwrap_or(0) % 6);
                let headers = (0..count)
                    .map(|_| {
                        let name = HEADERS[usize::from(self.byte().unwrap_or(0)) % HEADERS.len()];
                        (name.to_string(), self.text())
                    })
                    .collect();
                Input::Response(HttpResponse {
                    status,
                    headers,
                    body: self.chunk().to_vec(),
                })
            }
            _ => Input::TransportError(self.text()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = csr::parse(data);
    let _ = cert::parse(data);
    let _ = pem::decode_chain(data);
    let retry = HttpResponse {
        headers: vec![(
            "Retry-After".into(),
            String::from_utf8_lossy(data).into_owned(),
        )],
        ..Default::default()
    };
    let _ = retry.retry_after(T0);

    let limits = Limits {
        max_polls: 5,
        max_retries: 3,
        max_bad_nonces: 4,
        ..Limits::default()
    };
    let mut client =
        Client::new(fake::DIRECTORY_URL, key(), Some("fuzz@example.org")).with_limits(limits);
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    let mut source = Source(data);
    for _ in 0..2 {
        client.start_order(T0, testdata::CSR_DER).unwrap();
        let mut tamper = |_: &HttpRequest, resp: HttpResponse| source.answer(resp);
        let trace = fake::drive(&mut client, &mut ca, T0, 5_000, &mut tamper);
        assert!(
            trace.end().is_some(),
            "order neither issued nor failed after {} inputs",
            trace.steps
        );
        assert!(!client.is_busy());
    }
});
