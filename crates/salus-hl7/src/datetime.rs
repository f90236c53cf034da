//! HL7 v2 dates and times (DT, TS, DTM) to FHIR `date` and `dateTime`, keeping the
//! precision that was sent.
//!
//! v2 writes `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`. FHIR needs seconds as
//! soon as a time is given, so hour and minute precision gain `:00`. A timezone is
//! written only when the message gave one: inventing one would move the instant.

/// Why a v2 date/time could not be read (never quotes the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// Not `YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]`.
    Format,
    /// A month, day, hour, minute, second or offset is out of range.
    Range,
}

impl DateError {
    /// A sentence for diagnostics.
    pub fn describe(self) -> &'static str {
        match self {
            DateError::Format => "is not a v2 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])",
            DateError::Range => "holds an impossible month, day, hour, minute or offset",
        }
    }
}

/// The parts of a v2 date/time, as far as they were sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts<'a> {
    digits: &'a str,
    fraction: Option<&'a str>,
    offset: Option<(char, &'a str)>,
}

fn split(text: &str) -> Result<Parts<'_>, DateError> {
    let text = text.trim();
    let (body, offset) = match text.find(['+', '-']) {
        Some(i) => {
            let sign = if text[i..].starts_with('+') { '+' } else { '-' };
            (&text[..i], Some((sign, &text[i + 1..])))
        }
        None => (text, None),
    };
    let (digits, fraction) = match body.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (body, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let lengths_ok = matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14);
    let fraction_ok = fraction.is_none_or(|f| digits.len() == 14 && all_digits(f) && f.len() <= 4);
    let offset_ok = offset.is_none_or(|(_, z)| z.len() == 4 && all_digits(z) && digits.len() >= 10);
    if !all_digits(digits) || !lengths_ok || !fraction_ok || !offset_ok {
        return Err(DateError::Format);
    }
    Ok(Parts {
        digits,
        fraction,
        offset,
    })
}

fn num(s: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, DateError> {
    let n: u32 = s.parse().map_err(|_| DateError::Format)?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(DateError::Range)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Checks the ranges and returns the FHIR `date` part (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`).
fn date_part(digits: &str) -> Result<String, DateError> {
    let year = num(&digits[..4], 1..=9999)?;
    if digits.len() < 6 {
        return Ok(format!("{year:04}"));
    }
    let month = num(&digits[4..6], 1..=12)?;
    if digits.len() < 8 {
        return Ok(format!("{year:04}-{month:02}"));
    }
    let day = num(&digits[6..8], 1..=days_in_month(year, month))?;
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// A v2 date or date/time as a FHIR `date`: the date part, at the precision sent
/// (a time, if any, is checked and dropped).
pub fn to_fhir_date(text: &str) -> Result<String, DateError> {
    let parts = split(text)?;
    let date = date_part(parts.digits)?;
    time_part(&parts)?;
    Ok(date)
}

/// A v2 date/time as a FHIR `dateTime`, at the precision sent.
pub fn to_fhir_datetime(text: &str) -> Result<String, DateError> {
    let parts = split(text)?;
    let date = date_part(parts.digits)?;
    match time_part(&parts)? {
        Some(time) => Ok(format!("{date}T{time}")),
        None => Ok(date),
    }
}

/// `HH:MM:SS[.S][+hh:mm]` when a time was sent.
fn time_part(parts: &Parts<'_>) -> Result<Option<String>, DateError> {
    let d = parts.digits;
    if d.len() < 10 {
        return Ok(None);
    }
    let hour = num(&d[8..10], 0..=23)?;
    let minute = if d.len() >= 12 {
        num(&d[10..12], 0..=59)?
    } else {
        0
    };
    let second = if d.len() >= 14 {
        num(&d[12..14], 0..=60)?
    } else {
        0
    };
    let mut out = format!("{hour:02}:{minute:02}:{second:02}");
    if let Some(f) = parts.fraction {
        out.push('.');
        out.push_str(f);
    }
    if let Some((sign, z)) = parts.offset {
        let oh = num(&z[..2], 0..=14)?;
        let om = num(&z[2..], 0..=59)?;
        out.push_str(&format!("{sign}{oh:02}:{om:02}"));
    }
    Ok(Some(out))
}

/// A v2 time (TM, `HH[MM[SS[.S]]]`) as a FHIR `time` (`HH:MM:SS`).
pub fn to_fhir_time(text: &str) -> Result<String, DateError> {
    let padded = format!("20000101{}", text.trim());
    let parts = split(&padded)?;
    time_part(&parts)?.ok_or(DateError::Format).map(|t| {
        // FHIR `time` has no offset.
        t.split(['+', '-']).next().unwrap_or_default().to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_precision_that_was_sent() {
        assert_eq!(to_fhir_datetime("2002").unwrap(), "2002");
        assert_eq!(to_fhir_datetime("200202").unwrap(), "2002-02");
        assert_eq!(to_fhir_datetime("20020215").unwrap(), "2002-02-15");
        assert_eq!(
            to_fhir_datetime("2002021509").unwrap(),
            "2002-02-15T09:00:00"
        );
        assert_eq!(
            to_fhir_datetime("200202150930").unwrap(),
            "2002-02-15T09:30:00"
        );
        assert_eq!(
            to_fhir_datetime("20020215093015.1234-0500").unwrap(),
            "2002-02-15T09:30:15.1234-05:00"
        );
        assert_eq!(
            to_fhir_datetime("200202150930+0100").unwrap(),
            "2002-02-15T09:30:00+01:00"
        );
    }

    #[test]
    fn dates_drop_the_time() {
        assert_eq!(to_fhir_date("19620320").unwrap(), "1962-03-20");
        assert_eq!(to_fhir_date("199912271408").unwrap(), "1999-12-27");
        assert_eq!(to_fhir_date("1962").unwrap(), "1962");
    }

    #[test]
    fn rejects_impossible_dates() {
        assert_eq!(to_fhir_date("196203520"), Err(DateError::Format));
        assert_eq!(to_fhir_date("19620230"), Err(DateError::Range));
        assert_eq!(to_fhir_date("19000229"), Err(DateError::Range));
        assert_eq!(to_fhir_date("20000229").unwrap(), "2000-02-29");
        assert_eq!(to_fhir_datetime("200202152500"), Err(DateError::Range));
        assert_eq!(to_fhir_datetime("20020215+0100"), Err(DateError::Format));
        assert_eq!(to_fhir_datetime("2002-02-15"), Err(DateError::Format));
        assert_eq!(to_fhir_datetime(""), Err(DateError::Format));
        assert_eq!(to_fhir_datetime("20020215.5"), Err(DateError::Format));
    }

    #[test]
    fn times() {
        assert_eq!(to_fhir_time("0930").unwrap(), "09:30:00");
        assert_eq!(to_fhir_time("093015.5").unwrap(), "09:30:15.5");
        assert!(to_fhir_time("99").is_err());
    }
}
