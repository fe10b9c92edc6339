//! gitns-unix: the appliance as a Linux process on a tap device (the
//! platform is boot/unix), beside the image's main (src/main.rs, the
//! platform boot/guest). Feature "unix".

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (mut platform, cmdline) = match gitns_unix::setup(&argv) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gitns-unix: {}", e.message);
            std::process::exit(e.status);
        }
    };
    std::process::exit(gitns::run(&mut platform, &cmdline));
}
