//! Calendar dates as day numbers, so that durations are plain subtraction.
//!
//! OMOP stores dates as `YYYY-MM-DD` (and datetimes that start with one); some
//! exports write `YYYYMMDD`. [`Date`] counts days since 1970-01-01 in the proleptic
//! Gregorian calendar (the conversion is Howard Hinnant's `days_from_civil`).

use std::fmt;

/// A calendar date, stored as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// The date for a year, month (1-12) and day (1-31), if it exists.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date(days_from_civil(year, month, day)))
    }

    /// The date `days` after 1970-01-01 (negative: before).
    pub fn from_days(days: i32) -> Date {
        Date(days)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i32 {
        self.0
    }

    /// Year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.ymd().0
    }

    /// This date plus `days`.
    pub fn add_days(self, days: i32) -> Date {
        Date(self.0.saturating_add(days))
    }

    /// Reads `YYYY-MM-DD`, `YYYYMMDD`, or a datetime starting with `YYYY-MM-DD`
    /// (`T` or space then a time; the time is ignored).
    pub fn parse(text: &str) -> Option<Date> {
        let t = text.trim();
        let b = t.as_bytes();
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        let (y, m, d) = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
            if b.len() > 10 && b[10] != b'T' && b[10] != b' ' {
                return None;
            }
            if !digits(&b[..4]) || !digits(&b[5..7]) || !digits(&b[8..10]) {
                return None;
            }
            (&t[..4], &t[5..7], &t[8..10])
        } else if b.len() == 8 && digits(b) {
            (&t[..4], &t[4..6], &t[6..8])
        } else {
            return None;
        };
        Date::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// Whole years from `birth` to `self` (age on this date).
    pub fn years_since(self, birth: Date) -> i32 {
        let (y1, m1, d1) = birth.ymd();
        let (y2, m2, d2) = self.ymd();
        let mut years = y2 - y1;
        if (m2, d2) < (m1, d1) {
            years -= 1;
        }
        years
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_days() {
        assert_eq!(Date::from_ymd(1970, 1, 1).unwrap().days(), 0);
        assert_eq!(Date::from_ymd(2000, 3, 1).unwrap().days(), 11_017);
        assert_eq!(Date::from_ymd(1969, 12, 31).unwrap().days(), -1);
        assert_eq!(Date::parse("1963-12-31").unwrap().to_string(), "1963-12-31");
        assert_eq!(Date::parse("19631231"), Date::parse("1963-12-31"));
        assert_eq!(
            Date::parse("1963-12-31 00:00:00"),
            Date::parse("1963-12-31")
        );
        assert_eq!(
            Date::parse("1963-12-31T10:00:00Z"),
            Date::parse("1963-12-31")
        );
    }

    #[test]
    fn rejects_non_dates() {
        for bad in [
            "",
            "1963-02-30",
            "1963-13-01",
            "63-12-31",
            "1963/12/31",
            "1963-12-31x",
            "abcd-ef-gh",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ages() {
        let birth = Date::parse("1950-04-12").unwrap();
        assert_eq!(Date::parse("2000-04-11").unwrap().years_since(birth), 49);
        assert_eq!(Date::parse("2000-04-12").unwrap().years_since(birth), 50);
    }

    proptest! {
        #[test]
        fn civil_round_trip(days in -700_000i32..2_900_000) {
            let d = Date::from_days(days);
            let (y, m, dd) = d.ymd();
            prop_assert_eq!(Date::from_ymd(y, m, dd), Some(d));
            prop_assert_eq!(Date::parse(&d.to_string()), Some(d));
        }
    }
}
