//! The shape check every ACME JSON body passes first (a leaf: imports nothing of the crate).

/// Every ACME resource and problem document is a JSON object (RFC 8555 7.1,
/// RFC 7807 3); serde would also take a struct from an array, so arrays are
/// refused first.
pub fn is_object(body: &[u8]) -> bool {
    body.trim_ascii_start().first() == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_only() {
        assert!(is_object(b"  {\"a\":1}"));
        assert!(!is_object(b"[{\"a\":1}]"));
        assert!(!is_object(b""));
    }
}
