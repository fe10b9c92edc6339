//! `cargo xtask build`: the image, with its own profile, target and link
//! arguments (DESIGN.md "Image build").

use crate::util::{cargo, root, run_ok};

use std::path::PathBuf;

/// Target dir of the tender and unix binaries built by xtask: separate from
/// target/ so a build started from inside `cargo test` never waits on the
/// lock of the test build.
const HOST_TOOLS_DIR: &str = "target/host-tools";

/// The image variants: the plain one declares only the network device
/// `service`; the storage one also declares the block device `storage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Plain,
    Storage,
}

impl Variant {
    fn file(self) -> &'static str {
        match self {
            Variant::Plain => "gitns.hvt",
            Variant::Storage => "gitns-storage.hvt",
        }
    }

    fn features(self) -> &'static str {
        match self {
            Variant::Plain => "image",
            Variant::Storage => "image storage",
        }
    }

    fn target_dir(self) -> &'static str {
        match self {
            Variant::Plain => "target/image-build",
            Variant::Storage => "target/image-build-storage",
        }
    }
}

/// Where the built image is left.
pub fn image_path() -> PathBuf {
    root().join("target/image/gitns.hvt")
}

/// Build the plain image and return its path.
pub fn image(quiet: bool) -> Result<PathBuf, String> {
    image_variant(Variant::Plain, quiet)
}

/// Build the storage variant and return its path.
pub fn image_storage(quiet: bool) -> Result<PathBuf, String> {
    image_variant(Variant::Storage, quiet)
}

/// Build one image variant and return its path.
pub fn image_variant(variant: Variant, quiet: bool) -> Result<PathBuf, String> {
    let root = root();
    let target_dir = root.join(variant.target_dir());
    run_ok(&mut image_cmd(variant.features(), &target_dir, quiet))?;
    let built = target_dir.join("x86_64-unknown-linux-gnu/image/gitns");
    let out = root.join("target/image").join(variant.file());
    std::fs::create_dir_all(out.parent().expect("image path has a parent"))
        .map_err(|e| e.to_string())?;
    std::fs::copy(&built, &out).map_err(|e| format!("copy {}: {e}", built.display()))?;
    Ok(out)
}

/// The plain image as built but with its symbol table (for the size
/// breakdown of `bench size`); same code, only `strip` differs.
pub fn image_with_symbols(quiet: bool) -> Result<PathBuf, String> {
    let target_dir = root().join("target/image-build-symbols");
    let mut cmd = image_cmd(Variant::Plain.features(), &target_dir, quiet);
    cmd.env("CARGO_PROFILE_IMAGE_STRIP", "none");
    run_ok(&mut cmd)?;
    Ok(target_dir.join("x86_64-unknown-linux-gnu/image/gitns"))
}

/// `cargo build` of the image with `features` into `target_dir`.
fn image_cmd(features: &str, target_dir: &std::path::Path, quiet: bool) -> std::process::Command {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--profile",
        "image",
        "--target",
        "x86_64-unknown-linux-gnu",
    ])
    .args(["-p", "gitns", "--bin", "gitns", "--features", features])
    .arg("--target-dir")
    .arg(target_dir)
    // Only target crates see these flags because --target is explicit.
    .env(
        "RUSTFLAGS",
        "-C relocation-model=static -C code-model=small --cfg getrandom_backend=\"custom\"",
    )
    .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if quiet {
        cmd.arg("--quiet");
    }
    cmd
}

/// Build a host binary (release, in the host-tools target dir) with the
/// package's `features` (space-separated; "" for none).
fn host_bin(package: &str, bin: &str, features: &str, quiet: bool) -> Result<PathBuf, String> {
    let root = root();
    let mut cmd = cargo();
    cmd.args(["build", "--release", "-p", package, "--bin", bin]);
    if !features.is_empty() {
        cmd.args(["--features", features]);
    }
    if quiet {
        cmd.arg("--quiet");
    }
    cmd.arg("--target-dir").arg(root.join(HOST_TOOLS_DIR));
    run_ok(&mut cmd)?;
    Ok(root.join(HOST_TOOLS_DIR).join("release").join(bin))
}

/// Build the tender and return its path.
pub fn tender(quiet: bool) -> Result<PathBuf, String> {
    host_bin("gitns-tender", "gitns-hvt", "", quiet)
}

/// Build the xtask binary itself, for tests that run its operator tools
/// inside a namespace.
pub fn xtask_bin(quiet: bool) -> Result<PathBuf, String> {
    host_bin("xtask", "xtask", "", quiet)
}

/// Build the operator tools (`gitns`, xtask/tools) and return the path.
pub fn tools(quiet: bool) -> Result<PathBuf, String> {
    host_bin("gitns-tools", "gitns", "", quiet)
}

/// Build the unix binary (the appliance on the boot/unix platform, the root
/// package's second main) and return its path.
pub fn unix(quiet: bool) -> Result<PathBuf, String> {
    host_bin("gitns", "gitns-unix", "unix", quiet)
}

/// `cargo xtask build`.
pub fn main(args: &[String]) -> Result<(), String> {
    let mut variants = vec![Variant::Plain];
    if args.iter().any(|a| a == "--storage") {
        variants.push(Variant::Storage);
    }
    let mut built = vec![];
    for v in variants {
        built.push(image_variant(v, false)?);
    }
    let hvt = tender(false)?;
    let tools = tools(false)?;
    println!("tender: {}", hvt.display());
    println!(
        "tools: {} (install: cargo install --path xtask/tools)",
        tools.display()
    );
    for img in built {
        let size = std::fs::metadata(&img).map_err(|e| e.to_string())?.len();
        println!(
            "image: {} ({} bytes, {:.1} KiB)",
            img.display(),
            size,
            size as f64 / 1024.0
        );
    }
    Ok(())
}
