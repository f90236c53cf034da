//! Partial dates, date-times and times as FHIR writes them (`2010`, `2010-10`,
//! `2010-10-10T12:30:00.123+02:00`, `12:30`), with precision-aware comparison and
//! the `lowBoundary()` / `highBoundary()` functions.

use std::cmp::Ordering;

/// Which kind of temporal value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalKind {
    Date,
    DateTime,
    Time,
}

/// How much of the value is known, coarsest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

/// A parsed partial date, date-time or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Temporal {
    pub kind: TemporalKind,
    pub precision: Precision,
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millis: u16,
    /// Offset from UTC in minutes, when written.
    pub offset: Option<i32>,
}

impl Temporal {
    /// Parses a FHIR date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`).
    pub fn parse_date(s: &str) -> Option<Temporal> {
        let t = parse_date_part(s, TemporalKind::Date)?;
        (t.0.len() == s.len()).then_some(t.1)
    }

    /// Parses a FHIR dateTime or instant (a date, optionally `T` time and zone).
    pub fn parse_datetime(s: &str) -> Option<Temporal> {
        let (rest, mut t) = parse_date_part(s, TemporalKind::DateTime)?;
        let Some(rest) = rest_after(s, rest) else {
            return Some(t);
        };
        let time = rest.strip_prefix('T')?;
        if time.is_empty() {
            return Some(t);
        }
        let (zone, clock) = split_zone(time);
        parse_clock(clock, &mut t)?;
        if t.precision < Precision::Hour {
            return None;
        }
        t.offset = match zone {
            Some(z) => Some(parse_offset(z)?),
            None => None,
        };
        Some(t)
    }

    /// Parses a FHIR time (`hh`, `hh:mm`, `hh:mm:ss(.fff)`), without a zone.
    pub fn parse_time(s: &str) -> Option<Temporal> {
        let mut t = Temporal {
            kind: TemporalKind::Time,
            precision: Precision::Hour,
            year: 0,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            millis: 0,
            offset: None,
        };
        parse_clock(s, &mut t)?;
        Some(t)
    }

    /// Parses `s` as a value of `kind`.
    pub fn parse(kind: TemporalKind, s: &str) -> Option<Temporal> {
        match kind {
            TemporalKind::Date => Temporal::parse_date(s),
            TemporalKind::DateTime => Temporal::parse_datetime(s),
            TemporalKind::Time => Temporal::parse_time(s),
        }
    }

    /// Compares two values; `None` when the answer depends on digits one of
    /// them does not have (`2010` vs `2010-05`), as FHIRPath requires.
    pub fn compare(&self, other: &Temporal) -> Option<Ordering> {
        if (self.kind == TemporalKind::Time) != (other.kind == TemporalKind::Time) {
            return None;
        }
        let p = self.precision.min(other.precision);
        let (a, b) = (self.key(p), other.key(p));
        match a.cmp(&b) {
            Ordering::Equal if self.precision != other.precision => None,
            ord => Some(ord),
        }
    }

    /// A number that orders values at precision `p` (UTC-normalised when both
    /// the precision and the value carry a time of day and a zone).
    fn key(&self, p: Precision) -> i64 {
        let months = i64::from(self.year) * 12 + i64::from(self.month) - 1;
        match p {
            Precision::Year => i64::from(self.year),
            Precision::Month => months,
            Precision::Day => days_from_civil(self.year, self.month, self.day),
            _ => {
                let day = if self.kind == TemporalKind::Time {
                    0
                } else {
                    days_from_civil(self.year, self.month, self.day)
                };
                let ms = ((day * 24 + i64::from(self.hour)) * 60 + i64::from(self.minute)) * 60_000
                    + i64::from(self.second) * 1000
                    + i64::from(self.millis)
                    - i64::from(self.offset.unwrap_or(0)) * 60_000;
                let unit = match p {
                    Precision::Hour => 3_600_000,
                    Precision::Minute => 60_000,
                    Precision::Second => 1000,
                    _ => 1,
                };
                ms.div_euclid(unit)
            }
        }
    }

    /// The earliest value this one may stand for, at full precision
    /// (`2010-10` -> `2010-10-01`; a date-time without zone gets `+14:00`).
    pub fn low_boundary(&self) -> Temporal {
        let mut t = *self;
        if t.precision < Precision::Month {
            t.month = 1;
        }
        if t.precision < Precision::Day {
            t.day = 1;
        }
        if t.precision < Precision::Hour {
            t.hour = 0;
        }
        if t.precision < Precision::Minute {
            t.minute = 0;
        }
        if t.precision < Precision::Second {
            t.second = 0;
        }
        if t.precision < Precision::Millisecond {
            t.millis = 0;
        }
        t.finish_boundary(14 * 60)
    }

    /// The latest value this one may stand for (`2010-10` -> `2010-10-31`; a
    /// date-time without zone gets `-12:00`).
    pub fn high_boundary(&self) -> Temporal {
        let mut t = *self;
        if t.precision < Precision::Month {
            t.month = 12;
        }
        if t.precision < Precision::Day {
            t.day = days_in_month(t.year, t.month);
        }
        if t.precision < Precision::Hour {
            t.hour = 23;
        }
        if t.precision < Precision::Minute {
            t.minute = 59;
        }
        if t.precision < Precision::Second {
            t.second = 59;
        }
        if t.precision < Precision::Millisecond {
            t.millis = 999;
        }
        t.finish_boundary(-12 * 60)
    }

    fn finish_boundary(mut self, offset: i32) -> Temporal {
        self.precision = match self.kind {
            TemporalKind::Date => Precision::Day,
            _ => Precision::Millisecond,
        };
        if self.kind == TemporalKind::DateTime && self.offset.is_none() {
            self.offset = Some(offset);
        }
        self
    }

    /// FHIR text of the value, at its precision.
    pub fn format(&self) -> String {
        let mut s = String::new();
        if self.kind != TemporalKind::Time {
            s.push_str(&format!("{:04}", self.year));
            if self.precision >= Precision::Month {
                s.push_str(&format!("-{:02}", self.month));
            }
            if self.precision >= Precision::Day {
                s.push_str(&format!("-{:02}", self.day));
            }
            if self.kind == TemporalKind::Date || self.precision < Precision::Hour {
                return s;
            }
            s.push('T');
        }
        s.push_str(&format!("{:02}", self.hour));
        if self.precision >= Precision::Minute {
            s.push_str(&format!(":{:02}", self.minute));
        }
        if self.precision >= Precision::Second {
            s.push_str(&format!(":{:02}", self.second));
        }
        if self.precision >= Precision::Millisecond {
            s.push_str(&format!(".{:03}", self.millis));
        }
        if let Some(off) = self.offset.filter(|_| self.kind == TemporalKind::DateTime) {
            s.push_str(&format_offset(off));
        }
        s
    }

    /// Days since 1970-01-01 of the calendar date (time of day ignored).
    pub fn epoch_days(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }
}

fn format_offset(off: i32) -> String {
    if off == 0 {
        return "Z".to_string();
    }
    let sign = if off < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)
}

/// Returns the unparsed remainder of `s` (None when nothing is left).
fn rest_after<'s>(s: &'s str, consumed: &str) -> Option<&'s str> {
    let rest = &s[consumed.len()..];
    (!rest.is_empty()).then_some(rest)
}

/// Parses the `YYYY(-MM(-DD))` prefix; returns the consumed text and the value.
fn parse_date_part(s: &str, kind: TemporalKind) -> Option<(&str, Temporal)> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let part = b.get(from..from + n)?;
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = digits(0, 4)?;
    let mut t = Temporal {
        kind,
        precision: Precision::Year,
        year: year as i32,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        millis: 0,
        offset: None,
    };
    let mut used = 4;
    if b.get(4) == Some(&b'-') {
        let month = digits(5, 2).filter(|m| (1..=12).contains(m))?;
        t.month = month as u8;
        t.precision = Precision::Month;
        used = 7;
        if b.get(7) == Some(&b'-') {
            let day = digits(8, 2)
                .filter(|&d| d >= 1 && d <= u32::from(days_in_month(t.year, t.month)))?;
            t.day = day as u8;
            t.precision = Precision::Day;
            used = 10;
        }
    }
    Some((&s[..used], t))
}

/// Splits `hh:mm:ss.fff+hh:mm` into (zone, clock).
fn split_zone(time: &str) -> (Option<&str>, &str) {
    if let Some(clock) = time.strip_suffix('Z') {
        return (Some("Z"), clock);
    }
    match time.rfind(['+', '-']) {
        Some(i) => (Some(&time[i..]), &time[..i]),
        None => (None, time),
    }
}

fn parse_offset(z: &str) -> Option<i32> {
    if z == "Z" {
        return Some(0);
    }
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let (h, m) = z.get(1..)?.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}

fn parse_clock(clock: &str, t: &mut Temporal) -> Option<()> {
    let mut parts = clock.split(':');
    let two = |p: &str, max: u8| -> Option<u8> {
        (p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit()))
            .then(|| p.parse::<u8>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    t.hour = two(parts.next()?, 23)?;
    t.precision = Precision::Hour;
    if let Some(m) = parts.next() {
        t.minute = two(m, 59)?;
        t.precision = Precision::Minute;
    }
    if let Some(sec) = parts.next() {
        let (whole, frac) = match sec.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (sec, None),
        };
        t.second = two(whole, 59)?;
        t.precision = Precision::Second;
        if let Some(frac) = frac {
            if frac.is_empty() || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let ms: String = frac.chars().chain("000".chars()).take(3).collect();
            t.millis = ms.parse().ok()?;
            t.precision = Precision::Millisecond;
        }
    }
    parts.next().is_none().then_some(())
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Calendar date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

pub(crate) fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partial_dates_and_rejects_bad_ones() {
        assert_eq!(
            Temporal::parse_date("1970-06").map(|t| t.precision),
            Some(Precision::Month)
        );
        assert!(Temporal::parse_date("1970-13").is_none());
        assert!(Temporal::parse_date("1970-02-30").is_none());
        assert!(Temporal::parse_date("70-01-01").is_none());
        assert!(Temporal::parse_datetime("2010-10-10T12:00:00+02:00").is_some());
        assert!(Temporal::parse_datetime("2010-10-10T25:00:00Z").is_none());
        assert!(Temporal::parse_time("18:23:47.376").is_some());
    }

    #[test]
    fn boundaries_match_the_fhirpath_examples() {
        let d = Temporal::parse_date("1970-06").expect("valid literal");
        assert_eq!(d.low_boundary().format(), "1970-06-01");
        assert_eq!(d.high_boundary().format(), "1970-06-30");
        let dt = Temporal::parse_datetime("2010-10-10").expect("valid literal");
        assert_eq!(dt.low_boundary().format(), "2010-10-10T00:00:00.000+14:00");
        assert_eq!(dt.high_boundary().format(), "2010-10-10T23:59:59.999-12:00");
        let t = Temporal::parse_time("12:34:00").expect("valid literal");
        assert_eq!(t.high_boundary().format(), "12:34:00.999");
    }

    #[test]
    fn comparison_respects_precision_and_zones() {
        let a = Temporal::parse_datetime("2010-10-10T10:00:00+02:00").expect("valid literal");
        let b = Temporal::parse_datetime("2010-10-10T08:00:00Z").expect("valid literal");
        assert_eq!(a.compare(&b), Some(Ordering::Equal));
        let y = Temporal::parse_date("2010").expect("valid literal");
        let m = Temporal::parse_date("2010-05").expect("valid literal");
        assert_eq!(y.compare(&m), None);
        let later = Temporal::parse_date("2011-01").expect("valid literal");
        assert_eq!(later.compare(&y), Some(Ordering::Greater));
    }

    #[test]
    fn civil_round_trip() {
        for days in [-1_000_000i64, -1, 0, 1, 18_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
