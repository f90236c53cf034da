//! FHIR `date`/`dateTime`/`instant` to POSIX seconds, without a date library.
//!
//! A partial date stands for an interval: `2016` is all of 2016. [`parse_interval`]
//! returns `[start, end)`, so a period `end` of `2016-01-01` includes that whole day.

use crate::error::ConsentError;

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn number(text: &str, digits: usize) -> Option<u32> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses a FHIR date or dateTime and returns the interval `[start, end)` it
/// denotes in POSIX seconds (a full timestamp denotes one second).
pub fn parse_interval(text: &str) -> Result<(i64, i64), ConsentError> {
    let bad = || ConsentError::BadTime(text.to_owned());
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let year = i64::from(parts.first().and_then(|y| number(y, 4)).ok_or_else(bad)?);
    let month = match parts.get(1) {
        Some(m) => Some(
            number(m, 2)
                .filter(|m| (1..=12).contains(m))
                .ok_or_else(bad)?,
        ),
        None => None,
    };
    let day = match (parts.get(2), month) {
        (Some(d), Some(m)) => Some(
            number(d, 2)
                .filter(|d| *d >= 1 && *d <= days_in_month(year, m))
                .ok_or_else(bad)?,
        ),
        (None, _) => None,
        _ => return Err(bad()),
    };
    if parts.len() > 3 {
        return Err(bad());
    }
    let day_seconds = |y: i64, m: u32, d: u32| days_from_civil(y, m, d) * 86_400;
    match (month, day, time) {
        (None, None, None) => Ok((day_seconds(year, 1, 1), day_seconds(year + 1, 1, 1))),
        (Some(m), None, None) => {
            let (ny, nm) = if m == 12 {
                (year + 1, 1)
            } else {
                (year, m + 1)
            };
            Ok((day_seconds(year, m, 1), day_seconds(ny, nm, 1)))
        }
        (Some(m), Some(d), None) => {
            let start = day_seconds(year, m, d);
            Ok((start, start + 86_400))
        }
        (Some(m), Some(d), Some(t)) => {
            let start = day_seconds(year, m, d) + parse_time(t).ok_or_else(bad)?;
            Ok((start, start + 1))
        }
        _ => Err(bad()),
    }
}

/// `hh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)` to seconds since midnight UTC (may be negative).
fn parse_time(text: &str) -> Option<i64> {
    let (clock, offset) = if let Some(c) = text.strip_suffix('Z') {
        (c, 0)
    } else {
        let at = text.rfind(['+', '-'])?;
        let (c, z) = text.split_at(at);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, m) = z[1..].split_once(':')?;
        let (h, m) = (number(h, 2)?, number(m, 2)?);
        if h > 14 || m > 59 {
            return None;
        }
        (c, sign * i64::from(h * 3600 + m * 60))
    };
    let clock = clock.split_once('.').map_or(clock, |(c, frac)| {
        if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            ""
        } else {
            c
        }
    });
    let mut fields = clock.split(':');
    let h = number(fields.next()?, 2)?;
    let m = number(fields.next()?, 2)?;
    let s = number(fields.next()?, 2)?;
    if fields.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(i64::from(h * 3600 + m * 60 + s) - offset)
}

/// The first second of the date or dateTime.
pub fn parse_start(text: &str) -> Result<i64, ConsentError> {
    parse_interval(text).map(|(start, _)| start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() -> Result<(), ConsentError> {
        assert_eq!(parse_start("1970-01-01")?, 0);
        assert_eq!(parse_start("2000-03-01")?, 951_868_800);
        // Example from consent-example-smartonfhir.
        assert_eq!(parse_start("2016-06-23T17:02:33+10:00")?, 1_466_665_353);
        assert_eq!(parse_start("2016-05-26T00:41:10-04:00")?, 1_464_237_670);
        assert_eq!(parse_start("2016-05-26T04:41:10.123Z")?, 1_464_237_670);
        assert_eq!(parse_start("1964-01-01")?, -189_388_800);
        Ok(())
    }

    #[test]
    fn partial_dates_are_intervals() -> Result<(), ConsentError> {
        assert_eq!(parse_interval("2016")?, (1_451_606_400, 1_483_228_800));
        assert_eq!(parse_interval("2016-02")?, (1_454_284_800, 1_456_790_400));
        assert_eq!(parse_interval("2016-12")?.1, parse_start("2017-01-01")?);
        assert_eq!(
            parse_interval("2016-01-01")?,
            (1_451_606_400, 1_451_692_800)
        );
        Ok(())
    }

    #[test]
    fn malformed_times_are_rejected() {
        for t in [
            "",
            "16",
            "2016-13",
            "2016-02-30",
            "2015-02-29",
            "2016-01-01T25:00:00Z",
            "2016-01-01T10:00",
            "2016/01/01",
            "2016-01-01T10:00:00+1000",
            "2016-01-01T10:00:00.Z",
        ] {
            assert!(parse_interval(t).is_err(), "accepted {t:?}");
        }
    }
}
