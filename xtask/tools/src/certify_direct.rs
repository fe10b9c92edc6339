//! `cargo xtask certify --direct`: order the certificate from the host with
//! instant-acme (a second, independent ACME implementation) and answer its
//! DNS-01 challenges through the appliance: the `_acme-challenge` TXT goes
//! in by a TSIG-signed UPDATE (committed and pushed like any UPDATE), the
//! CA is told only once the appliance serves it, and it is deleted again
//! whatever the outcome. The CSR (and its key) are made by `certify`.

use crate::certify_opts::Opts;
use crate::dnstool;
use gitns_dns::name::Name;
use gitns_dns::rtype::TXT;
use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
    RetryPolicy,
};
use std::time::{Duration, Instant};

/// How long the appliance gets to serve a challenge TXT after the UPDATE.
const SERVE_WAIT: Duration = Duration::from_secs(30);

/// What `--direct` needs: the options and the zone the UPDATEs go to.
struct Direct<'a> {
    o: &'a Opts,
    zone: &'a Name,
}

/// Order a certificate for `host` with `csr` (DER); the chain, leaf first.
pub(crate) fn order(o: &Opts, zone: &Name, host: &str, csr: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let d = &Direct { o, zone };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let mut published: Vec<(String, String)> = Vec::new();
    let result = rt.block_on(async {
        tokio::time::timeout(d.o.wait, order_async(d, host, csr, &mut published))
            .await
            .unwrap_or_else(|_| Err(format!("no certificate within {} s", d.o.wait.as_secs())))
    });
    for (name, value) in &published {
        if let Err(e) = update(d, &format!("delete {name} TXT {value}")) {
            eprintln!("certify: removing TXT {name} {value}: {e}");
        }
    }
    let pem = result?;
    let chain = pem_certificates(&pem)?;
    if chain.is_empty() {
        return Err("the CA's answer holds no certificate".into());
    }
    Ok(chain)
}

async fn order_async(
    d: &Direct<'_>,
    host: &str,
    csr: &[u8],
    published: &mut Vec<(String, String)>,
) -> Result<String, String> {
    let acme = |what: &str, e: instant_acme::Error| format!("{what}: {e}");
    let builder = match &d.o.acme_ca {
        Some(p) => Account::builder_with_root(p).map_err(|e| acme("--acme-ca", e))?,
        None => Account::builder().map_err(|e| acme("HTTPS client", e))?,
    };
    let contact: Vec<String> = d.o.email.iter().map(|e| format!("mailto:{e}")).collect();
    let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, _credentials) = builder
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            d.o.acme_server.clone(),
            None,
        )
        .await
        .map_err(|e| acme(&format!("account at {}", d.o.acme_server), e))?;
    let ids = [Identifier::Dns(host.to_string())];
    let mut order = account
        .new_order(&NewOrder::new(&ids))
        .await
        .map_err(|e| acme("new order", e))?;
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(|e| acme("authorization", e))?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => return Err(format!("authorization is {other:?}")),
        }
        let mut challenge = authz
            .challenge(ChallengeType::Dns01)
            .ok_or("the CA offers no dns-01 challenge")?;
        let Identifier::Dns(domain) = challenge.identifier().identifier else {
            return Err("the CA asks to validate an IP address".into());
        };
        let name = format!("_acme-challenge.{domain}.");
        let value = challenge.key_authorization().dns_value();
        update(d, &format!("add {name} 60 TXT {value}"))?;
        published.push((name.clone(), value.clone()));
        wait_served(d, &name, &value).await?;
        eprintln!("certify: {} serves TXT {name} {value}", d.o.server);
        challenge
            .set_ready()
            .await
            .map_err(|e| acme("challenge", e))?;
    }
    let retry = RetryPolicy::new().timeout(d.o.wait);
    let status = order
        .poll_ready(&retry)
        .await
        .map_err(|e| acme("order", e))?;
    if status != OrderStatus::Ready {
        return Err(format!("the order is {status:?}, not ready"));
    }
    order
        .finalize_csr(csr)
        .await
        .map_err(|e| acme("finalize", e))?;
    order
        .poll_certificate(&retry)
        .await
        .map_err(|e| acme("certificate", e))
}

/// One signed UPDATE of the zone (`ops` as `cargo xtask update` takes it).
fn update(d: &Direct<'_>, ops: &str) -> Result<(), String> {
    let msg = dnstool::signed_update(std::process::id() as u16, d.zone, ops, &d.o.key)?;
    let resp = crate::net::tcp_exchange(d.o.server, &msg)?;
    dnstool::check_answer(&resp, &msg, Some(&d.o.key))
        .map_err(|e| format!("UPDATE `{ops}` at {}: {e}", d.o.server))
}

/// Wait until the appliance answers TXT `value` at `name`.
async fn wait_served(d: &Direct<'_>, name: &str, value: &str) -> Result<(), String> {
    let owner = Name::parse(name, &Name::root()).map_err(|e| format!("{name}: {e}"))?;
    let mut want = vec![value.len() as u8];
    want.extend_from_slice(value.as_bytes());
    let end = Instant::now() + SERVE_WAIT;
    loop {
        let resp = crate::net::tcp_exchange(d.o.server, &dnstool::query(&owner, TXT))?;
        let served = dnstool::records(&resp)?
            .iter()
            .any(|(o, t, rd)| *t == TXT && *o == owner && *rd == want);
        if served {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(format!(
                "{} does not serve TXT {name} {value} {} s after the UPDATE",
                d.o.server,
                SERVE_WAIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The DER certificates of a PEM chain, in order.
fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        match (line, body.as_mut()) {
            ("-----BEGIN CERTIFICATE-----", None) => body = Some(String::new()),
            ("-----END CERTIFICATE-----", Some(b)) => {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b.as_bytes())
                    .map_err(|e| format!("PEM from the CA: {e}"))?;
                out.push(der);
                body = None;
            }
            (l, Some(b)) => b.push_str(l),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_chain_in_order() {
        let a = crate::x509::pem("CERTIFICATE", &[1, 2, 3]);
        let b = crate::x509::pem("CERTIFICATE", &[4; 100]);
        let text = format!("junk\n{a}\n{b}");
        assert_eq!(
            pem_certificates(&text).unwrap(),
            vec![vec![1, 2, 3], vec![4; 100]]
        );
        assert!(
            pem_certificates("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }
}
