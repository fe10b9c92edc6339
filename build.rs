//! Link arguments for the image binary `gitns` only (feature "image"); host
//! builds of the library and the unix binary are untouched. See DESIGN.md "Image build".
fn main() {
    println!("cargo:rerun-if-changed=boot/guest/link.ld");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_IMAGE").is_none() {
        return;
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--gc-sections",
        "-Wl,--build-id=none",
        "-Wl,-z,max-page-size=4096",
        "-Wl,-z,noexecstack",
    ] {
        println!("cargo:rustc-link-arg-bin=gitns={arg}");
    }
    println!("cargo:rustc-link-arg-bin=gitns=-Wl,-T,{dir}/boot/guest/link.ld");
}
