//! `gitns sign`: sign a zone file with the appliance's own signer
//! (gitns_dns::dnssec::signer) and print the signed zone, as
//! `ldns-signzone` or `dnssec-signzone` would; the check of the signer
//! against real validators and the way to sign a zone offline.
//!
//! ```text
//! gitns sign FILE [--origin NAME] [--policy FILE] [--keys FILE] [--now UNIX] [--out FILE]
//! ```
//!
//! FILE is named by its zone, as `gitns check` reads it. The policy is
//! `FILE._dnssec` when that exists (else the defaults), the keys
//! `FILE._dnssec_keys`: keys the policy needs and the file lacks are made
//! from /dev/urandom and the key file is written. stderr gets the trust
//! anchor (the KSK's or CSK's DNSKEY) and its DS for the parent.

use crate::cli::{self, usage, Opt, ToolError, ToolResult};
use gitns_dns::dnssec::keyfile;
use gitns_dns::dnssec::policy::{self, Policy};
use gitns_dns::dnssec::signer::Signer;
use gitns_dns::name::Name;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub const USAGE: &str =
    "usage: gitns sign FILE [--origin NAME] [--policy FILE] [--keys FILE] [--now UNIX] [--out FILE]

Sign the zone FILE (named by its zone) as the appliance signs: the policy
from FILE._dnssec (or --policy; defaults without one), the keys from
FILE._dnssec_keys (or --keys; missing keys are made and the file written).
The signed zone goes to stdout (or --out), the trust anchor and the DS
for the parent to stderr.";

const OPTS: &[Opt] = &[
    Opt("--origin", true),
    Opt("--policy", true),
    Opt("--keys", true),
    Opt("--now", true),
    Opt("--out", true),
];

fn read(path: &Path) -> Result<String, ToolError> {
    std::fs::read_to_string(path).map_err(|e| ToolError::Failed(format!("{}: {e}", path.display())))
}

/// `FILE` with `suffix` appended to its name.
fn beside(file: &Path, suffix: &str) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn urandom(b: &mut [u8]) {
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(b))
        .expect("/dev/urandom");
}

/// The policy: `--policy`, else `FILE._dnssec` if present, else defaults.
fn load_policy(p: &cli::Parsed, file: &Path) -> Result<Policy, ToolError> {
    let path = match p.get("--policy") {
        Some(f) => PathBuf::from(f),
        None => beside(file, policy::POLICY_SUFFIX),
    };
    if p.get("--policy").is_none() && !path.exists() {
        return Ok(Policy::default());
    }
    policy::parse(&path.display().to_string(), &read(&path)?).map_err(|e| e.to_string().into())
}

/// The keys, made and written when the policy needs more.
fn load_keys(
    p: &cli::Parsed,
    file: &Path,
    policy: &Policy,
    zone: &Name,
    now: u64,
) -> Result<Vec<gitns_dns::dnssec::key::Key>, ToolError> {
    let path = match p.get("--keys") {
        Some(f) => PathBuf::from(f),
        None => beside(file, policy::KEYS_SUFFIX),
    };
    let mut keys = match path.exists() {
        true => {
            keyfile::parse(&path.display().to_string(), &read(&path)?).map_err(|e| e.to_string())?
        }
        false => Vec::new(),
    };
    if keyfile::complete(policy, &mut keys, now, &mut urandom).map_err(|e| e.to_string())? {
        std::fs::write(&path, keyfile::print(&zone.to_text(), &keys))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("gitns sign: keys made, written to {}", path.display());
    }
    Ok(keys)
}

/// Write the signed zone as a zone file to `out`, a record at a time (a
/// signed zone's text is several times the zone: never held whole).
fn print(s: &Signer, out: &mut dyn Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let (mut line, mut result) = (String::new(), Ok(()));
    s.for_each(&mut |r| {
        if result.is_err() {
            return;
        }
        line.clear();
        let t = gitns_dns::rtype::to_text(r.rtype);
        let _ = write!(line, "{}\t{}\tIN\t{t}\t", r.owner, r.ttl);
        gitns_dns::rdata::write_text_rdata(&mut line, r.rtype, r.rdata);
        line.push('\n');
        result = out.write_all(line.as_bytes());
    });
    result?;
    out.flush()
}

/// `gitns sign ARGS`.
pub fn main(args: &[String]) -> ToolResult {
    let p = cli::parse(args, OPTS, usize::MAX)?;
    if p.help {
        println!("{USAGE}");
        return Ok(());
    }
    let [file] = &p.pos[..] else {
        return Err(usage("one zone FILE to sign"));
    };
    let file = Path::new(file);
    let name = p.get("--origin").map(str::to_string).unwrap_or_else(|| {
        let base = file.file_name().unwrap_or_default().to_string_lossy();
        base.into_owned()
    });
    let origin =
        Name::parse(&name, &Name::root()).map_err(|e| usage(format!("origin {name:?}: {e}")))?;
    let now = match p.get("--now") {
        Some(t) => t
            .parse()
            .map_err(|_| usage(format!("--now {t}: not seconds")))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    let text = read(file)?;
    let policy = load_policy(&p, file)?;
    let keys = load_keys(&p, file, &policy, &origin, now)?;
    let mut seed = [0u8; 8];
    urandom(&mut seed);
    let mut s = Signer::new(origin.clone(), policy, keys, u64::from_le_bytes(seed))
        .map_err(|e| e.to_string())?;
    // The records go to the signer as they are read, never held as a list.
    let (path, mut parsed) = (file.display().to_string(), Ok(()));
    s.load_with(now, &mut |sink| {
        parsed =
            gitns_dns::zone::parser::parse_each(&path, &text, &origin, &|_| None, sink).map(drop)
    });
    parsed.map_err(|e| e.to_string())?;
    drop(text);
    for k in s.sep_keys() {
        eprintln!(
            "trust anchor: {origin} DNSKEY {}",
            gitns_dns::rdata::to_text_rdata(gitns_dns::rtype::DNSKEY, k)
        );
    }
    for ds in s.parent_ds() {
        let text = gitns_dns::rdata::to_text_rdata(gitns_dns::rtype::DS, &ds);
        eprintln!("for the parent: {origin} DS {text}");
    }
    match p.get("--out") {
        Some(o) => std::fs::File::create(o)
            .and_then(|mut f| print(&s, &mut f))
            .map_err(|e| format!("{o}: {e}").into()),
        None => print(&s, &mut std::io::stdout().lock()).map_err(|e| format!("stdout: {e}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keys_made_once_then_kept_and_broken_files_say_where() {
        let dir = std::env::temp_dir().join(format!("gitns-sign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let zone = dir.join("example.org");
        let zone_text = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
        std::fs::write(&zone, zone_text).unwrap();
        let z = zone.to_str().unwrap();
        let out = dir.join("signed");
        let o = format!("--out={}", out.display());
        main(&args(&[z, &o, "--now=1796000000"])).unwrap();
        let keys = std::fs::read_to_string(dir.join("example.org._dnssec_keys")).unwrap();
        assert_eq!(keys.lines().filter(|l| l.starts_with("csk ")).count(), 1);
        let first = std::fs::read_to_string(&out).unwrap();
        assert!(first.contains("\tDNSKEY\t257 3 13 "), "{first}");
        main(&args(&[z, &o, "--now=1796000000"])).unwrap();
        let again = std::fs::read_to_string(dir.join("example.org._dnssec_keys")).unwrap();
        assert_eq!(keys, again, "the key file is kept");
        let dnskey = |t: &str| {
            t.lines()
                .find(|l| l.contains("\tDNSKEY\t"))
                .map(String::from)
        };
        assert_eq!(
            dnskey(&first),
            dnskey(&std::fs::read_to_string(&out).unwrap())
        );
        std::fs::write(dir.join("example.org._dnssec"), "validity 1d\nrefresh 2d\n").unwrap();
        let e = main(&args(&[z, &o])).unwrap_err();
        assert!(matches!(e, ToolError::Failed(_)));
        assert!(
            e.to_string().contains("example.org._dnssec:2: refresh"),
            "{e}"
        );
        // A zone that does not read says where (the records are signed as
        // they are read: nothing is written).
        std::fs::remove_file(dir.join("example.org._dnssec")).unwrap();
        std::fs::remove_file(&out).unwrap();
        std::fs::write(&zone, format!("{zone_text}x A 192.0.2\n")).unwrap();
        let e = main(&args(&[z, &o])).unwrap_err();
        assert!(e.to_string().contains("example.org:5:"), "{e}");
        assert!(!out.exists());
        let e = main(&args(&[dir.join("nope").to_str().unwrap()])).unwrap_err();
        assert!(matches!(e, ToolError::Failed(_)), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
