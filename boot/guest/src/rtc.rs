//! Wall clock under QEMU: the CMOS real-time clock (ports 0x70/0x71),
//! read once at boot. Whole seconds only; the monotonic clock adds the rest.

use crate::port::{inb, outb};

/// The RTC's fields as read, already decoded to binary 24-hour values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

fn cmos(reg: u8) -> u8 {
    // Bit 7 of the index keeps NMIs disabled (we have no handlers anyway).
    outb(0x70, 0x80 | reg);
    inb(0x71)
}

fn bcd(v: u8) -> u32 {
    (v >> 4) as u32 * 10 + (v & 0x0f) as u32
}

type Raw = [u8; 7];

fn read_raw() -> Raw {
    // Wait out an update in progress (status A bit 7), bounded.
    for _ in 0..1_000_000 {
        if cmos(0x0a) & 0x80 == 0 {
            break;
        }
        core::hint::spin_loop();
    }
    [
        cmos(0x00),
        cmos(0x02),
        cmos(0x04),
        cmos(0x07),
        cmos(0x08),
        cmos(0x09),
        cmos(0x32),
    ]
}

/// Decode raw registers (sec, min, hour, day, month, year, century) given
/// status register B (bit 2: binary, bit 1: 24-hour).
pub fn decode(r: Raw, status_b: u8) -> Time {
    let binary = status_b & 0x04 != 0;
    let h24 = status_b & 0x02 != 0;
    let dec = |v: u8| if binary { v as u32 } else { bcd(v) };
    let pm = !h24 && r[2] & 0x80 != 0;
    let mut hour = dec(r[2] & 0x7f);
    if !h24 {
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let century = match dec(r[6]) {
        c @ 19..=99 => c,
        _ => 20,
    };
    Time {
        year: century * 100 + dec(r[5]),
        month: dec(r[4]),
        day: dec(r[3]),
        hour,
        minute: dec(r[1]),
        second: dec(r[0]),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let y = year as i64 - if month <= 2 { 1 } else { 0 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the Unix epoch, None for a date before it or out of range.
pub fn unix_seconds(t: Time) -> Option<u64> {
    if !(1..=12).contains(&t.month) || !(1..=31).contains(&t.day) || t.hour > 23 {
        return None;
    }
    let days = days_from_civil(t.year, t.month, t.day);
    let s = days * 86_400 + (t.hour * 3600 + t.minute * 60 + t.second) as i64;
    u64::try_from(s).ok()
}

/// The RTC's time in ns since the epoch (0 when it reads nonsense).
pub fn now_ns() -> u64 {
    // Read until two reads agree, so no field rolled over between them.
    let mut a = read_raw();
    for _ in 0..5 {
        let b = read_raw();
        if a == b {
            break;
        }
        a = b;
    }
    let t = decode(a, cmos(0x0b));
    unix_seconds(t).map_or(0, |s| s * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_12_hour_pm_is_decoded() {
        // 2026-12-05 08:06:11 PM in BCD, 12-hour mode.
        let t = decode([0x11, 0x06, 0x88, 0x05, 0x12, 0x26, 0x20], 0x00);
        assert_eq!(
            t,
            Time {
                year: 2026,
                month: 12,
                day: 5,
                hour: 20,
                minute: 6,
                second: 11
            }
        );
    }

    #[test]
    fn binary_24_hour_and_missing_century() {
        let t = decode([59, 59, 23, 31, 12, 99, 0], 0x06);
        assert_eq!(t.year, 2099);
        assert_eq!((t.hour, t.minute, t.second), (23, 59, 59));
    }

    #[test]
    fn known_dates_match_unix_time() {
        let t = |y, mo, d, h, mi, s| Time {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
        };
        assert_eq!(unix_seconds(t(1970, 1, 1, 0, 0, 0)), Some(0));
        assert_eq!(unix_seconds(t(2000, 2, 29, 12, 0, 0)), Some(951_825_600));
        assert_eq!(unix_seconds(t(2026, 12, 5, 8, 6, 11)), Some(1_796_457_971));
        assert_eq!(unix_seconds(t(1969, 12, 31, 23, 59, 59)), None);
        assert_eq!(unix_seconds(t(2026, 13, 1, 0, 0, 0)), None);
    }
}
