//! Generalization hierarchies: one row per original value, one column per level
//! (level 0 = the value itself, the last level usually `*`).
//!
//! Hierarchies come from ARX-style CSV files ([`Hierarchy::from_csv`]) or are built from
//! rules over the values present in the data ([`HierarchyRule`]): numeric intervals,
//! date truncation, prefix masking of codes such as postcodes, and top-coding.
//!
//! Invariant: a hierarchy is *functional*: two values with the same label at level `l`
//! have the same labels at every level above `l`. The search relies on it to roll class
//! counts up from one transformation to a more general one.

mod rules;

use std::collections::HashMap;

pub(crate) use rules::parse_date;
pub use rules::{DateLevel, HierarchyRule};

use crate::{AnonError, Result};

/// A materialized generalization hierarchy for one attribute.
#[derive(Clone, PartialEq)]
pub struct Hierarchy {
    rows: Vec<Vec<String>>,
    index: HashMap<String, usize>,
}

// Hierarchies hold attribute values (which may be patient values): show only the shape.
impl std::fmt::Debug for Hierarchy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Hierarchy(<{} values, {} levels>)",
            self.rows.len(),
            self.levels()
        )
    }
}

impl Hierarchy {
    /// Builds a hierarchy from rows of labels (`row[0]` is the original value).
    /// `column` names the attribute in error messages.
    pub fn from_rows(column: &str, rows: Vec<Vec<String>>) -> Result<Self> {
        let err = |message: String| AnonError::Hierarchy {
            column: column.to_string(),
            message,
        };
        let Some(first) = rows.first() else {
            return Err(err(
                "it has no rows; give one row per value of the attribute".into(),
            ));
        };
        let levels = first.len();
        if levels == 0 {
            return Err(err("its first row is empty".into()));
        }
        let mut index = HashMap::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            if row.len() != levels {
                return Err(err(format!(
                    "row {} has {} levels but row 1 has {levels}; every row needs the same number of levels",
                    i + 1,
                    row.len()
                )));
            }
            if index.insert(row[0].clone(), i).is_some() {
                return Err(err(format!(
                    "row {} repeats an original value of an earlier row",
                    i + 1
                )));
            }
        }
        let hierarchy = Hierarchy { rows, index };
        hierarchy.check_functional(column)?;
        Ok(hierarchy)
    }

    /// Parses an ARX hierarchy file: `delimiter`-separated, one row per value, one column
    /// per level, no header. Blank lines are ignored; surrounding spaces are trimmed.
    pub fn from_csv(column: &str, bytes: &[u8], delimiter: u8) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|_| AnonError::Hierarchy {
            column: column.to_string(),
            message: "the file is not UTF-8 text".into(),
        })?;
        let text = text.trim_start_matches('\u{feff}');
        let delimiter = char::from(delimiter);
        let rows = text
            .lines()
            .map(|line| line.trim_end_matches('\r'))
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                line.split(delimiter)
                    .map(|cell| cell.trim().to_string())
                    .collect()
            })
            .collect();
        Self::from_rows(column, rows)
    }

    /// Builds a hierarchy for `values` (the distinct values present in the data) from a rule.
    pub fn from_rule(column: &str, rule: &HierarchyRule, values: &[String]) -> Result<Self> {
        let rows = rules::build_rows(column, rule, values)?;
        Self::from_rows(column, rows)
    }

    /// Number of levels, level 0 (the original value) included.
    pub fn levels(&self) -> usize {
        self.rows.first().map_or(0, Vec::len)
    }

    /// The highest level (`levels() - 1`).
    pub fn height(&self) -> usize {
        self.levels().saturating_sub(1)
    }

    /// Number of original values (rows); ARX calls this the domain size.
    pub fn domain_size(&self) -> usize {
        self.rows.len()
    }

    /// All rows, level 0 first.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// True when `value` is an original value of the hierarchy.
    pub fn contains(&self, value: &str) -> bool {
        self.index.contains_key(value)
    }

    /// The label of `value` at `level`, or `None` when the value is unknown or the level
    /// does not exist.
    pub fn generalize(&self, value: &str, level: usize) -> Option<&str> {
        self.index
            .get(value)
            .and_then(|&i| self.rows[i].get(level))
            .map(String::as_str)
    }

    /// The row of an original value (all its labels, level 0 first).
    pub fn row(&self, value: &str) -> Option<&[String]> {
        self.index.get(value).map(|&i| self.rows[i].as_slice())
    }

    /// Number of hierarchy rows whose label at `level` is `label` (ARX's domain share
    /// numerator).
    pub fn label_frequency(&self, level: usize) -> HashMap<&str, usize> {
        let mut counts = HashMap::new();
        for row in &self.rows {
            *counts.entry(row[level].as_str()).or_insert(0) += 1;
        }
        counts
    }

    fn check_functional(&self, column: &str) -> Result<()> {
        for level in 0..self.height() {
            let mut parent: HashMap<&str, &str> = HashMap::new();
            for row in &self.rows {
                let label = row[level].as_str();
                let up = row[level + 1].as_str();
                if let Some(previous) = parent.insert(label, up)
                    && previous != up
                {
                    return Err(AnonError::Hierarchy {
                        column: column.to_string(),
                        message: format!(
                            "a label of level {level} generalizes to two different labels at level {}; each label must have exactly one parent",
                            level + 1
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arx_file() {
        let h = Hierarchy::from_csv("sex", b"Male;*\nFemale;*\n", b';').unwrap();
        assert_eq!(h.levels(), 2);
        assert_eq!(h.generalize("Female", 1), Some("*"));
        assert_eq!(h.generalize("Other", 0), None);
        assert_eq!(h.domain_size(), 2);
    }

    #[test]
    fn rejects_ragged_and_duplicate_rows() {
        assert!(Hierarchy::from_csv("a", b"1;*\n2\n", b';').is_err());
        assert!(Hierarchy::from_csv("a", b"1;*\n1;*\n", b';').is_err());
    }

    #[test]
    fn rejects_non_functional_hierarchy() {
        let bad = b"1;a;x\n2;a;y\n";
        let e = Hierarchy::from_csv("a", bad, b';').unwrap_err();
        assert!(e.to_string().contains("exactly one parent"));
    }

    #[test]
    fn debug_hides_values() {
        let h = Hierarchy::from_csv("name", b"Alice;*\n", b';').unwrap();
        assert!(!format!("{h:?}").contains("Alice"));
    }
}
