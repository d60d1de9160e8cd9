//! Calendar arithmetic for `date:` queries and month facets (UTC, proleptic
//! Gregorian). Small enough not to need a date crate.

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month) of a Unix timestamp in UTC.
pub(crate) fn year_month(secs: i64) -> (i64, u32) {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD` into the half-open span of Unix
/// seconds `[start, end)` it covers (a whole year, month or day, UTC).
pub(crate) fn parse_span(s: &str) -> Option<(i64, i64)> {
    let mut parts = s.split('-');
    let y: i64 = num(parts.next()?, 4)?;
    let m = match parts.next() {
        Some(p) => Some(num(p, 2)?),
        None => None,
    };
    let d = match parts.next() {
        Some(p) => Some(num(p, 2)?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    let day = |y: i64, m: u32, d: u32| days_from_civil(y, m, d) * 86_400;
    match (m, d) {
        (None, _) => Some((day(y, 1, 1), day(y + 1, 1, 1))),
        (Some(m), None) => {
            let m = u32::try_from(m).ok().filter(|m| (1..=12).contains(m))?;
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((day(y, m, 1), day(ny, nm, 1)))
        }
        (Some(m), Some(d)) => {
            let m = u32::try_from(m).ok().filter(|m| (1..=12).contains(m))?;
            let d = u32::try_from(d)
                .ok()
                .filter(|d| *d >= 1 && *d <= days_in_month(y, m))?;
            let start = day(y, m, d);
            Some((start, start + 86_400))
        }
    }
}

fn num(s: &str, digits: usize) -> Option<i64> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        // 2016-10-07T00:00:00Z = 1475798400
        assert_eq!(
            parse_span("2016-10-07"),
            Some((1_475_798_400, 1_475_884_800))
        );
        assert_eq!(
            parse_span("2016-02").map(|s| (s.1 - s.0) / 86_400),
            Some(29)
        );
        assert_eq!(
            parse_span("2015-02").map(|s| (s.1 - s.0) / 86_400),
            Some(28)
        );
        assert_eq!(parse_span("1970"), Some((0, 365 * 86_400)));
        for bad in [
            "2016-13-01",
            "2016-02-30",
            "16-01-01",
            "2016-1-1",
            "x",
            "",
            "2016-01-01-01",
        ] {
            assert_eq!(parse_span(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_round_trip() {
        for (y, m) in [(1969, 12), (1970, 1), (2000, 2), (2016, 10), (2026, 12)] {
            let (s, e) = parse_span(&format!("{y:04}-{m:02}")).unwrap();
            assert_eq!(year_month(s), (y, m));
            assert_eq!(year_month(e - 1), (y, m));
        }
    }
}
