//! `cargo xtask keygen`: an ed25519 key for the appliance's SSH client.
//! Prints the `--ssh-key=ed25519:<base64 seed>` argument (the form
//! `awa_gen_key` prints and operators already use), the OpenSSH public key
//! line for authorized_keys, and its SHA256 fingerprint.

use std::io::Read;

/// A random 32-byte seed from the kernel.
fn seed() -> Result<[u8; 32], String> {
    let mut s = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut s))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(s)
}

/// The three lines for a seed.
pub fn describe(seed: &[u8; 32]) -> (String, String, String) {
    use base64::Engine;
    let arg = format!(
        "ed25519:{}",
        base64::engine::general_purpose::STANDARD.encode(seed)
    );
    let line = gitns_git::ssh::public_key_line(seed, "gitns");
    let pk = gitns_git::ssh::ed25519_public(seed);
    (arg, line, gitns_git::ssh::fingerprint_ed25519(&pk))
}

pub fn main(_args: &[String]) -> Result<(), String> {
    let (arg, line, fp) = describe(&seed()?);
    println!("appliance argument:  --ssh-key={arg}");
    println!("authorized_keys:     {line}");
    println!("fingerprint:         {fp}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_keygen_agrees_on_the_fingerprint() {
        let (arg, line, fp) = describe(&[3u8; 32]);
        assert!(arg.starts_with("ed25519:AwMD"));
        let dir = std::env::temp_dir().join(format!("gitns-keygen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k.pub"), format!("{line}\n")).unwrap();
        let Ok(out) = std::process::Command::new("ssh-keygen")
            .arg("-lf")
            .arg(dir.join("k.pub"))
            .output()
        else {
            eprintln!("SKIP: ssh-keygen not installed");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&fp), "{text} vs {fp}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
