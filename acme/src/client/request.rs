//! Building the requests of each step (RFC 8555 6.1-6.3, 7.2-7.5).

use super::*;

impl Client {
    /// Make the request of `step`, first fetching a nonce if none is held
    /// (RFC 8555 7.2).
    pub(super) fn send(&mut self, run: &mut Run, step: Step) -> Outcome {
        let request = if step != Step::Directory && self.nonce.is_none() {
            let dir = self
                .directory
                .as_ref()
                .ok_or(AcmeError::Malformed("no directory"))?;
            plain(Method::Head, &dir.new_nonce)
        } else {
            self.build(run, step)?
        };
        let nonce_only = request.method == Method::Head;
        run.wait = Wait::Response { step, nonce_only };
        self.out.push_back(Output::Request(request));
        Ok(Flow::Continue)
    }

    fn build(&mut self, run: &Run, step: Step) -> Result<HttpRequest, AcmeError> {
        let dir = self.directory.as_ref();
        let dir_url = |f: fn(&Directory) -> &String| {
            dir.map(|d| f(d).clone())
                .ok_or(AcmeError::Malformed("no directory"))
        };
        match step {
            Step::Directory => Ok(plain(Method::Get, &self.directory_url)),
            Step::NewAccount => {
                let url = dir_url(|d| &d.new_account)?;
                let payload = self.account_payload();
                self.post(&url, &payload, true, false)
            }
            Step::NewOrder => {
                let url = dir_url(|d| &d.new_order)?;
                self.post(&url, &order_payload(&run.names), false, false)
            }
            Step::FetchAuthz(i) | Step::PollAuthz(i) => {
                self.post(&run.authzs[i].url, b"", false, false)
            }
            Step::Challenge(i) => {
                let url = run.authzs[i].challenge.as_ref().map(|c| c.url.clone());
                let url = url.ok_or(AcmeError::Malformed("no challenge"))?;
                // RFC 8555 7.5.1: an empty JSON object says "ready, validate".
                self.post(&url, b"{}", false, false)
            }
            Step::Finalize => {
                let payload = json_bytes(&serde_json::json!({ "csr": crate::b64::url(&run.csr) }));
                self.post(&run.finalize_url, &payload, false, false)
            }
            Step::PollOrder => self.post(&run.order_url, b"", false, false),
            Step::Certificate => self.post(&run.cert_url, b"", false, true),
        }
    }

    /// A JWS POST (RFC 8555 6.2); consumes the held nonce.
    fn post(
        &mut self,
        url: &str,
        payload: &[u8],
        jwk: bool,
        pem: bool,
    ) -> Result<HttpRequest, AcmeError> {
        let nonce = self.nonce.take().ok_or(AcmeError::Malformed("no nonce"))?;
        let signer = match (jwk, self.kid.as_deref()) {
            (true, _) => Signer::Jwk,
            (false, Some(kid)) => Signer::Kid(kid),
            (false, None) => return Err(AcmeError::Malformed("no account")),
        };
        let mut request = plain(Method::Post, url);
        request.body = jws::sign(&self.key, signer, &nonce, url, payload);
        request
            .headers
            .push(header("Content-Type", http::JOSE_JSON));
        if pem {
            request.headers.push(header("Accept", http::PEM_CHAIN));
        }
        Ok(request)
    }

    /// newAccount payload (RFC 8555 7.3).
    fn account_payload(&self) -> Vec<u8> {
        let value = match &self.contact {
            Some(c) => serde_json::json!({ "termsOfServiceAgreed": true, "contact": [c] }),
            None => serde_json::json!({ "termsOfServiceAgreed": true }),
        };
        json_bytes(&value)
    }
}

/// newOrder payload (RFC 8555 7.4).
fn order_payload(names: &[String]) -> Vec<u8> {
    let identifiers: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({ "type": "dns", "value": n }))
        .collect();
    json_bytes(&serde_json::json!({ "identifiers": identifiers }))
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    // Serializing a Value into memory cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_string(), value.to_string())
}

/// A request with only the User-Agent header (RFC 8555 6.1).
fn plain(method: Method, url: &str) -> HttpRequest {
    HttpRequest {
        method,
        url: url.to_string(),
        headers: vec![header("User-Agent", http::USER_AGENT)],
        body: Vec::new(),
    }
}
