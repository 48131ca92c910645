//! Civil dates and times in UTC, from and to seconds since the epoch, in
//! the proleptic Gregorian calendar (Howard Hinnant's algorithms): the
//! journal's timestamps, the header of a merge migration, the dates
//! `scan --since` reads. Pure: the caller reads the clock.

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The civil date (year, month, day) of a day counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m as u32, d as u32)
}

/// Days since 1970-01-01 of a civil date (month 1-12, day 1-31; a day past
/// the month's end runs into the next month).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A moment to the minute, in UTC: (year, month, day, hour, minute).
pub type Minute = (i32, u32, u32, u32, u32);

/// The minute of a moment given as seconds since the epoch (before 1970
/// too).
pub fn minute(secs: i64) -> Minute {
    let (y, m, d) = civil_from_days(secs.div_euclid(DAY));
    let rem = secs.rem_euclid(DAY);
    (
        y as i32,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
    )
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339 in UTC).
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(DAY));
    let rem = secs.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since the epoch of now (0 if the clock is before 1970).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch, their RFC 3339 text, and their minute.
    #[test]
    fn seconds_to_text() {
        let cases: &[(i64, &str, Minute)] = &[
            (0, "1970-01-01T00:00:00Z", (1970, 1, 1, 0, 0)),
            (59, "1970-01-01T00:00:59Z", (1970, 1, 1, 0, 0)),
            (DAY - 1, "1970-01-01T23:59:59Z", (1970, 1, 1, 23, 59)),
            (-1, "1969-12-31T23:59:59Z", (1969, 12, 31, 23, 59)),
            // Month ends: 31, 30, 28 and 29 days.
            (2_678_399, "1970-01-31T23:59:59Z", (1970, 1, 31, 23, 59)),
            (2_678_400, "1970-02-01T00:00:00Z", (1970, 2, 1, 0, 0)),
            (5_097_600, "1970-03-01T00:00:00Z", (1970, 3, 1, 0, 0)),
            (10_367_999, "1970-04-30T23:59:59Z", (1970, 4, 30, 23, 59)),
            (31_535_999, "1970-12-31T23:59:59Z", (1970, 12, 31, 23, 59)),
            (31_536_000, "1971-01-01T00:00:00Z", (1971, 1, 1, 0, 0)),
            // Leap years: 2000 (divisible by 400) has 29 February; 1900
            // and 2100 (by 100) do not; 2024 (by 4) does.
            (951_782_400, "2000-02-29T00:00:00Z", (2000, 2, 29, 0, 0)),
            (951_868_800, "2000-03-01T00:00:00Z", (2000, 3, 1, 0, 0)),
            (-2_203_977_600, "1900-02-28T00:00:00Z", (1900, 2, 28, 0, 0)),
            (-2_203_891_200, "1900-03-01T00:00:00Z", (1900, 3, 1, 0, 0)),
            (4_107_456_000, "2100-02-28T00:00:00Z", (2100, 2, 28, 0, 0)),
            (4_107_542_400, "2100-03-01T00:00:00Z", (2100, 3, 1, 0, 0)),
            (1_709_164_800, "2024-02-29T00:00:00Z", (2024, 2, 29, 0, 0)),
            (
                1_735_689_599,
                "2024-12-31T23:59:59Z",
                (2024, 12, 31, 23, 59),
            ),
            (
                1_700_000_000,
                "2023-11-14T22:13:20Z",
                (2023, 11, 14, 22, 13),
            ),
        ];
        for (secs, text, min) in cases {
            assert_eq!(rfc3339(*secs), *text, "{secs}");
            assert_eq!(minute(*secs), *min, "{secs}");
        }
    }

    /// Civil dates to days and back.
    #[test]
    fn days_and_dates() {
        let cases: &[(i64, (i64, u32, u32))] = &[
            (0, (1970, 1, 1)),
            (-1, (1969, 12, 31)),
            (59, (1970, 3, 1)),
            (11_016, (2000, 2, 29)),
            (11_017, (2000, 3, 1)),
            (-25_508, (1900, 3, 1)),
            (-25_509, (1900, 2, 28)),
            (19_782, (2024, 2, 29)),
            (47_540, (2100, 2, 28)),
            (47_541, (2100, 3, 1)),
            (-719_468, (0, 3, 1)),
        ];
        for (days, (y, m, d)) in cases {
            assert_eq!(civil_from_days(*days), (*y, *m, *d), "{days}");
            assert_eq!(days_from_civil(*y, i64::from(*m), i64::from(*d)), *days);
        }
        // Every day of four centuries goes there and back.
        for days in (-146_097..146_097).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m.into(), d.into()), days);
        }
    }
}
