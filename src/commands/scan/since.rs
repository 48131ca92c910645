//! `scan --since DATE`: the dates a user types, as seconds since the epoch
//! — a day (`2024-05-01`), a moment (`2024-05-01T12:00:00Z`,
//! `2024-05-01 12:00+02:00`), a span back from now (`90.days`,
//! `2 weeks ago`), or git's `@<seconds>`.

use crate::core::dates::days_from_civil;
use crate::error::{Error, Result};

/// Seconds since the epoch of what `text` names; `now` for spans.
pub fn parse_since(text: &str, now: i64) -> Result<i64> {
    let t = text.trim();
    let bad = || {
        Error::usage(format!("--since {t:?} is not a date djmig reads")).hint(
            "give a day (2024-05-01), a moment (2024-05-01T12:00:00Z), a span back from now (90.days, 2 weeks ago) or @<seconds since 1970>",
        )
    };
    if let Some(secs) = t.strip_prefix('@') {
        return secs.parse().map_err(|_| bad());
    }
    if t.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && t.len() >= 10
        && t.as_bytes()[4] == b'-'
    {
        return moment(t).ok_or_else(bad);
    }
    span(t, now).ok_or_else(bad)
}

/// `2 weeks ago`, `90.days`, `1 month`.
fn span(t: &str, now: i64) -> Option<i64> {
    let words: Vec<&str> = t
        .split(|c: char| c == '.' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let words = match words.as_slice() {
        [n, unit, "ago"] | [n, unit] => (*n, *unit),
        _ => return None,
    };
    let n: i64 = words.0.parse().ok()?;
    let unit = words.1.strip_suffix('s').unwrap_or(words.1);
    let secs = match unit {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 7 * 86_400,
        "month" => 30 * 86_400,
        "year" => 365 * 86_400,
        _ => return None,
    };
    Some(now - n.checked_mul(secs)?)
}

/// `YYYY-MM-DD`, optionally `[T ]HH:MM[:SS]`, optionally `Z` or `±HH:MM`.
fn moment(t: &str) -> Option<i64> {
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(&t[..4])?, num(t.get(5..7)?)?, num(t.get(8..10)?)?);
    if t.as_bytes().get(7) != Some(&b'-') || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let rest = &t[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    let rest = rest.strip_prefix(['T', ' '])?;
    let (clock, zone) = match rest.find(['Z', '+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let (h, mi, s) = match parts.as_slice() {
        [h, mi] => (num(h)?, num(mi)?, 0),
        [h, mi, s] => (num(h)?, num(mi)?, num(s)?),
        _ => return None,
    };
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + s;
    let offset = match zone {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (zh, zm) = z[1..].split_once(':').unwrap_or((&z[1..], "00"));
            sign * (num(zh)? * 3600 + num(zm)? * 60)
        }
    };
    Some(secs - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_moments_spans_and_seconds() {
        let now = 1_700_000_000;
        assert_eq!(parse_since("1970-01-01", now).unwrap(), 0);
        assert_eq!(parse_since("2024-05-01", now).unwrap(), 1_714_521_600);
        assert_eq!(parse_since("2000-03-01", now).unwrap(), 951_868_800);
        assert_eq!(
            parse_since("2024-05-01T12:30:15Z", now).unwrap(),
            1_714_521_600 + 45_015
        );
        assert_eq!(
            parse_since("2024-05-01 12:30+02:00", now).unwrap(),
            1_714_521_600 + 45_000 - 7200
        );
        assert_eq!(parse_since("90.days", now).unwrap(), now - 90 * 86_400);
        assert_eq!(parse_since("2 weeks ago", now).unwrap(), now - 14 * 86_400);
        assert_eq!(parse_since("1 month", now).unwrap(), now - 30 * 86_400);
        assert_eq!(parse_since("@1600000000", now).unwrap(), 1_600_000_000);
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-05-01T25:00",
            "3 fortnights",
            "2024/05/01",
        ] {
            let e = parse_since(bad, now).unwrap_err();
            assert_eq!(e.exit, crate::error::Exit::Usage, "{bad:?}");
        }
    }
}
