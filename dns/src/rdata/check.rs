//! Is wire RDATA valid for its type's fields: the same answer as printing
//! it ([`super::print_fields`] is `Some`), without making the text. A
//! transfer checks every record it takes (1,000,000 of them in a large
//! AXFR, issue 23); formatting each one to text to learn that took a
//! string per field.

use super::{bitmap_decode, char_string, uncompressed_name, F};
use crate::wire::Reader;

/// True when `rdata` holds exactly `fields`, each well formed.
pub(super) fn fields_ok(fields: &[F], rdata: &[u8]) -> bool {
    let mut r = Reader::new(rdata);
    fields.iter().all(|f| field_ok(*f, &mut r)) && r.remaining() == 0
}

/// One field at `r`, consumed; false where printing it would fail.
fn field_ok(f: F, r: &mut Reader) -> bool {
    let rest = r.remaining();
    match f {
        F::U8 => r.u8().is_ok(),
        F::U16 | F::Type => r.u16().is_ok(),
        F::U32 | F::Ttl | F::Time => r.u32().is_ok(),
        F::Name => uncompressed_name(r).is_some(),
        F::V4 => r.bytes(4).is_ok(),
        F::V6 => r.bytes(16).is_ok(),
        F::Str | F::Salt => char_string(r).is_some(),
        F::Tag => {
            char_string(r).is_some_and(|s| !s.is_empty() && s.iter().all(u8::is_ascii_alphanumeric))
        }
        F::B32 => char_string(r).is_some_and(|s| !s.is_empty()),
        F::Strs => {
            if rest == 0 {
                return false;
            }
            while r.remaining() > 0 {
                if char_string(r).is_none() {
                    return false;
                }
            }
            true
        }
        F::Raw => r.bytes(rest).is_ok(),
        F::Hex | F::B64 => rest > 0 && r.bytes(rest).is_ok(),
        F::Bitmap => r.bytes(rest).ok().and_then(bitmap_decode).is_some(),
        F::Loc => r.bytes(rest).ok().and_then(crate::loc::to_text).is_some(),
        F::Svc => r.bytes(rest).ok().and_then(crate::svcb::to_text).is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{print_fields, spec};
    use super::*;

    /// Every known type, on RDATA made of a few byte patterns cut at every
    /// length: the check agrees with the printer.
    #[test]
    fn agrees_with_printing() {
        let patterns: [&[u8]; 6] = [
            &[0; 40],
            &[
                3, b'w', b'w', b'w', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
            ],
            &[
                1, b'a', 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
            ],
            &[
                0xc0, 12, 5, b'i', b's', b's', b'u', b'e', 3, b'a', b'b', b'c',
            ],
            &[
                0, 1, 0x40, 0, 6, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff,
            ],
            &[255; 40],
        ];
        let mut checked = 0;
        for t in 0..=u16::MAX {
            let Some(fields) = spec(t) else { continue };
            for p in patterns {
                for n in 0..=p.len() {
                    let rd = &p[..n];
                    assert_eq!(
                        fields_ok(fields, rd),
                        print_fields(fields, rd).is_some(),
                        "type {t} rdata {rd:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
