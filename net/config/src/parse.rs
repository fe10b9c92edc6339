//! The command line: words to options, each option's value into [`Config`],
//! then the checks between options.

use crate::error::ConfigError;
use crate::help::OPTIONS;
use crate::types::{Config, SshKey, LE_PRODUCTION};
use crate::value::*;
use alloc::string::ToString;
use gitns_dns::name::Name;
use gitns_git::location::Location;
use gitns_net::smoltcp::wire::{Ipv4Address, Ipv6Address};

/// Parse a command line (arguments separated by spaces).
pub fn parse(cmdline: &str) -> Result<Config, ConfigError> {
    let mut cfg = Config::default();
    let mut words = cmdline.split_ascii_whitespace();
    while let Some(word) = words.next() {
        match word {
            "--help" | "-h" => cfg.help = true,
            "--axfr" => cfg.axfr = true,
            "--production" => cfg.acme.server = LE_PRODUCTION.to_string(),
            _ => {
                let (name, inline) = match word.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (word, None),
                };
                let Some(&(_, canonical)) = OPTIONS.iter().find(|(names, _)| names.contains(&name))
                else {
                    return Err(ConfigError::Unknown(word.to_string()));
                };
                let value = inline
                    .or_else(|| words.next())
                    .ok_or(ConfigError::MissingValue(canonical))?;
                apply(&mut cfg, canonical, value)?;
            }
        }
    }
    check(&cfg)?;
    Ok(cfg)
}

/// The rules between options.
fn check(cfg: &Config) -> Result<(), ConfigError> {
    if cfg.ssh_remote().is_some() && cfg.ssh_key.is_none() {
        return Err(ConfigError::Needs(
            "--remote",
            "--ssh-key or --ssh-password",
        ));
    }
    if cfg.secondary.primary.is_some() && !cfg.secondary.keys.iter().any(may_transfer) {
        return Err(ConfigError::Needs(
            "--primary",
            "--keys with a _transfer or _update key",
        ));
    }
    // A zone comes from one place: git (the remote) or a primary (the
    // keys). Following both would serve two versions of the truth, and
    // `--keys` names nothing but primaries (README, "Secondaries").
    if cfg.remote.is_some() && !cfg.secondary.keys.is_empty() {
        return Err(ConfigError::Excludes {
            a: "--remote",
            b: "--keys",
            why: "zones come from git or from a primary, not both",
        });
    }
    let https = matches!(cfg.remote, Some(Location::Https(_)));
    let h = &cfg.remote_http;
    if !https && (!h.ca.is_empty() || h.user.is_some() || h.token.is_some()) {
        return Err(ConfigError::Needs(
            "--remote-ca, --remote-user and --remote-token",
            "--remote=https://...",
        ));
    }
    if let Some(k) = cfg.secondary.keys.iter().find(|k| !names_a_primary(cfg, k)) {
        return Err(ConfigError::Key(
            gitns_dns::key_text::KeyTextError::NoPrimary {
                name: k.name.to_text(),
            },
        ));
    }
    check_follow_catalog(cfg)?;
    if cfg.remote.as_ref().is_some_and(needs_resolver) && cfg.resolver.is_none() {
        return Err(ConfigError::Needs(
            "--remote with a host name",
            "--resolver",
        ));
    }
    Ok(())
}

/// `--follow-catalog=NAME` needs a key that transfers NAME (its own or
/// the root's) from a primary; the catalog followed is served as
/// transferred, so `--catalog` cannot publish another under its name.
fn check_follow_catalog(cfg: &Config) -> Result<(), ConfigError> {
    let Some(cat) = &cfg.secondary.catalog else {
        return Ok(());
    };
    if cfg.catalog.as_ref() == Some(cat) {
        return Err(ConfigError::Excludes {
            a: "--catalog",
            b: "--follow-catalog",
            why: "the same name: the catalog followed is served as transferred",
        });
    }
    let covers = |k: &&gitns_dns::keys::Key| {
        names_a_primary(cfg, k)
            && gitns_dns::tsig::permission(&k.name).is_some_and(|(_, z)| z.is_root() || z == *cat)
    };
    match cfg.secondary.keys.iter().find(covers) {
        Some(_) => Ok(()),
        None => Err(ConfigError::Needs(
            "--follow-catalog",
            "--keys with a _transfer key of the catalog or of the root",
        )),
    }
}

/// One option (by its canonical name) and its value.
fn apply(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    match option {
        "--ipv4" | "--ipv4-gateway" | "--ipv6" | "--ipv6-gateway" | "--logs" | "--dns-port"
        | "--udp-echo" | "--resolver" => apply_net(cfg, option, value),
        "--remote"
        | "--ssh-key"
        | "--ssh-password"
        | "--ssh-authenticator"
        | "--sync-interval"
        | "--seed" => apply_git(cfg, option, value),
        "--remote-ca" | "--remote-user" | "--remote-token" => apply_remote_http(cfg, option, value),
        "--account-key-seed" | "--email" | "--acme-server" | "--acme-ca" | "--renew-days" => {
            apply_acme(cfg, option, value)
        }
        "--keys" | "--primary" | "--catalog" | "--follow-catalog" => {
            apply_secondary(cfg, option, value)
        }
        _ => apply_answers(cfg, option, value),
    }
}

/// Addresses, ports, logging.
fn apply_net(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = |expected| ConfigError::bad(option, value, expected);
    let port = || {
        value
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(bad("a port 1-65535"))
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
        "--dns-port" => cfg.dns_port = port()?,
        "--udp-echo" => cfg.udp_echo = Some(port()?),
        "--resolver" => cfg.resolver = Some(value.parse().map_err(|_| bad("an IPv4 address"))?),
        _ => return Err(ConfigError::Unknown(option.to_string())),
    }
    Ok(())
}

/// The git remote and how to log in to it.
fn apply_git(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = |expected| ConfigError::bad(option, value, expected);
    match option {
        // The git connections are IPv4 (src/remote/): an IPv6 literal
        // parses (`git@[fd00::1]:z.git`) and is refused by name.
        "--remote" if Location::parse(value).is_ok_and(|l| l.host().parse::<Ipv6Address>().is_ok()) => {
            return Err(ConfigError::Unsupported {
                option,
                why: "an IPv6 address as the git host is not supported yet: use an IPv4 address or a host name with an A record",
            })
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

/// How to reach an https:// remote.
fn apply_remote_http(
    cfg: &mut Config,
    option: &'static str,
    value: &str,
) -> Result<(), ConfigError> {
    let h = &mut cfg.remote_http;
    match option {
        "--remote-ca" => {
            h.ca.extend(parse_ca(value).ok_or(ConfigError::bad(option, value, CA_FORM))?)
        }
        "--remote-user" => h.user = Some(value.to_string()),
        "--remote-token" => h.token = Some(value.to_string()),
        _ => return Err(ConfigError::Unknown(option.to_string())),
    }
    Ok(())
}

/// Where to order certificates and as whom.
fn apply_acme(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = |expected| ConfigError::bad(option, value, expected);
    match option {
        "--account-key-seed" if value.len() >= 16 => {
            cfg.acme.account_key_seed = Some(value.to_string())
        }
        "--account-key-seed" => return Err(bad("at least 16 characters")),
        "--email" if value.contains('@') => cfg.acme.email = Some(value.to_string()),
        "--email" => return Err(bad("an e-mail address")),
        "--acme-server" if value.starts_with("https://") => cfg.acme.server = value.to_string(),
        "--acme-server" => return Err(bad("an https:// directory URL")),
        "--acme-ca" => cfg
            .acme
            .extra_ca
            .extend(parse_ca(value).ok_or(bad(CA_FORM))?),
        "--renew-days" => {
            cfg.acme.renew_days = value
                .parse::<u64>()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .ok_or(bad("a number of days 1-365"))?
        }
        _ => return Err(ConfigError::Unknown(option.to_string())),
    }
    Ok(())
}

/// Secondary and catalog zones (issue 23).
fn apply_secondary(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = |expected| ConfigError::bad(option, value, expected);
    match option {
        "--keys" => {
            for k in value.split(',').filter(|k| !k.is_empty()) {
                let key = gitns_dns::key_text::parse(k).map_err(ConfigError::Key)?;
                cfg.secondary.keys.push(key);
            }
        }
        "--primary" => cfg.secondary.primary = Some(parse_primary(value).ok_or(bad(PRIMARY_FORM))?),
        "--catalog" | "--follow-catalog" => {
            let name = Name::parse(value, &Name::root()).ok();
            let name = Some(name.filter(|n| !n.is_root()).ok_or(bad("a domain name"))?);
            match option {
                "--catalog" => cfg.catalog = name,
                _ => cfg.secondary.catalog = name,
            }
        }
        _ => return Err(ConfigError::Unknown(option.to_string())),
    }
    Ok(())
}

/// TCP limits, answers, cookies and rate limiting (issue 24).
fn apply_answers(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = |expected| ConfigError::bad(option, value, expected);
    let text = || {
        (!value.is_empty() && value.len() <= 255)
            .then(|| value.as_bytes().to_vec())
            .ok_or(bad("text of 1-255 bytes"))
    };
    match option {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TcpOptions;
    use alloc::format;
    use base64::Engine;
    use gitns_net::smoltcp::wire::Ipv4Cidr;

    #[test]
    fn every_option_of_the_table_is_applied() {
        for (_, canonical) in OPTIONS {
            let r = apply(&mut Config::default(), canonical, "x");
            assert!(!matches!(r, Err(ConfigError::Unknown(_))), "{canonical}");
        }
    }

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
        let c = parse(&format!(
            "--remote=ssh://git@10.0.0.1/zones.git#prod --ssh-key=ed25519:{seed} --authenticator={fp} --sync-interval=300"
        ))
        .unwrap();
        let r = c.ssh_remote().unwrap();
        assert_eq!(
            (r.host.as_str(), r.path.as_str(), r.branch.as_str()),
            ("10.0.0.1", "/zones.git", "prod")
        );
        assert_eq!(c.ssh_key, Some(SshKey::Ed25519([7; 32])));
        assert_eq!(c.ssh_authenticator.as_deref(), Some(fp.as_str()));
        assert_eq!(c.sync_interval_s, 300);
        // The public key form pins the same fingerprint.
        let pk = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let c = parse(&format!(
            "--remote=git@10.0.0.1:z --ssh-password=pw --ssh-authenticator=ed25519:{pk}"
        ))
        .unwrap();
        assert_eq!(c.ssh_authenticator, Some(fp));
        assert_eq!(c.ssh_key, Some(SshKey::Password("pw".into())));
    }

    #[test]
    fn read_only_remotes_the_seed_form_and_their_options() {
        let c = parse("--remote=https://10.0.0.1/zones.git").unwrap();
        assert!(
            matches!(c.remote, Some(Location::Https(_))),
            "no SSH key needed"
        );
        assert!(c.ssh_remote().is_none());
        let c = parse(
            "--remote=https://git.example.org/org/zones.git#prod --resolver=10.0.0.1 --remote-user=me --remote-token=t0k",
        )
        .unwrap();
        let Some(Location::Https(r)) = &c.remote else {
            panic!()
        };
        assert_eq!(
            (r.url.host.as_str(), r.branch.as_str()),
            ("git.example.org", "prod")
        );
        assert_eq!(c.remote_http.user.as_deref(), Some("me"));
        assert!(
            !format!("{c:?}").contains("t0k"),
            "the token is never printed"
        );
        assert_eq!(
            parse("--remote=https://git.example.org/z"),
            Err(ConfigError::Needs(
                "--remote with a host name",
                "--resolver"
            ))
        );
        let c = parse("--remote=git://10.0.0.1/zones.git").unwrap();
        assert!(matches!(c.remote, Some(Location::Daemon(_))));
        // An IPv6 literal in git's scp form parses as the host fd00::1 and
        // is refused by name (the git connections are IPv4), in every form.
        let l = Location::parse("git@[fd00::1]:zones.git").unwrap();
        assert_eq!((l.host(), l.writable()), ("fd00::1", true));
        for r in [
            "git@[fd00::1]:zones.git --ssh-password=pw",
            "ssh://git@[fd00::1]:2222/zones.git --ssh-password=pw",
            "https://[fd00::1]/zones.git",
            "git://[fd00::1]/zones.git",
        ] {
            assert!(
                matches!(
                    parse(&format!("--remote={r}")),
                    Err(ConfigError::Unsupported {
                        option: "--remote",
                        ..
                    })
                ),
                "{r}: {:?}",
                parse(&format!("--remote={r}"))
            );
        }
        assert_eq!(
            parse("--remote=git://10.0.0.1/z --remote-token=x"),
            Err(ConfigError::Needs(
                "--remote-ca, --remote-user and --remote-token",
                "--remote=https://..."
            ))
        );
        // --remote-ca: base64 of DER, or of a PEM file with its blocks.
        let b64 = base64::engine::general_purpose::STANDARD;
        let der = &b"0\x03\x02\x01\x01"[..];
        let c = parse(&format!(
            "--remote=https://10.0.0.1/z --remote-ca={}",
            b64.encode(der)
        ))
        .unwrap();
        assert_eq!(c.remote_http.ca, [der.to_vec()]);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64.encode(der)
        );
        let c = parse(&format!(
            "--remote=https://10.0.0.1/z --remote-ca={}",
            b64.encode(pem.repeat(2))
        ))
        .unwrap();
        assert_eq!(c.remote_http.ca, [der.to_vec(), der.to_vec()]);
        assert!(matches!(
            parse("--remote=https://10.0.0.1/z --remote-ca=LS0tLS1CRUdJTg=="),
            Err(ConfigError::BadValue { .. })
        ));
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
            parse("--remote=ftp://x/y"),
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
        assert_eq!(c.ssh_remote().unwrap().host, "git.example.com");
        assert!(matches!(
            parse("--authenticator=MD5:aa"),
            Err(ConfigError::BadValue { .. })
        ));
        // A bad key is reported without echoing it.
        let e = format!("{}", parse("--ssh-key=ed25519:c2VjcmV0").unwrap_err());
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

    #[test]
    fn the_seed_secondary_command_line() {
        const S: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
        let c = parse(&format!(
            "--ipv4=10.0.42.3/24 --keys=10.0.42.2.10.0.42.3._update.mirage:SHA256:{S}"
        ))
        .unwrap();
        assert_eq!(c.secondary.keys.len(), 1);
        let k = &c.secondary.keys[0];
        assert_eq!(k.name.to_text(), "10.0.42.2.10.0.42.3._update.mirage.");
        assert_eq!(k.algorithm, gitns_dns::keys::Algorithm::Sha256);
        assert_eq!(c.secondary.primary, None);
        // Comma-separated and repeated, both forms of a key.
        let c = parse(&format!(
            "--keys=a._transfer.x:SHA1:{S},hmac-sha512:b._transfer.y:{S} --keys c._update.z:sha256:{S} --primary=[fd00::1]:5353"
        ))
        .unwrap();
        let names: alloc::vec::Vec<_> = c.secondary.keys.iter().map(|k| k.name.to_text()).collect();
        assert_eq!(names, ["a._transfer.x.", "b._transfer.y.", "c._update.z."]);
        assert_eq!(
            c.secondary
                .primary
                .map(|a| alloc::format!("{a}"))
                .as_deref(),
            Some("[fd00::1]:5353")
        );
        for (p, want) in [
            ("10.0.0.1", "10.0.0.1:53"),
            ("10.0.0.1:5300", "10.0.0.1:5300"),
            ("fd00::1", "[fd00::1]:53"),
        ] {
            let c = parse(&format!("--keys=a._transfer.x:SHA1:{S} --primary={p}")).unwrap();
            assert_eq!(alloc::format!("{}", c.secondary.primary.unwrap()), want);
        }
        let c = parse("--catalog=catalog.invalid").unwrap();
        assert_eq!(c.catalog.unwrap().to_text(), "catalog.invalid.");
    }

    #[test]
    fn secondary_option_errors() {
        const S: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
        for bad in [
            "--keys=k:MD5:AAAA".to_string(),
            "--keys=k:SHA256".to_string(),
            "--keys=k:SHA256:!!".to_string(),
            format!("--keys=k:SHA256:{S},x:SHA256"),
        ] {
            let e = parse(&bad).unwrap_err();
            assert!(matches!(e, ConfigError::Key(_)), "{bad}: {e:?}");
            assert!(!alloc::format!("{e}").contains(S), "{e}");
        }
        for bad in [
            "--primary=10.0.0.1:0",
            "--primary=0.0.0.0",
            "--primary=host:53",
            "--catalog=.",
            "--catalog=a..b",
        ] {
            let e = parse(&format!("--keys=a._transfer.x:SHA1:{S} {bad}")).unwrap_err();
            assert!(matches!(e, ConfigError::BadValue { .. }), "{bad}: {e:?}");
        }
        assert_eq!(
            parse(&format!(
                "--keys=personal._notify.x:SHA1:{S} --primary=10.0.0.1"
            )),
            Err(ConfigError::Needs(
                "--primary",
                "--keys with a _transfer or _update key"
            ))
        );
    }

    #[test]
    fn a_secondary_has_no_git_remote() {
        const S: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
        let keys = alloc::format!("--keys=10.0.42.2.10.0.42.3._update.mirage:SHA256:{S}");
        for remote in [
            "--remote=ssh://git@10.0.42.1/zones.git --ssh-password=pw",
            "--remote=https://10.0.42.1/zones.git",
            "--remote=git://10.0.42.1/zones.git",
        ] {
            let e = parse(&alloc::format!("{keys} {remote}")).unwrap_err();
            assert!(matches!(e, ConfigError::Excludes { .. }), "{remote}: {e:?}");
            assert!(
                alloc::format!("{e}").contains("`--remote` and `--keys`"),
                "{e}"
            );
            assert!(parse(remote).is_ok(), "{remote} alone");
        }
        // Meaningful with a secondary: a catalog of what it follows,
        // unsigned transfers to its own secondaries.
        assert!(parse(&alloc::format!("{keys} --catalog=catalog.invalid --axfr")).is_ok());
    }

    #[test]
    fn follow_catalog_needs_a_key_that_transfers_it() {
        const S: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
        let root = alloc::format!("--keys=10.0.42.2.10.0.42.3._transfer.:SHA256:{S}");
        let own = alloc::format!("--keys=10.0.42.2.10.0.42.3._transfer.Catalog.Invalid:SHA256:{S}");
        for keys in [&root, &own] {
            let c = parse(&alloc::format!("{keys} --follow-catalog=catalog.invalid")).unwrap();
            assert_eq!(
                c.secondary.catalog.map(|n| n.to_text()).as_deref(),
                Some("catalog.invalid.")
            );
            // Publishing another catalog of what it serves: another name.
            assert!(parse(&alloc::format!(
                "{keys} --follow-catalog=catalog.invalid --catalog=mine.invalid"
            ))
            .is_ok());
            let e = parse(&alloc::format!(
                "{keys} --follow-catalog=catalog.invalid --catalog=CATALOG.invalid"
            ))
            .unwrap_err();
            assert!(matches!(e, ConfigError::Excludes { .. }), "{e:?}");
        }
        let needs = ConfigError::Needs(
            "--follow-catalog",
            "--keys with a _transfer key of the catalog or of the root",
        );
        for keys in [
            "".to_string(),
            alloc::format!("--keys=10.0.42.2.10.0.42.3._transfer.other.invalid:SHA256:{S}"),
            alloc::format!("--keys=10.0.42.2.10.0.42.3._notify.:SHA256:{S}"),
            alloc::format!("--keys=x._transfer.:SHA256:{S}"),
        ] {
            let r = parse(&alloc::format!("{keys} --follow-catalog=catalog.invalid"));
            assert!(
                r == Err(needs.clone()) || matches!(r, Err(ConfigError::Key(_))),
                "{keys}: {r:?}"
            );
        }
        for bad in ["--follow-catalog=.", "--follow-catalog=a..b"] {
            let e = parse(&alloc::format!("{root} {bad}")).unwrap_err();
            assert!(matches!(e, ConfigError::BadValue { .. }), "{bad}: {e:?}");
        }
    }
}
