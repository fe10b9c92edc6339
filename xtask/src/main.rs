//! cargo xtask: build, run, demo, test, bench and the operator tools.
fn main() {
    eprintln!("xtask: not yet implemented");
    std::process::exit(1);
}
