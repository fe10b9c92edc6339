//! The command line of the appliance.
//!
//! Compatible with the MirageOS dns-primary-git unikernel: `--key=value` or
//! `--key value`, `-l LEVEL`. Options of later features are added here as
//! those features land; an option the image does not know is an error, never
//! silently ignored.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine;
use core::fmt;
pub use gitns_git::remote::Remote;
use gitns_net::smoltcp::wire::{Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};
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
    /// The git remote holding the zones (`--remote`).
    pub remote: Option<Remote>,
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
            ssh_key: None,
            ssh_authenticator: None,
            sync_interval_s: 0,
            acme: AcmeConfig::default(),
            resolver: None,
            tcp: TcpOptions::default(),
            answers: Default::default(),
            cookies: true,
            rrl: Default::default(),
        }
    }
}

/// A command-line error: which option and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    Unknown(String),
    MissingValue(&'static str),
    BadValue {
        option: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A form this build cannot honour, and what to use instead.
    Unsupported {
        option: &'static str,
        why: &'static str,
    },
    /// Options that only work together.
    Needs(&'static str, &'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unknown(o) => write!(f, "unknown option `{o}` (see --help)"),
            ConfigError::MissingValue(o) => write!(f, "option `{o}` needs a value"),
            ConfigError::BadValue {
                option,
                value,
                expected,
            } => {
                write!(f, "option `{option}`: `{value}` is not {expected}")
            }
            ConfigError::Unsupported { option, why } => write!(f, "option `{option}`: {why}"),
            ConfigError::Needs(a, b) => write!(f, "option `{a}` needs `{b}`"),
        }
    }
}

/// The help text, every option.
pub const HELP: &str = "gitns: authoritative DNS primary with zones in git

options:
  --ipv4=A.B.C.D/N        address of the service interface (default 10.0.0.2/24)
  --ipv4-gateway=A.B.C.D  default IPv4 gateway
  --ipv6=ADDR/N           IPv6 address of the service interface
  --ipv6-gateway=ADDR     default IPv6 gateway
  -l, --logs=LEVEL        log level: error, warn, info, debug, trace (default info)
  --axfr                  allow zone transfers (AXFR/IXFR) without TSIG
  --remote=URL[#BRANCH]   git remote of the zones: git@HOST:PATH or
                          ssh://USER@HOST[:PORT]/PATH (HOST an IPv4 address,
                          or a name with --resolver; branch main unless given)
  --ssh-key=ed25519:SEED  SSH user key: base64 of a 32-byte seed
                          (`cargo xtask keygen` makes one)
  --ssh-password=PASS     SSH password login instead of a key
  --ssh-authenticator=FP  the remote's host key: SHA256:<base64> as
                          `ssh-keygen -lf` prints it, or ed25519:<base64 key>
                          (also --authenticator); absent: accepted and logged
  --sync-interval=SECS    also fetch the remote every SECS seconds (0: only
                          on NOTIFY, the default)
  --account-key-seed=S    ACME account key seed: with it, a TLSA 3 255 0 CSR
                          at _letsencrypt._tcp.HOST orders a certificate
  --email=ADDR            ACME account contact
  --acme-server=URL       ACME directory (default Let's Encrypt staging)
  --production            use Let's Encrypt's production directory
  --acme-ca=BASE64        also trust this CA certificate (DER) for ACME
  --renew-days=N          renew certificates N days before expiry (14)
  --resolver=A.B.C.D      DNS resolver for the ACME server's host name
  --dns-port=PORT         port of the DNS service, UDP and TCP (default 53)
  --udp-echo=PORT         run a UDP echo service on PORT (network bring-up)
  --tcp-clients=N         DNS-over-TCP connections open at once (1024); when
                          full, the longest-idle one is closed for a new one
  --tcp-per-source=N      connections from one address (32)
  --tcp-idle-timeout=SECS close a TCP connection SECS after its last query (10)
  --edns-udp-size=N       largest UDP answer to EDNS clients, 512-4096
                          (default 1232); never more than the link MTU
  --nsid=ID               NSID to return (RFC 5001): text, or 0x and hex
  --identity=TEXT         answer CH TXT id.server/hostname.bind with TEXT
  --version=TEXT          answer CH TXT version.bind/version.server with TEXT
                          (both unset: REFUSED)
  --cookies=0|1           DNS Cookies (RFC 7873/9018), on by default
  --rrl-rate=N            response rate limit: UDP answers per second per
                          client /24 (IPv6 /56) and answer (default 200;
                          0 or --rrl=0: off)
  --rrl-slip=N            every Nth limited answer goes out truncated (TC)
                          instead of dropped (default 2; 0: drop all)
  --rrl-exempt=ADDR/N     never rate limit this network (repeatable)
  --help                  print this text
";

/// The known options: (names, takes a value).
const OPTIONS: &[(&[&str], &str)] = &[
    (&["--ipv4"], "--ipv4"),
    (&["--ipv4-gateway"], "--ipv4-gateway"),
    (&["--ipv6"], "--ipv6"),
    (&["--ipv6-gateway"], "--ipv6-gateway"),
    (&["-l", "--logs"], "--logs"),
    (&["--udp-echo"], "--udp-echo"),
    (&["--dns-port"], "--dns-port"),
    (&["--remote"], "--remote"),
    (&["--ssh-key"], "--ssh-key"),
    (&["--ssh-password"], "--ssh-password"),
    (
        &["--ssh-authenticator", "--authenticator"],
        "--ssh-authenticator",
    ),
    (&["--sync-interval"], "--sync-interval"),
    (&["--seed"], "--seed"),
    (&["--account-key-seed"], "--account-key-seed"),
    (&["--email"], "--email"),
    (&["--acme-server"], "--acme-server"),
    (&["--acme-ca"], "--acme-ca"),
    (&["--renew-days"], "--renew-days"),
    (&["--resolver"], "--resolver"),
    (&["--tcp-clients"], "--tcp-clients"),
    (&["--tcp-per-source"], "--tcp-per-source"),
    (&["--tcp-idle-timeout"], "--tcp-idle-timeout"),
    (&["--edns-udp-size"], "--edns-udp-size"),
    (&["--nsid"], "--nsid"),
    (&["--identity"], "--identity"),
    (&["--version"], "--version"),
    (&["--cookies"], "--cookies"),
    (&["--rrl-rate", "--rrl"], "--rrl-rate"),
    (&["--rrl-slip"], "--rrl-slip"),
    (&["--rrl-exempt"], "--rrl-exempt"),
];

/// Parse a command line (arguments separated by spaces).
pub fn parse(cmdline: &str) -> Result<Config, ConfigError> {
    let mut cfg = Config::default();
    let words: Vec<&str> = cmdline.split_ascii_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        if word == "--help" || word == "-h" {
            cfg.help = true;
            continue;
        }
        if word == "--axfr" {
            cfg.axfr = true;
            continue;
        }
        if word == "--production" {
            cfg.acme.server = LE_PRODUCTION.to_string();
            continue;
        }
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
        let Some(&(_, canonical)) = OPTIONS.iter().find(|(names, _)| names.contains(&name)) else {
            return Err(ConfigError::Unknown(word.to_string()));
        };
        let value = match inline {
            Some(v) => v,
            None => {
                let v = words.get(i).ok_or(ConfigError::MissingValue(canonical))?;
                i += 1;
                v
            }
        };
        apply(&mut cfg, canonical, value)?;
    }
    if cfg.remote.is_some() && cfg.ssh_key.is_none() {
        return Err(ConfigError::Needs(
            "--remote",
            "--ssh-key or --ssh-password",
        ));
    }
    if cfg.remote.as_ref().is_some_and(needs_resolver) && cfg.resolver.is_none() {
        return Err(ConfigError::Needs(
            "--remote with a host name",
            "--resolver",
        ));
    }
    Ok(cfg)
}

fn apply(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = |expected| ConfigError::BadValue {
        option,
        value: value.to_string(),
        expected,
    };
    match option {
        "--ipv4" => {
            cfg.net.ipv4 =
                parse_v4_cidr(value).ok_or(bad("an IPv4 address with prefix, like 10.0.0.2/24"))?
        }
        "--ipv4-gateway" => {
            cfg.net.ipv4_gateway = Some(
                value
                    .parse::<Ipv4Address>()
                    .map_err(|_| bad("an IPv4 address"))?,
            )
        }
        "--ipv6" => {
            cfg.net.ipv6 = Some(
                parse_v6_cidr(value).ok_or(bad("an IPv6 address with prefix, like fd00::2/64"))?,
            )
        }
        "--ipv6-gateway" => {
            cfg.net.ipv6_gateway = Some(
                value
                    .parse::<Ipv6Address>()
                    .map_err(|_| bad("an IPv6 address"))?,
            )
        }
        "--logs" => {
            cfg.log_level =
                parse_level(value).ok_or(bad("one of error, warn, info, debug, trace"))?
        }
        "--dns-port" => {
            cfg.dns_port = value
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(bad("a port 1-65535"))?
        }
        "--udp-echo" => {
            cfg.udp_echo = Some(
                value
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or(bad("a port 1-65535"))?,
            )
        }
        "--remote" => cfg.remote = Some(parse_remote(value).map_err(|_| bad(REMOTE_FORM))?),
        "--ssh-key" => cfg.ssh_key = Some(parse_ssh_key(option, value)?),
        "--ssh-password" => cfg.ssh_key = Some(SshKey::Password(value.to_string())),
        "--ssh-authenticator" => {
            cfg.ssh_authenticator =
                Some(parse_authenticator(value).ok_or(bad("SHA256:<base64> or ed25519:<base64 key>"))?)
        }
        "--sync-interval" => {
            cfg.sync_interval_s = value.parse::<u64>().map_err(|_| bad("a number of seconds"))?
        }
        "--account-key-seed" if value.len() >= 16 => {
            cfg.acme.account_key_seed = Some(value.to_string())
        }
        "--account-key-seed" => return Err(bad("at least 16 characters")),
        "--email" if value.contains('@') => cfg.acme.email = Some(value.to_string()),
        "--email" => return Err(bad("an e-mail address")),
        "--acme-server" if value.starts_with("https://") => {
            cfg.acme.server = value.to_string()
        }
        "--acme-server" => return Err(bad("an https:// directory URL")),
        "--acme-ca" => {
            use base64::Engine;
            let der = base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|_| bad("base64 of a DER certificate"))?;
            cfg.acme.extra_ca.push(der);
        }
        "--renew-days" => {
            cfg.acme.renew_days = value
                .parse::<u64>()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .ok_or(bad("a number of days 1-365"))?
        }
        "--resolver" => {
            cfg.resolver = Some(value.parse().map_err(|_| bad("an IPv4 address"))?)
        }
        "--tcp-clients" => {
            cfg.tcp.clients = parse_range(value, 1, 65_535).ok_or(bad("a number 1-65535"))?
        }
        "--tcp-per-source" => {
            cfg.tcp.per_source = parse_range(value, 1, 65_535).ok_or(bad("a number 1-65535"))?
        }
        "--tcp-idle-timeout" => {
            // RFC 7828 3.3.2 carries it in 100 ms units in 16 bits.
            cfg.tcp.idle_s =
                parse_range(value, 1, 6_553).ok_or(bad("a number of seconds 1-6553"))? as u64
        }
        "--edns-udp-size" | "--nsid" | "--identity" | "--version" | "--cookies"
        | "--rrl-rate" | "--rrl-slip" | "--rrl-exempt" => apply_answers(cfg, option, value)?,
        "--seed" => {
            return Err(ConfigError::Unsupported {
                option,
                why: "RSA keys made from a seed by OCaml's generator cannot be reproduced; make an ed25519 key with `cargo xtask keygen` and pass --ssh-key=ed25519:<seed>",
            })
        }
        _ => return Err(ConfigError::Unknown(option.to_string())),
    }
    Ok(())
}

/// The options of issue 24 (answers, cookies, rate limiting).
fn apply_answers(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = |expected| ConfigError::BadValue {
        option,
        value: value.to_string(),
        expected,
    };
    let text = || {
        (!value.is_empty() && value.len() <= 255)
            .then(|| value.as_bytes().to_vec())
            .ok_or(bad("text of 1-255 bytes"))
    };
    match option {
        "--edns-udp-size" => {
            cfg.answers.edns_udp_size = value
                .parse::<u16>()
                .ok()
                .filter(|n| (512..=4096).contains(n))
                .ok_or(bad("a size 512-4096"))?
        }
        "--nsid" => cfg.answers.nsid = Some(parse_nsid(value).ok_or(bad("text, or 0x and hex"))?),
        "--identity" => cfg.answers.identity = Some(text()?),
        "--version" => cfg.answers.version = Some(text()?),
        "--cookies" => cfg.cookies = parse_switch(value).ok_or(bad("0 or 1"))?,
        "--rrl-rate" => cfg.rrl.rate = value.parse().map_err(|_| bad("answers per second"))?,
        "--rrl-slip" => cfg.rrl.slip = value.parse().map_err(|_| bad("a count (0: never)"))?,
        "--rrl-exempt" => cfg
            .rrl
            .exempt
            .push(parse_prefix(value).ok_or(bad("an address with prefix, like 192.0.2.0/24"))?),
        _ => return Err(ConfigError::Unknown(option.to_string())),
    }
    Ok(())
}

/// `--nsid`: `0x` and an even number of hex digits (Knot's convention),
/// else the text itself; 1-128 bytes.
fn parse_nsid(value: &str) -> Option<Vec<u8>> {
    let raw = match value.strip_prefix("0x") {
        Some(hex) if hex.len() % 2 == 0 => (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?,
        Some(_) => return None,
        None => value.as_bytes().to_vec(),
    };
    (1..=128).contains(&raw.len()).then_some(raw)
}

fn parse_switch(value: &str) -> Option<bool> {
    match value {
        "0" | "off" | "no" => Some(false),
        "1" | "on" | "yes" => Some(true),
        _ => None,
    }
}

/// `ADDR/N` for IPv4 or IPv6 (a bare address is a host).
fn parse_prefix(value: &str) -> Option<(core::net::IpAddr, u8)> {
    let (addr, len) = match value.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (value, None),
    };
    let ip: core::net::IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

const REMOTE_FORM: &str =
    "an SSH remote like git@10.0.0.1:zones.git or ssh://git@git.example.org:22/zones.git#main";

/// `--remote`: an SSH remote whose host is an IPv4 address or a host name
/// (resolved through `--resolver`).
fn parse_remote(value: &str) -> Result<Remote, ()> {
    let r = Remote::parse(value).map_err(|_| ())?;
    let literal = r.host.parse::<Ipv4Address>().is_ok();
    let name = gitns_dns::name::Name::parse(&r.host, &gitns_dns::name::Name::root()).is_ok();
    (literal || (name && !r.host.contains(':')))
        .then_some(r)
        .ok_or(())
}

/// Is the remote's host a name (not an address)?
pub fn needs_resolver(r: &Remote) -> bool {
    r.host.parse::<Ipv4Address>().is_err()
}

/// `ed25519:<base64 32-byte seed>`; `rsa:` is refused with a pointer to ed25519.
fn parse_ssh_key(option: &'static str, value: &str) -> Result<SshKey, ConfigError> {
    let bad = ConfigError::BadValue {
        option,
        value: String::from("(secret not shown)"),
        expected: "ed25519:<base64 of a 32-byte seed>",
    };
    match value.split_once(':') {
        Some(("ed25519", b64)) => decode32(b64).map(SshKey::Ed25519).ok_or(bad),
        Some(("rsa", _)) => Err(ConfigError::Unsupported {
            option,
            why: "RSA user keys are not supported (see docs/design.md); make an ed25519 key with `cargo xtask keygen`",
        }),
        _ => Err(bad),
    }
}

/// A host key pin as `SHA256:<unpadded base64>`, from that form or from
/// `ed25519:<base64 public key>`.
fn parse_authenticator(value: &str) -> Option<String> {
    match value.split_once(':')? {
        ("SHA256", fp) => {
            let fp = fp.trim_end_matches('=');
            let raw = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(fp)
                .ok()?;
            (raw.len() == 32).then(|| alloc::format!("SHA256:{fp}"))
        }
        ("ed25519", key) => decode32(key).map(|k| gitns_git::ssh::fingerprint_ed25519(&k)),
        _ => None,
    }
}

/// Standard base64, padded or not, of exactly 32 bytes.
fn decode32(s: &str) -> Option<[u8; 32]> {
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()?;
    raw.try_into().ok()
}

/// A decimal number within `[min, max]`.
fn parse_range(value: &str, min: usize, max: usize) -> Option<usize> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
}

fn parse_v4_cidr(s: &str) -> Option<Ipv4Cidr> {
    let (a, p) = s.split_once('/')?;
    let prefix: u8 = p.parse().ok().filter(|p| *p <= 32)?;
    Some(Ipv4Cidr::new(a.parse().ok()?, prefix))
}

fn parse_v6_cidr(s: &str) -> Option<Ipv6Cidr> {
    let (a, p) = s.split_once('/')?;
    let prefix: u8 = p.parse().ok().filter(|p| *p <= 128)?;
    Some(Ipv6Cidr::new(a.parse().ok()?, prefix))
}

/// Log levels as the MirageOS unikernels spell them (`-l debug`, also `*:debug`).
fn parse_level(s: &str) -> Option<log::LevelFilter> {
    let s = s.rsplit(':').next().unwrap_or(s);
    Some(match s.to_ascii_lowercase().as_str() {
        "quiet" | "off" => log::LevelFilter::Off,
        "error" => log::LevelFilter::Error,
        "warn" | "warning" => log::LevelFilter::Warn,
        "info" | "app" => log::LevelFilter::Info,
        "debug" => log::LevelFilter::Debug,
        "trace" => log::LevelFilter::Trace,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.net.ipv4, Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24));
        assert_eq!(c.log_level, log::LevelFilter::Info);
        assert!(!c.help);
    }

    #[test]
    fn both_spellings_of_values() {
        let c = parse("--ipv4=10.0.0.3/24 --ipv4-gateway 10.0.0.1 -l debug --udp-echo=7").unwrap();
        assert_eq!(c.net.ipv4, Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 3), 24));
        assert_eq!(c.net.ipv4_gateway, Some(Ipv4Address::new(10, 0, 0, 1)));
        assert_eq!(c.log_level, log::LevelFilter::Debug);
        assert_eq!(c.udp_echo, Some(7));
    }

    #[test]
    fn errors_name_the_option() {
        assert_eq!(
            parse("--frobnicate=1"),
            Err(ConfigError::Unknown("--frobnicate=1".into()))
        );
        assert_eq!(parse("--ipv4"), Err(ConfigError::MissingValue("--ipv4")));
        let e = parse("--ipv4=10.0.0.300/24").unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::BadValue {
                    option: "--ipv4",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(parse("--ipv4=10.0.0.3").is_err());
        assert!(parse("--udp-echo=0").is_err());
        assert!(parse("-l loud").is_err());
    }

    #[test]
    fn tcp_limits() {
        let c = parse("").unwrap();
        assert_eq!(c.tcp, TcpOptions::default());
        assert!(c.tcp.clients >= 1024);
        let c = parse("--tcp-clients=4096 --tcp-per-source 8 --tcp-idle-timeout=30").unwrap();
        assert_eq!(
            c.tcp,
            TcpOptions {
                clients: 4096,
                per_source: 8,
                idle_s: 30
            }
        );
        for bad in [
            "--tcp-clients=0",
            "--tcp-clients=x",
            "--tcp-per-source=0",
            "--tcp-idle-timeout=0",
            "--tcp-idle-timeout=7000",
        ] {
            assert!(
                matches!(parse(bad), Err(ConfigError::BadValue { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn git_options_as_the_mirageos_unikernel_takes_them() {
        let seed = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let fp = gitns_git::ssh::fingerprint_ed25519(&[9u8; 32]);
        let c = parse(&alloc::format!(
            "--remote=ssh://git@10.0.0.1/zones.git#prod --ssh-key=ed25519:{seed} --authenticator={fp} --sync-interval=300"
        ))
        .unwrap();
        let r = c.remote.unwrap();
        assert_eq!(
            (r.host.as_str(), r.path.as_str(), r.branch.as_str()),
            ("10.0.0.1", "/zones.git", "prod")
        );
        assert_eq!(c.ssh_key, Some(SshKey::Ed25519([7; 32])));
        assert_eq!(c.ssh_authenticator.as_deref(), Some(fp.as_str()));
        assert_eq!(c.sync_interval_s, 300);
        // The public key form pins the same fingerprint.
        let pk = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let c = parse(&alloc::format!(
            "--remote=git@10.0.0.1:z --ssh-password=pw --ssh-authenticator=ed25519:{pk}"
        ))
        .unwrap();
        assert_eq!(c.ssh_authenticator, Some(fp));
        assert_eq!(c.ssh_key, Some(SshKey::Password("pw".into())));
    }

    #[test]
    fn git_option_errors() {
        assert_eq!(
            parse("--remote=git@10.0.0.1:z"),
            Err(ConfigError::Needs(
                "--remote",
                "--ssh-key or --ssh-password"
            ))
        );
        assert!(matches!(
            parse("--seed=abc"),
            Err(ConfigError::Unsupported {
                option: "--seed",
                ..
            })
        ));
        assert!(matches!(
            parse("--ssh-key=rsa:abc"),
            Err(ConfigError::Unsupported { .. })
        ));
        assert!(matches!(
            parse("--ssh-key=ed25519:c2hvcnQ="),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            parse("--remote=https://x/y"),
            Err(ConfigError::BadValue { .. })
        ));
        assert_eq!(
            parse("--remote=git@example.com:z --ssh-password=x"),
            Err(ConfigError::Needs(
                "--remote with a host name",
                "--resolver"
            ))
        );
        let c =
            parse("--remote=git@git.example.com:z --ssh-password=x --resolver=10.0.0.1").unwrap();
        assert_eq!(c.remote.unwrap().host, "git.example.com");
        assert!(matches!(
            parse("--authenticator=MD5:aa"),
            Err(ConfigError::BadValue { .. })
        ));
        // A bad key is reported without echoing it.
        let e = alloc::format!("{}", parse("--ssh-key=ed25519:c2VjcmV0").unwrap_err());
        assert!(!e.contains("c2VjcmV0"), "{e}");
    }

    #[test]
    fn answer_and_protection_options() {
        let c = parse("").unwrap();
        assert_eq!(c.answers.edns_udp_size, 1232);
        assert!(c.cookies && c.rrl.rate == 200 && c.rrl.slip == 2);
        assert!(c.answers.version.is_none() && c.answers.identity.is_none());
        let c = parse("--edns-udp-size=4096 --nsid=0x6e7331 --version=gitns-1 --identity=ns1 --cookies=0 --rrl=0 --rrl-slip=3 --rrl-exempt=192.0.2.0/24 --rrl-exempt fd00::1").unwrap();
        assert_eq!(c.answers.edns_udp_size, 4096);
        assert_eq!(c.answers.nsid.as_deref(), Some(&b"ns1"[..]));
        assert_eq!(c.answers.version.as_deref(), Some(&b"gitns-1"[..]));
        assert_eq!(c.answers.identity.as_deref(), Some(&b"ns1"[..]));
        assert!(!c.cookies && c.rrl.rate == 0 && c.rrl.slip == 3);
        assert_eq!(c.rrl.exempt.len(), 2);
        assert_eq!(c.rrl.exempt[1].1, 128);
        assert_eq!(
            parse("--nsid=ns1").unwrap().answers.nsid.as_deref(),
            Some(&b"ns1"[..])
        );
        for bad in [
            "--edns-udp-size=511",
            "--edns-udp-size=4097",
            "--nsid=0x6",
            "--nsid=0xzz",
            "--cookies=2",
            "--rrl-rate=-1",
            "--rrl-exempt=10.0.0.0/33",
            "--version=",
        ] {
            assert!(
                matches!(parse(bad), Err(ConfigError::BadValue { .. })),
                "{bad}"
            );
        }
    }
}
