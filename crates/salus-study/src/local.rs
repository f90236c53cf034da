//! What a node computes on its own rows for one round. Runs on the node only; its
//! output is a vector of the public layout's length and is never sent in the clear.

use salus_core::schema::{ColumnType, DatasetSchema};
use salus_core::study::{AnalysisSpec, StudySpec};
use salus_table::{Column, Table};

use crate::cohort::Filter;
use crate::{RoundRequest, StudyError};

/// The rows a node contributes: its table, the cohort mask, and how many cohort rows
/// were removed because consent did not cover the study.
#[derive(Debug, Clone)]
pub struct Cohort<'a> {
    pub table: &'a Table,
    /// One entry per table row: in the cohort and consented.
    pub rows: Vec<bool>,
    /// Rows that matched the filter but were excluded for lack of consent.
    pub consent_excluded: u64,
}

impl<'a> Cohort<'a> {
    /// Every row of the table, nobody excluded.
    pub fn all(table: &'a Table) -> Self {
        Cohort {
            table,
            rows: vec![true; table.nrows()],
            consent_excluded: 0,
        }
    }

    /// The rows matching a filter expression, minus those for which `consented`
    /// returns false (counted in `consent_excluded`).
    pub fn select(
        table: &'a Table,
        filter: &str,
        consented: impl Fn(usize) -> bool,
    ) -> Result<Self, StudyError> {
        let matches = Filter::parse(filter)?.evaluate(table)?;
        let mut excluded = 0;
        let rows = matches
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                if m && !consented(i) {
                    excluded += 1;
                    false
                } else {
                    m
                }
            })
            .collect();
        Ok(Cohort {
            table,
            rows,
            consent_excluded: excluded,
        })
    }

    /// Number of rows in the cohort.
    pub fn len(&self) -> u64 {
        self.rows.iter().filter(|&&r| r).count() as u64
    }

    /// True when the cohort is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cohort's rows as a table.
    pub fn table(&self) -> Table {
        self.table.filter_rows(&self.rows)
    }

    fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(i, &r)| r.then_some(i))
    }
}

/// Computes this node's contribution to `round` of `spec`.
pub fn contribute(
    spec: &StudySpec,
    schema: &DatasetSchema,
    round: &RoundRequest,
    cohort: &Cohort<'_>,
) -> Result<Vec<f64>, StudyError> {
    let mut out = vec![cohort.len() as f64, cohort.consent_excluded as f64];
    match &spec.analysis {
        AnalysisSpec::Descriptive { columns } => {
            for name in columns {
                descriptive_column(schema, cohort, name, &mut out)?;
            }
        }
        AnalysisSpec::Histogram { column, edges } => histogram(cohort, column, edges, &mut out)?,
        AnalysisSpec::Contingency { rows, columns } => {
            contingency(schema, cohort, rows, columns, &mut out)?
        }
        other => crate::local_models::contribute(spec, schema, other, round, cohort, &mut out)?,
    }
    if out.len() != round.layout.len() {
        return Err(StudyError::WrongLength {
            expected: round.layout.len(),
            got: out.len(),
        });
    }
    round.layout.check(&out).map_err(StudyError::Data)?;
    Ok(out)
}

/// The column, checked to exist in the data file.
pub(crate) fn data_column<'t>(cohort: &Cohort<'t>, name: &str) -> Result<&'t Column, StudyError> {
    cohort.table.column(name).map_err(|e| {
        StudyError::Data(format!(
            "{e}; the registered file does not match its schema"
        ))
    })
}

/// A numeric column's cohort values (missing as None).
pub(crate) fn numeric_values(
    cohort: &Cohort<'_>,
    name: &str,
) -> Result<Vec<Option<f64>>, StudyError> {
    let col = data_column(cohort, name)?;
    let mut out = Vec::with_capacity(cohort.len() as usize);
    for i in cohort.indices() {
        if col.is_missing(i) {
            out.push(None);
        } else {
            let v = col.number(i).ok_or_else(|| {
                StudyError::Data(format!(
                    "column `{name}` holds a value that is not a number at a cohort row; fix the data or declare the column categorical"
                ))
            })?;
            out.push(Some(v));
        }
    }
    Ok(out)
}

/// Index of each cohort row's value among the declared levels (None = missing).
pub(crate) fn level_indices(
    schema: &DatasetSchema,
    cohort: &Cohort<'_>,
    name: &str,
) -> Result<(usize, Vec<Option<usize>>), StudyError> {
    let levels = &schema.analysis_column(name)?.levels;
    if levels.is_empty() {
        return Err(StudyError::Data(format!(
            "column `{name}` has no declared levels; declare it categorical with levels in the schema"
        )));
    }
    let col = data_column(cohort, name)?;
    let mut out = Vec::with_capacity(cohort.len() as usize);
    for i in cohort.indices() {
        match col.display(i) {
            None => out.push(None),
            Some(v) => {
                let idx = levels.iter().position(|l| l == v.as_ref()).ok_or_else(|| {
                    StudyError::Data(format!(
                        "column `{name}` holds a value outside its declared levels; update the schema's levels"
                    ))
                })?;
                out.push(Some(idx));
            }
        }
    }
    Ok((levels.len(), out))
}

/// The centre used for numerically stable moments: the midpoint of declared bounds.
pub(crate) fn centre(schema: &DatasetSchema, name: &str) -> f64 {
    schema
        .columns
        .get(name)
        .and_then(|c| c.bounds)
        .map_or(0.0, |[lo, hi]| (lo + hi) / 2.0)
}

fn descriptive_column(
    schema: &DatasetSchema,
    cohort: &Cohort<'_>,
    name: &str,
    out: &mut Vec<f64>,
) -> Result<(), StudyError> {
    let col = schema.analysis_column(name)?;
    match col.column_type {
        ColumnType::Numeric => {
            let c = centre(schema, name);
            let values = numeric_values(cohort, name)?;
            let (mut n, mut s1, mut s2, mut missing) = (0.0, 0.0, 0.0, 0.0);
            for v in values {
                match v {
                    Some(x) => {
                        n += 1.0;
                        s1 += x - c;
                        s2 += (x - c) * (x - c);
                    }
                    None => missing += 1.0,
                }
            }
            out.extend([n, missing, s1, s2]);
        }
        ColumnType::Categorical => {
            let (k, idx) = level_indices(schema, cohort, name)?;
            let mut counts = vec![0.0; k + 1];
            for i in idx {
                counts[i.unwrap_or(k)] += 1.0;
            }
            out.extend(counts);
        }
        ColumnType::Text | ColumnType::Date => {
            return Err(StudyError::Analysis(format!(
                "column `{name}` is text/date; descriptive statistics need numeric or categorical columns"
            )));
        }
    }
    Ok(())
}

fn histogram(
    cohort: &Cohort<'_>,
    column: &str,
    edges: &[f64],
    out: &mut Vec<f64>,
) -> Result<(), StudyError> {
    let bins = edges.len() - 1;
    // bins, then below, above, missing
    let mut counts = vec![0.0; bins + 3];
    for v in numeric_values(cohort, column)? {
        let slot = match v {
            None => bins + 2,
            Some(x) if x < edges[0] => bins,
            Some(x) if x > edges[bins] => bins + 1,
            Some(x) => {
                // Bins are [e_i, e_{i+1}), the last one closed.
                edges[1..].iter().position(|&e| x < e).unwrap_or(bins - 1)
            }
        };
        counts[slot] += 1.0;
    }
    out.extend(counts);
    Ok(())
}

fn contingency(
    schema: &DatasetSchema,
    cohort: &Cohort<'_>,
    rows: &str,
    columns: &str,
    out: &mut Vec<f64>,
) -> Result<(), StudyError> {
    let (r, ri) = level_indices(schema, cohort, rows)?;
    let (c, ci) = level_indices(schema, cohort, columns)?;
    let mut counts = vec![0.0; r * c + 1];
    for (a, b) in ri.into_iter().zip(ci) {
        match (a, b) {
            (Some(a), Some(b)) => counts[a * c + b] += 1.0,
            _ => counts[r * c] += 1.0,
        }
    }
    out.extend(counts);
    Ok(())
}
