//! `gitns check` (the MirageOS `ozone`): validate zones. Every zone file
//! parses and passes the zone checks; key files parse. Errors and warnings
//! print as file:line:col. Any error makes the exit status non-zero;
//! warnings (data the appliance loads but leaves out or does not serve,
//! see the table in docs/design.md) do not, unless `--strict` makes them
//! errors.
//!
//! ```text
//! gitns check FILE                     one file from the working tree
//! gitns check --old OLDFILE FILE       ... whose serial must rise over OLDFILE's
//! gitns check DIR|REPO [--rev R] [--old R]
//! ```
//!
//! FILE is a zone file named by its zone (or a `ZONE._keys`/`_keys` key
//! file, or a `ZONE._dnssec` policy or `ZONE._dnssec_keys` key file of
//! DNSSEC signing), read from disk; with `--old OLDFILE` it is compared with the
//! older version of the same zone. PATH is either a plain directory (its
//! root-level files are read from disk) or a git repository, bare or with
//! a work tree, read with gix: the files are the root-level blobs of the
//! tree of REV (default HEAD), so uncommitted edits are not seen. `--old
//! REV` (git only) also loads REV's zones. In both `--old` forms a zone
//! whose data changed must have a higher serial (RFC 1982), as `ozone
//! --old` requires, or secondaries never pick the change up.
//!
//! xtask/tools/hooks/pre-receive runs the FILE forms on every zone file a
//! push adds or changes. In a clone, before pushing: `gitns check . --old
//! origin/main`.

use crate::cli::{self, usage, Opt, ToolError, ToolResult};
use gitns_dns::zoneset::{LoadReport, ZoneSet};
use std::path::Path;

/// Read the root-level regular files of `dir`.
pub fn read_dir(dir: &Path) -> Result<Files, String> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        if !e.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        files.push((
            name,
            std::fs::read(e.path()).map_err(|err| err.to_string())?,
        ));
    }
    files.sort();
    Ok(files)
}

pub const USAGE: &str = "usage: gitns check FILE
       gitns check --old OLDFILE FILE
       gitns check DIR|REPO [--rev REV] [--old REV]
       (each with --strict: warnings fail too)

Check zone files as the appliance loads them (errors and warnings as
file:line:col; warnings name data the appliance leaves out or ignores).
FILE: one zone file named by its zone (or a ZONE._keys, ZONE._dnssec or
  ZONE._dnssec_keys file), from disk;
  --old OLDFILE: the zone's earlier version: a changed zone must raise its
  SOA serial.
DIR: the root-level files of a directory; REPO: of the git tree of REV
  (default HEAD); --old REV: changed zones must raise their serial.
Exit status 1 when a file is rejected (or warns, with --strict).";

struct Args {
    path: String,
    rev: Option<String>,
    old: Option<String>,
    /// Warnings fail the check too.
    strict: bool,
}

const SPEC: &[Opt] = &[
    Opt("--rev", true),
    Opt("--old", true),
    Opt("--strict", false),
];

fn args(p: &cli::Parsed) -> Result<Args, ToolError> {
    let [path] = &p.pos[..] else {
        return Err(usage(match p.pos.len() {
            0 => "a FILE, DIR or REPO to check is needed".to_string(),
            _ => format!("one FILE, DIR or REPO, not {}", p.pos.len()),
        }));
    };
    if let Some(a) = p.rest.first() {
        return Err(usage(format!("unexpected argument `{a}`")));
    }
    Ok(Args {
        path: path.clone(),
        rev: p.get("--rev").map(str::to_string),
        old: p.get("--old").map(str::to_string),
        strict: p.flag("--strict"),
    })
}

/// Whether `path` is a git repository the way `gix::open` decides: a work
/// tree holding `.git`, or a git directory itself (bare). A subdirectory of
/// a work tree is a plain directory.
fn is_repo(path: &Path) -> bool {
    gix::discover::is_git(&path.join(".git")).is_ok() || gix::discover::is_git(path).is_ok()
}

type Files = Vec<(String, Vec<u8>)>;

/// The files to check and, with `--old`, the files to compare with.
fn inputs(a: &Args) -> Result<(Files, Option<Files>), String> {
    let path = Path::new(&a.path);
    if path.is_file() {
        return file_inputs(a);
    }
    if !is_repo(path) {
        if a.rev.is_some() || a.old.is_some() {
            return Err(format!(
                "{}: not a git repository (--rev/--old need one)",
                a.path
            ));
        }
        return Ok((read_dir(path)?, None));
    }
    let repo = gix::open(path).map_err(|e| format!("{}: {e}", a.path))?;
    let files = crate::gitread::files_at(&repo, a.rev.as_deref().unwrap_or("HEAD"))?;
    let old = a
        .old
        .as_deref()
        .map(|r| crate::gitread::files_at(&repo, r))
        .transpose()?;
    Ok((files, old))
}

/// One file and, with `--old`, its earlier version under the same name
/// (the zone is named by FILE, wherever OLDFILE lies).
fn file_inputs(a: &Args) -> Result<(Files, Option<Files>), String> {
    if a.rev.is_some() {
        return Err(format!(
            "{}: a file; --rev goes with a git repository",
            a.path
        ));
    }
    let path = Path::new(&a.path);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: no file name", a.path))?
        .to_string();
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let old = match &a.old {
        Some(o) => Some(vec![(name.clone(), read(Path::new(o))?)]),
        None => None,
    };
    Ok((vec![(name, read(path)?)], old))
}

/// `ozone --old`: a zone present in both sets whose data changed must have
/// a serial greater than before in RFC 1982 serial arithmetic (so 5 rises
/// from 4294967290, and 4000000000 does not rise from 2). "Changed" compares
/// the loaded zones, not the bytes: a comment-only edit needs no bump, a
/// change through `$INCLUDE` does. Zones that failed to load, were added or
/// were removed are not compared.
fn serial_errors(before: &ZoneSet, after: &ZoneSet) -> Vec<String> {
    after
        .zones()
        .filter_map(|z| {
            let old = before.zone(&z.origin)?;
            let (s, was) = (z.serial()?, old.serial()?);
            (old != z && !gitns_dns::serial::gt(s, was)).then(|| {
                let name = z.origin.to_text();
                let name = name.trim_end_matches('.');
                format!("{name}: serial {s} did not rise (was {was})")
            })
        })
        .collect()
}

/// Load (and with `--old` compare) as the arguments say: the report, with
/// the serial errors among its errors, and the number of keys.
fn check(a: &Args) -> Result<(LoadReport, usize), String> {
    let (files, old) = inputs(a)?;
    let (zs, mut rep) = ZoneSet::load(&files, None);
    if let Some(old) = old {
        rep.errors
            .extend(serial_errors(&ZoneSet::load(&old, None).0, &zs));
    }
    Ok((rep, zs.keys.len()))
}

/// `gitns check ARGS`.
pub fn main(a: &[String]) -> ToolResult {
    let p = cli::parse(a, SPEC, usize::MAX)?;
    if p.help {
        println!("{USAGE}");
        return Ok(());
    }
    let a = args(&p)?;
    let (rep, keys) = check(&a)?;
    for (name, serial, records) in &rep.loaded {
        println!("ok    {name} serial {serial}, {records} records");
    }
    println!("keys  {keys}");
    for w in &rep.warnings {
        println!("warn  {w}");
    }
    for e in &rep.errors {
        println!("error {e}");
    }
    verdict(&rep, a.strict)
}

/// The exit status: errors fail, warnings only with `--strict`.
fn verdict(rep: &LoadReport, strict: bool) -> ToolResult {
    match (rep.errors.len(), rep.warnings.len()) {
        (0, 0) => Ok(()),
        (0, w) if !strict => {
            eprintln!("check: {w} warning(s); --strict makes them errors");
            Ok(())
        }
        (0, w) => Err(ToolError::Failed(format!("{w} warning(s), and --strict"))),
        (e, _) => Err(ToolError::Failed(format!("{e} file(s) rejected"))),
    }
}

/// A TXT record line at `owner` whose RDATA is `n` octets (character
/// strings of up to 255): zones at and past the RDATA limits, for tests.
pub fn txt_of_size(owner: &str, n: usize) -> String {
    let mut s = format!("{owner} TXT");
    let mut left = n;
    while left > 0 {
        let k = left.min(256) - 1;
        s.push_str(&format!(" \"{}\"", "x".repeat(k)));
        left -= k + 1;
    }
    s + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, a: &[&str]) {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "commit.gpgsign=false"])
            .args(a)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .output()
            .expect("git runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "git {a:?}: {err}");
    }

    fn run(a: &[&str]) -> Result<(LoadReport, usize), String> {
        let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        let p = cli::parse(&a, SPEC, usize::MAX).map_err(|e| e.to_string())?;
        check(&args(&p).map_err(|e| e.to_string())?)
    }

    /// The error lines of a check that ran.
    fn errors(a: &[&str]) -> Vec<String> {
        run(a).unwrap().0.errors
    }

    fn zone(serial: u32, extra: &str) -> String {
        format!("$TTL 60\n@ SOA ns hm {serial} 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n{extra}")
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn check_reads_git_revisions_and_wants_serials_to_rise() {
        let dir = temp("gitns-check-git");
        let d = dir.to_str().unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        let commit = |files: &[(&str, &str)]| {
            for (name, text) in files {
                let p = dir.join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, text).unwrap();
            }
            git(&dir, &["add", "-A"]);
            git(&dir, &["commit", "-q", "-m", "c"]);
        };
        let no_errors: Vec<String> = Vec::new();

        // Only root-level blobs not starting with '.' are zone files.
        commit(&[
            ("example.org", &zone(1, "")),
            (".hidden", "junk"),
            ("sub/x.net", "junk"),
        ]);
        let (rep, keys) = run(&[d]).unwrap();
        assert_eq!((rep.errors, keys), (no_errors.clone(), 0));
        assert_eq!(rep.loaded, [("example.org.".to_string(), 1, 3)]);

        // Changed without a bump: refused against the old revision; an
        // unchanged zone needs none.
        commit(&[("example.org", &zone(1, "www A 192.0.2.2\n"))]);
        assert_eq!(
            errors(&[d, "--old", "HEAD~1"]),
            ["example.org: serial 1 did not rise (was 1)"]
        );
        assert_eq!(
            main(&[d.into(), "--old".into(), "HEAD~1".into()]),
            Err(ToolError::Failed("1 file(s) rejected".into()))
        );
        assert_eq!(errors(&[d, "--old", "HEAD"]), no_errors);

        // Bumped: accepted. A comment-only edit needs no bump.
        commit(&[("example.org", &zone(2, "www A 192.0.2.2\n; note\n"))]);
        assert_eq!(errors(&[d, "--old", "HEAD~1"]), no_errors);
        assert_eq!(errors(&[d, "--old", "HEAD~2"]), no_errors);

        // RFC 1982: 4000000000 is more than 2^31 ahead of 2, so it is not
        // greater (a plain `>` would say it is).
        commit(&[("example.org", &zone(4_000_000_000, ""))]);
        assert_eq!(
            errors(&[d, "--old", "HEAD~1"]),
            ["example.org: serial 4000000000 did not rise (was 2)"]
        );

        // The same history from a bare clone, naming revisions.
        let bare = dir.with_extension("git");
        let b = bare.to_str().unwrap();
        let _ = std::fs::remove_dir_all(&bare);
        git(&dir, &["clone", "-q", "--bare", d, b]);
        assert_eq!(run(&[b]).unwrap().0.loaded[0].1, 4_000_000_000);
        assert_eq!(
            errors(&[b, "--rev", "main~2", "--old", "main~3"]),
            ["example.org: serial 1 did not rise (was 1)"]
        );
        assert_eq!(
            errors(&[b, "--rev", "main~1", "--old", "main~3"]),
            no_errors
        );

        // A broken zone in a commit, named by file:line:col; the work tree
        // is not read, so an uncommitted fix changes nothing.
        commit(&[("example.org", &zone(5, "bad A 1.2.3\n"))]);
        std::fs::write(dir.join("example.org"), zone(5, "")).unwrap();
        assert_eq!(
            errors(&[d]),
            ["example.org:5:7: A record: expected an IPv4 address"]
        );
        assert_eq!(errors(&[d, "--rev", "HEAD~1"]), no_errors);

        // Bad input is an error message, not a panic.
        assert!(run(&[d, "--rev", "nosuchrev"])
            .unwrap_err()
            .starts_with("nosuchrev: "));
        assert!(run(&[b, "--old", "main~99"])
            .unwrap_err()
            .starts_with("main~99: "));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&bare);
    }

    /// The zone-content limits battery (issue 24), each limit just below
    /// and just above: the files below a limit load, those above are
    /// rejected with file:line:col, and nothing panics.
    #[test]
    fn zone_content_limits_battery() {
        let dir = temp("gitns-check-limits");
        let d = dir.to_str().unwrap();
        // www.below.net. and www.above.net.: 4 + 6 + 4 + 1 octets of
        // name, so at most 65535 - 1295 - 15 - 10 octets of RDATA
        // (rdata::max_rdata).
        let max = gitns_dns::rdata::max_rdata(15);
        assert_eq!(max, 64215);
        let w = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
        w("below.net", zone(1, &txt_of_size("www", max)));
        w("above.net", zone(1, &txt_of_size("www", max + 1)));
        w("u16.net", zone(1, &txt_of_size("www", 65536)));
        // $INCLUDE: 64 reads load, 65 do not (the included file is a zone
        // file of its own too, and fails as one: no SOA).
        w("part", "x A 192.0.2.1\n".into());
        w("inc64.net", zone(1, &"$INCLUDE part\n".repeat(64)));
        w("inc65.net", zone(1, &"$INCLUDE part\n".repeat(65)));
        let (rep, _) = run(&[d]).unwrap();
        let loaded: Vec<&str> = rep.loaded.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(loaded, ["below.net.", "inc64.net."]);
        let e = |f: &str, n: usize, max: usize| {
            format!(
                "{f}:5:5: TXT record: {n} octets of RDATA cannot fit a DNS message \
                 (at most {max} at this owner; RFC 1035 3.2.1, 4.2.2)"
            )
        };
        assert_eq!(
            rep.errors,
            [
                e("above.net", max + 1, max),
                "inc65.net:69:10: $INCLUDE: more than 64 files read for one zone".into(),
                "part:1:3: no TTL: give one or set $TTL".into(),
                e("u16.net", 65536, max + 2),
            ]
        );
        assert_eq!(main(&[d.into()]), Err("4 file(s) rejected".into()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn check_reads_a_plain_directory_from_disk() {
        let dir = temp("gitns-check-dir");
        let d = dir.to_str().unwrap();
        std::fs::write(dir.join("example.org"), zone(1, "")).unwrap();
        assert_eq!(main(&[d.into()]), Ok(()));
        std::fs::write(dir.join("bad.net"), zone(1, "www A 1.2.3\n")).unwrap();
        assert_eq!(
            errors(&[d]),
            ["bad.net:5:7: A record: expected an IPv4 address"]
        );
        assert_eq!(
            main(&[d.into()]),
            Err(ToolError::Failed("1 file(s) rejected".into()))
        );
        std::fs::remove_file(dir.join("bad.net")).unwrap();

        // Warnings pass, unless --strict.
        std::fs::write(
            dir.join("warn.net"),
            zone(
                1,
                "other.org. A 192.0.2.9
",
            ),
        )
        .unwrap();
        let (rep, _) = run(&[d]).unwrap();
        assert_eq!(
            rep.warnings,
            ["warn.net:5:1: other.org. is outside the zone warn.net.: left out, never served nor transferred"]
        );
        assert_eq!(main(&[d.into()]), Ok(()));
        assert_eq!(
            main(&[d.into(), "--strict".into()]),
            Err(ToolError::Failed("1 warning(s), and --strict".into()))
        );
        assert_eq!(
            run(&[d, "--old", "HEAD"]).unwrap_err(),
            format!("{d}: not a git repository (--rev/--old need one)")
        );
        assert!(run(&[&format!("{d}/nonexistent")]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn check_one_file_and_its_older_version() {
        let dir = temp("gitns-check-file");
        let f = dir.join("example.org");
        let old = dir.join("example.org.old");
        std::fs::write(&old, zone(1, "")).unwrap();
        std::fs::write(&f, zone(1, "www A 192.0.2.2\n")).unwrap();
        let (f, old) = (f.to_str().unwrap(), old.to_str().unwrap());
        let (rep, _) = run(&[f]).unwrap();
        assert_eq!(rep.loaded, [("example.org.".to_string(), 1, 4)]);
        // The zone is named by FILE, not OLDFILE.
        assert_eq!(
            errors(&["--old", old, f]),
            ["example.org: serial 1 did not rise (was 1)"]
        );
        std::fs::write(f, zone(2, "www A 192.0.2.2\n")).unwrap();
        assert_eq!(errors(&["--old", old, f]), Vec::<String>::new());
        std::fs::write(f, zone(3, "www A 192.0.2\n")).unwrap();
        assert_eq!(
            errors(&[f, "--old", old]),
            ["example.org:5:7: A record: expected an IPv4 address"]
        );
        // A key file on its own.
        let k = dir.join("example.org._keys");
        std::fs::write(&k, "k._update.example.org. DNSKEY 0 3 163 AAAA\n").unwrap();
        assert_eq!(run(&[k.to_str().unwrap()]).unwrap().1, 1);
        // A DNSSEC policy file (issue 26) is checked as one, not as a zone.
        let p = dir.join("example.org._dnssec");
        std::fs::write(&p, "denial nsec3\n").unwrap();
        assert_eq!(errors(&[p.to_str().unwrap()]), Vec::<String>::new());
        std::fs::write(&p, "denial nsec3\nkeys all\n").unwrap();
        assert_eq!(
            errors(&[p.to_str().unwrap()]),
            ["example.org._dnssec:2: unknown keys \"all\" (csk, ksk+zsk)"]
        );
        assert!(run(&[f, "--rev", "HEAD"])
            .unwrap_err()
            .contains("--rev goes with"));
        assert!(run(&[f, "--old", "/nonexistent"])
            .unwrap_err()
            .starts_with("/nonexistent: "));
        assert!(run(&[]).unwrap_err().contains("is needed"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
