//! The options table and the help text: one place that says what the
//! command line accepts.

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
                          ssh://USER@HOST[:PORT]/PATH, or read-only
                          https://HOST[:PORT]/PATH or git://HOST[:PORT]/PATH
                          (HOST an IPv4 address, or a name with --resolver;
                          branch main unless given)
  --remote-ca=BASE64      trust this CA (base64 of DER or of a PEM file) for
                          an https:// remote instead of the public roots
  --remote-user=NAME      HTTP basic auth user for an https:// remote (with
                          --remote-token as its password)
  --remote-token=TOKEN    access token or password; alone: a bearer token
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
  --acme-ca=BASE64        also trust this CA certificate (base64 of DER or of
                          a PEM file) for ACME
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
  --keys=NAME:ALG:SECRET  TSIG keys, comma-separated or repeated (ALG SHA1,
                          SHA224, SHA256, SHA384, SHA512); a key named
                          P.P.P.P.S.S.S.S._transfer.ZONE (or _update) makes
                          this a secondary of ZONE from primary P.P.P.P (its
                          own address S.S.S.S); ZONE the root: every zone
                          of that primary
  --primary=IP[:PORT]     the primary of those keys instead of the address
                          in their names (IPv6: [ADDR]:PORT; port 53)
  --catalog=NAME          publish a catalog zone NAME listing the zones
                          served (RFC 9432), e.g. catalog.invalid
  --follow-catalog=NAME   follow every member zone of the catalog zone NAME
                          (RFC 9432) from its primary, with its key (a
                          key of NAME or of the root)
  --help                  print this text
";

/// The options that take a value: (spellings, canonical name). Flags
/// (`--axfr`, `--production`, `--help`) are matched in `parse`.
pub const OPTIONS: &[(&[&str], &str)] = &[
    (&["--ipv4"], "--ipv4"),
    (&["--ipv4-gateway"], "--ipv4-gateway"),
    (&["--ipv6"], "--ipv6"),
    (&["--ipv6-gateway"], "--ipv6-gateway"),
    (&["-l", "--logs"], "--logs"),
    (&["--udp-echo"], "--udp-echo"),
    (&["--dns-port"], "--dns-port"),
    (&["--remote"], "--remote"),
    (&["--remote-ca"], "--remote-ca"),
    (&["--remote-user"], "--remote-user"),
    (&["--remote-token"], "--remote-token"),
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
    (&["--keys"], "--keys"),
    (&["--primary"], "--primary"),
    (&["--catalog"], "--catalog"),
    (&["--follow-catalog"], "--follow-catalog"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// `name` appears in the help text as a whole option name.
    fn mentioned(name: &str) -> bool {
        HELP.match_indices(name).any(|(i, _)| {
            let next = HELP[i + name.len()..].chars().next();
            !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    }

    #[test]
    fn every_option_is_in_the_help_text() {
        for (names, canonical) in OPTIONS {
            if *canonical == "--seed" {
                continue; // refused with a pointer to ed25519 keys, not offered
            }
            for name in *names {
                assert!(mentioned(name), "{name}");
            }
        }
        for flag in ["--axfr", "--production", "--help"] {
            assert!(mentioned(flag), "{flag}");
        }
        assert!(!mentioned("--ipv4-gate"));
    }
}
