//! One shared discretisation of real, synthetic and holdout tables for the evaluation.
//!
//! Every column becomes codes: text columns, and numeric columns with at most
//! `max_exact_values` distinct real values, by label; other numeric columns by the real
//! data's deciles (values of the other tables are binned by the same edges). Missing values
//! get their own code; labels that the real data does not have share one "unseen" code, so
//! they count as a mismatch in every distance.

use std::collections::HashMap;

use salus_table::{Column, Table};

use crate::error::{Result, SynthError};

/// How one column is discretised.
#[derive(Debug, Clone)]
enum Scheme {
    Labels(HashMap<String, u32>),
    Bins(Vec<f64>),
}

/// The discretisation of one column, fixed on the real data.
#[derive(Debug, Clone)]
pub(crate) struct EvalColumn {
    pub name: String,
    scheme: Scheme,
    /// Numeric in the real data (correlations are computed for numeric pairs).
    pub numeric: bool,
    /// Human labels of codes (value codes, then "unseen", then "missing").
    pub labels: Vec<String>,
}

impl EvalColumn {
    /// Codes used: values, unseen, missing.
    pub fn cardinality(&self) -> usize {
        self.labels.len()
    }

    /// True when the column is binned by quantiles (a numeric column with many values).
    pub fn is_binned(&self) -> bool {
        matches!(self.scheme, Scheme::Bins(_))
    }

    fn unseen(&self) -> u32 {
        (self.labels.len() - 2) as u32
    }

    fn missing(&self) -> u32 {
        (self.labels.len() - 1) as u32
    }

    fn fit(column: &Column, max_exact_values: usize, bins: usize) -> Self {
        let name = column.name().to_string();
        let numeric_values: Option<Vec<f64>> = column
            .as_numeric()
            .map(|v| v.iter().flatten().copied().collect());
        let mut distinct: Vec<String> = (0..column.len())
            .filter_map(|r| column.display(r).map(|s| s.into_owned()))
            .collect();
        distinct.sort();
        distinct.dedup();
        let (scheme, mut labels) = match numeric_values {
            Some(mut values) if distinct.len() > max_exact_values => {
                values.sort_by(f64::total_cmp);
                let edges = quantile_edges(&values, bins);
                let labels = edges
                    .windows(2)
                    .map(|w| format!("[{}, {})", short(w[0]), short(w[1])))
                    .collect();
                (Scheme::Bins(edges), labels)
            }
            _ => {
                if column.as_numeric().is_some() {
                    distinct.sort_by(|a, b| {
                        a.parse::<f64>()
                            .unwrap_or(0.0)
                            .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
                    });
                }
                let map = distinct
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.clone(), i as u32))
                    .collect();
                (Scheme::Labels(map), distinct)
            }
        };
        labels.push("(unseen)".to_string());
        labels.push("(missing)".to_string());
        EvalColumn {
            name,
            scheme,
            numeric: column.as_numeric().is_some(),
            labels,
        }
    }

    /// Codes of `column` (any table).
    pub fn encode(&self, column: &Column) -> Vec<u32> {
        (0..column.len())
            .map(|row| {
                if column.is_missing(row) {
                    return self.missing();
                }
                match &self.scheme {
                    Scheme::Labels(map) => column
                        .display(row)
                        .and_then(|t| map.get(t.as_ref()).copied())
                        .unwrap_or(self.unseen()),
                    Scheme::Bins(edges) => match column.number(row) {
                        Some(x) => {
                            let bins = edges.len() - 1;
                            (edges
                                .partition_point(|&e| e <= x)
                                .saturating_sub(1)
                                .min(bins - 1)) as u32
                        }
                        None => self.unseen(),
                    },
                }
            })
            .collect()
    }
}

fn short(x: f64) -> String {
    salus_table::format_number((x * 1e4).round() / 1e4)
}

/// Up to `bins` bins with edges at the real data's quantiles (duplicates removed).
fn quantile_edges(sorted: &[f64], bins: usize) -> Vec<f64> {
    let mut edges: Vec<f64> = (0..=bins)
        .map(|i| {
            let position = (i as f64 / bins as f64 * (sorted.len() - 1) as f64).round() as usize;
            sorted[position]
        })
        .collect();
    edges.dedup();
    if edges.len() < 2 {
        edges.push(edges[0] + 1.0);
    }
    edges
}

/// The evaluation's view of the tables: shared columns and their codes.
#[derive(Debug, Clone)]
pub(crate) struct Discretised {
    pub columns: Vec<EvalColumn>,
    pub real: Vec<Vec<u32>>,
    pub synthetic: Vec<Vec<u32>>,
    pub holdout: Option<Vec<Vec<u32>>>,
    /// Real columns the synthetic table lacks.
    pub missing_in_synthetic: Vec<String>,
}

/// Discretises the columns that `real` and `synthetic` (and `holdout`, when given) share.
pub(crate) fn discretise(
    real: &Table,
    synthetic: &Table,
    holdout: Option<&Table>,
    max_exact_values: usize,
    bins: usize,
) -> Result<Discretised> {
    if real.nrows() == 0 || synthetic.nrows() == 0 {
        return Err(SynthError::Evaluation(
            "the real and the synthetic table both need rows".to_string(),
        ));
    }
    let mut columns = Vec::new();
    let mut missing_in_synthetic = Vec::new();
    for column in real.columns() {
        if !synthetic.has_column(column.name()) {
            missing_in_synthetic.push(column.name().to_string());
            continue;
        }
        if holdout.is_some_and(|h| !h.has_column(column.name())) {
            return Err(SynthError::Evaluation(format!(
                "the holdout lacks column `{}`",
                column.name()
            )));
        }
        columns.push(EvalColumn::fit(column, max_exact_values, bins));
    }
    if columns.is_empty() {
        return Err(SynthError::Evaluation(
            "the real and synthetic tables share no column".to_string(),
        ));
    }
    let encode = |table: &Table| -> Result<Vec<Vec<u32>>> {
        columns
            .iter()
            .map(|c| Ok(c.encode(table.column(&c.name)?)))
            .collect()
    };
    Ok(Discretised {
        real: encode(real)?,
        synthetic: encode(synthetic)?,
        holdout: holdout.map(encode).transpose()?,
        columns,
        missing_in_synthetic,
    })
}
