//! Calendar arithmetic shared by X.509 times (RFC 5280 4.1.2.5) and
//! HTTP-dates (RFC 7231 7.1.1.1). All times are unix seconds (u64, UTC).

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d`
/// (the classic era/day-of-era computation; negative before 1970).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds of a UTC date and time, validating every field.
/// A leap second (60) counts as 59. `None` before 1970 or when invalid.
pub fn unix_seconds(year: i64, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<u64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s.min(59));
    u64::try_from(secs).ok()
}

/// Parse exactly `n` ASCII digits.
pub fn digits(text: &[u8], n: usize) -> Option<u32> {
    if text.len() != n || n > 9 {
        return None;
    }
    text.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(unix_seconds(1970, 1, 1, 0, 0, 0), Some(0));
        // RFC 7231's example date: Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(unix_seconds(1994, 11, 6, 8, 49, 37), Some(784_111_777));
        assert_eq!(unix_seconds(2000, 2, 29, 0, 0, 0), Some(951_782_400));
        assert_eq!(unix_seconds(2050, 1, 1, 0, 0, 0), Some(2_524_608_000));
    }

    #[test]
    fn rejects_invalid_fields() {
        assert_eq!(unix_seconds(1969, 12, 31, 23, 59, 59), None);
        assert_eq!(unix_seconds(2023, 2, 29, 0, 0, 0), None);
        assert_eq!(unix_seconds(2024, 13, 1, 0, 0, 0), None);
        assert_eq!(unix_seconds(2024, 1, 1, 24, 0, 0), None);
        assert_eq!(unix_seconds(2024, 4, 31, 0, 0, 0), None);
    }

    #[test]
    fn digit_parsing() {
        assert_eq!(digits(b"0420", 4), Some(420));
        assert_eq!(digits(b"04a0", 4), None);
        assert_eq!(digits(b"042", 4), None);
    }
}
