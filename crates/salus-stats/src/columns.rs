//! Reading the non-covariate columns of a model from a table: times, binary event
//! or outcome indicators, and group or stratum labels.
//!
//! A binary column may hold 0/1 numbers or the words true/false, yes/no, t/f, y/n
//! (any case). `COLUMN=VALUE` (e.g. `status=2`) marks the rows whose value equals
//! `VALUE` as 1 and all others as 0, for columns coded otherwise.

use salus_table::{Column, ColumnData, Table};

use crate::design::sorted_levels;
use crate::error::{Result, StatsError};

/// Splits a binary column spec into the column name and the optional value that
/// counts as 1. A name that exists in the table is taken whole even if it holds `=`.
pub fn binary_spec<'a>(table: &Table, spec: &'a str) -> (&'a str, Option<&'a str>) {
    if table.has_column(spec) {
        return (spec, None);
    }
    match spec.rsplit_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (spec, None),
    }
}

/// The numeric values of `name` at `rows` (which must have no missing values).
pub fn numeric_at(table: &Table, name: &str, rows: &[usize]) -> Result<Vec<f64>> {
    let values = table.numeric(name)?;
    rows.iter()
        .enumerate()
        .map(|(i, &r)| match values[r] {
            Some(v) if v.is_finite() => Ok(v),
            _ => Err(StatsError::NonFinite {
                what: format!("column `{name}`"),
                row: i,
            }),
        })
        .collect()
}

/// The 0/1 values of a binary column spec (see the module docs) at `rows`.
pub fn binary_at(table: &Table, spec: &str, rows: &[usize]) -> Result<Vec<bool>> {
    let (name, one) = binary_spec(table, spec);
    let column = table.column(name)?;
    rows.iter()
        .enumerate()
        .map(|(i, &r)| {
            let not_binary = || StatsError::NotBinary {
                column: name.to_string(),
                row: i,
            };
            match one {
                Some(value) => {
                    let cell = column.display(r).ok_or_else(not_binary)?;
                    Ok(cell.trim() == value.trim() || same_number(column, r, value))
                }
                None => parse_binary(column, r).ok_or_else(not_binary),
            }
        })
        .collect()
}

fn same_number(column: &Column, row: usize, value: &str) -> bool {
    match (column.number(row), value.trim().parse::<f64>()) {
        (Some(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn parse_binary(column: &Column, row: usize) -> Option<bool> {
    match column.data() {
        ColumnData::Numeric(v) => match v.get(row).copied().flatten() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        ColumnData::Text(v) => {
            let s = v.get(row)?.as_deref()?.trim().to_ascii_lowercase();
            match s.as_str() {
                "1" | "1.0" | "true" | "t" | "yes" | "y" => Some(true),
                "0" | "0.0" | "false" | "f" | "no" | "n" => Some(false),
                _ => None,
            }
        }
    }
}

/// Integer codes of a label column at `rows`, with the level list they index.
/// With `given` levels (a study's public list) a value outside the list is an error;
/// otherwise the levels are the sorted distinct values.
pub fn level_codes(
    table: &Table,
    name: &str,
    rows: &[usize],
    given: Option<&[String]>,
) -> Result<(Vec<u32>, Vec<String>)> {
    let column = table.column(name)?;
    let levels = match given {
        Some(list) => list.to_vec(),
        None => sorted_levels(column, rows),
    };
    let codes = rows
        .iter()
        .map(|&r| {
            let value = column.display(r).unwrap_or_default();
            levels
                .iter()
                .position(|l| *l == *value)
                .map(|p| p as u32)
                .ok_or_else(|| StatsError::UnknownLevel {
                    column: name.to_string(),
                    level: value.to_string(),
                    known: levels.join(", "),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((codes, levels))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use salus_table::{CsvOptions, read_csv};

    #[test]
    fn binary_columns_accept_numbers_words_and_value_specs() {
        let csv = "e,w,status\n1,yes,2\n0,No,0\n1,TRUE,1\n";
        let t = read_csv(csv.as_bytes(), &CsvOptions::default()).unwrap();
        let rows = [0, 1, 2];
        assert_eq!(binary_at(&t, "e", &rows).unwrap(), [true, false, true]);
        assert_eq!(binary_at(&t, "w", &rows).unwrap(), [true, false, true]);
        assert_eq!(
            binary_at(&t, "status=2", &rows).unwrap(),
            [true, false, false]
        );
        let err = binary_at(&t, "status", &rows).unwrap_err().to_string();
        assert!(err.contains("status") && err.contains("row 0"), "{err}");
    }

    #[test]
    fn level_codes_follow_sorted_or_given_levels() {
        let t = read_csv("g\nb\na\nb\n".as_bytes(), &CsvOptions::default()).unwrap();
        let (codes, levels) = level_codes(&t, "g", &[0, 1, 2], None).unwrap();
        assert_eq!(
            (codes, levels),
            (vec![1, 0, 1], vec!["a".into(), "b".into()])
        );
        let given = ["b".to_string(), "a".to_string(), "c".to_string()];
        let (codes, _) = level_codes(&t, "g", &[0, 1, 2], Some(&given)).unwrap();
        assert_eq!(codes, [0, 1, 0]);
        assert!(level_codes(&t, "g", &[0], Some(&given[2..])).is_err());
    }
}
