//! The dependency audit of the test command (issue 25): `cargo deny check
//! licenses bans sources` against deny.toml. Advisories are left out: their
//! database lives on a host this project's machines and CI cannot reach
//! (docs/design.md, 2026-12-07).

use crate::util::{cargo, run_ok};

/// The checks run, in cargo-deny's words.
pub const CHECKS: &[&str] = &["licenses", "bans", "sources"];

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
