//! `gitns keygen` (the MirageOS `awa_gen_key --keytype ed25519`): an
//! ed25519 key for the appliance's SSH client, printed as the seed's
//! pipeline reads it:
//!
//! ```text
//! ED25519 private key <base64 32-byte seed>     head -n1 | cut -d' ' -f4
//! ssh-ed25519 AAAA... gitns@gitns.local         tail -n1 >> authorized_keys
//! ```
//!
//! The image takes the seed as `--ssh-key=ed25519:<seed>`. The SHA256
//! fingerprint (as `ssh-keygen -lf` prints it) goes to stderr.

use crate::cli::{self, usage, ToolResult};
use std::io::Read;

pub const USAGE: &str = "usage: gitns keygen [--keytype ed25519]

Make an ed25519 key for the appliance's git-over-SSH client. stdout:
  ED25519 private key SEED      (boot the image with --ssh-key=ed25519:SEED)
  ssh-ed25519 AAAA... COMMENT   (the line for the git server's authorized_keys)
stderr: the key's SHA256 fingerprint. As awa_gen_key's output:
  gitns keygen > ssh.key; head -n1 ssh.key | cut -d' ' -f4; tail -n1 ssh.key";

/// The comment of the public key line.
const COMMENT: &str = "gitns@gitns.local";

/// A random 32-byte seed from the kernel.
fn seed() -> Result<[u8; 32], String> {
    let mut s = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut s))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(s)
}

/// The key of a seed as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// `ED25519 private key <base64 seed>`.
    pub private_line: String,
    /// `ssh-ed25519 <base64 blob> gitns@gitns.local`.
    pub public_line: String,
    /// `SHA256:<unpadded base64>`.
    pub fingerprint: String,
}

/// Describe the key of `seed`.
pub fn describe(seed: &[u8; 32]) -> Described {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(seed);
    let pk = gitns_git::ssh::ed25519_public(seed);
    Described {
        private_line: format!("ED25519 private key {b64}"),
        public_line: gitns_git::ssh::public_key_line(seed, COMMENT),
        fingerprint: gitns_git::ssh::fingerprint_ed25519(&pk),
    }
}

/// `gitns keygen ARGS`.
pub fn main(args: &[String]) -> ToolResult {
    let p = cli::parse(args, &[cli::Opt("--keytype", true)], usize::MAX)?;
    if p.help {
        println!("{USAGE}");
        return Ok(());
    }
    if let Some(a) = p.pos.first().or(p.rest.first()) {
        return Err(usage(format!("unexpected argument `{a}`")));
    }
    match p.get("--keytype") {
        None | Some("ed25519") => {}
        Some(t) => {
            return Err(usage(format!(
                "--keytype {t}: only ed25519 (the image takes no RSA user keys)"
            )))
        }
    }
    let d = describe(&seed()?);
    println!("{}", d.private_line);
    println!("{}", d.public_line);
    eprintln!("fingerprint: {}", d.fingerprint);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_keygen_agrees_on_the_fingerprint() {
        let d = describe(&[3u8; 32]);
        assert_eq!(
            d.private_line.split(' ').nth(3),
            Some("AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=")
        );
        let dir = std::env::temp_dir().join(format!("gitns-keygen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k.pub"), format!("{}\n", d.public_line)).unwrap();
        let Ok(out) = std::process::Command::new("ssh-keygen")
            .arg("-lf")
            .arg(dir.join("k.pub"))
            .output()
        else {
            eprintln!("SKIP: ssh-keygen not installed");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&d.fingerprint), "{text} vs {}", d.fingerprint);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
