//! The ACME client: one order at a time, as a sans-I/O state machine
//! (RFC 8555 7: directory -> nonce -> account -> order -> authorizations ->
//! dns-01 -> finalize -> certificate).
//!
//! Time is unix seconds (`now: u64`), always passed in. The caller feeds
//! [`Input`]s with [`Client::handle`] and drains [`Output`]s with
//! [`Client::poll_output`]. At most one HTTP request is in flight.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::error::AcmeError;
use crate::http::{self, AcmeHeaders, HttpRequest, HttpResponse, Method};
use crate::jws::{self, Signer};
use crate::key::AccountKey;
use crate::problem::{self, ProblemType};
use crate::resources::{self, check_url, Authorization, Challenge, Directory, Order, Status};
use crate::{cert, csr, dns01, pem, x509};

/// Every bound the client keeps. Times are seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest response body accepted (the transport should stop reading
    /// there too). A PEM chain of three certificates is ~6 KiB.
    pub max_body: usize,
    /// Most names (identifiers, authorizations) in one order.
    pub max_names: usize,
    /// Most waits for a pending authorization or a processing order, per order.
    pub max_polls: u32,
    /// Most retries in a row after 5xx, 429/rateLimited or transport errors.
    pub max_retries: u32,
    /// Most badNonce answers in a row (RFC 8555 6.5).
    pub max_bad_nonces: u32,
    /// Wait between polls when the server gives no Retry-After.
    pub poll_interval: u64,
    /// First retry delay; doubles per retry up to `backoff_max`.
    pub backoff_base: u64,
    pub backoff_max: u64,
    /// Longest wait accepted from a Retry-After when retrying an error;
    /// longer fails the order. Poll waits are clamped to it instead.
    pub max_wait: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 64 * 1024,
            max_names: x509::MAX_NAMES,
            max_polls: 30,
            max_retries: 5,
            max_bad_nonces: 10,
            poll_interval: 2,
            backoff_base: 2,
            backoff_max: 300,
            max_wait: 6 * 3600,
        }
    }
}

/// Names an order in the outputs that end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(pub u32);

/// What the caller feeds in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The complete response to the last `Output::Request`.
    Response(HttpResponse),
    /// The last request failed below HTTP (connect, TLS, timeout, reset).
    TransportError(String),
    /// Every TXT record of the `PublishTxt` outputs so far is served by
    /// all the zone's servers.
    TxtReady,
    /// The time of the last `WaitUntil` has come (`now` is in `handle`).
    Timer,
}

/// What the client asks the caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this request and feed back `Input::Response` or
    /// `Input::TransportError`.
    Request(HttpRequest),
    /// Add a TXT record (`name` absolute, with the trailing dot); several
    /// may share a name. Answer with `Input::TxtReady` once all are served.
    PublishTxt { name: String, value: String },
    /// Remove a TXT record added by `PublishTxt` (the order ended).
    RemoveTxt { name: String, value: String },
    /// Feed `Input::Timer` at (or after) this unix time.
    WaitUntil(u64),
    /// The order succeeded: DER certificates, leaf first.
    Certificate {
        order: OrderId,
        chain_der: Vec<Vec<u8>>,
        not_after: u64,
    },
    /// The order failed; the client is idle again.
    Failed { order: OrderId, error: AcmeError },
}

/// The request the client is making (or will make when a wait ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Directory,
    NewAccount,
    NewOrder,
    FetchAuthz(usize),
    Challenge(usize),
    PollAuthz(usize),
    Finalize,
    PollOrder,
    Certificate,
}

/// What the running order waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The response to `step`, or to the HEAD newNonce sent before it.
    Response {
        step: Step,
        nonce_only: bool,
    },
    Timer {
        deadline: u64,
        step: Step,
    },
    TxtReady,
}

/// One authorization of the order.
#[derive(Debug, Clone)]
struct Authz {
    url: String,
    identifier: String,
    valid: bool,
    challenge: Option<Dns01>,
}

#[derive(Debug, Clone)]
struct Dns01 {
    url: String,
    txt_name: String,
    txt_value: String,
}

/// The state of the running order.
#[derive(Debug)]
struct Run {
    id: OrderId,
    csr: Vec<u8>,
    names: Vec<String>,
    wait: Wait,
    order_url: String,
    finalize_url: String,
    cert_url: String,
    authzs: Vec<Authz>,
    finalized: bool,
    published: bool,
    retries: u32,
    bad_nonces: u32,
    polls: u32,
    /// The account was registered again in this order (once at most).
    reregistered: bool,
}

/// How a step ended when it did not fail.
enum Flow {
    Continue,
    Issued {
        chain_der: Vec<Vec<u8>>,
        not_after: u64,
    },
}

type Outcome = Result<Flow, AcmeError>;

/// An ACME client bound to one CA directory and one account key.
#[derive(Debug)]
pub struct Client {
    directory_url: String,
    contact: Option<String>,
    key: AccountKey,
    limits: Limits,
    directory: Option<Directory>,
    kid: Option<String>,
    nonce: Option<String>,
    next_id: u32,
    run: Option<Run>,
    out: VecDeque<Output>,
}

impl Client {
    /// A client for the CA at `directory_url`; `contact_email` becomes a
    /// `mailto:` contact of the account (RFC 8555 7.3).
    pub fn new(directory_url: &str, key: AccountKey, contact_email: Option<&str>) -> Self {
        Client {
            directory_url: directory_url.to_string(),
            contact: contact_email.map(|e| format!("mailto:{}", e.trim_start_matches("mailto:"))),
            key,
            limits: Limits::default(),
            directory: None,
            kid: None,
            nonce: None,
            next_id: 1,
            run: None,
            out: VecDeque::new(),
        }
    }

    /// Replace the default limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn key(&self) -> &AccountKey {
        &self.key
    }

    /// The account URL (`kid`) once newAccount succeeded; kept across orders.
    pub fn account_url(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// True while an order runs.
    pub fn is_busy(&self) -> bool {
        self.run.is_some()
    }

    /// Start ordering a certificate for the DER CSR's names. The directory
    /// is fetched again for every order (RFC 8555 7.1.1 allows it to change);
    /// the account is created once per client.
    pub fn start_order(&mut self, _now: u64, csr_der: &[u8]) -> Result<OrderId, AcmeError> {
        if self.run.is_some() {
            return Err(AcmeError::Busy);
        }
        let names = csr::parse(csr_der).map_err(AcmeError::Csr)?.names;
        if names.len() > self.limits.max_names {
            return Err(AcmeError::TooManyAuthorizations);
        }
        let id = OrderId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        let mut run = Run {
            id,
            csr: csr_der.to_vec(),
            names,
            wait: Wait::TxtReady,
            order_url: String::new(),
            finalize_url: String::new(),
            cert_url: String::new(),
            authzs: Vec::new(),
            finalized: false,
            published: false,
            retries: 0,
            bad_nonces: 0,
            polls: 0,
            reregistered: false,
        };
        let result = self.send(&mut run, Step::Directory);
        self.settle(run, result);
        Ok(id)
    }

    /// Feed one input at time `now`. Inputs the running order does not
    /// wait for (or any input while idle) are ignored.
    pub fn handle(&mut self, now: u64, input: Input) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        let result = match input {
            Input::Response(resp) => self.on_response(now, &mut run, &resp),
            Input::TransportError(msg) => self.on_transport_error(now, &mut run, &msg),
            Input::TxtReady => self.on_txt_ready(&mut run),
            Input::Timer => self.on_timer(now, &mut run),
        };
        self.settle(run, result);
    }

    /// The next output, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Keep the order, or end it with RemoveTxt + Certificate/Failed.
    fn settle(&mut self, run: Run, result: Outcome) {
        let end = match result {
            Ok(Flow::Continue) => {
                self.run = Some(run);
                return;
            }
            Ok(Flow::Issued {
                chain_der,
                not_after,
            }) => Output::Certificate {
                order: run.id,
                chain_der,
                not_after,
            },
            Err(error) => {
                if forgets_account(&error) {
                    self.kid = None;
                }
                Output::Failed {
                    order: run.id,
                    error,
                }
            }
        };
        if run.published {
            for c in run.authzs.iter().filter_map(|a| a.challenge.as_ref()) {
                self.out.push_back(Output::RemoveTxt {
                    name: c.txt_name.clone(),
                    value: c.txt_value.clone(),
                });
            }
        }
        self.out.push_back(end);
    }

    // ---- inputs -------------------------------------------------------

    fn on_response(&mut self, now: u64, run: &mut Run, resp: &HttpResponse) -> Outcome {
        let Wait::Response { step, nonce_only } = run.wait else {
            return Ok(Flow::Continue);
        };
        if resp.body.len() > self.limits.max_body {
            return Err(AcmeError::BodyTooLarge);
        }
        // RFC 8555 6.5: every response may carry a fresh nonce; keep it.
        if let Some(nonce) = resp.replay_nonce() {
            self.nonce = Some(nonce.to_string());
        }
        if !resp.is_success() {
            return self.on_error(now, run, step, resp);
        }
        if nonce_only {
            if self.nonce.is_none() {
                return Err(AcmeError::Malformed("newNonce answer without Replay-Nonce"));
            }
            return self.send(run, step);
        }
        run.retries = 0;
        run.bad_nonces = 0;
        self.on_success(now, run, step, resp)
    }

    fn on_transport_error(&mut self, now: u64, run: &mut Run, msg: &str) -> Outcome {
        let Wait::Response { step, .. } = run.wait else {
            return Ok(Flow::Continue);
        };
        let error = AcmeError::Transport(problem::truncate(msg, 256).to_string());
        self.retry_later(now, run, step, None, error)
    }

    fn on_txt_ready(&mut self, run: &mut Run) -> Outcome {
        if run.wait != Wait::TxtReady {
            return Ok(Flow::Continue);
        }
        match next_challenge(run, 0) {
            Some(i) => self.send(run, Step::Challenge(i)),
            None => self.send(run, Step::Finalize),
        }
    }

    fn on_timer(&mut self, now: u64, run: &mut Run) -> Outcome {
        let Wait::Timer { deadline, step } = run.wait else {
            return Ok(Flow::Continue);
        };
        if now < deadline {
            self.out.push_back(Output::WaitUntil(deadline));
            return Ok(Flow::Continue);
        }
        self.send(run, step)
    }

    // ---- errors, retries, polling ---------------------------------------

    /// A non-2xx answer: problem document (RFC 8555 6.7) or bare status.
    fn on_error(&mut self, now: u64, run: &mut Run, step: Step, resp: &HttpResponse) -> Outcome {
        let problem = problem::parse(&resp.body);
        let kind = problem.as_ref().map(|p| p.kind.clone());
        let error = match problem {
            Some(p) => AcmeError::Problem {
                kind: p.kind,
                detail: p.detail,
            },
            None => AcmeError::Http {
                status: resp.status,
            },
        };
        let retry_at = resp.retry_after(now);
        match kind {
            // RFC 8555 6.5: retry with the nonce of this answer (or a new one).
            Some(ProblemType::BadNonce) => {
                run.bad_nonces += 1;
                if run.bad_nonces > self.limits.max_bad_nonces {
                    return Err(AcmeError::TooManyBadNonces);
                }
                self.send(run, step)
            }
            // RFC 8555 7.3.1: a CA that lost our account (a test CA
            // restarted, an account deactivated by the CA) answers the
            // first request signed with its URL so; register again (same
            // key) and go on, once per order.
            Some(ProblemType::AccountDoesNotExist)
                if step == Step::NewOrder && !run.reregistered =>
            {
                run.reregistered = true;
                self.kid = None;
                self.send(run, Step::NewAccount)
            }
            // RFC 8555 7.4: finalize before the order is ready; wait for it.
            Some(ProblemType::OrderNotReady) if step == Step::Finalize => {
                self.poll_later(now, run, Step::PollOrder, retry_at)
            }
            // RFC 8555 6.6: rate limits carry Retry-After.
            Some(ProblemType::RateLimited | ProblemType::ServerInternal) => {
                self.retry_later(now, run, step, retry_at, error)
            }
            _ if resp.status == 429 || resp.status >= 500 => {
                self.retry_later(now, run, step, retry_at, error)
            }
            _ => Err(error),
        }
    }

    /// Retry `step` after Retry-After or an exponential backoff, at most
    /// `max_retries` times in a row; past that, fail with `error`.
    fn retry_later(
        &mut self,
        now: u64,
        run: &mut Run,
        step: Step,
        retry_at: Option<u64>,
        error: AcmeError,
    ) -> Outcome {
        run.retries += 1;
        if run.retries > self.limits.max_retries {
            return Err(error);
        }
        let shift = (run.retries - 1).min(30);
        let backoff = self
            .limits
            .backoff_base
            .saturating_mul(1 << shift)
            .min(self.limits.backoff_max);
        let at = retry_at.unwrap_or(now.saturating_add(backoff));
        if at.saturating_sub(now) > self.limits.max_wait {
            return Err(error);
        }
        self.wait_until(run, at, step)
    }

    /// Ask again about a resource still in progress (RFC 8555 7.5.1 / 7.4),
    /// after Retry-After or `poll_interval`, at least one second later.
    fn poll_later(
        &mut self,
        now: u64,
        run: &mut Run,
        step: Step,
        retry_at: Option<u64>,
    ) -> Outcome {
        run.polls += 1;
        if run.polls > self.limits.max_polls {
            return Err(AcmeError::TooManyPolls);
        }
        let at = retry_at.unwrap_or(now.saturating_add(self.limits.poll_interval));
        let at = at.clamp(
            now.saturating_add(1),
            now.saturating_add(self.limits.max_wait.max(1)),
        );
        self.wait_until(run, at, step)
    }

    fn wait_until(&mut self, run: &mut Run, deadline: u64, step: Step) -> Outcome {
        run.wait = Wait::Timer { deadline, step };
        self.out.push_back(Output::WaitUntil(deadline));
        Ok(Flow::Continue)
    }
}

/// Errors after which the account URL must not be used again.
fn forgets_account(error: &AcmeError) -> bool {
    matches!(
        error,
        AcmeError::AccountUnusable
            | AcmeError::Problem {
                kind: ProblemType::AccountDoesNotExist,
                ..
            }
    )
}

mod answers;
use answers::next_challenge;
mod request;

#[cfg(test)]
mod tests;
