//! Shared column encoding for the attacks: the tables an attack compares are encoded
//! once into numeric or categorical columns with one dictionary per column, so that
//! distances and query counts are cheap integer or float comparisons.

use std::collections::HashMap;

use salus_table::{Column, Table};

use crate::{AnonError, Result};

/// One encoded column over several tables (same dictionary for all of them).
#[derive(Clone)]
pub(crate) enum Encoded {
    /// Numbers; `range` is max - min over all tables (1 when constant), for Gower scaling.
    Numeric {
        values: Vec<Vec<Option<f64>>>,
        range: f64,
    },
    /// Categories as dictionary codes.
    Categorical {
        values: Vec<Vec<Option<u32>>>,
        dictionary: Vec<String>,
    },
}

/// Columns of several tables encoded together; `tables[t]` has `rows[t]` rows.
pub(crate) struct EncodedTables {
    pub names: Vec<String>,
    pub columns: Vec<Encoded>,
    pub rows: Vec<usize>,
}

impl EncodedTables {
    /// Encodes `names` from every table. A column is numeric when it is numeric in all
    /// tables, categorical otherwise (numbers then compare as their text).
    pub fn new(tables: &[&Table], names: &[String]) -> Result<Self> {
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let cols: Vec<&Column> = tables
                .iter()
                .map(|t| t.column(name))
                .collect::<Result<_, _>>()?;
            let numeric = cols.iter().all(|c| c.as_numeric().is_some());
            columns.push(if numeric {
                encode_numeric(&cols)
            } else {
                encode_categorical(&cols)
            });
        }
        Ok(EncodedTables {
            names: names.to_vec(),
            columns,
            rows: tables.iter().map(|t| t.nrows()).collect(),
        })
    }

    /// Anonymeter's Gower-style distance between row `a` of table `ta` and row `b` of
    /// table `tb` over the columns `cols`: |x - y| / range for numbers, 0/1 for
    /// categories, 1 when either value is missing (also when both are, as Anonymeter).
    pub fn distance(&self, cols: &[usize], ta: usize, a: usize, tb: usize, b: usize) -> f64 {
        let mut d = 0.0;
        for &c in cols {
            d += match &self.columns[c] {
                Encoded::Numeric { values, range } => match (values[ta][a], values[tb][b]) {
                    (Some(x), Some(y)) => ((x - y).abs() / range).min(1.0),
                    _ => 1.0,
                },
                Encoded::Categorical { values, .. } => match (values[ta][a], values[tb][b]) {
                    (Some(x), Some(y)) if x == y => 0.0,
                    _ => 1.0,
                },
            };
        }
        d
    }

    /// Position of a column by name.
    pub fn index(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            AnonError::Attack(format!("column `{name}` is not among the attacked columns"))
        })
    }
}

fn encode_numeric(cols: &[&Column]) -> Encoded {
    let values: Vec<Vec<Option<f64>>> = cols
        .iter()
        .map(|c| c.as_numeric().unwrap_or(&[]).to_vec())
        .collect();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in values.iter().flatten().flatten() {
        lo = lo.min(*x);
        hi = hi.max(*x);
    }
    let range = if hi > lo { hi - lo } else { 1.0 };
    Encoded::Numeric { values, range }
}

fn encode_categorical(cols: &[&Column]) -> Encoded {
    let mut dictionary: Vec<String> = Vec::new();
    let mut codes: HashMap<String, u32> = HashMap::new();
    let values = cols
        .iter()
        .map(|c| {
            (0..c.len())
                .map(|row| {
                    c.display(row).map(|v| {
                        if let Some(&code) = codes.get(v.as_ref()) {
                            code
                        } else {
                            let code = dictionary.len() as u32;
                            dictionary.push(v.to_string());
                            codes.insert(v.into_owned(), code);
                            code
                        }
                    })
                })
                .collect()
        })
        .collect();
    Encoded::Categorical { values, dictionary }
}

/// Indices of the `k` smallest distances from `query` (row `q` of table `tq`) to the
/// rows of table `tc`; ties keep the lower index, as a stable argsort does.
pub(crate) fn nearest(
    data: &EncodedTables,
    cols: &[usize],
    tq: usize,
    q: usize,
    tc: usize,
    k: usize,
) -> Vec<usize> {
    let n = data.rows[tc];
    let k = k.min(n);
    // Keep a small sorted buffer of the best k: k is 1-10 in practice.
    let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    for c in 0..n {
        let d = data.distance(cols, tq, q, tc, c);
        if best.len() < k || d < best[best.len() - 1].0 {
            let pos = best.partition_point(|&(bd, _)| bd <= d);
            best.insert(pos, (d, c));
            best.truncate(k);
        }
    }
    best.into_iter().map(|(_, i)| i).collect()
}

/// Runs `f(i)` for `i in 0..n` on up to two threads (the machines this runs on have two
/// cores) and returns the results in order.
pub(crate) fn parallel_map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 4);
    if n < 64 || threads == 1 {
        return (0..n).map(f).collect();
    }
    let chunk = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(n))
                        .map(f)
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}
