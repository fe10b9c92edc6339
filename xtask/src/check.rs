//! `cargo xtask check PATH [--rev REV] [--old REV]`: validate zones like
//! the OCaml `ozone` tool: every root-level zone file parses and passes the
//! zone checks; key files parse. PATH is a directory of zone files, or a
//! git repository (bare or not, read with gix) whose REV (default HEAD) is
//! checked. `--old REV`: every zone that changed since REV must have a
//! higher serial (RFC 1982), as `ozone --old` requires, so secondaries
//! pick the change up. Errors print as file:line:col; any error makes the
//! exit status non-zero.
//!
//! In a work tree without `--rev` the files as they are on disk are
//! checked, so a pre-commit hook is `cargo xtask check . --old HEAD`; a
//! bare repository is checked at `--rev` (default HEAD).

use gitns_dns::zoneset::ZoneSet;

/// Read the root-level regular files of `dir`.
pub fn read_dir(dir: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>, String> {
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

struct Args {
    path: String,
    rev: Option<String>,
    old: Option<String>,
}

fn args(a: &[String]) -> Result<Args, String> {
    let usage = "usage: cargo xtask check PATH [--rev REV] [--old REV]";
    let mut out = Args {
        path: String::new(),
        rev: None,
        old: None,
    };
    let mut it = a.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--rev" => out.rev = Some(it.next().ok_or(usage)?.clone()),
            "--old" => out.old = Some(it.next().ok_or(usage)?.clone()),
            p if out.path.is_empty() && !p.starts_with("--") => out.path = p.to_string(),
            _ => return Err(usage.to_string()),
        }
    }
    if out.path.is_empty() {
        return Err(usage.to_string());
    }
    Ok(out)
}

/// Changed zones whose serial did not rise since `old` (RFC 1982).
fn serial_errors(
    old: &[(String, Vec<u8>)],
    new: &[(String, Vec<u8>)],
    zs: &ZoneSet,
) -> Vec<String> {
    let (before, _) = ZoneSet::load(old, None);
    let mut errs = Vec::new();
    for (name, data) in new {
        let changed = old
            .iter()
            .find(|(n, _)| n == name)
            .is_some_and(|(_, d)| d != data);
        let Ok(origin) = gitns_dns::name::Name::parse(name, &gitns_dns::name::Name::root()) else {
            continue;
        };
        let (Some(a), Some(b)) = (
            zs.zone(&origin).and_then(|z| z.serial()),
            before.zone(&origin).and_then(|z| z.serial()),
        ) else {
            continue;
        };
        if changed && !gitns_dns::serial::gt(a, b) {
            errs.push(format!("{name}: serial {a} did not rise (was {b})"));
        }
    }
    errs
}

pub fn main(a: &[String]) -> Result<(), String> {
    let a = args(a)?;
    let path = std::path::Path::new(&a.path);
    let (files, old) = match gix::open(path) {
        Ok(repo) => {
            // No --rev in a work tree: the files as they are (pre-commit).
            let files = match (&a.rev, repo.workdir()) {
                (None, Some(w)) => read_dir(w)?,
                (rev, _) => xtask::gitread::files_at(&repo, rev.as_deref().unwrap_or("HEAD"))?,
            };
            let old = a
                .old
                .as_deref()
                .map(|r| xtask::gitread::files_at(&repo, r))
                .transpose()?;
            (files, old)
        }
        Err(_) if a.rev.is_some() || a.old.is_some() => {
            return Err(format!(
                "{}: not a git repository (--rev/--old need one)",
                a.path
            ))
        }
        Err(_) => (read_dir(path)?, None),
    };
    let (zs, mut rep) = ZoneSet::load(&files, None);
    if let Some(old) = &old {
        rep.errors.extend(serial_errors(old, &files, &zs));
    }
    for (name, serial, records) in &rep.loaded {
        println!("ok    {name} serial {serial}, {records} records");
    }
    println!("keys  {}", zs.keys.len());
    for w in &rep.warnings {
        println!("warn  {w}");
    }
    for e in &rep.errors {
        println!("error {e}");
    }
    if rep.errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{} file(s) rejected", rep.errors.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &std::path::Path, a: &[&str]) {
        let ok = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(a)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {a:?}");
    }

    #[test]
    fn check_reads_git_revisions_and_wants_serials_to_rise() {
        if std::process::Command::new("git")
            .arg("--version")
            .output()
            .is_err()
        {
            assert_ne!(
                std::env::var("GITNS_REQUIRE_KVM").as_deref(),
                Ok("1"),
                "git missing"
            );
            eprintln!("SKIP: git is not installed");
            return;
        }
        let dir = std::env::temp_dir().join(format!("gitns-check-git-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        let zone = |serial: u32, extra: &str| {
            format!("$TTL 60\n@ SOA ns hm {serial} 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n{extra}")
        };
        let commit = |text: &str, msg: &str| {
            std::fs::write(dir.join("example.org"), text).unwrap();
            git(&dir, &["add", "-A"]);
            git(&dir, &["commit", "-q", "-m", msg]);
        };
        let d = dir.display().to_string();
        let s = |x: &str| x.to_string();
        commit(&zone(1, ""), "one");
        assert_eq!(main(&[d.clone()]), Ok(()));
        // Changed without a serial bump: refused against the old revision.
        commit(&zone(1, "www A 192.0.2.2\n"), "no bump");
        assert_eq!(
            main(&[d.clone(), s("--old"), s("HEAD~1")]),
            Err("1 file(s) rejected".into())
        );
        commit(&zone(2, "www A 192.0.2.2\n"), "bump");
        assert_eq!(main(&[d.clone(), s("--old"), s("HEAD~1")]), Ok(()));
        // The same from a bare clone, naming revisions.
        let bare = dir.with_extension("git");
        let _ = std::fs::remove_dir_all(&bare);
        git(&dir, &["clone", "-q", "--bare", &d, bare.to_str().unwrap()]);
        let b = bare.display().to_string();
        assert_eq!(
            main(&[b.clone(), s("--rev"), s("main~1"), s("--old"), s("main~2")]),
            Err("1 file(s) rejected".into())
        );
        assert_eq!(
            main(&[b.clone(), s("--rev"), s("main"), s("--old"), s("main~2")]),
            Ok(())
        );
        // A broken zone in a commit.
        commit(&zone(3, "bad A 1.2.3\n"), "broken");
        assert_eq!(main(&[d.clone()]), Err("1 file(s) rejected".into()));
        assert!(main(&[d.clone(), s("--rev"), s("nosuchrev")])
            .unwrap_err()
            .contains("nosuchrev"));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&bare);
    }

    #[test]
    fn check_fails_on_a_broken_zone_and_passes_a_good_one() {
        let dir = std::env::temp_dir().join(format!("gitns-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("example.org"),
            "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n",
        )
        .unwrap();
        assert!(main(&[dir.display().to_string()]).is_ok());
        std::fs::write(
            dir.join("bad.net"),
            "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nwww A 1.2.3\n",
        )
        .unwrap();
        assert_eq!(
            main(&[dir.display().to_string()]),
            Err("1 file(s) rejected".to_string())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
