//! Whole orders against the scripted fake CA (src/fake.rs), explicit time.

use super::*;
use crate::fake::{self, drive, problem, FakeCa, Trace};
use crate::testdata;
use std::string::ToString;

const T0: u64 = 1_800_000_000;
const SEED: &[u8] = b"client test seed: 32 bytes long!";

fn client() -> Client {
    let key = AccountKey::from_seed(SEED).unwrap();
    Client::new(fake::DIRECTORY_URL, key, Some("hostmaster@example.org"))
}

fn pass(_: &HttpRequest, resp: HttpResponse) -> Input {
    Input::Response(resp)
}

fn order(client: &mut Client, ca: &mut FakeCa) -> Trace {
    client.start_order(T0, testdata::CSR_DER).unwrap();
    drive(client, ca, T0, 1000, &mut pass)
}

fn assert_issued(trace: &Trace, ca: &FakeCa) {
    match trace.end() {
        Some(Output::Certificate {
            chain_der,
            not_after,
            ..
        }) => {
            assert_eq!(chain_der.len(), 2);
            assert_eq!(*not_after, testdata::LEAF_NOT_AFTER);
        }
        other => panic!("not issued: {other:?}\nlog: {:?}", ca.log),
    }
    assert!(ca.violations.is_empty(), "{:?}", ca.violations);
    assert!(ca.txt.is_empty(), "TXT left behind: {:?}", ca.txt);
}

fn failure(trace: &Trace) -> &AcmeError {
    match trace.end() {
        Some(Output::Failed { error, .. }) => error,
        other => panic!("did not fail: {other:?}"),
    }
}

fn waits(trace: &Trace) -> Vec<u64> {
    trace
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::WaitUntil(t) => Some(*t),
            _ => None,
        })
        .collect()
}

fn with_header(mut resp: HttpResponse, name: &str, value: &str) -> HttpResponse {
    resp.headers.push((name.to_string(), value.to_string()));
    resp
}

fn ok_body(body: &[u8]) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("Replay-Nonce".to_string(), "n1".to_string())],
        body: body.to_vec(),
    }
}

#[test]
fn whole_order_from_directory_to_certificate() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    assert_eq!(
        ca.log,
        [
            "GET /dir",
            "HEAD /nonce",
            "POST /acct",
            "POST /order",
            "POST /authz/0",
            "POST /authz/1",
            "POST /authz/2",
            "POST /chall/0",
            "POST /chall/1",
            "POST /chall/2",
            "POST /authz/0",
            "POST /authz/1",
            "POST /authz/2",
            "POST /order/1/finalize",
            "POST /cert/1",
        ]
    );
    let published: Vec<&str> = trace
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::PublishTxt { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    // example.org and *.example.org share one owner name (two TXT values).
    assert_eq!(
        published,
        [
            "_acme-challenge.example.org.",
            "_acme-challenge.www.example.org.",
            "_acme-challenge.example.org."
        ]
    );
    let removed = trace
        .outputs
        .iter()
        .filter(|o| matches!(o, Output::RemoveTxt { .. }))
        .count();
    assert_eq!(removed, 3);
    assert_eq!(c.account_url(), Some("https://ca.test/acct/1"));
    assert!(!c.is_busy());
}

#[test]
fn second_order_reuses_the_account_and_nonce() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    assert_issued(&order(&mut c, &mut ca), &ca);
    ca.log.clear();
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    assert_eq!(&ca.log[..2], ["GET /dir", "POST /order"]);
    assert!(!ca.log.iter().any(|l| l == "POST /acct"));
}

#[test]
fn reused_authorizations_skip_the_challenge() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.authz_reused = true;
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    assert!(!trace
        .outputs
        .iter()
        .any(|o| matches!(o, Output::PublishTxt { .. })));
    assert_eq!(ca.log[4..], ["POST /order/1/finalize", "POST /cert/1"]);
}

#[test]
fn bad_nonce_is_retried_with_a_fresh_nonce() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    // A fault carries no Replay-Nonce: the client must HEAD newNonce again.
    ca.fault("/order", problem(400, "badNonce", "stale"));
    let with_nonce = with_header(problem(400, "badNonce", "stale"), "Replay-Nonce", "fresh");
    ca.fault("/order/1/finalize", with_nonce);
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    let i = ca.log.iter().position(|l| l == "POST /order").unwrap();
    assert_eq!(
        ca.log[i..i + 3],
        ["POST /order", "HEAD /nonce", "POST /order"]
    );
    // "fresh" was never issued by the fake CA: it answers badNonce again
    // (with a real nonce this time), so finalize goes out three times.
    assert_eq!(
        ca.log
            .iter()
            .filter(|l| *l == "POST /order/1/finalize")
            .count(),
        3
    );
}

#[test]
fn endless_bad_nonces_fail() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    for _ in 0..20 {
        ca.fault(
            "/acct",
            with_header(problem(400, "badNonce", "stale"), "Replay-Nonce", "x"),
        );
    }
    let trace = order(&mut c, &mut ca);
    assert_eq!(failure(&trace), &AcmeError::TooManyBadNonces);
    assert_eq!(ca.log.iter().filter(|l| *l == "POST /acct").count(), 11);
}

#[test]
fn rate_limited_waits_for_retry_after() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.fault(
        "/order",
        with_header(
            problem(429, "rateLimited", "slow down"),
            "Retry-After",
            "120",
        ),
    );
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    assert_eq!(waits(&trace), [T0 + 120]);
}

#[test]
fn retry_after_as_http_date() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    // One hour after T0 (2027-01-15T08:00:00Z).
    let resp = with_header(
        problem(503, "serverInternal", "busy"),
        "Retry-After",
        "Fri, 15 Jan 2027 09:00:00 GMT",
    );
    ca.fault("/dir", resp);
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    assert_eq!(waits(&trace), [1_800_003_600]);
}

#[test]
fn too_long_retry_after_fails_with_the_problem() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.fault(
        "/order",
        with_header(
            problem(429, "rateLimited", "a week"),
            "Retry-After",
            "604800",
        ),
    );
    let trace = order(&mut c, &mut ca);
    assert!(matches!(
        failure(&trace),
        AcmeError::Problem {
            kind: ProblemType::RateLimited,
            ..
        }
    ));
}

#[test]
fn invalid_challenge_fails_with_its_detail_and_cleans_up() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.challenge_fails = true;
    let trace = order(&mut c, &mut ca);
    match failure(&trace) {
        AcmeError::Challenge { identifier, detail } => {
            assert_eq!(identifier, "example.org");
            assert_eq!(detail, "unauthorized: Incorrect TXT record");
        }
        other => panic!("{other:?}"),
    }
    assert!(ca.txt.is_empty());
    assert!(ca.violations.is_empty(), "{:?}", ca.violations);
}

#[test]
fn malformed_json_fails_cleanly() {
    for (path, body) in [
        ("/dir", &b"{not json"[..]),
        ("/dir", br#"{"newNonce":5}"#),
        ("/order", b"[]"),
        ("/authz/1", br#"{"status":"pending"}"#),
        ("/chall/0", b"\xff\xfe"),
        ("/order/1/finalize", br#"{"status":null}"#),
    ] {
        let mut c = client();
        let mut ca = FakeCa::new(testdata::CHAIN_PEM);
        ca.fault(path, ok_body(body));
        let trace = order(&mut c, &mut ca);
        assert!(
            matches!(failure(&trace), AcmeError::Malformed(_)),
            "{path}: {:?}",
            trace.end()
        );
        assert!(ca.txt.is_empty());
    }
}

#[test]
fn certificate_garbage_and_wrong_names_fail() {
    let mut c = client();
    let mut ca = FakeCa::new(b"not a pem");
    assert_eq!(
        failure(&order(&mut c, &mut ca)),
        &AcmeError::Pem(crate::pem::PemError::Empty)
    );

    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    let chain = crate::pem::decode_chain(testdata::CHAIN_PEM).unwrap();
    let ca_only = std::format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &chain[1])
    );
    ca.cert_pem = ca_only.into_bytes();
    assert_eq!(
        failure(&order(&mut c, &mut ca)),
        &AcmeError::NameMissing("example.org".to_string())
    );
}

#[test]
fn server_error_then_success() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.fault(
        "/dir",
        HttpResponse {
            status: 500,
            ..HttpResponse::default()
        },
    );
    ca.fault("/authz/0", problem(500, "serverInternal", "oops"));
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    // Retries reset after each success: both wait the first backoff step.
    assert_eq!(waits(&trace), [T0 + 2, T0 + 4]);
}

#[test]
fn transport_errors_back_off_exponentially_then_fail() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    c.start_order(T0, testdata::CSR_DER).unwrap();
    let mut tamper =
        |_: &HttpRequest, _: HttpResponse| Input::TransportError("connection reset".to_string());
    let trace = drive(&mut c, &mut ca, T0, 100, &mut tamper);
    assert_eq!(
        failure(&trace),
        &AcmeError::Transport("connection reset".to_string())
    );
    assert_eq!(waits(&trace), [T0 + 2, T0 + 6, T0 + 14, T0 + 30, T0 + 62]);
}

#[test]
fn order_stuck_in_processing_is_bounded() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.order_processing_polls = 1000;
    let trace = order(&mut c, &mut ca);
    assert_eq!(failure(&trace), &AcmeError::TooManyPolls);
    let w = waits(&trace);
    assert_eq!(w.len(), 30);
    // The fake CA's Retry-After: 3 is honoured between polls.
    assert!(w.windows(2).all(|p| p[1] == p[0] + 3), "{w:?}");
}

#[test]
fn slow_authorizations_and_processing_order_succeed() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.authz_pending_polls = 2;
    ca.order_processing_polls = 2;
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    assert!(trace.now > T0);
}

#[test]
fn finalize_before_ready_polls_the_order() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.fault("/order/1/finalize", problem(403, "orderNotReady", "wait"));
    let trace = order(&mut c, &mut ca);
    assert_issued(&trace, &ca);
    let tail: Vec<&str> = ca.log.iter().rev().take(5).map(|s| s.as_str()).collect();
    assert_eq!(
        tail,
        [
            "POST /cert/1",
            "POST /order/1/finalize",
            "POST /order/1",
            "HEAD /nonce",
            "POST /order/1/finalize"
        ]
    );
}

#[test]
fn huge_body_is_refused() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.fault("/dir", ok_body(&vec![b' '; 65 * 1024]));
    assert_eq!(failure(&order(&mut c, &mut ca)), &AcmeError::BodyTooLarge);
}

#[test]
fn missing_location_fails() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    let mut resp = ok_body(br#"{"status":"valid"}"#);
    resp.status = 201;
    ca.fault("/acct", resp);
    assert_eq!(
        failure(&order(&mut c, &mut ca)),
        &AcmeError::Malformed("account without Location")
    );
    assert_eq!(c.account_url(), None);
}

#[test]
fn unknown_account_registers_again_once_per_order() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    assert_issued(&order(&mut c, &mut ca), &ca);
    // The CA lost the account: registered again within the same order.
    ca.fault("/order", problem(400, "accountDoesNotExist", "gone"));
    ca.log.clear();
    assert_issued(&order(&mut c, &mut ca), &ca);
    let acct = ca
        .log
        .iter()
        .position(|l| l == "POST /acct")
        .expect("newAccount");
    let orders: Vec<usize> = (0..ca.log.len())
        .filter(|&i| ca.log[i] == "POST /order")
        .collect();
    assert_eq!(orders.len(), 2, "{:?}", ca.log);
    assert!(orders[0] < acct && acct < orders[1], "{:?}", ca.log);
    assert!(c.account_url().is_some());
    // Lost again right after registering: the order fails and the kid
    // is forgotten (no loop).
    ca.fault("/order", problem(400, "accountDoesNotExist", "gone"));
    ca.fault("/order", problem(400, "accountDoesNotExist", "gone"));
    assert!(matches!(
        failure(&order(&mut c, &mut ca)),
        AcmeError::Problem { .. }
    ));
    assert_eq!(c.account_url(), None);
    ca.log.clear();
    assert_issued(&order(&mut c, &mut ca), &ca);
    assert!(ca.log.iter().any(|l| l == "POST /acct"));
}

#[test]
fn client_error_without_problem_document() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    ca.fault(
        "/dir",
        HttpResponse {
            status: 404,
            body: b"<html>".to_vec(),
            ..HttpResponse::default()
        },
    );
    assert_eq!(
        failure(&order(&mut c, &mut ca)),
        &AcmeError::Http { status: 404 }
    );
}

#[test]
fn start_order_checks() {
    let mut c = client();
    assert!(matches!(c.start_order(T0, b"junk"), Err(AcmeError::Csr(_))));
    assert!(!c.is_busy());
    let id = c.start_order(T0, testdata::CSR_DER).unwrap();
    assert_eq!(c.start_order(T0, testdata::CSR_DER), Err(AcmeError::Busy));
    assert!(c.is_busy());
    let Some(Output::Request(req)) = c.poll_output() else {
        panic!()
    };
    assert_eq!(
        (req.method, req.url.as_str()),
        (Method::Get, fake::DIRECTORY_URL)
    );
    assert_eq!(req.header("user-agent"), Some(crate::http::USER_AGENT));
    assert_eq!(id, OrderId(1));
}

#[test]
fn unexpected_inputs_are_ignored() {
    let mut c = client();
    c.handle(T0, Input::Timer); // idle: nothing happens
    assert_eq!(c.poll_output(), None);
    c.start_order(T0, testdata::CSR_DER).unwrap();
    assert!(matches!(c.poll_output(), Some(Output::Request(_))));
    c.handle(T0, Input::Timer);
    c.handle(T0, Input::TxtReady);
    assert_eq!(c.poll_output(), None);
    // The order still proceeds normally afterwards.
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    let dir = ca.respond(&HttpRequest {
        method: Method::Get,
        url: fake::DIRECTORY_URL.to_string(),
        headers: vec![],
        body: vec![],
    });
    c.handle(T0, Input::Response(dir));
    let trace = drive(&mut c, &mut ca, T0, 1000, &mut pass);
    assert_issued(&trace, &ca);
}

#[test]
fn early_timer_repeats_the_wait() {
    let mut c = client();
    c.start_order(T0, testdata::CSR_DER).unwrap();
    c.poll_output();
    c.handle(T0, Input::TransportError("down".to_string()));
    assert_eq!(c.poll_output(), Some(Output::WaitUntil(T0 + 2)));
    c.handle(T0 + 1, Input::Timer);
    assert_eq!(c.poll_output(), Some(Output::WaitUntil(T0 + 2)));
    c.handle(T0 + 2, Input::Timer);
    assert!(matches!(c.poll_output(), Some(Output::Request(r)) if r.url == fake::DIRECTORY_URL));
}

#[test]
fn external_account_binding_is_refused() {
    let mut c = client();
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    let dir = br#"{"newNonce":"https://ca.test/nonce","newAccount":"https://ca.test/acct",
        "newOrder":"https://ca.test/order","meta":{"externalAccountRequired":true}}"#;
    ca.fault("/dir", ok_body(dir));
    assert_eq!(
        failure(&order(&mut c, &mut ca)),
        &AcmeError::ExternalAccountRequired
    );
}

/// xorshift64: a deterministic stream for the mutation test below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mutate the fake CA's answers at random (flipped/cut bodies, odd
/// statuses, dropped headers, transport errors): no panic, and every order
/// ends with Certificate or Failed. The fuzz target does the same guided.
#[test]
fn mutated_answers_always_end_the_order() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let limits = Limits {
        max_polls: 5,
        max_retries: 3,
        max_bad_nonces: 4,
        ..Limits::default()
    };
    let (mut issued, mut failed) = (0, 0);
    for _ in 0..120 {
        let key = AccountKey::from_seed(SEED).unwrap();
        let mut c = Client::new(fake::DIRECTORY_URL, key, None).with_limits(limits.clone());
        let mut ca = FakeCa::new(testdata::CHAIN_PEM);
        ca.authz_pending_polls = rng.below(3) as u32;
        ca.order_processing_polls = rng.below(3) as u32;
        c.start_order(T0, testdata::CSR_DER).unwrap();
        let mut tamper = |_: &HttpRequest, mut resp: HttpResponse| {
            match rng.below(24) {
                0 => return Input::TransportError("x".to_string()),
                1 => resp.status = [0, 100, 204, 302, 400, 429, 500, 999][rng.below(8)],
                2 => resp.headers.clear(),
                3 if !resp.body.is_empty() => {
                    let i = rng.below(resp.body.len());
                    resp.body[i] = rng.next() as u8;
                }
                4 => {
                    let len = resp.body.len();
                    resp.body.truncate(rng.below(len + 1));
                }
                5 => resp.headers.push((
                    "Retry-After".to_string(),
                    (rng.next() % 100_000).to_string(),
                )),
                _ => {}
            }
            Input::Response(resp)
        };
        let trace = drive(&mut c, &mut ca, T0, 5_000, &mut tamper);
        match trace.end() {
            Some(Output::Certificate { .. }) => issued += 1,
            Some(Output::Failed { .. }) => failed += 1,
            other => panic!(
                "order did not end: {other:?} after {} steps\n{:?}",
                trace.steps, ca.log
            ),
        }
        assert!(!c.is_busy());
        assert!(ca.txt.is_empty(), "TXT left behind: {:?}", ca.txt);
    }
    assert!(issued > 0 && failed > 0, "issued {issued}, failed {failed}");
}

#[test]
fn request_payloads_follow_rfc8555() {
    let key = AccountKey::from_seed(SEED).unwrap();
    let mut c = Client::new(fake::DIRECTORY_URL, key, Some("mailto:ops@example.org"));
    let mut ca = FakeCa::new(testdata::CHAIN_PEM);
    let mut seen = Vec::new();
    let mut record = |req: &HttpRequest, resp: HttpResponse| {
        if req.method == Method::Post {
            let jws: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            let payload = crate::b64::url_decode(jws["payload"].as_str().unwrap()).unwrap();
            seen.push((req.url.clone(), String::from_utf8(payload).unwrap()));
        }
        Input::Response(resp)
    };
    c.start_order(T0, testdata::CSR_DER).unwrap();
    let trace = drive(&mut c, &mut ca, T0, 1000, &mut record);
    assert_issued(&trace, &ca);
    let payload = |url: &str| {
        seen.iter()
            .find(|(u, _)| u == url)
            .map(|(_, p)| p.clone())
            .unwrap()
    };
    assert_eq!(
        payload("https://ca.test/acct"),
        r#"{"contact":["mailto:ops@example.org"],"termsOfServiceAgreed":true}"#
    );
    assert_eq!(
        payload("https://ca.test/order"),
        r#"{"identifiers":[{"type":"dns","value":"example.org"},{"type":"dns","value":"www.example.org"},{"type":"dns","value":"*.example.org"}]}"#
    );
    assert_eq!(payload("https://ca.test/chall/0"), "{}");
    assert_eq!(payload("https://ca.test/authz/0"), "");
    let csr = crate::b64::url(testdata::CSR_DER);
    assert_eq!(
        payload("https://ca.test/order/1/finalize"),
        std::format!(r#"{{"csr":"{csr}"}}"#)
    );
}
