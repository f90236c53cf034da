//! Model matrices built from a [`salus_table::Table`]: numeric covariates, one-hot
//! coded categorical covariates, an optional intercept, listwise deletion.
//!
//! Naming: a categorical column `tgrade` with levels `I`, `II`, `III` and reference
//! `I` gives the columns `tgrade[T.II]` and `tgrade[T.III]` (the patsy / formulaic
//! convention that statsmodels and lifelines print). Without a given level list the
//! levels are the distinct values present after listwise deletion, sorted (numerically
//! for numeric columns, by text otherwise), and the first is the reference.
//!
//! Federated studies must fix the levels publicly, so that every site builds the same
//! columns: pass them with [`Term::categorical_with_levels`]. A level of the list that a
//! site lacks just gives an all-zero column there; a level that a site has but the list
//! lacks is an error naming it.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use salus_table::{Column, ColumnData, Table};
use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError};

/// How one table column enters the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Term {
    /// A numeric column, used as is.
    Numeric {
        /// Column name.
        column: String,
    },
    /// A categorical column, one-hot coded against a reference level.
    Categorical {
        /// Column name.
        column: String,
        /// The public level list (reference first unless `reference` says otherwise);
        /// `None` takes the sorted levels present in the data.
        levels: Option<Vec<String>>,
        /// The reference level; `None` takes the first level.
        reference: Option<String>,
    },
}

impl Term {
    /// A numeric covariate.
    pub fn numeric(column: impl Into<String>) -> Self {
        Term::Numeric {
            column: column.into(),
        }
    }

    /// A categorical covariate with levels taken from the data.
    pub fn categorical(column: impl Into<String>) -> Self {
        Term::Categorical {
            column: column.into(),
            levels: None,
            reference: None,
        }
    }

    /// A categorical covariate with a fixed (public) level list; the first level is
    /// the reference.
    pub fn categorical_with_levels(column: impl Into<String>, levels: Vec<String>) -> Self {
        Term::Categorical {
            column: column.into(),
            levels: Some(levels),
            reference: None,
        }
    }

    /// The same term with another reference level (categorical terms only).
    pub fn with_reference(self, level: impl Into<String>) -> Self {
        match self {
            Term::Categorical { column, levels, .. } => Term::Categorical {
                column,
                levels,
                reference: Some(level.into()),
            },
            other => other,
        }
    }

    /// The table column this term reads.
    pub fn column(&self) -> &str {
        match self {
            Term::Numeric { column } | Term::Categorical { column, .. } => column,
        }
    }
}

/// The covariates of a model and whether it has an intercept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DesignSpec {
    /// Covariates in order.
    pub terms: Vec<Term>,
    /// Whether to prepend a column of ones named `intercept`.
    pub intercept: bool,
}

impl DesignSpec {
    /// A spec without intercept (as Cox models need).
    pub fn new(terms: Vec<Term>) -> Self {
        DesignSpec {
            terms,
            intercept: false,
        }
    }

    /// The same spec with an intercept (as GLMs need).
    pub fn with_intercept(mut self) -> Self {
        self.intercept = true;
        self
    }

    /// Terms for the named columns, typed from the table: text columns become
    /// categorical, numeric columns numeric, and the names in `categorical` are
    /// categorical whatever their type.
    pub fn infer(table: &Table, columns: &[&str], categorical: &[&str]) -> Result<Self> {
        let mut terms = Vec::with_capacity(columns.len());
        for &name in columns {
            let column = table.column(name)?;
            let is_text = matches!(column.data(), ColumnData::Text(_));
            terms.push(if is_text || categorical.contains(&name) {
                Term::categorical(name)
            } else {
                Term::numeric(name)
            });
        }
        Ok(DesignSpec::new(terms))
    }
}

/// The levels of one categorical term as used in a design (reference first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalLevels {
    /// Column name.
    pub column: String,
    /// Levels, reference first.
    pub levels: Vec<String>,
}

/// A model matrix: `n` rows (observations kept after listwise deletion) by `p`
/// named columns, row-major.
#[derive(Clone, PartialEq)]
pub struct Design {
    names: Vec<String>,
    x: Vec<f64>,
    rows: Vec<usize>,
    levels: Vec<CategoricalLevels>,
}

// Patient-level values never appear in Debug output.
impl std::fmt::Debug for Design {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Design")
            .field("nrows", &self.nrows())
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl Design {
    /// Builds the design of `spec` over `table`. Rows with a missing value in any
    /// term's column or in one of `also_required` (time, event, strata, outcome...)
    /// are dropped; the second value is how many.
    pub fn build(
        table: &Table,
        spec: &DesignSpec,
        also_required: &[&str],
    ) -> Result<(Design, usize)> {
        let rows = complete_rows(table, spec, also_required)?;
        let dropped = table.nrows() - rows.len();
        let mut blocks: Vec<Block> = Vec::new();
        let mut levels = Vec::new();
        for term in &spec.terms {
            let column = table.column(term.column())?;
            match term {
                Term::Numeric { column: name } => blocks.push(numeric_block(column, name, &rows)?),
                Term::Categorical {
                    column: name,
                    levels: given,
                    reference,
                } => {
                    let lv = resolve_levels(column, &rows, given.as_deref(), reference.as_deref())?;
                    blocks.push(categorical_block(column, &rows, &lv)?);
                    levels.push(CategoricalLevels {
                        column: name.clone(),
                        levels: lv,
                    });
                }
            }
        }
        Ok((assemble(blocks, rows, spec.intercept, levels), dropped))
    }

    /// A design from a row-major matrix (`x.len()` must be a multiple of `names.len()`).
    pub fn from_matrix(names: Vec<String>, x: Vec<f64>) -> Result<Design> {
        let p = names.len();
        if (p == 0 && !x.is_empty()) || (p > 0 && !x.len().is_multiple_of(p)) {
            return Err(StatsError::Shape {
                what: "design matrix (values must fill whole rows)",
                expected: p * x.len().div_ceil(p.max(1)),
                actual: x.len(),
            });
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(StatsError::NonFinite {
                what: format!("covariate `{}`", names[i % p]),
                row: i / p,
            });
        }
        let n = x.len().checked_div(p).unwrap_or(0);
        Ok(Design {
            names,
            x,
            rows: (0..n).collect(),
            levels: Vec::new(),
        })
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of observations.
    pub fn nrows(&self) -> usize {
        self.rows.len()
    }

    /// Number of columns (coefficients).
    pub fn ncols(&self) -> usize {
        self.names.len()
    }

    /// Row `i` of the matrix.
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.ncols();
        &self.x[i * p..(i + 1) * p]
    }

    /// The whole matrix, row-major.
    pub fn matrix(&self) -> &[f64] {
        &self.x
    }

    /// For each design row, the index of the table row it came from.
    pub fn source_rows(&self) -> &[usize] {
        &self.rows
    }

    /// The levels used for each categorical term (reference first).
    pub fn levels(&self) -> &[CategoricalLevels] {
        &self.levels
    }

    /// The design restricted to the given rows (indices into this design).
    pub fn take_rows(&self, indices: &[usize]) -> Design {
        let p = self.ncols();
        let mut x = Vec::with_capacity(indices.len() * p);
        for &i in indices {
            x.extend_from_slice(self.row(i));
        }
        Design {
            names: self.names.clone(),
            x,
            rows: indices.iter().map(|&i| self.rows[i]).collect(),
            levels: self.levels.clone(),
        }
    }
}

/// Column-major values of one term, with the names of its design columns.
struct Block {
    names: Vec<String>,
    columns: Vec<Vec<f64>>,
}

/// Indices of the rows where every used column has a value.
fn complete_rows(table: &Table, spec: &DesignSpec, also_required: &[&str]) -> Result<Vec<usize>> {
    let mut used: Vec<&Column> = Vec::new();
    for name in spec
        .terms
        .iter()
        .map(Term::column)
        .chain(also_required.iter().copied())
    {
        used.push(table.column(name)?);
    }
    Ok((0..table.nrows())
        .filter(|&r| used.iter().all(|c| !c.is_missing(r)))
        .collect())
}

fn numeric_block(column: &Column, name: &str, rows: &[usize]) -> Result<Block> {
    let values = column.as_numeric().ok_or_else(|| {
        StatsError::Table(salus_table::TableError::WrongType {
            name: name.to_string(),
            expected: "numeric",
            actual: "text",
        })
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, &r) in rows.iter().enumerate() {
        let v = values[r].unwrap_or(f64::NAN);
        if !v.is_finite() {
            return Err(StatsError::NonFinite {
                what: format!("covariate `{name}`"),
                row: i,
            });
        }
        out.push(v);
    }
    Ok(Block {
        names: vec![name.to_string()],
        columns: vec![out],
    })
}

/// The level list of a categorical term, reference first.
fn resolve_levels(
    column: &Column,
    rows: &[usize],
    given: Option<&[String]>,
    reference: Option<&str>,
) -> Result<Vec<String>> {
    let mut levels = match given {
        Some(list) => list.to_vec(),
        None => {
            let found = sorted_levels(column, rows);
            if found.len() < 2 {
                return Err(StatsError::TooFewLevels {
                    column: column.name().to_string(),
                    levels: found.len(),
                });
            }
            found
        }
    };
    if let Some(reference) = reference {
        let pos = levels.iter().position(|l| l == reference).ok_or_else(|| {
            StatsError::UnknownReference {
                column: column.name().to_string(),
                level: reference.to_string(),
            }
        })?;
        let r = levels.remove(pos);
        levels.insert(0, r);
    }
    Ok(levels)
}

/// Distinct values of the column over `rows`, sorted numerically for numeric columns
/// and by text otherwise.
pub(crate) fn sorted_levels(column: &Column, rows: &[usize]) -> Vec<String> {
    match column.data() {
        ColumnData::Numeric(values) => {
            let mut nums: Vec<f64> = rows.iter().filter_map(|&r| values[r]).collect();
            nums.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
            nums.dedup();
            nums.into_iter().map(salus_table::format_number).collect()
        }
        ColumnData::Text(values) => {
            let set: BTreeSet<&str> = rows.iter().filter_map(|&r| values[r].as_deref()).collect();
            set.into_iter().map(str::to_string).collect()
        }
    }
}

fn categorical_block(column: &Column, rows: &[usize], levels: &[String]) -> Result<Block> {
    let k = levels.len();
    let mut columns = vec![vec![0.0; rows.len()]; k.saturating_sub(1)];
    for (i, &r) in rows.iter().enumerate() {
        let value = column.display(r).unwrap_or_default();
        let pos =
            levels
                .iter()
                .position(|l| *l == *value)
                .ok_or_else(|| StatsError::UnknownLevel {
                    column: column.name().to_string(),
                    level: value.to_string(),
                    known: levels.join(", "),
                })?;
        if pos > 0 {
            columns[pos - 1][i] = 1.0;
        }
    }
    let names = levels[1..]
        .iter()
        .map(|l| format!("{}[T.{l}]", column.name()))
        .collect();
    Ok(Block { names, columns })
}

fn assemble(
    blocks: Vec<Block>,
    rows: Vec<usize>,
    intercept: bool,
    levels: Vec<CategoricalLevels>,
) -> Design {
    let mut names = Vec::new();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    if intercept {
        names.push("intercept".to_string());
        columns.push(vec![1.0; rows.len()]);
    }
    for block in blocks {
        names.extend(block.names);
        columns.extend(block.columns);
    }
    let p = columns.len();
    let mut x = Vec::with_capacity(rows.len() * p);
    for i in 0..rows.len() {
        x.extend(columns.iter().map(|c| c[i]));
    }
    Design {
        names,
        x,
        rows,
        levels,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use salus_table::{CsvOptions, read_csv};

    fn table(csv: &str) -> Table {
        read_csv(csv.as_bytes(), &CsvOptions::default()).unwrap()
    }

    #[test]
    fn one_hot_with_sorted_reference_and_listwise_deletion() {
        let t = table("age,grade,time\n50,II,3\n60,I,\n70,III,5\n,II,6\n80,I,7\n");
        let spec = DesignSpec::new(vec![Term::numeric("age"), Term::categorical("grade")])
            .with_intercept();
        let (d, dropped) = Design::build(&t, &spec, &["time"]).unwrap();
        assert_eq!(dropped, 2);
        assert_eq!(
            d.names(),
            ["intercept", "age", "grade[T.II]", "grade[T.III]"]
        );
        assert_eq!(d.source_rows(), [0, 2, 4]);
        assert_eq!(d.row(0), [1.0, 50.0, 1.0, 0.0]);
        assert_eq!(d.row(1), [1.0, 70.0, 0.0, 1.0]);
        assert_eq!(d.row(2), [1.0, 80.0, 0.0, 0.0]);
    }

    #[test]
    fn numeric_levels_sort_numerically_and_reference_can_be_chosen() {
        let t = table("stage\n10\n9\n2\n9\n");
        let spec = DesignSpec::new(vec![Term::categorical("stage").with_reference("9")]);
        let (d, _) = Design::build(&t, &spec, &[]).unwrap();
        assert_eq!(d.names(), ["stage[T.2]", "stage[T.10]"]);
        assert_eq!(d.levels()[0].levels, ["9", "2", "10"]);
    }

    #[test]
    fn given_levels_allow_absent_levels_and_reject_unknown_ones() {
        let t = table("grade\nI\nI\nII\n");
        let levels = vec!["I".to_string(), "II".to_string(), "III".to_string()];
        let spec = DesignSpec::new(vec![Term::categorical_with_levels("grade", levels)]);
        let (d, _) = Design::build(&t, &spec, &[]).unwrap();
        assert_eq!(d.names(), ["grade[T.II]", "grade[T.III]"]);
        assert_eq!(d.row(2), [1.0, 0.0]);
        let short = DesignSpec::new(vec![Term::categorical_with_levels(
            "grade",
            vec!["I".into()],
        )]);
        let err = Design::build(&t, &short, &[]).unwrap_err().to_string();
        assert!(err.contains("`II`") && err.contains("grade"), "{err}");
    }

    #[test]
    fn debug_output_hides_values() {
        let t = table("age\n12345\n");
        let (d, _) = Design::build(&t, &DesignSpec::new(vec![Term::numeric("age")]), &[]).unwrap();
        assert!(!format!("{d:?}").contains("12345"));
    }
}
