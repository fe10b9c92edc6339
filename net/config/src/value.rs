//! One option's value: addresses, ports, keys, the remote, log levels.

use crate::error::ConfigError;
use crate::types::SshKey;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine;
use core::net::{IpAddr, SocketAddr};
use gitns_dns::keys::Key;
use gitns_git::location::Location;
use gitns_net::smoltcp::wire::{Ipv4Address, Ipv4Cidr, Ipv6Cidr};

/// `--nsid`: `0x` and an even number of hex digits (Knot's convention),
/// else the text itself; 1-128 bytes.
pub(crate) fn parse_nsid(value: &str) -> Option<Vec<u8>> {
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

pub(crate) fn parse_switch(value: &str) -> Option<bool> {
    match value {
        "0" | "off" | "no" => Some(false),
        "1" | "on" | "yes" => Some(true),
        _ => None,
    }
}

/// `ADDR/N` for IPv4 or IPv6 (a bare address is a host).
pub(crate) fn parse_prefix(value: &str) -> Option<(core::net::IpAddr, u8)> {
    let (addr, len) = match value.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (value, None),
    };
    let ip: core::net::IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

pub(crate) const REMOTE_FORM: &str =
    "a remote like git@10.0.0.1:zones.git, ssh://git@git.example.org:22/zones.git#main, https://git.example.org/zones.git or git://10.0.0.1/zones.git";

/// `--remote`: SSH, https:// or git://, whose host is an IPv4 address or
/// a host name (resolved through `--resolver`).
pub(crate) fn parse_remote(value: &str) -> Result<Location, ()> {
    let r = Location::parse(value).map_err(|_| ())?;
    let host = r.host();
    let literal = host.parse::<Ipv4Address>().is_ok();
    let name = gitns_dns::name::Name::parse(host, &gitns_dns::name::Name::root()).is_ok();
    (literal || (name && !host.contains(':')))
        .then_some(r)
        .ok_or(())
}

/// Is the remote's host a name (not an address)?
pub fn needs_resolver(r: &Location) -> bool {
    r.host().parse::<Ipv4Address>().is_err()
}

pub(crate) const CA_FORM: &str = "base64 of a DER certificate or of a PEM file";

/// A CA certificate given on the command line: base64 of its DER, or
/// base64 of a PEM file (`base64 -w0 ca.pem`; every CERTIFICATE block).
pub(crate) fn parse_ca(value: &str) -> Option<Vec<Vec<u8>>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let raw = b64.decode(value).ok()?;
    let Some(text) = core::str::from_utf8(&raw)
        .ok()
        .filter(|t| t.trim_start().starts_with("-----BEGIN"))
    else {
        return Some(alloc::vec![raw]);
    };
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body = &rest[start + 27..];
        let end = body.find("-----END CERTIFICATE-----")?;
        let inner: String = body[..end].split_whitespace().collect();
        certs.push(b64.decode(inner).ok()?);
        rest = &body[end..];
    }
    (!certs.is_empty()).then_some(certs)
}

/// `ed25519:<base64 32-byte seed>`; `rsa:` is refused with a pointer to ed25519.
pub(crate) fn parse_ssh_key(option: &'static str, value: &str) -> Result<SshKey, ConfigError> {
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
pub(crate) fn parse_authenticator(value: &str) -> Option<String> {
    match value.split_once(':')? {
        ("SHA256", fp) => {
            let fp = fp.trim_end_matches('=');
            let raw = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(fp)
                .ok()?;
            (raw.len() == 32).then(|| format!("SHA256:{fp}"))
        }
        ("ed25519", key) => decode32(key).map(|k| gitns_git::ssh::fingerprint_ed25519(&k)),
        _ => None,
    }
}

/// Standard base64, padded or not, of exactly 32 bytes.
pub(crate) fn decode32(s: &str) -> Option<[u8; 32]> {
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()?;
    raw.try_into().ok()
}

/// A decimal number within `[min, max]`.
pub(crate) fn parse_range(value: &str, min: usize, max: usize) -> Option<usize> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
}

pub(crate) fn parse_v4_cidr(s: &str) -> Option<Ipv4Cidr> {
    let (a, p) = s.split_once('/')?;
    let prefix: u8 = p.parse().ok().filter(|p| *p <= 32)?;
    Some(Ipv4Cidr::new(a.parse().ok()?, prefix))
}

pub(crate) fn parse_v6_cidr(s: &str) -> Option<Ipv6Cidr> {
    let (a, p) = s.split_once('/')?;
    let prefix: u8 = p.parse().ok().filter(|p| *p <= 128)?;
    Some(Ipv6Cidr::new(a.parse().ok()?, prefix))
}

/// Log levels as the MirageOS unikernels spell them (`-l debug`, also `*:debug`).
pub(crate) fn parse_level(s: &str) -> Option<log::LevelFilter> {
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

pub(crate) const PRIMARY_FORM: &str = "IP or IP:PORT (IPv6: ADDR or [ADDR]:PORT)";

/// `--primary`: an address, with the port (53 unless given).
pub(crate) fn parse_primary(value: &str) -> Option<SocketAddr> {
    let port = gitns_dns::secondary::source::PORT;
    let addr = match value.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => value.parse::<SocketAddr>().ok()?,
    };
    (addr.port() != 0 && !addr.ip().is_unspecified()).then_some(addr)
}

/// Does this key name a zone to follow (`_transfer`/`_update`, RFC 8945
/// key names as the seeds write them)?
pub(crate) fn may_transfer(key: &Key) -> bool {
    gitns_dns::tsig::permission(&key.name)
        .is_some_and(|(op, _)| op >= gitns_dns::tsig::Op::Transfer)
}

/// Does `key` name a zone to follow and its primary (from its name in
/// the seed's form, or `--primary`)?
pub(crate) fn names_a_primary(cfg: &crate::types::Config, key: &Key) -> bool {
    use gitns_dns::secondary::source::{of_key, Primary, PORT};
    let at = cfg
        .secondary
        .primary
        .map_or(Primary::Named(PORT), Primary::Given);
    of_key(key, at).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_nsid("0x6e73"), Some(b"ns".to_vec()));
        assert_eq!(parse_nsid("0x6e7"), None);
        assert_eq!(parse_nsid(""), None);
        assert_eq!(parse_switch("on"), Some(true));
        assert_eq!(parse_switch("2"), None);
        assert_eq!(
            parse_prefix("192.0.2.1"),
            Some(("192.0.2.1".parse().unwrap(), 32))
        );
        assert_eq!(parse_prefix("fd00::/129"), None);
        assert_eq!(parse_range("7", 1, 6), None);
        assert_eq!(parse_range("6", 1, 6), Some(6));
        assert_eq!(parse_level("*:debug"), Some(log::LevelFilter::Debug));
        assert_eq!(parse_level("quiet"), Some(log::LevelFilter::Off));
        assert!(parse_v4_cidr("10.0.0.2/33").is_none());
        assert!(parse_v6_cidr("fd00::2/64").is_some());
        assert_eq!(decode32(&"QUFB".repeat(11)[..43]), None);
        assert!(decode32(&format!("{}=", "A".repeat(43))).is_some());
    }

    #[test]
    fn remotes() {
        assert!(parse_remote("git@10.0.0.1:z").is_ok());
        assert!(parse_remote("ssh://git@git.example.org:22/z.git#main").is_ok());
        assert!(parse_remote("https://x/y").is_ok());
        assert!(parse_remote("git://10.0.0.1/y").is_ok());
        assert!(parse_remote("https://[::1]/y").is_err(), "IPv4 or a name");
        assert!(parse_remote("ftp://x/y").is_err());
        assert!(needs_resolver(
            &parse_remote("git@git.example.org:z").unwrap()
        ));
        assert!(!needs_resolver(&parse_remote("git@10.0.0.1:z").unwrap()));
    }
}
