//! The SSH client transport (sunset under our SshExec) on arbitrary server
//! bytes, fed in pieces the input chooses: never panics or loops, whatever
//! the server sends before, during or instead of the key exchange.
#![no_main]

use gitns_git::ssh::{Credential, SshExec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, data)) = data.split_first() else { return };
    let pin = (ctl & 1 == 1).then_some("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let mut ssh = SshExec::new("git", Credential::Ed25519Seed([7; 32]), "git-upload-pack 'zones.git'", pin);
    let _ = ssh.output();
    let piece = 1 + (ctl >> 1) as usize * 16;
    let mut buf = [0u8; 4096];
    for chunk in data.chunks(piece) {
        if ssh.input(chunk).is_err() {
            break;
        }
        let _ = ssh.output();
        let _ = ssh.read(&mut buf);
        if ssh.ready() {
            let _ = ssh.write(b"0000");
        }
        if ssh.is_dead() {
            break;
        }
    }
    assert!(ssh.stderr().len() <= 4096);
});
