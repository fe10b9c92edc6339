//! A TSIG key written on a command line: `NAME:ALG:SECRET` (the seeds'
//! form, e.g. `10.0.42.2.10.0.42.3._update.mirage:SHA256:BASE64`) or
//! `hmac-ALG:NAME:SECRET` (dig's `-y` form). ALG is SHA1, SHA224, SHA256,
//! SHA384 or SHA512 (RFC 8945 6), any case, `hmac-` optional. One parser
//! for the appliance's `--keys=` and the operator tools' `--key=`.

use crate::keys::{Algorithm, Key};
use crate::name::Name;
use alloc::string::{String, ToString};
use core::fmt;

/// Why a key's text was refused. Never holds the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyTextError {
    /// Not three `:`-separated parts.
    Form,
    /// The key `name`'s algorithm is not an HMAC of RFC 8945 6.
    Algorithm { name: String, alg: String },
    /// The key `name`'s secret is empty or not base64.
    Secret { name: String },
    /// The name is not a domain name.
    Name { name: String },
    /// A secondary's key that names no zone and primary.
    NoPrimary { name: String },
}

impl fmt::Display for KeyTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyTextError::Form => f.write_str("expected NAME:ALG:SECRET or hmac-ALG:NAME:SECRET"),
            KeyTextError::Algorithm { name, alg } => write!(
                f,
                "key `{name}`: unsupported algorithm {alg} (SHA1, SHA224, SHA256, SHA384, SHA512)"
            ),
            KeyTextError::Secret { name } => write!(f, "key `{name}`: secret is not base64"),
            KeyTextError::Name { name } => write!(f, "key name `{name}` is not a domain name"),
            KeyTextError::NoPrimary { name } => write!(
                f,
                "key `{name}` names no zone and primary: PRIMARY-IP.OWN-IP._transfer.ZONE (or _update), or give --primary"
            ),
        }
    }
}

impl Algorithm {
    /// `SHA256`, `sha256`, `hmac-sha256`: the algorithm.
    pub fn from_text(s: &str) -> Option<Algorithm> {
        let s = s.to_ascii_lowercase();
        Some(match s.trim_start_matches("hmac-") {
            "sha1" => Algorithm::Sha1,
            "sha224" => Algorithm::Sha224,
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            _ => return None,
        })
    }
}

/// A key in either accepted form. The name is taken as absolute.
pub fn parse(s: &str) -> Result<Key, KeyTextError> {
    let mut parts = s.splitn(3, ':');
    let (Some(a), Some(b), Some(c)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyTextError::Form);
    };
    let (name, alg, secret) = if a.to_ascii_lowercase().starts_with("hmac-") {
        (b, a, c)
    } else {
        (a, b, c)
    };
    let algorithm = Algorithm::from_text(alg).ok_or_else(|| KeyTextError::Algorithm {
        name: name.to_string(),
        alg: alg.to_string(),
    })?;
    let secret = crate::base64::decode(secret)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| KeyTextError::Secret {
            name: name.to_string(),
        })?;
    let name = Name::parse(name, &Name::root()).map_err(|_| KeyTextError::Name {
        name: name.to_string(),
    })?;
    Ok(Key {
        name,
        algorithm,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    const SECRET: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";

    #[test]
    fn both_forms_give_one_key() {
        let a = parse(&format!(
            "10.0.42.2.10.0.42.3._update.mirage:SHA256:{SECRET}"
        ))
        .unwrap();
        let b = parse(&format!(
            "hmac-sha256:10.0.42.2.10.0.42.3._update.mirage.:{SECRET}"
        ))
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.name.to_text(), "10.0.42.2.10.0.42.3._update.mirage.");
        assert_eq!((a.algorithm, a.secret.len()), (Algorithm::Sha256, 32));
        for (alg, want) in [
            ("SHA1", Algorithm::Sha1),
            ("sha224", Algorithm::Sha224),
            ("HMAC-SHA384", Algorithm::Sha384),
            ("Sha512", Algorithm::Sha512),
        ] {
            assert_eq!(parse(&format!("k:{alg}:{SECRET}")).unwrap().algorithm, want);
        }
    }

    #[test]
    fn bad_keys_say_why_without_the_secret() {
        assert_eq!(parse("k:SHA256"), Err(KeyTextError::Form));
        assert_eq!(parse(""), Err(KeyTextError::Form));
        let e = parse(&format!("k:MD5:{SECRET}")).unwrap_err();
        assert!(matches!(e, KeyTextError::Algorithm { .. }));
        assert!(!format!("{e}").contains(SECRET));
        assert!(format!("{e}").contains("MD5"));
        assert_eq!(
            parse("k:SHA256:!!"),
            Err(KeyTextError::Secret { name: "k".into() })
        );
        assert!(matches!(
            parse("k:SHA256:"),
            Err(KeyTextError::Secret { .. })
        ));
        assert!(matches!(
            parse(&format!("a..b:SHA256:{SECRET}")),
            Err(KeyTextError::Name { .. })
        ));
    }
}
