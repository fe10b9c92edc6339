//! The dependency audit (issue 25). The test command runs `cargo deny check
//! licenses bans sources` against deny.toml. Advisories need the RustSec
//! database, which lives on a host this project's machines and CI cannot
//! reach (docs/design.md, 2026-12-07): `cargo xtask audit DB` checks them
//! offline against a clone of that database the operator brings.

use crate::util::{cargo, run_ok};
use std::path::Path;

/// The checks run by the test command, in cargo-deny's words.
pub const CHECKS: &[&str] = &["licenses", "bans", "sources"];

/// Where cargo-deny 0.20 keeps the database of its default URL
/// (https://github.com/rustsec/advisory-db) under `db-path`.
const DEFAULT_DB_DIR: &str = "advisory-db-3157b0e258782691";

/// Install cargo-deny if needed and run the checks; an error when one fails.
pub fn check() -> Result<(), String> {
    crate::deps::install_cargo_deny()?;
    run_ok(
        cargo()
            .args(["deny", "check", "--hide-inclusion-graph"])
            .args(CHECKS),
    )
    .map_err(|e| format!("cargo deny (deny.toml): {e}"))
}

/// `cargo xtask audit DB`: the advisories of the workspace's and the fuzz
/// crate's graphs against `DB`, a git clone of rustsec/advisory-db, with no
/// network (deny.toml plus a `db-path` holding a clone of `DB`).
pub fn audit(args: &[String]) -> Result<(), String> {
    let [db] = args else {
        return Err("usage: cargo xtask audit ADVISORY_DB_GIT_DIR".into());
    };
    crate::deps::install_cargo_deny()?;
    let work = std::env::temp_dir().join(format!("gitns-audit-{}", std::process::id()));
    let r = audit_in(Path::new(db), &work);
    let _ = std::fs::remove_dir_all(&work);
    r
}

fn audit_in(db: &Path, work: &Path) -> Result<(), String> {
    let root = crate::util::root();
    let clone = work.join("db").join(DEFAULT_DB_DIR);
    run_ok(
        std::process::Command::new("git")
            .args(["clone", "-q"])
            .arg(db)
            .arg(&clone),
    )
    .map_err(|e| format!("cloning the advisory database {}: {e}", db.display()))?;
    let base = std::fs::read_to_string(root.join("deny.toml")).map_err(|e| e.to_string())?;
    let config = work.join("deny.toml");
    let db_path = work.join("db");
    let text = format!(
        "{base}\n[advisories]\ndb-path = \"{}\"\n",
        db_path.display()
    );
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    for manifest in ["Cargo.toml", "fuzz/Cargo.toml"] {
        run_ok(
            cargo()
                .args(["deny", "--offline", "--config"])
                .arg(&config)
                .arg("--manifest-path")
                .arg(root.join(manifest))
                .args(["check", "--hide-inclusion-graph", "advisories"]),
        )
        .map_err(|e| format!("cargo deny advisories ({manifest}): {e}"))?;
    }
    Ok(())
}
