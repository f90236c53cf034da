//! Singling-out attack (Anonymeter's `SinglingOutEvaluator`): the attacker writes
//! predicates that isolate exactly one record of the released table and checks how many
//! of them also isolate exactly one record of the original table.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::SliceRandom;
use salus_table::Table;
use serde::{Deserialize, Serialize};

use super::data::{Encoded, EncodedTables};
use super::{AttackResult, check_confidence, sample_indices};
use crate::{AnonError, Result};

/// How the singling-out predicates are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinglingOutMode {
    /// One attribute per predicate: rare values, extreme numbers, the single missing value.
    Univariate,
    /// `n_cols` attributes of a random released record per predicate.
    Multivariate,
}

/// Parameters of [`singling_out`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SinglingOutConfig {
    /// Number of singling-out predicates to generate (Anonymeter default 500).
    pub n_attacks: usize,
    /// Attributes per multivariate predicate (default 3).
    pub n_cols: usize,
    /// Univariate or multivariate predicates.
    pub mode: SinglingOutMode,
    /// Cap on predicate-generation attempts (multivariate mode).
    pub max_attempts: usize,
    /// Columns the attacker may use; `None` = every column the tables share.
    pub columns: Option<Vec<String>>,
    /// Confidence level of the intervals (default 0.95).
    pub confidence: f64,
}

impl Default for SinglingOutConfig {
    fn default() -> Self {
        SinglingOutConfig {
            n_attacks: 500,
            n_cols: 3,
            mode: SinglingOutMode::Multivariate,
            max_attempts: 100_000,
            columns: None,
            confidence: 0.95,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    IsNull,
    NotNull,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Predicate {
    col: usize,
    op: Op,
    number: f64,
    code: u32,
}

type Query = Vec<Predicate>;

const RELEASED: usize = 0;
const ORIGINAL: usize = 1;
const CONTROL: usize = 2;

/// Runs the singling-out attack. `released` is what the attacker sees, `original` the
/// records it is evaluated on, `control` (optional) original records not used for the
/// release. Duplicate rows are removed first, as Anonymeter does.
pub fn singling_out<R: Rng + ?Sized>(
    released: &Table,
    original: &Table,
    control: Option<&Table>,
    config: &SinglingOutConfig,
    rng: &mut R,
) -> Result<AttackResult> {
    check_confidence(config.confidence)?;
    if config.n_attacks == 0 || (config.mode == SinglingOutMode::Multivariate && config.n_cols == 0)
    {
        return Err(AnonError::InvalidParameter(
            "n_attacks and n_cols must be at least 1".into(),
        ));
    }
    let mut tables = vec![released, original];
    tables.extend(control);
    let names = attack_columns(&tables, config.columns.as_deref())?;
    let data = EncodedTables::new(&tables, &names)?;
    let unique: Vec<Vec<usize>> = (0..tables.len()).map(|t| unique_rows(&data, t)).collect();
    if unique[RELEASED].is_empty() || unique[ORIGINAL].is_empty() {
        return Err(AnonError::Attack(
            "the released and original tables need at least one row".into(),
        ));
    }
    let n_cols = match config.mode {
        SinglingOutMode::Univariate => 1,
        SinglingOutMode::Multivariate => config.n_cols.min(names.len()),
    };
    let queries = match config.mode {
        SinglingOutMode::Univariate => {
            univariate_queries(&data, &unique[RELEASED], config.n_attacks, rng)
        }
        SinglingOutMode::Multivariate => multivariate_queries(
            &data,
            &unique[RELEASED],
            config.n_attacks,
            n_cols,
            config.max_attempts,
            rng,
        ),
    };
    if queries.is_empty() {
        return Err(AnonError::Attack(
            "no predicate singles out a released record; the release resists this attack (no risk to measure)".into(),
        ));
    }
    let n_attacks = queries.len();
    let n_success = count_singling_out(&data, ORIGINAL, &unique[ORIGINAL], &queries);
    let baseline = random_queries(&data, &unique[RELEASED], n_attacks, n_cols, rng);
    let n_baseline = count_singling_out(&data, ORIGINAL, &unique[ORIGINAL], &baseline);
    let n_control = control.map(|_| {
        let raw = count_singling_out(&data, CONTROL, &unique[CONTROL], &queries) as f64;
        if unique[CONTROL].len() == unique[ORIGINAL].len() || unique[CONTROL].is_empty() {
            raw
        } else {
            raw * size_correction(
                &data,
                &unique[CONTROL],
                unique[ORIGINAL].len(),
                &queries,
                rng,
            )
        }
    });
    let name = match config.mode {
        SinglingOutMode::Univariate => "singling_out_univariate",
        SinglingOutMode::Multivariate => "singling_out_multivariate",
    };
    Ok(AttackResult::from_counts(
        name,
        n_attacks,
        n_success,
        n_baseline,
        n_control,
        config.confidence,
    ))
}

/// The attacked columns: the requested ones, or every column shared by all tables.
pub(crate) fn attack_columns(
    tables: &[&Table],
    requested: Option<&[String]>,
) -> Result<Vec<String>> {
    let names: Vec<String> = match requested {
        Some(cols) => cols.to_vec(),
        None => tables[0]
            .names()
            .into_iter()
            .filter(|n| tables.iter().all(|t| t.has_column(n)))
            .map(str::to_string)
            .collect(),
    };
    if names.is_empty() {
        return Err(AnonError::Attack(
            "the tables share no column to attack".into(),
        ));
    }
    Ok(names)
}

fn unique_rows(data: &EncodedTables, t: usize) -> Vec<usize> {
    let mut seen = HashSet::new();
    (0..data.rows.get(t).copied().unwrap_or(0))
        .filter(|&row| {
            let key: Vec<u64> = data
                .columns
                .iter()
                .map(|c| match c {
                    Encoded::Numeric { values, .. } => {
                        values[t][row].map_or(u64::MAX, f64::to_bits)
                    }
                    Encoded::Categorical { values, .. } => {
                        values[t][row].map_or(u64::MAX, u64::from)
                    }
                })
                .collect();
            seen.insert(key)
        })
        .collect()
}

fn matches(data: &EncodedTables, t: usize, row: usize, p: &Predicate) -> bool {
    match &data.columns[p.col] {
        Encoded::Numeric { values, .. } => match (values[t][row], p.op) {
            (None, Op::IsNull) => true,
            (None, _) => false,
            (Some(_), Op::NotNull) => true,
            (Some(x), op) => match op {
                Op::Eq => x == p.number,
                Op::Ne => x != p.number,
                Op::Lt => x < p.number,
                Op::Le => x <= p.number,
                Op::Gt => x > p.number,
                Op::Ge => x >= p.number,
                Op::IsNull | Op::NotNull => false,
            },
        },
        Encoded::Categorical { values, .. } => match (values[t][row], p.op) {
            (None, Op::IsNull) => true,
            (None, _) => false,
            (Some(_), Op::NotNull) => true,
            (Some(code), Op::Eq) => code == p.code,
            (Some(code), Op::Ne) => code != p.code,
            _ => false,
        },
    }
}

/// Number of rows matching `query`, counting no further than 2.
fn count_up_to_two(data: &EncodedTables, t: usize, rows: &[usize], query: &Query) -> usize {
    let mut count = 0;
    for &row in rows {
        if query.iter().all(|p| matches(data, t, row, p)) {
            count += 1;
            if count == 2 {
                break;
            }
        }
    }
    count
}

fn count_singling_out(data: &EncodedTables, t: usize, rows: &[usize], queries: &[Query]) -> usize {
    super::data::parallel_map(queries.len(), |i| {
        count_up_to_two(data, t, rows, &queries[i]) == 1
    })
    .into_iter()
    .filter(|&hit| hit)
    .count()
}

fn query_key(query: &Query) -> Vec<(usize, u8, u64, u32)> {
    query
        .iter()
        .map(|p| (p.col, p.op as u8, p.number.to_bits(), p.code))
        .collect()
}

/// Keeps the queries that single out exactly one released record, without duplicates.
fn keep_singling_out(
    data: &EncodedTables,
    rows: &[usize],
    candidates: Vec<Query>,
    out: &mut Vec<Query>,
    seen: &mut HashSet<Vec<(usize, u8, u64, u32)>>,
    max: usize,
) {
    let hits = super::data::parallel_map(candidates.len(), |i| {
        count_up_to_two(data, RELEASED, rows, &candidates[i]) == 1
    });
    for (query, hit) in candidates.into_iter().zip(hits) {
        if out.len() >= max {
            return;
        }
        if hit && seen.insert(query_key(&query)) {
            out.push(query);
        }
    }
}

fn univariate_queries<R: Rng + ?Sized>(
    data: &EncodedTables,
    rows: &[usize],
    n: usize,
    rng: &mut R,
) -> Vec<Query> {
    let mut candidates: Vec<Query> = Vec::new();
    for (col, column) in data.columns.iter().enumerate() {
        let predicate = |op, number, code| {
            vec![Predicate {
                col,
                op,
                number,
                code,
            }]
        };
        match column {
            Encoded::Numeric { values, .. } => {
                let present: Vec<f64> = rows.iter().filter_map(|&r| values[RELEASED][r]).collect();
                if rows.len() - present.len() == 1 {
                    candidates.push(predicate(Op::IsNull, 0.0, 0));
                }
                if let (Some(lo), Some(hi)) = (
                    present.iter().copied().reduce(f64::min),
                    present.iter().copied().reduce(f64::max),
                ) {
                    candidates.push(predicate(Op::Le, lo, 0));
                    candidates.push(predicate(Op::Ge, hi, 0));
                }
                let mut counts: std::collections::HashMap<u64, usize> = Default::default();
                for x in &present {
                    *counts.entry(x.to_bits()).or_default() += 1;
                }
                let mut rare: Vec<u64> = counts
                    .into_iter()
                    .filter(|&(_, c)| c == 1)
                    .map(|(b, _)| b)
                    .collect();
                rare.sort_unstable();
                candidates.extend(
                    rare.into_iter()
                        .map(|b| predicate(Op::Eq, f64::from_bits(b), 0)),
                );
            }
            Encoded::Categorical { values, dictionary } => {
                let mut counts = vec![0usize; dictionary.len()];
                let mut missing = 0;
                for &r in rows {
                    match values[RELEASED][r] {
                        Some(code) => counts[code as usize] += 1,
                        None => missing += 1,
                    }
                }
                if missing == 1 {
                    candidates.push(predicate(Op::IsNull, 0.0, 0));
                }
                candidates.extend(
                    counts
                        .iter()
                        .enumerate()
                        .filter(|&(_, &c)| c == 1)
                        .map(|(code, _)| predicate(Op::Eq, 0.0, code as u32)),
                );
            }
        }
    }
    candidates.shuffle(rng);
    let (mut out, mut seen) = (Vec::new(), HashSet::new());
    keep_singling_out(data, rows, candidates, &mut out, &mut seen, n);
    out
}

fn medians(data: &EncodedTables, rows: &[usize]) -> Vec<f64> {
    data.columns
        .iter()
        .map(|c| match c {
            Encoded::Numeric { values, .. } => {
                let mut v: Vec<f64> = rows.iter().filter_map(|&r| values[RELEASED][r]).collect();
                v.sort_by(f64::total_cmp);
                match v.len() {
                    0 => 0.0,
                    n if n % 2 == 1 => v[n / 2],
                    n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
                }
            }
            Encoded::Categorical { .. } => 0.0,
        })
        .collect()
}

fn query_from_record(
    data: &EncodedTables,
    row: usize,
    mut cols: Vec<usize>,
    medians: &[f64],
) -> Query {
    cols.sort_unstable();
    cols.into_iter()
        .map(|col| match &data.columns[col] {
            Encoded::Numeric { values, .. } => match values[RELEASED][row] {
                None => Predicate {
                    col,
                    op: Op::IsNull,
                    number: 0.0,
                    code: 0,
                },
                Some(x) => {
                    let op = if x > medians[col] { Op::Ge } else { Op::Le };
                    Predicate {
                        col,
                        op,
                        number: x,
                        code: 0,
                    }
                }
            },
            Encoded::Categorical { values, .. } => match values[RELEASED][row] {
                None => Predicate {
                    col,
                    op: Op::IsNull,
                    number: 0.0,
                    code: 0,
                },
                Some(code) => Predicate {
                    col,
                    op: Op::Eq,
                    number: 0.0,
                    code,
                },
            },
        })
        .collect()
}

fn multivariate_queries<R: Rng + ?Sized>(
    data: &EncodedTables,
    rows: &[usize],
    n: usize,
    n_cols: usize,
    max_attempts: usize,
    rng: &mut R,
) -> Vec<Query> {
    let medians = medians(data, rows);
    let (mut out, mut seen) = (Vec::new(), HashSet::new());
    let mut attempts = 0;
    let batch = 1000.min(max_attempts.max(1));
    while out.len() < n && attempts < max_attempts {
        let candidates: Vec<Query> = (0..batch)
            .map(|_| {
                let row = rows[rng.random_range(0..rows.len())];
                let cols = sample_indices(data.columns.len(), n_cols, rng);
                query_from_record(data, row, cols, &medians)
            })
            .collect();
        keep_singling_out(data, rows, candidates, &mut out, &mut seen, n);
        attempts += batch;
    }
    out
}

/// The naive attacker: random columns, random released values, random operators.
fn random_queries<R: Rng + ?Sized>(
    data: &EncodedTables,
    rows: &[usize],
    n: usize,
    n_cols: usize,
    rng: &mut R,
) -> Vec<Query> {
    (0..n)
        .map(|_| {
            let mut cols = sample_indices(data.columns.len(), n_cols, rng);
            cols.sort_unstable();
            cols.into_iter()
                .map(|col| {
                    let row = rows[rng.random_range(0..rows.len())];
                    match &data.columns[col] {
                        Encoded::Numeric { values, .. } => match values[RELEASED][row] {
                            None => Predicate {
                                col,
                                op: pick(&[Op::IsNull, Op::NotNull], rng),
                                number: 0.0,
                                code: 0,
                            },
                            Some(x) => Predicate {
                                col,
                                op: pick(&[Op::Eq, Op::Ne, Op::Gt, Op::Lt, Op::Ge, Op::Le], rng),
                                number: x,
                                code: 0,
                            },
                        },
                        Encoded::Categorical { values, .. } => match values[RELEASED][row] {
                            None => Predicate {
                                col,
                                op: pick(&[Op::IsNull, Op::NotNull], rng),
                                number: 0.0,
                                code: 0,
                            },
                            Some(code) => Predicate {
                                col,
                                op: pick(&[Op::Eq, Op::Ne], rng),
                                number: 0.0,
                                code,
                            },
                        },
                    }
                })
                .collect()
        })
        .collect()
}

fn pick<R: Rng + ?Sized>(ops: &[Op], rng: &mut R) -> Op {
    ops[rng.random_range(0..ops.len())]
}

/// Anonymeter's correction for a control table of another size than the original:
/// fit `norm * P(n, w)` (the probability that a query of weight up to `w` singles out
/// in `n` records, Cohen & Nissim 2020) to singling-out counts on control subsamples and
/// return `model(n_original) / model(n_control)`.
fn size_correction<R: Rng + ?Sized>(
    data: &EncodedTables,
    control: &[usize],
    n_original: usize,
    queries: &[Query],
    rng: &mut R,
) -> f64 {
    let n_control = control.len();
    let min_rows = n_control.min(1000);
    let mut points = Vec::new();
    for step in 0..10 {
        let size = min_rows + (n_control - min_rows) * step / 9;
        for _ in 0..5 {
            let picked: Vec<usize> = sample_indices(n_control, size, rng)
                .into_iter()
                .map(|i| control[i])
                .collect();
            points.push((
                size as f64,
                count_singling_out(data, CONTROL, &picked, queries) as f64,
            ));
        }
    }
    let (w, norm) = fit_singling_out_model(&points);
    let model = |n: f64| norm * singling_out_integral(n, w);
    let denominator = model(n_control as f64);
    if denominator > 0.0 {
        model(n_original as f64) / denominator
    } else {
        1.0
    }
}

/// Integral over query weights in [0, w] of n·w(1-w)^(n-1), i.e.
/// `(1 - (n w + 1)(1 - w)^n) / (n + 1)`.
fn singling_out_integral(n: f64, w: f64) -> f64 {
    (1.0 - (n * w + 1.0) * (1.0 - w).powf(n)) / (n + 1.0)
}

/// Least-squares fit of `norm * integral(n, w)`: for each w the best norm is closed-form,
/// and w is searched on a log grid then refined by golden sections.
fn fit_singling_out_model(points: &[(f64, f64)]) -> (f64, f64) {
    let sse_and_norm = |w: f64| {
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for &(n, y) in points {
            let x = singling_out_integral(n, w);
            sxy += x * y;
            sxx += x * x;
        }
        let norm = if sxx > 0.0 { (sxy / sxx).max(0.0) } else { 0.0 };
        let sse: f64 = points
            .iter()
            .map(|&(n, y)| (y - norm * singling_out_integral(n, w)).powi(2))
            .sum();
        (sse, norm)
    };
    let mut best = (f64::INFINITY, 1e-7);
    for i in 0..=140 {
        let w = 10f64.powf(-7.0 + 7.0 * f64::from(i) / 140.0);
        let (sse, _) = sse_and_norm(w);
        if sse < best.0 {
            best = (sse, w);
        }
    }
    let (mut a, mut b) = ((best.1 / 1.2).ln(), (best.1 * 1.2).min(1.0).ln());
    let phi = 0.618_033_988_749_894_9;
    for _ in 0..60 {
        let c = b - phi * (b - a);
        let d = a + phi * (b - a);
        if sse_and_norm(c.exp()).0 < sse_and_norm(d.exp()).0 {
            b = d;
        } else {
            a = c;
        }
    }
    let w = (0.5 * (a + b)).exp();
    (w, sse_and_norm(w).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use salus_table::Column;

    fn table(ids: &[f64], colour: &[&str]) -> Table {
        Table::new(vec![
            Column::numeric("x", ids.iter().map(|&v| Some(v)).collect()),
            Column::text("c", colour.iter().map(|s| Some(s.to_string())).collect()),
        ])
        .unwrap()
    }

    #[test]
    fn copying_the_original_singles_out_everyone() {
        let xs: Vec<f64> = (0..200).map(f64::from).collect();
        let cs: Vec<&str> = (0..200)
            .map(|i| if i % 2 == 0 { "a" } else { "b" })
            .collect();
        let original = table(&xs, &cs);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let config = SinglingOutConfig {
            n_attacks: 50,
            mode: SinglingOutMode::Univariate,
            ..Default::default()
        };
        let r = singling_out(&original, &original, None, &config, &mut rng).unwrap();
        assert_eq!(r.n_success, r.n_attacks);
        assert!(r.risk.value > 0.9 && r.beats_baseline);
    }

    #[test]
    fn unrelated_release_rarely_singles_out() {
        let cs: Vec<&str> = (0..200)
            .map(|i| if i % 2 == 0 { "a" } else { "b" })
            .collect();
        let original = table(&(0..200).map(f64::from).collect::<Vec<_>>(), &cs);
        let released = table(
            &(0..200).map(|i| f64::from(i) + 1000.5).collect::<Vec<_>>(),
            &cs,
        );
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let config = SinglingOutConfig {
            n_attacks: 50,
            n_cols: 2,
            ..Default::default()
        };
        let r = singling_out(&released, &original, Some(&original), &config, &mut rng).unwrap();
        assert!(r.n_success <= 2, "{r:?}");
        assert!(r.risk.value < 0.05);
    }

    #[test]
    fn model_fit_recovers_parameters() {
        let points: Vec<(f64, f64)> = [500.0, 1000.0, 2000.0, 4000.0]
            .iter()
            .map(|&n| (n, 300.0 * singling_out_integral(n, 1e-3)))
            .collect();
        let (w, norm) = fit_singling_out_model(&points);
        assert!((w / 1e-3 - 1.0).abs() < 1e-3, "{w}");
        assert!((norm / 300.0 - 1.0).abs() < 1e-3, "{norm}");
    }
}
