//! Dates as JavaScript prints them (socket.io sends `Date`s as strings).

/// The civil date (year, month 1–12, day 1–31) of `days` since 1970-01-01, by Howard
/// Hinnant's `civil_from_days`.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// JavaScript's `Date.prototype.toISOString()` for `ms` since the epoch, e.g.
/// `2023-11-14T22:13:20.123Z`.
pub fn iso_date(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let in_day = ms.rem_euclid(86_400_000);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_match_javascript() {
        assert_eq!(iso_date(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_date(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso_date(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_date(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
