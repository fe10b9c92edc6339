//! What the command line sets, with the defaults of an empty command line.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;
use gitns_dns::keys::Key;
use gitns_dns::name::Name;
use gitns_git::location::Location;
use gitns_git::remote::Remote;
use gitns_net::smoltcp::wire::Ipv4Address;
use gitns_net::NetConfig;

/// Everything the command line sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub net: NetConfig,
    pub log_level: log::LevelFilter,
    /// UDP port of the echo service (network bring-up check).
    pub udp_echo: Option<u16>,
    /// Port of the DNS service (UDP and TCP).
    pub dns_port: u16,
    /// Allow zone transfers without TSIG (`--axfr`).
    pub axfr: bool,
    /// Print the help text and exit.
    pub help: bool,
    /// The git remote holding the zones (`--remote`): SSH, or read-only
    /// over HTTPS or git://.
    pub remote: Option<Location>,
    /// `--remote-ca`, `--remote-user`, `--remote-token` (HTTPS remotes).
    pub remote_http: RemoteHttp,
    /// How to log in to the remote.
    pub ssh_key: Option<SshKey>,
    /// `SHA256:<unpadded base64>` fingerprint the remote's host key must have.
    pub ssh_authenticator: Option<String>,
    /// Fetch from the remote this often even without NOTIFY (0: never).
    pub sync_interval_s: u64,
    pub acme: AcmeConfig,
    /// `--resolver`: the DNS resolver for host names (the ACME server's).
    pub resolver: Option<Ipv4Address>,
    pub tcp: TcpOptions,
    /// Answer options (`--edns-udp-size`, `--nsid`, `--identity`,
    /// `--version`; `--axfr` is `axfr` above).
    pub answers: gitns_dns::authority::Policy,
    /// `--cookies=0|1`: DNS Cookies (RFC 7873), on by default.
    pub cookies: bool,
    /// `--rrl-rate`, `--rrl-slip`, `--rrl-exempt` (`--rrl=0`: off).
    pub rrl: gitns_dns::rrl::Config,
    /// `--keys`, `--primary`: zones followed from a primary (issue 23).
    pub secondary: SecondaryConfig,
    /// `--catalog=NAME`: publish a catalog zone of the zones served
    /// (RFC 9432).
    pub catalog: Option<Name>,
}

/// The secondary's options. `keys` in the seed's form
/// (`<primary>.<secondary>._transfer.<zone>`) name what to follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecondaryConfig {
    /// `--keys=NAME:ALG:SECRET[,...]` (repeatable).
    pub keys: Vec<Key>,
    /// `--primary=IP[:PORT]`: the primary of every key, instead of the
    /// address in the key's name (IPv6, another port).
    pub primary: Option<SocketAddr>,
    /// `--follow-catalog=NAME`: follow the members of catalog zone NAME
    /// (RFC 9432), from the primary and with the key of the catalog.
    pub catalog: Option<Name>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            net: NetConfig::default(),
            log_level: log::LevelFilter::Info,
            udp_echo: None,
            dns_port: 53,
            axfr: false,
            help: false,
            remote: None,
            remote_http: RemoteHttp::default(),
            ssh_key: None,
            ssh_authenticator: None,
            sync_interval_s: 0,
            acme: AcmeConfig::default(),
            resolver: None,
            tcp: TcpOptions::default(),
            answers: Default::default(),
            cookies: true,
            rrl: Default::default(),
            secondary: SecondaryConfig::default(),
            catalog: None,
        }
    }
}

/// DNS over TCP limits (RFC 7766 6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpOptions {
    /// `--tcp-clients`: connections open at once.
    pub clients: usize,
    /// `--tcp-per-source`: connections from one address.
    pub per_source: usize,
    /// `--tcp-idle-timeout`: seconds after the last complete query.
    pub idle_s: u64,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            clients: 1024,
            per_source: 32,
            idle_s: 10,
        }
    }
}

/// How to reach an `https://` remote.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RemoteHttp {
    /// Trust anchors (DER) instead of the compiled-in public roots.
    pub ca: Vec<Vec<u8>>,
    /// Basic auth user (with `token` as its password).
    pub user: Option<String>,
    /// A password or access token; alone, a bearer token.
    pub token: Option<String>,
}

impl fmt::Debug for RemoteHttp {
    /// Never prints the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHttp")
            .field("ca", &self.ca.len())
            .field("user", &self.user)
            .field("token", &self.token.as_ref().map(|_| ".."))
            .finish()
    }
}

impl Config {
    /// The remote when it is an SSH one (the only kind that takes pushes).
    pub fn ssh_remote(&self) -> Option<&Remote> {
        match &self.remote {
            Some(Location::Ssh(r)) => Some(r),
            _ => None,
        }
    }
}

/// Let's Encrypt's directories (staging is the default, RFC 8555 7.1.1).
pub const LE_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";
pub const LE_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// ACME: where to order certificates and as whom.
#[derive(Clone, PartialEq, Eq)]
pub struct AcmeConfig {
    /// `--acme-server`, or a Let's Encrypt directory.
    pub server: String,
    /// `--account-key-seed`: the account key is derived from it; without
    /// it no certificate is ordered.
    pub account_key_seed: Option<String>,
    pub email: Option<String>,
    /// `--acme-ca`: extra trust anchors (DER), e.g. a private CA's.
    pub extra_ca: Vec<Vec<u8>>,
    /// Renew when fewer than this many days remain.
    pub renew_days: u64,
}

impl Default for AcmeConfig {
    fn default() -> Self {
        AcmeConfig {
            server: LE_STAGING.to_string(),
            account_key_seed: None,
            email: None,
            extra_ca: Vec::new(),
            renew_days: 14,
        }
    }
}

impl fmt::Debug for AcmeConfig {
    /// Never prints the seed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeConfig")
            .field("server", &self.server)
            .field(
                "account_key_seed",
                &self.account_key_seed.as_ref().map(|_| ".."),
            )
            .field("email", &self.email)
            .field("extra_ca", &self.extra_ca.len())
            .field("renew_days", &self.renew_days)
            .finish()
    }
}

/// SSH user authentication.
#[derive(Clone, PartialEq, Eq)]
pub enum SshKey {
    /// `--ssh-key=ed25519:<base64 32-byte seed>`.
    Ed25519([u8; 32]),
    /// `--ssh-password=`.
    Password(String),
}

impl fmt::Debug for SshKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshKey::Ed25519(_) => write!(f, "Ed25519(..)"),
            SshKey::Password(_) => write!(f, "Password(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn secrets_never_in_debug_output() {
        let k = format!("{:?}", SshKey::Password("hunter2".into()));
        assert!(!k.contains("hunter2"), "{k}");
        let a = AcmeConfig {
            account_key_seed: Some("0123456789abcdefSECRET".into()),
            ..AcmeConfig::default()
        };
        let a = format!("{a:?}");
        assert!(!a.contains("SECRET") && a.contains("staging"), "{a}");
        let c = crate::parse("--keys=a._transfer.x:SHA256:c2VjcmV0 --primary=10.0.0.1").unwrap();
        let c = format!("{c:?}");
        assert!(
            !c.contains("c2VjcmV0") && c.contains("a._transfer.x."),
            "{c}"
        );
    }
}
