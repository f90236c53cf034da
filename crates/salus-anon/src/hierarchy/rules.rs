//! Rule-based hierarchy builders: numeric intervals (with optional top/bottom coding),
//! date truncation, prefix masking and plain suppression.

use salus_table::format_number;
use serde::{Deserialize, Serialize};

use crate::{AnonError, Result};

/// The top label every rule ends with.
pub const TOP: &str = "*";

/// A rule that builds a hierarchy from the values present in the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HierarchyRule {
    /// Numeric intervals, one width per level (each width a multiple of the previous),
    /// aligned at `origin`. Integer data gets inclusive labels (`20-24`), other data
    /// half-open ones (`[20, 25[`). `top_code` puts every value at or above it into one
    /// group `<top_code>+` from level 1 on (HIPAA: ages 90 and over); `bottom_code` does
    /// the same below it (`<bottom_code`).
    Intervals {
        /// Interval width per level, smallest first.
        widths: Vec<f64>,
        /// Where the intervals start (default 0).
        #[serde(default)]
        origin: f64,
        /// Values at or above this are grouped as `N+`.
        #[serde(default)]
        top_code: Option<f64>,
        /// Values below this are grouped as `<N`.
        #[serde(default)]
        bottom_code: Option<f64>,
    },
    /// ISO dates (`YYYY-MM-DD`, optionally with a time) truncated level by level.
    Dates {
        /// Levels above the day, default month then year.
        #[serde(default = "default_date_levels")]
        levels: Vec<DateLevel>,
    },
    /// Codes such as postcodes masked from the right, `step` characters per level
    /// (`12345` -> `1234*` -> `123**` ...).
    Prefix {
        /// Characters masked per level (default 1).
        #[serde(default = "one")]
        step: usize,
    },
    /// Values at or above `at` become `<at>+` at level 1; everything is `*` at level 2.
    TopCode {
        /// Threshold of the top group.
        at: f64,
    },
    /// Two levels: the value, then `*`.
    Suppress,
}

/// A truncation level of a date hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateLevel {
    /// `YYYY-MM`.
    Month,
    /// `YYYY-Qn`.
    Quarter,
    /// `YYYY`.
    Year,
    /// `YYY0s`.
    Decade,
}

fn default_date_levels() -> Vec<DateLevel> {
    vec![DateLevel::Month, DateLevel::Year]
}

fn one() -> usize {
    1
}

/// Builds hierarchy rows (level 0 first) for the distinct `values`.
pub(crate) fn build_rows(
    column: &str,
    rule: &HierarchyRule,
    values: &[String],
) -> Result<Vec<Vec<String>>> {
    let err = |message: String| AnonError::Hierarchy {
        column: column.to_string(),
        message,
    };
    let mut distinct: Vec<&String> = values.iter().collect();
    distinct.sort();
    distinct.dedup();
    match rule {
        HierarchyRule::Intervals { widths, origin, top_code, bottom_code } => {
            check_widths(widths).map_err(err)?;
            let numbers = parse_numbers(&distinct).map_err(err)?;
            let integers = numbers.iter().all(|x| x.fract() == 0.0)
                && widths.iter().all(|w| w.fract() == 0.0)
                && origin.fract() == 0.0;
            let spec = IntervalSpec { origin: *origin, top: *top_code, bottom: *bottom_code, integers };
            Ok(distinct
                .iter()
                .zip(&numbers)
                .map(|(raw, &x)| {
                    let mut row = vec![(*raw).clone()];
                    row.extend(widths.iter().map(|&w| spec.label(x, w)));
                    row.push(TOP.to_string());
                    row
                })
                .collect())
        }
        HierarchyRule::Dates { levels } => distinct
            .iter()
            .map(|raw| {
                let (y, m, _) = parse_date(raw).ok_or_else(|| {
                    err("a value is not an ISO date (YYYY-MM-DD); convert the column or use another rule".into())
                })?;
                let mut row = vec![(*raw).clone()];
                row.extend(levels.iter().map(|level| date_label(y, m, *level)));
                row.push(TOP.to_string());
                Ok(row)
            })
            .collect(),
        HierarchyRule::Prefix { step } => {
            if *step == 0 {
                return Err(err("`step` must be at least 1".into()));
            }
            let longest = distinct.iter().map(|v| v.chars().count()).max().unwrap_or(0);
            let depth = longest.div_ceil(*step);
            Ok(distinct.iter().map(|raw| mask_row(raw, *step, depth)).collect())
        }
        HierarchyRule::TopCode { at } => {
            let numbers = parse_numbers(&distinct).map_err(err)?;
            Ok(distinct
                .iter()
                .zip(&numbers)
                .map(|(raw, &x)| {
                    let level1 = if x >= *at { format!("{}+", format_number(*at)) } else { (*raw).clone() };
                    vec![(*raw).clone(), level1, TOP.to_string()]
                })
                .collect())
        }
        HierarchyRule::Suppress => Ok(distinct.iter().map(|raw| vec![(*raw).clone(), TOP.to_string()]).collect()),
    }
}

struct IntervalSpec {
    origin: f64,
    top: Option<f64>,
    bottom: Option<f64>,
    integers: bool,
}

impl IntervalSpec {
    fn label(&self, x: f64, width: f64) -> String {
        if let Some(top) = self.top
            && x >= top
        {
            return format!("{}+", format_number(top));
        }
        if let Some(bottom) = self.bottom
            && x < bottom
        {
            return format!("<{}", format_number(bottom));
        }
        let lo = self.origin + ((x - self.origin) / width).floor() * width;
        if self.integers {
            format!("{}-{}", format_number(lo), format_number(lo + width - 1.0))
        } else {
            format!("[{}, {}[", format_number(lo), format_number(lo + width))
        }
    }
}

fn check_widths(widths: &[f64]) -> std::result::Result<(), String> {
    if widths.is_empty() {
        return Err("`widths` needs at least one interval width".into());
    }
    if widths.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
        return Err("interval widths must be positive numbers".into());
    }
    for pair in widths.windows(2) {
        let ratio = pair[1] / pair[0];
        if ratio < 1.0 || (ratio - ratio.round()).abs() > 1e-9 {
            // Non-nested intervals would give a label two parents.
            return Err(
                "each interval width must be a multiple of the previous one (e.g. 5, 10, 20)"
                    .into(),
            );
        }
    }
    Ok(())
}

fn parse_numbers(values: &[&String]) -> std::result::Result<Vec<f64>, String> {
    values
        .iter()
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    "a value is not a number; numeric rules need a numeric column".to_string()
                })
        })
        .collect()
}

/// Parses `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (anything after the day, such as a time, is
/// ignored). Returns (year, month, day) with month/day 1 when absent.
pub(crate) fn parse_date(value: &str) -> Option<(i32, u32, u32)> {
    let date = value.trim().split(['T', ' ']).next()?;
    let mut parts = date.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u32 = parts.next().map_or(Some(1), |d| d.parse().ok())?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some((year, month, day))
}

fn date_label(year: i32, month: u32, level: DateLevel) -> String {
    match level {
        DateLevel::Month => format!("{year:04}-{month:02}"),
        DateLevel::Quarter => format!("{year:04}-Q{}", (month - 1) / 3 + 1),
        DateLevel::Year => format!("{year:04}"),
        DateLevel::Decade => format!("{}s", year.div_euclid(10) * 10),
    }
}

fn mask_row(raw: &str, step: usize, depth: usize) -> Vec<String> {
    let chars: Vec<char> = raw.chars().collect();
    let mut row = vec![raw.to_string()];
    for level in 1..=depth {
        let masked = (level * step).min(chars.len());
        let keep = chars.len() - masked;
        let label: String = chars[..keep]
            .iter()
            .chain(std::iter::repeat_n(&'*', masked))
            .collect();
        row.push(label);
    }
    row.push(TOP.to_string());
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hierarchy;

    fn values(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn intervals_like_arx_age() {
        let rule = HierarchyRule::Intervals {
            widths: vec![5.0, 10.0, 20.0],
            origin: 0.0,
            top_code: None,
            bottom_code: None,
        };
        let h = Hierarchy::from_rule("age", &rule, &values(&["1", "17", "39"])).unwrap();
        assert_eq!(h.row("17").unwrap(), ["17", "15-19", "10-19", "0-19", "*"]);
        assert_eq!(h.row("39").unwrap(), ["39", "35-39", "30-39", "20-39", "*"]);
    }

    #[test]
    fn top_coding_groups_the_oldest() {
        let rule = HierarchyRule::Intervals {
            widths: vec![10.0],
            origin: 0.0,
            top_code: Some(90.0),
            bottom_code: None,
        };
        let h = Hierarchy::from_rule("age", &rule, &values(&["89", "90", "104"])).unwrap();
        assert_eq!(h.generalize("89", 1), Some("80-89"));
        assert_eq!(h.generalize("104", 1), Some("90+"));
        let t = Hierarchy::from_rule(
            "age",
            &HierarchyRule::TopCode { at: 90.0 },
            &values(&["45", "97"]),
        )
        .unwrap();
        assert_eq!(t.generalize("45", 1), Some("45"));
        assert_eq!(t.generalize("97", 1), Some("90+"));
    }

    #[test]
    fn non_nested_widths_are_rejected() {
        let rule = HierarchyRule::Intervals {
            widths: vec![5.0, 7.0],
            origin: 0.0,
            top_code: None,
            bottom_code: None,
        };
        assert!(Hierarchy::from_rule("x", &rule, &values(&["1"])).is_err());
    }

    #[test]
    fn dates_truncate() {
        let rule = HierarchyRule::Dates {
            levels: vec![DateLevel::Month, DateLevel::Year, DateLevel::Decade],
        };
        let h =
            Hierarchy::from_rule("d", &rule, &values(&["2021-03-15", "2019-12-01T10:00"])).unwrap();
        assert_eq!(
            h.row("2021-03-15").unwrap(),
            ["2021-03-15", "2021-03", "2021", "2020s", "*"]
        );
        assert_eq!(h.generalize("2019-12-01T10:00", 3), Some("2010s"));
        assert!(Hierarchy::from_rule("d", &rule, &values(&["March"])).is_err());
    }

    #[test]
    fn prefix_masking() {
        let h = Hierarchy::from_rule(
            "zip",
            &HierarchyRule::Prefix { step: 2 },
            &values(&["12345", "123"]),
        )
        .unwrap();
        assert_eq!(
            h.row("12345").unwrap(),
            ["12345", "123**", "1****", "*****", "*"]
        );
        assert_eq!(h.row("123").unwrap(), ["123", "1**", "***", "***", "*"]);
    }
}
