//! HTTP-date (RFC 7231 7.1.1.1), for `Retry-After` (RFC 7231 7.1.3,
//! RFC 8555 6.6). All three formats a recipient must accept:
//! IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, obsolete RFC 850
//! `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`.

use crate::time;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Unix seconds of an HTTP-date, `None` if it is not one.
pub fn parse(text: &str) -> Option<u64> {
    let mut f = [""; 6];
    let mut n = 0;
    for token in text.split_ascii_whitespace() {
        *f.get_mut(n)? = token;
        n += 1;
    }
    match n {
        6 if f[5] == "GMT" => date(f[3], f[2], f[1], f[4]),
        4 if f[3] == "GMT" => {
            let mut dmy = f[1].split('-');
            let (d, m, yy) = (dmy.next()?, dmy.next()?, dmy.next()?);
            let yy = time::digits(yy.as_bytes(), 2)?;
            // RFC 7231 7.1.1.1: a two-digit year more than 50 years in the
            // future is in the past; for our purposes 70..99 is 19xx.
            let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
            date_num(year, m, d, f[2])
        }
        5 => date(f[4], f[1], f[2], f[3]),
        _ => None,
    }
}

fn date(year: &str, month: &str, day: &str, hms: &str) -> Option<u64> {
    date_num(time::digits(year.as_bytes(), 4)?, month, day, hms)
}

fn date_num(year: u32, month: &str, day: &str, hms: &str) -> Option<u64> {
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let day = match day.len() {
        1 | 2 => time::digits(day.as_bytes(), day.len())?,
        _ => return None,
    };
    let hms = hms.as_bytes();
    if hms.len() != 8 || hms[2] != b':' || hms[5] != b':' {
        return None;
    }
    let two = |i: usize| time::digits(&hms[i..i + 2], 2);
    time::unix_seconds(i64::from(year), month, day, two(0)?, two(3)?, two(6)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 784_111_777;

    #[test]
    fn three_formats() {
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(T));
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT"), Some(T));
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), Some(T));
    }

    #[test]
    fn garbage() {
        for bad in [
            "",
            "120",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08-49-37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra tokens here",
            "Sunday, 06-Nov GMT x",
            "Sun, 006 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
