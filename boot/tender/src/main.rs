//! gitns-hvt: the KVM tender (not yet written).
fn main() {
    eprintln!("gitns-hvt: not yet implemented");
    std::process::exit(1);
}
