//! Matching a research subset to the rows of its population table (delta-presence).

use std::collections::HashMap;

use salus_table::Table;

use crate::{AnonError, Result};

/// Flags the rows of `population` that make up `subset`: each subset row is matched to a
/// distinct population row with the same values in every column of the subset (rows are
/// compared as text, so `39` matches `39.0`). Fails when a subset row has no partner.
pub fn match_subset(population: &Table, subset: &Table) -> Result<Vec<bool>> {
    let names = subset.names();
    let pop_cols = names
        .iter()
        .map(|n| population.column(n))
        .collect::<Result<Vec<_>, _>>()?;
    let sub_cols = subset.columns();
    let key = |cols: &[&salus_table::Column], row: usize| -> Vec<Option<String>> {
        cols.iter()
            .map(|c| c.display(row).map(|v| v.into_owned()))
            .collect()
    };
    let mut rows_by_key: HashMap<Vec<Option<String>>, Vec<usize>> = HashMap::new();
    for row in (0..population.nrows()).rev() {
        rows_by_key
            .entry(key(&pop_cols, row))
            .or_default()
            .push(row);
    }
    let sub_refs: Vec<&salus_table::Column> = sub_cols.iter().collect();
    let mut flags = vec![false; population.nrows()];
    for row in 0..subset.nrows() {
        let partner = rows_by_key.get_mut(&key(&sub_refs, row)).and_then(Vec::pop).ok_or_else(|| {
            AnonError::Config(format!(
                "row {} of the research subset matches no remaining row of the data; the subset must be drawn from the data",
                row + 1
            ))
        })?;
        flags[partner] = true;
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use salus_table::Column;

    #[test]
    fn matches_duplicates_once_each() {
        let pop = Table::new(vec![Column::text(
            "a",
            vec![Some("x".into()), Some("y".into()), Some("x".into())],
        )])
        .unwrap();
        let sub = Table::new(vec![Column::text(
            "a",
            vec![Some("x".into()), Some("x".into())],
        )])
        .unwrap();
        assert_eq!(match_subset(&pop, &sub).unwrap(), vec![true, false, true]);
        let too_many = Table::new(vec![Column::text(
            "a",
            vec![Some("y".into()), Some("y".into())],
        )])
        .unwrap();
        assert!(match_subset(&pop, &too_many).is_err());
    }
}
