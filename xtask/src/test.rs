//! `cargo xtask test`: install what the tests need, build the image and the
//! host binaries once, then run every test of the workspace.

use xtask::build;
use xtask::deps;
use xtask::util::{cargo, run_ok};

pub fn main(args: &[String]) -> Result<(), String> {
    deps::install(deps::TEST_TOOLS)?;
    let image = build::image(true)?;
    let hvt = build::tender(true)?;
    let unix = build::unix(true)?;
    let size = std::fs::metadata(&image).map_err(|e| e.to_string())?.len();
    eprintln!("xtask test: image {} ({size} bytes)", image.display());
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]).args(args);
    cmd.env("GITNS_IMAGE", &image).env("GITNS_HVT", &hvt).env("GITNS_UNIX", &unix);
    run_ok(&mut cmd)
}
