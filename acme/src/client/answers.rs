//! Acting on the successful answer of each step (RFC 8555 7.1-7.5).

use super::*;

impl Client {
    pub(super) fn on_success(
        &mut self,
        now: u64,
        run: &mut Run,
        step: Step,
        resp: &HttpResponse,
    ) -> Outcome {
        match step {
            Step::Directory => self.on_directory(run, &resp.body),
            Step::NewAccount => self.on_account(run, resp),
            Step::NewOrder => self.on_new_order(now, run, resp),
            Step::FetchAuthz(i) => self.on_authz_fetched(run, i, &resp.body),
            Step::Challenge(i) => self.on_challenge(run, i, &resp.body),
            Step::PollAuthz(i) => self.on_authz_polled(now, run, i, resp),
            Step::Finalize => {
                run.finalized = true;
                let order = resources::parse(&resp.body, "order")?;
                self.on_order(now, run, order, resp.retry_after(now), false)
            }
            Step::PollOrder => {
                let order = resources::parse(&resp.body, "order")?;
                self.on_order(now, run, order, resp.retry_after(now), false)
            }
            Step::Certificate => on_certificate(run, &resp.body),
        }
    }

    /// RFC 8555 7.1.1.
    fn on_directory(&mut self, run: &mut Run, body: &[u8]) -> Outcome {
        let dir: Directory = resources::parse(body, "directory")?;
        check_url(&dir.new_nonce, "directory newNonce")?;
        check_url(&dir.new_account, "directory newAccount")?;
        check_url(&dir.new_order, "directory newOrder")?;
        let eab = dir.meta.as_ref().and_then(|m| m.external_account_required);
        if eab == Some(true) && self.kid.is_none() {
            return Err(AcmeError::ExternalAccountRequired);
        }
        self.directory = Some(dir);
        let next = if self.kid.is_some() {
            Step::NewOrder
        } else {
            Step::NewAccount
        };
        self.send(run, next)
    }

    /// RFC 8555 7.3: 201 (created) or 200 (exists); `Location` is the kid.
    fn on_account(&mut self, run: &mut Run, resp: &HttpResponse) -> Outcome {
        let kid = resp
            .location()
            .ok_or(AcmeError::Malformed("account without Location"))?;
        let kid = check_url(kid, "account Location")?.to_string();
        if !resp.body.is_empty() {
            let account: resources::Account = resources::parse(&resp.body, "account")?;
            if account.status != Status::Valid {
                return Err(AcmeError::AccountUnusable);
            }
        }
        self.kid = Some(kid);
        self.send(run, Step::NewOrder)
    }

    /// RFC 8555 7.4: 201 with the order, its URL in `Location`.
    fn on_new_order(&mut self, now: u64, run: &mut Run, resp: &HttpResponse) -> Outcome {
        let url = resp
            .location()
            .ok_or(AcmeError::Malformed("order without Location"))?;
        run.order_url = check_url(url, "order Location")?.to_string();
        let order: Order = resources::parse(&resp.body, "order")?;
        let finalize = order
            .finalize
            .as_deref()
            .ok_or(AcmeError::Malformed("order without finalize"))?;
        run.finalize_url = check_url(finalize, "order finalize")?.to_string();
        if order.authorizations.len() > self.limits.max_names {
            return Err(AcmeError::TooManyAuthorizations);
        }
        run.authzs = order
            .authorizations
            .iter()
            .map(|u| {
                Ok(Authz {
                    url: check_url(u, "authorization URL")?.to_string(),
                    identifier: String::new(),
                    valid: false,
                    challenge: None,
                })
            })
            .collect::<Result<_, AcmeError>>()?;
        self.on_order(now, run, order, resp.retry_after(now), true)
    }

    /// Act on an order's status (RFC 8555 7.1.6); `fresh` right after newOrder.
    fn on_order(
        &mut self,
        now: u64,
        run: &mut Run,
        order: Order,
        retry_at: Option<u64>,
        fresh: bool,
    ) -> Outcome {
        match order.status {
            Status::Pending if fresh => {
                if run.authzs.is_empty() {
                    return Err(AcmeError::Malformed("pending order without authorizations"));
                }
                self.send(run, Step::FetchAuthz(0))
            }
            Status::Ready if !run.finalized => self.send(run, Step::Finalize),
            Status::Pending | Status::Ready | Status::Processing => {
                self.poll_later(now, run, Step::PollOrder, retry_at)
            }
            Status::Valid => {
                let url = order.certificate.as_deref();
                let url = url.ok_or(AcmeError::Malformed("valid order without certificate"))?;
                run.cert_url = check_url(url, "certificate URL")?.to_string();
                self.send(run, Step::Certificate)
            }
            Status::Invalid => Err(AcmeError::OrderInvalid(error_detail(
                order.error.as_ref(),
                "invalid",
            ))),
            _ => Err(AcmeError::Malformed("order status")),
        }
    }

    /// RFC 8555 7.5: note what each authorization needs; after the last,
    /// publish every dns-01 TXT record at once.
    fn on_authz_fetched(&mut self, run: &mut Run, i: usize, body: &[u8]) -> Outcome {
        let authz: Authorization = resources::parse(body, "authorization")?;
        let identifier = identifier(&authz)?;
        match authz.status {
            Status::Valid => run.authzs[i].valid = true,
            Status::Pending => {
                let challenge = authz.dns01().ok_or_else(|| AcmeError::NoDnsChallenge {
                    identifier: identifier.clone(),
                })?;
                let token = challenge.token.as_deref().filter(|t| dns01::valid_token(t));
                let token = token.ok_or(AcmeError::Malformed("dns-01 token"))?;
                run.authzs[i].challenge = Some(Dns01 {
                    url: check_url(&challenge.url, "challenge URL")?.to_string(),
                    txt_name: dns01::txt_name(&identifier),
                    txt_value: dns01::txt_value(token, &self.key),
                });
            }
            other => return Err(authz_failed(&authz, identifier, other)),
        }
        run.authzs[i].identifier = identifier;
        if i + 1 < run.authzs.len() {
            return self.send(run, Step::FetchAuthz(i + 1));
        }
        if next_challenge(run, 0).is_none() {
            return self.send(run, Step::Finalize);
        }
        for c in run.authzs.iter().filter_map(|a| a.challenge.as_ref()) {
            self.out.push_back(Output::PublishTxt {
                name: c.txt_name.clone(),
                value: c.txt_value.clone(),
            });
        }
        run.published = true;
        run.wait = Wait::TxtReady;
        Ok(Flow::Continue)
    }

    /// RFC 8555 7.5.1: the challenge answers with its own state.
    fn on_challenge(&mut self, run: &mut Run, i: usize, body: &[u8]) -> Outcome {
        let challenge: Challenge = resources::parse(body, "challenge")?;
        match challenge.status {
            Status::Invalid => {
                return Err(AcmeError::Challenge {
                    identifier: run.authzs[i].identifier.clone(),
                    detail: error_detail(challenge.error.as_ref(), "challenge invalid"),
                })
            }
            Status::Valid => run.authzs[i].valid = true,
            _ => {}
        }
        if let Some(j) = next_challenge(run, i + 1) {
            return self.send(run, Step::Challenge(j));
        }
        self.poll_next_authz(run, 0)
    }

    /// RFC 8555 7.5.1: poll until valid or invalid.
    fn on_authz_polled(
        &mut self,
        now: u64,
        run: &mut Run,
        i: usize,
        resp: &HttpResponse,
    ) -> Outcome {
        let authz: Authorization = resources::parse(&resp.body, "authorization")?;
        match authz.status {
            Status::Valid => {
                run.authzs[i].valid = true;
                self.poll_next_authz(run, i + 1)
            }
            Status::Pending | Status::Processing => {
                self.poll_later(now, run, Step::PollAuthz(i), resp.retry_after(now))
            }
            other => Err(authz_failed(
                &authz,
                run.authzs[i].identifier.clone(),
                other,
            )),
        }
    }

    fn poll_next_authz(&mut self, run: &mut Run, from: usize) -> Outcome {
        match (from..run.authzs.len()).find(|&j| !run.authzs[j].valid) {
            Some(j) => self.send(run, Step::PollAuthz(j)),
            None => self.send(run, Step::Finalize),
        }
    }
}

/// RFC 8555 7.4.2: the PEM chain; the leaf must cover every ordered name.
fn on_certificate(run: &Run, body: &[u8]) -> Outcome {
    let chain_der = pem::decode_chain(body)?;
    let leaf = cert::parse(&chain_der[0]).map_err(AcmeError::Certificate)?;
    if let Some(missing) = run.names.iter().find(|n| !leaf.dns_names.contains(n)) {
        return Err(AcmeError::NameMissing(missing.clone()));
    }
    Ok(Flow::Issued {
        chain_der,
        not_after: leaf.not_after,
    })
}

/// The next authorization from `from` with a challenge still to answer.
pub(super) fn next_challenge(run: &Run, from: usize) -> Option<usize> {
    (from..run.authzs.len()).find(|&j| run.authzs[j].challenge.is_some() && !run.authzs[j].valid)
}

/// A dns identifier (RFC 8555 9.7.7) that is a host name, lower-cased.
fn identifier(authz: &Authorization) -> Result<String, AcmeError> {
    if authz.identifier.kind != "dns" {
        return Err(AcmeError::Malformed("identifier type is not dns"));
    }
    x509::dns_name(authz.identifier.value.as_bytes())
        .map_err(|_| AcmeError::Malformed("identifier value"))
}

/// The failure of an authorization, with its dns-01 challenge's error.
fn authz_failed(authz: &Authorization, identifier: String, status: Status) -> AcmeError {
    let error = authz.dns01().and_then(|c| c.error.as_ref());
    let fallback = format!("authorization {}", status.as_str());
    AcmeError::Challenge {
        identifier,
        detail: error_detail(error, &fallback),
    }
}

/// "type: detail" of an embedded problem, or `fallback`.
fn error_detail(error: Option<&serde_json::Value>, fallback: &str) -> String {
    match error.and_then(problem::from_value) {
        Some(p) => format!("{}: {}", p.kind, p.detail),
        None => fallback.to_string(),
    }
}
