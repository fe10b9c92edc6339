//! `gitns certify`'s options: the flags, what they parse into, and the
//! default ACME directory of `--direct`.

use crate::cli::{self, usage, Opt, ToolError};
use crate::dnstool;
use gitns_dns::keys::Key;
use gitns_dns::name::Name;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Let's Encrypt's staging directory: the default, as for the appliance.
pub const STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

pub(crate) const SPEC: &[Opt] = &[
    Opt("--server", true),
    Opt("--hostname", true),
    Opt("--key", true),
    Opt("--key-file", true),
    Opt("--key-seed", true),
    Opt("--zone", true),
    Opt("--out", true),
    Opt("--wait", true),
    Opt("--direct", false),
    Opt("--acme-server", true),
    Opt("--acme-ca", true),
    Opt("--email", true),
];

pub(crate) struct Opts {
    pub server: SocketAddr,
    pub key: Key,
    pub hostname: String,
    pub zone: Option<Name>,
    pub out: PathBuf,
    pub key_file: PathBuf,
    pub key_seed: Option<String>,
    pub wait: Duration,
    pub direct: bool,
    pub acme_server: String,
    pub acme_ca: Option<PathBuf>,
    pub email: Option<String>,
}

pub(crate) fn parse_args(p: &cli::Parsed) -> Result<Opts, ToolError> {
    let (server, host) = match (&p.pos[..], p.get("--server"), p.get("--hostname")) {
        ([s, h], None, None) => (s.as_str(), h.as_str()),
        ([], Some(s), Some(h)) => (s, h),
        _ => {
            return Err(usage(
                "expected SERVER HOSTNAME (or --server and --hostname)",
            ))
        }
    };
    if let Some(a) = p.rest.first() {
        return Err(usage(format!("unexpected argument `{a}`")));
    }
    let key = p.get("--key").ok_or_else(|| usage("--key is required"))?;
    let hostname = host.trim_end_matches('.').to_ascii_lowercase();
    let out = PathBuf::from(p.get("--out").unwrap_or("."));
    let wait = match p.get("--wait") {
        Some(w) => w
            .parse()
            .map_err(|_| usage(format!("--wait {w}: a number of seconds")))?,
        None => 120,
    };
    let zone = p
        .get("--zone")
        .map(|z| Name::parse(z, &Name::root()).map_err(|e| usage(format!("zone `{z}`: {e}"))))
        .transpose()?;
    Ok(Opts {
        server: cli::server_addr(server)?,
        key: dnstool::parse_key(key).map_err(usage)?,
        key_file: p
            .get("--key-file")
            .map(PathBuf::from)
            .unwrap_or_else(|| out.join(format!("{hostname}.key"))),
        key_seed: p.get("--key-seed").map(str::to_string),
        hostname,
        zone,
        out,
        wait: Duration::from_secs(wait),
        direct: p.flag("--direct"),
        acme_server: p.get("--acme-server").unwrap_or(STAGING).to_string(),
        acme_ca: p.get("--acme-ca").map(PathBuf::from),
        email: p.get("--email").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(a: &[&str]) -> Result<Opts, ToolError> {
        let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        parse_args(&cli::parse(&a, SPEC, usize::MAX)?)
    }

    const KEY: &str =
        "--key=k._update.example.org:SHA256:PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

    #[test]
    fn options_in_every_spelling() {
        let o = parsed(&[
            "--server",
            "10.0.0.2",
            KEY,
            "--hostname",
            "WWW.example.org.",
            "--wait=5",
        ])
        .unwrap();
        assert_eq!(o.server, "10.0.0.2:53".parse().unwrap());
        assert_eq!(o.hostname, "www.example.org");
        assert_eq!(o.wait, Duration::from_secs(5));
        assert_eq!(o.key_file, PathBuf::from("./www.example.org.key"));
        let o = parsed(&[
            "10.0.42.2",
            "foo.mirage",
            KEY,
            "--key-file",
            "/k.pem",
            "--out=/o",
        ])
        .unwrap();
        assert_eq!(
            (o.hostname.as_str(), o.key_file),
            ("foo.mirage", PathBuf::from("/k.pem"))
        );
        for bad in [
            &["10.0.0.2", KEY][..],
            &["10.0.0.2", "h"],
            &["10.0.0.2", "h", KEY, "--wait=x"],
            &["nope", "h", KEY],
        ] {
            assert_eq!(
                parsed(bad).err().unwrap().status(),
                cli::EX_USAGE,
                "{bad:?}"
            );
        }
    }
}
