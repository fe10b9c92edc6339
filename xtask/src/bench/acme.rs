//! `cargo xtask bench acme`: from a CSR placed by signed UPDATE until its
//! certificate is served as a TLSA record (gitns's own ACME client in the
//! VM), against Pebble with the VA's sleep off; beside it lego ordering
//! the same kind of certificate from the same Pebble with DNS-01 through
//! signed UPDATEs (RFC 2136) to the same gitns, the route users of other
//! ACME clients take. Both wait for Pebble's validation against gitns.

use super::report;
use super::stats::summary;
use crate::netns::Netns;
use crate::pebble::Pebble;
use gitns_dns::name::Name;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ZONE: &str = "bench.test";
const KEY: &str = "personal._update.bench.test.";
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const WAIT: Duration = Duration::from_secs(60);

use super::Kill;

pub fn run(quick: bool) -> Result<(), String> {
    crate::deps::install(&[("dig", "dnsutils"), ("pebble", "pebble"), ("lego", "lego")])?;
    let runs = if quick { 2 } else { 5 };
    let dir = std::env::temp_dir().join(format!("gitns-bench-acme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let r = measure(&dir, runs);
    if r.is_err() {
        let log = std::fs::read_to_string(dir.join("vm.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        eprintln!(
            "the VM's last lines:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (gitns, lego) = r?;
    let (g, l) = (summary(&gitns), summary(&lego));
    let image = std::fs::metadata(crate::build::image(true)?)
        .map(|m| m.len())
        .unwrap_or(0);
    let cmd = format!(
        "cargo xtask bench acme{}",
        if quick { " --quick" } else { "" }
    );
    let body = format!(
        "Command: `{cmd}` ({machine}). Pebble {peb} in the VM's namespace with\n\
`PEBBLE_VA_NOSLEEP=1`, validating DNS-01 against gitns (10.0.0.2); {runs} certificates each,\n\
one name, P-256 keys.\n\n\
| client | s min | s median | s max |\n|---|---|---|---|\n\
| gitns in-image ACME: CSR TLSA by signed UPDATE -> certificate TLSA served | {:.2} | {:.2} | {:.2} |\n\
| lego {lv}, `--dns rfc2136` to gitns (polling 1 s) -> certificate on disk | {:.2} | {:.2} | {:.2} |\n\n\
Ratio lego / gitns (median, > 1 means gitns ahead): {:.2}. Image with rustls + ring: {image} bytes.\n",
        g.min,
        g.median,
        g.max,
        l.min,
        l.median,
        l.max,
        l.median / g.median,
        machine = report::machine(),
        peb = version("pebble"),
        lv = version("lego"),
    );
    report::write_section("acme", &body)?;
    print!("{body}");
    Ok(())
}

/// The Debian package's version (neither tool reports a useful one).
fn version(package: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn measure(dir: &Path, runs: usize) -> Result<(Vec<f64>, Vec<f64>), String> {
    let ns = Netns::create("gitns-bench-acme")?;
    let pebble = Pebble::start(&ns, "10.0.0.1", "10.0.0.2:53")?;
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).map_err(|e| e.to_string())?;
    std::fs::write(
        zones.join(ZONE),
        "$TTL 300\n@ SOA ns hm 1 3600 600 86400 60\n@ NS ns\nns A 10.0.0.2\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        zones.join(format!("{ZONE}._keys")),
        format!("{KEY} DNSKEY 0 3 163 {SECRET}\n"),
    )
    .map_err(|e| e.to_string())?;
    let dev = crate::zones::pack(&zones, &dir.join("zones.tar"))?;
    let mut c = ns.command(crate::build::tender(true)?.to_str().ok_or("path")?);
    c.arg("--net:service=tap0")
        .arg(format!("--block:storage={}", dev.display()))
        .arg(crate::build::image_storage(true)?)
        .args(["--ipv4=10.0.0.2/24", "-l", "info"])
        .arg(format!("--acme-server={}", pebble.directory()))
        .arg(format!("--acme-ca={}", pebble.ca_base64()))
        .arg("--account-key-seed=gitns-bench-account-seed")
        .stdout(std::fs::File::create(dir.join("vm.log")).map_err(|e| e.to_string())?);
    let _vm = Kill(c.spawn().map_err(|e| e.to_string())?);
    wait_for(&ns, &["+short", ZONE, "SOA"], "hm")?;
    let mut gitns = Vec::new();
    for i in 0..runs {
        gitns.push(in_image(&ns, &format!("g{i}.{ZONE}"))?);
    }
    // lego looks up the zone's NS host through the system resolver: inside
    // the namespace that is gitns (`ip netns exec` mounts /etc/netns/NS/*),
    // so no query leaves it.
    let etc = Path::new("/etc/netns").join(&ns.name);
    std::fs::create_dir_all(&etc).map_err(|e| e.to_string())?;
    std::fs::write(etc.join("resolv.conf"), "nameserver 10.0.0.2\n").map_err(|e| e.to_string())?;
    let lego = (0..runs)
        .map(|i| with_lego(&ns, &pebble, dir, &format!("l{i}.{ZONE}")))
        .collect::<Result<Vec<f64>, String>>();
    let _ = std::fs::remove_dir_all(&etc);
    Ok((gitns, lego?))
}

/// dig in the namespace until its output contains `want`; bounded.
fn wait_for(ns: &Netns, args: &[&str], want: &str) -> Result<(), String> {
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        let out = ns
            .command("dig")
            .args(["@10.0.0.2", "+time=1", "+tries=1"])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&out.stdout).contains(want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(format!(
        "bench acme: no `{want}` in dig {args:?} within {WAIT:?}"
    ))
}

/// Seconds from the CSR's UPDATE to its certificate served.
fn in_image(ns: &Netns, host: &str) -> Result<f64, String> {
    use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
    let p = CertificateParams::new(vec![host.to_string()]).map_err(|e| e.to_string())?;
    let der = p
        .serialize_request(&key)
        .map_err(|e| e.to_string())?
        .der()
        .to_vec();
    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
    let owner = format!("_letsencrypt._tcp.{host}.");
    let zone = Name::parse(ZONE, &Name::root()).map_err(|e| e.to_string())?;
    let k = crate::dnstool::parse_key(&format!("{KEY}:SHA256:{SECRET}"))?;
    let msg = crate::dnstool::signed_update(
        7,
        &zone,
        &format!("add {owner} 3600 TLSA 3 255 0 {hex}"),
        &k,
    )?;
    let t0 = Instant::now();
    let answer = ns.run_in(move || gitns_tools::net::exchange("10.0.0.2:53", &msg))??;
    if answer.get(3).map(|b| b & 0x0f) != Some(0) {
        return Err(format!("bench acme: the CSR UPDATE for {host} was refused"));
    }
    wait_for(ns, &["+tcp", "+short", &owner, "TLSA"], "3 0 0 ")?;
    Ok(t0.elapsed().as_secs_f64())
}

/// Seconds for `lego run` to get a certificate for `host`.
fn with_lego(ns: &Netns, pebble: &Pebble, dir: &Path, host: &str) -> Result<f64, String> {
    let t0 = Instant::now();
    let out = ns
        .command("lego")
        .env("LEGO_CA_CERTIFICATES", pebble.ca_pem_path())
        .env("RFC2136_NAMESERVER", "10.0.0.2:53")
        .env("RFC2136_TSIG_ALGORITHM", "hmac-sha256.")
        .env("RFC2136_TSIG_KEY", KEY)
        .env("RFC2136_TSIG_SECRET", SECRET)
        .env("RFC2136_POLLING_INTERVAL", "1")
        .env("RFC2136_PROPAGATION_TIMEOUT", "60")
        .args(["--server", &pebble.directory()])
        .args(["--email", "bench@bench.test", "--accept-tos"])
        .args(["--key-type", "ec256", "--dns", "rfc2136"])
        .args(["--dns.resolvers", "10.0.0.2:53"])
        .args(["--domains", host])
        .arg("--path")
        .arg(dir.join("lego"))
        .arg("run")
        .output()
        .map_err(|e| format!("lego: {e}"))?;
    let secs = t0.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "lego for {host}: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    Ok(secs)
}
