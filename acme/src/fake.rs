//! A scripted in-memory ACME server and a driver loop, for tests and the
//! fuzz target (feature `fake-ca`; never in the image).
//!
//! The fake CA checks what a real one checks: every JWS signature (jwk
//! for newAccount, the account key by kid after), single-use nonces
//! (a reused one gets badNonce), the JWS `url`, and that the dns-01 TXT
//! value published by the driver matches the token and account key.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use p256::ecdsa::VerifyingKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::client::{Client, Input, Output};
use crate::http::{HttpRequest, HttpResponse, Method};

/// Is `sig` the account `key`'s ES256 signature of `input`?
#[cfg(not(fuzzing))]
fn verify(key: Option<VerifyingKey>, input: &[u8], sig: &[u8]) -> bool {
    use p256::ecdsa::{signature::Verifier, Signature};
    key.zip(Signature::from_slice(sig).ok())
        .is_some_and(|(k, s)| k.verify(input, &s).is_ok())
}

/// Fuzz builds: the account is known and `sig` is the stand-in signature
/// of `input` ([`crate::key::fuzz_signature`]).
#[cfg(fuzzing)]
fn verify(key: Option<VerifyingKey>, input: &[u8], sig: &[u8]) -> bool {
    key.is_some() && sig == crate::key::fuzz_signature(input)
}

/// Where the fake CA lives.
pub const BASE: &str = "https://ca.test";
/// Its directory URL.
pub const DIRECTORY_URL: &str = "https://ca.test/dir";

/// The fake CA's state and script.
#[derive(Debug, Default)]
pub struct FakeCa {
    /// Served as the certificate chain.
    pub cert_pem: Vec<u8>,
    /// One-shot replacements: the first whose path matches a request
    /// exactly answers it instead (and is removed).
    pub faults: Vec<(String, HttpResponse)>,
    /// Polls of each validating authorization answered `pending` first.
    pub authz_pending_polls: u32,
    /// Polls of the finalized order answered `processing` first.
    pub order_processing_polls: u32,
    /// Authorizations fail validation.
    pub challenge_fails: bool,
    /// Authorizations are already valid (reused, RFC 8555 7.1.4 note).
    pub authz_reused: bool,
    /// TXT records the caller currently serves: (name, value).
    pub txt: Vec<(String, String)>,
    /// "METHOD path" of every request answered.
    pub log: Vec<String>,
    /// Protocol violations the fake CA saw (tests assert it stays empty).
    pub violations: Vec<String>,
    nonces: Vec<String>,
    next_nonce: u32,
    account: Option<VerifyingKey>,
    thumbprint: String,
    identifiers: Vec<String>,
    authz: Vec<AuthzState>,
    order_status: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthzState {
    Pending,
    Validating(u32),
    Valid,
    Invalid,
}

impl FakeCa {
    /// A fake CA issuing `cert_pem`.
    pub fn new(cert_pem: &[u8]) -> Self {
        FakeCa {
            cert_pem: cert_pem.to_vec(),
            ..FakeCa::default()
        }
    }

    /// Answer `path` once with `response` instead of the script.
    pub fn fault(&mut self, path: &str, response: HttpResponse) {
        self.faults.push((path.to_string(), response));
    }

    /// Answer one request.
    pub fn respond(&mut self, req: &HttpRequest) -> HttpResponse {
        let path = req.url.strip_prefix(BASE).unwrap_or(&req.url).to_string();
        self.log.push(format!("{} {}", req.method.as_str(), path));
        if let Some(i) = self.faults.iter().position(|(p, _)| *p == path) {
            return self.faults.remove(i).1;
        }
        let mut resp = match (req.method, path.as_str()) {
            (Method::Get, "/dir") => ok(directory()),
            (Method::Head, "/nonce") => empty(200),
            (Method::Post, _) => self.post(req, &path),
            _ => problem(404, "malformed", "no such resource"),
        };
        // Like Boulder, no nonce on GET: the client must use newNonce.
        if req.method != Method::Get {
            let nonce = self.fresh_nonce();
            resp.headers.push(("Replay-Nonce".to_string(), nonce));
        }
        resp
    }

    fn fresh_nonce(&mut self) -> String {
        self.next_nonce += 1;
        let nonce = format!("nonce{}", self.next_nonce);
        self.nonces.push(nonce.clone());
        nonce
    }

    fn post(&mut self, req: &HttpRequest, path: &str) -> HttpResponse {
        let payload = match self.check_jws(req, path == "/acct") {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        match path {
            "/acct" => with_location(created(json!({"status": "valid"})), "/acct/1"),
            "/order" => self.new_order(&payload),
            "/order/1" => self.poll_order(),
            "/order/1/finalize" => self.finalize(&payload),
            "/cert/1" => self.certificate(req),
            _ => self.authz_or_challenge(path, &payload),
        }
    }

    /// RFC 8555 6.2-6.4: signature, nonce, url; returns the payload.
    fn check_jws(&mut self, req: &HttpRequest, new_account: bool) -> Result<Vec<u8>, HttpResponse> {
        let bad = |what: &str| problem(400, "malformed", what);
        let jws: Value = serde_json::from_slice(&req.body).map_err(|_| bad("not JSON"))?;
        let field = |k: &str| jws[k].as_str().and_then(b64::url_decode);
        let (Some(header), Some(payload), Some(sig)) =
            (field("protected"), field("payload"), field("signature"))
        else {
            self.violations.push("JWS fields".to_string());
            return Err(bad("JWS fields"));
        };
        let header: Value = serde_json::from_slice(&header).map_err(|_| bad("header"))?;
        let Some(nonce) = header["nonce"].as_str() else {
            self.violations.push("no nonce".to_string());
            return Err(bad("no nonce"));
        };
        let Some(i) = self.nonces.iter().position(|n| n == nonce) else {
            return Err(problem(400, "badNonce", "stale nonce"));
        };
        self.nonces.remove(i);
        if header["url"].as_str() != Some(req.url.as_str()) || header["alg"] != "ES256" {
            self.violations.push(format!("url/alg {header}"));
            return Err(bad("url"));
        }
        let key = if new_account {
            self.account_from_jwk(&header["jwk"])
        } else if header["kid"].as_str() == Some("https://ca.test/acct/1") {
            self.account
        } else {
            None
        };
        let signing_input = format!(
            "{}.{}",
            jws["protected"].as_str().unwrap_or(""),
            jws["payload"].as_str().unwrap_or("")
        );
        let verified = verify(key, signing_input.as_bytes(), &sig);
        if !verified {
            self.violations.push(format!("signature on {}", req.url));
            return Err(problem(401, "unauthorized", "bad signature"));
        }
        if req.header("Content-Type") != Some("application/jose+json") {
            self.violations.push("content type".to_string());
        }
        Ok(payload)
    }

    fn account_from_jwk(&mut self, jwk: &Value) -> Option<VerifyingKey> {
        let x = b64::url_decode(jwk["x"].as_str()?)?;
        let y = b64::url_decode(jwk["y"].as_str()?)?;
        let key = VerifyingKey::from_sec1_bytes(&[&[4u8][..], &x, &y].concat()).ok()?;
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            b64::url(&x),
            b64::url(&y)
        );
        self.thumbprint = b64::url(&Sha256::digest(canonical.as_bytes()));
        self.account = Some(key);
        Some(key)
    }

    fn new_order(&mut self, payload: &[u8]) -> HttpResponse {
        let order: Value = serde_json::from_slice(payload).unwrap_or_default();
        let ids = order["identifiers"].as_array().cloned().unwrap_or_default();
        self.identifiers = ids
            .iter()
            .filter_map(|i| i["value"].as_str().map(String::from))
            .collect();
        let state = if self.authz_reused {
            AuthzState::Valid
        } else {
            AuthzState::Pending
        };
        self.authz = vec![state; self.identifiers.len()];
        self.order_status = if self.authz_reused {
            "ready"
        } else {
            "pending"
        };
        with_location(created(self.order_json()), "/order/1")
    }

    fn order_json(&self) -> Value {
        let authzs: Vec<String> = (0..self.authz.len())
            .map(|i| format!("{BASE}/authz/{i}"))
            .collect();
        let mut order = json!({
            "status": self.order_status,
            "identifiers": self.identifiers.iter().map(|v| json!({"type": "dns", "value": v})).collect::<Vec<_>>(),
            "authorizations": authzs,
            "finalize": format!("{BASE}/order/1/finalize"),
        });
        if self.order_status == "valid" {
            order["certificate"] = json!(format!("{BASE}/cert/1"));
        }
        if self.order_status == "invalid" {
            order["error"] = json!({"type": "urn:ietf:params:acme:error:unauthorized", "detail": "authz failed"});
        }
        order
    }

    fn authz_or_challenge(&mut self, path: &str, payload: &[u8]) -> HttpResponse {
        let index = |prefix: &str| {
            path.strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok())
        };
        if let Some(i) = index("/authz/").filter(|&i| i < self.authz.len()) {
            self.advance_authz(i);
            return ok(self.authz_json(i));
        }
        if let Some(i) = index("/chall/").filter(|&i| i < self.authz.len()) {
            if payload != b"{}" {
                self.violations.push("challenge payload".to_string());
            }
            self.check_txt(i);
            if self.authz[i] == AuthzState::Pending {
                self.authz[i] = AuthzState::Validating(self.authz_pending_polls);
            }
            return ok(self.challenge_json(i));
        }
        problem(404, "malformed", "no such resource")
    }

    /// The TXT record for authorization `i` must be served when its
    /// challenge is posted (RFC 8555 8.4).
    fn check_txt(&mut self, i: usize) {
        let base = self.identifiers[i].trim_start_matches("*.");
        let name = format!("_acme-challenge.{base}.");
        let key_authz = format!("token{i}.{}", self.thumbprint);
        let value = b64::url(&Sha256::digest(key_authz.as_bytes()));
        if !self.txt.iter().any(|(n, v)| *n == name && *v == value) {
            self.violations
                .push(format!("TXT {name} {value} not served"));
        }
    }

    fn advance_authz(&mut self, i: usize) {
        self.authz[i] = match self.authz[i] {
            AuthzState::Validating(0) if self.challenge_fails => AuthzState::Invalid,
            AuthzState::Validating(0) => AuthzState::Valid,
            AuthzState::Validating(n) => AuthzState::Validating(n - 1),
            other => other,
        };
        if self.authz.iter().all(|a| *a == AuthzState::Valid) && self.order_status == "pending" {
            self.order_status = "ready";
        }
        if self.authz[i] == AuthzState::Invalid {
            self.order_status = "invalid";
        }
    }

    fn authz_json(&self, i: usize) -> Value {
        let id = &self.identifiers[i];
        let wildcard = id.starts_with("*.");
        json!({
            "status": match self.authz[i] {
                AuthzState::Pending | AuthzState::Validating(_) => "pending",
                AuthzState::Valid => "valid",
                AuthzState::Invalid => "invalid",
            },
            "identifier": {"type": "dns", "value": id.trim_start_matches("*.")},
            "wildcard": wildcard,
            "expires": "2030-01-01T00:00:00Z",
            "challenges": [
                {"type": "http-01", "url": format!("{BASE}/other/{i}"), "token": "nope", "status": "pending"},
                self.challenge_json(i),
            ],
        })
    }

    fn challenge_json(&self, i: usize) -> Value {
        let mut c = json!({
            "type": "dns-01", "url": format!("{BASE}/chall/{i}"), "token": format!("token{i}"),
            "status": match self.authz[i] {
                AuthzState::Pending => "pending",
                AuthzState::Validating(_) => "processing",
                AuthzState::Valid => "valid",
                AuthzState::Invalid => "invalid",
            },
        });
        if self.authz[i] == AuthzState::Invalid {
            c["error"] = json!({"type": "urn:ietf:params:acme:error:unauthorized", "detail": "Incorrect TXT record"});
        }
        c
    }

    fn finalize(&mut self, payload: &[u8]) -> HttpResponse {
        if self.order_status != "ready" {
            return problem(403, "orderNotReady", "order is not ready");
        }
        let body: Value = serde_json::from_slice(payload).unwrap_or_default();
        let csr = body["csr"].as_str().and_then(b64::url_decode);
        if csr
            .as_deref()
            .map(crate::csr::parse)
            .and_then(|r| r.ok())
            .is_none()
        {
            return problem(400, "badCSR", "unparsable CSR");
        }
        self.order_status = if self.order_processing_polls > 0 {
            "processing"
        } else {
            "valid"
        };
        ok(self.order_json())
    }

    fn poll_order(&mut self) -> HttpResponse {
        if self.order_status == "processing" {
            if self.order_processing_polls == 0 {
                self.order_status = "valid";
            } else {
                self.order_processing_polls -= 1;
            }
        }
        let mut resp = ok(self.order_json());
        if self.order_status == "processing" {
            resp.headers
                .push(("Retry-After".to_string(), "3".to_string()));
        }
        resp
    }

    fn certificate(&mut self, req: &HttpRequest) -> HttpResponse {
        if req.header("Accept") != Some("application/pem-certificate-chain") {
            self.violations.push("certificate Accept".to_string());
        }
        if self.order_status != "valid" {
            return problem(403, "unauthorized", "no certificate yet");
        }
        HttpResponse {
            status: 200,
            headers: vec![(
                "Content-Type".to_string(),
                "application/pem-certificate-chain".to_string(),
            )],
            body: self.cert_pem.clone(),
        }
    }
}

fn directory() -> Value {
    json!({
        "newNonce": format!("{BASE}/nonce"),
        "newAccount": format!("{BASE}/acct"),
        "newOrder": format!("{BASE}/order"),
        "revokeCert": format!("{BASE}/revoke"),
        "meta": {"termsOfService": "https://ca.test/tos"},
    })
}

fn json_response(status: u16, body: &Value, content_type: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".to_string(), content_type.to_string())],
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

fn ok(body: Value) -> HttpResponse {
    json_response(200, &body, "application/json")
}

fn created(body: Value) -> HttpResponse {
    json_response(201, &body, "application/json")
}

fn empty(status: u16) -> HttpResponse {
    HttpResponse {
        status,
        ..HttpResponse::default()
    }
}

fn with_location(mut resp: HttpResponse, path: &str) -> HttpResponse {
    resp.headers
        .push(("Location".to_string(), format!("{BASE}{path}")));
    resp
}

/// A problem document response (RFC 7807) of ACME `kind`.
pub fn problem(status: u16, kind: &str, detail: &str) -> HttpResponse {
    let body = json!({"type": format!("urn:ietf:params:acme:error:{kind}"), "detail": detail, "status": status});
    json_response(status, &body, "application/problem+json")
}

/// What a driven order did.
#[derive(Debug, Default)]
pub struct Trace {
    /// Every output except requests, in order (the last ends the order).
    pub outputs: Vec<Output>,
    /// Number of inputs fed.
    pub steps: usize,
    /// The time when the order ended.
    pub now: u64,
}

impl Trace {
    /// The final Certificate/Failed output, if the order ended.
    pub fn end(&self) -> Option<&Output> {
        self.outputs
            .last()
            .filter(|o| matches!(o, Output::Certificate { .. } | Output::Failed { .. }))
    }
}

/// Run the client until the order ends (or `max_steps` inputs), answering
/// requests with `ca` through `tamper` (identity: `|_, r| Input::Response(r)`),
/// publishing TXT records into `ca.txt`, and jumping time to each wait.
pub fn drive(
    client: &mut Client,
    ca: &mut FakeCa,
    mut now: u64,
    max_steps: usize,
    tamper: &mut dyn FnMut(&HttpRequest, HttpResponse) -> Input,
) -> Trace {
    let mut trace = Trace::default();
    while trace.steps < max_steps {
        let mut next = None;
        while let Some(out) = client.poll_output() {
            match &out {
                Output::Request(req) => {
                    let resp = ca.respond(req);
                    next = Some(tamper(req, resp));
                    continue;
                }
                Output::PublishTxt { name, value } => {
                    ca.txt.push((name.clone(), value.clone()));
                    next = Some(Input::TxtReady);
                }
                Output::RemoveTxt { name, value } => {
                    ca.txt.retain(|(n, v)| n != name || v != value)
                }
                Output::WaitUntil(t) => {
                    now = now.max(*t);
                    next = Some(Input::Timer);
                }
                Output::Certificate { .. } | Output::Failed { .. } => {}
            }
            trace.outputs.push(out);
        }
        if trace.end().is_some() {
            break;
        }
        let Some(input) = next else { break };
        trace.steps += 1;
        client.handle(now, input);
    }
    trace.now = now;
    trace
}
