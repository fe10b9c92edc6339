//! gitns-unix: the appliance as a Linux process (not yet written).
fn main() {
    eprintln!("gitns-unix: not yet implemented");
    std::process::exit(1);
}
