//! `gitns`: the operator tools. A bad command line prints one line and
//! exits 64; a failure prints why and exits 1.
#![forbid(unsafe_code)]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("gitns: a command is needed (`gitns --help` lists them)");
        std::process::exit(gitns_tools::cli::EX_USAGE);
    };
    if let Err(e) = gitns_tools::dispatch(cmd, &args[1..]) {
        eprintln!("gitns {cmd}: {e}");
        std::process::exit(e.status());
    }
}
