//! Serial number arithmetic (RFC 1982).

/// s1 >= s2 in serial arithmetic (32-bit).
pub fn ge(s1: u32, s2: u32) -> bool {
    s1 == s2 || gt(s1, s2)
}

/// s1 > s2 in serial arithmetic (RFC 1982 3.2).
pub fn gt(s1: u32, s2: u32) -> bool {
    (s1 < s2 && s2 - s1 > 0x8000_0000) || (s1 > s2 && s1 - s2 < 0x8000_0000)
}

/// The next serial after `s` (RFC 1982 3.1), skipping nothing.
pub fn next(s: u32) -> u32 {
    s.wrapping_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps() {
        assert!(gt(1, 0));
        assert!(gt(0, u32::MAX));
        assert!(!gt(u32::MAX, 0));
        assert!(ge(5, 5));
        assert!(!ge(4, 5));
        assert_eq!(next(u32::MAX), 0);
    }
}
