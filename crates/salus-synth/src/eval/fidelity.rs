//! Fidelity: how closely the synthetic data reproduce the real distribution.
//!
//! - k-way total variation distance, 1/2 sum |p_real - p_synthetic| over the joint cells of
//!   k columns, averaged over all k-subsets (or a seeded sample of `max_subsets`);
//! - per pair: contingency similarity 1 - TVD, and for numeric pairs correlation similarity
//!   1 - |r_real - r_synthetic| / 2 (SDMetrics' definitions);
//! - detection: a logistic regression trained to tell real from synthetic rows (balanced,
//!   70/30 split); its held-out AUC is 0.5 when the two are indistinguishable.

use std::collections::{HashMap, HashSet};

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use salus_table::Table;
use serde::{Deserialize, Serialize};

use super::discretize::Discretised;
use super::logistic::{Design, Logistic, auc};
use crate::aim::combinations;

/// Per-column result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnFidelity {
    /// Column.
    pub column: String,
    /// One-way TVD.
    pub tvd: f64,
}

/// Per-pair result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairFidelity {
    /// The two columns.
    pub columns: [String; 2],
    /// Two-way TVD.
    pub tvd: f64,
    /// 1 - TVD.
    pub contingency_similarity: f64,
    /// 1 - |r_real - r_synthetic| / 2, for two numeric columns.
    pub correlation_similarity: Option<f64>,
}

/// The fidelity section of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    /// Mean one-way TVD.
    pub tvd_1way: f64,
    /// Mean two-way TVD (`None` with fewer than two columns).
    pub tvd_2way: Option<f64>,
    /// Mean three-way TVD (`None` with fewer than three columns).
    pub tvd_3way: Option<f64>,
    /// Subsets evaluated for k = 1, 2, 3.
    pub subsets_evaluated: [usize; 3],
    /// True when the 2- or 3-way subsets were a seeded sample rather than all of them.
    pub subsets_sampled: bool,
    /// Mean contingency similarity over pairs.
    pub contingency_similarity: Option<f64>,
    /// Mean correlation similarity over numeric pairs.
    pub correlation_similarity: Option<f64>,
    /// Held-out AUC of a real-vs-synthetic classifier (0.5 = indistinguishable).
    pub detection_auc: Option<f64>,
    /// Per column.
    pub columns: Vec<ColumnFidelity>,
    /// Per pair.
    pub pairs: Vec<PairFidelity>,
}

/// Computes the fidelity section.
pub(crate) fn fidelity<R: Rng + ?Sized>(
    real: &Table,
    synthetic: &Table,
    data: &Discretised,
    max_subsets: usize,
    detection_rows: usize,
    rng: &mut R,
) -> Fidelity {
    let n = data.columns.len();
    let cards: Vec<usize> = data.columns.iter().map(|c| c.cardinality()).collect();
    let tvd_of = |subset: &[usize]| tvd(&data.real, &data.synthetic, &cards, subset);
    let columns: Vec<ColumnFidelity> = (0..n)
        .map(|c| ColumnFidelity {
            column: data.columns[c].name.clone(),
            tvd: tvd_of(&[c]),
        })
        .collect();
    let pairs: Vec<PairFidelity> = combinations(n, 2)
        .iter()
        .map(|pair| {
            let t = tvd_of(pair);
            let (a, b) = (&data.columns[pair[0]], &data.columns[pair[1]]);
            let correlation_similarity = (a.numeric && b.numeric)
                .then(|| {
                    let r = pearson(real, &a.name, &b.name)?;
                    let s = pearson(synthetic, &a.name, &b.name)?;
                    Some(1.0 - (r - s).abs() / 2.0)
                })
                .flatten();
            PairFidelity {
                columns: [a.name.clone(), b.name.clone()],
                tvd: t,
                contingency_similarity: 1.0 - t,
                correlation_similarity,
            }
        })
        .collect();
    let (tvd_2way, sampled_2) = mean_over_subsets(n, 2, max_subsets, rng, |s| tvd_of(s));
    let (tvd_3way, sampled_3) = mean_over_subsets(n, 3, max_subsets, rng, |s| tvd_of(s));
    let correlations: Vec<f64> = pairs
        .iter()
        .filter_map(|p| p.correlation_similarity)
        .collect();
    Fidelity {
        tvd_1way: mean(&columns.iter().map(|c| c.tvd).collect::<Vec<_>>()).unwrap_or(0.0),
        tvd_2way: tvd_2way.map(|(m, _)| m),
        tvd_3way: tvd_3way.map(|(m, _)| m),
        subsets_evaluated: [
            n,
            tvd_2way.map_or(0, |(_, c)| c),
            tvd_3way.map_or(0, |(_, c)| c),
        ],
        subsets_sampled: sampled_2 || sampled_3,
        contingency_similarity: mean(
            &pairs
                .iter()
                .map(|p| p.contingency_similarity)
                .collect::<Vec<_>>(),
        ),
        correlation_similarity: mean(&correlations),
        detection_auc: detection_auc(data, detection_rows, rng),
        columns,
        pairs,
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Mean of `f` over all k-subsets of `0..n`, or over a seeded sample of `max_subsets`.
fn mean_over_subsets<R: Rng + ?Sized>(
    n: usize,
    k: usize,
    max_subsets: usize,
    rng: &mut R,
    f: impl Fn(&[usize]) -> f64,
) -> (Option<(f64, usize)>, bool) {
    if n < k {
        return (None, false);
    }
    let all = binomial(n, k);
    let (subsets, sampled) = if all <= max_subsets as u128 {
        (combinations(n, k), false)
    } else {
        let mut chosen = HashSet::new();
        let pool: Vec<usize> = (0..n).collect();
        while chosen.len() < max_subsets {
            let mut s: Vec<usize> = pool.choose_multiple(rng, k).copied().collect();
            s.sort_unstable();
            chosen.insert(s);
        }
        let mut subsets: Vec<Vec<usize>> = chosen.into_iter().collect();
        subsets.sort();
        (subsets, true)
    };
    let values: Vec<f64> = subsets.iter().map(|s| f(s)).collect();
    (mean(&values).map(|m| (m, values.len())), sampled)
}

fn binomial(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |acc, i| acc * (n - i) as u128 / (i + 1) as u128)
}

/// TVD between the empirical joint distributions of `subset` in two coded tables.
pub(crate) fn tvd(
    real: &[Vec<u32>],
    synthetic: &[Vec<u32>],
    cards: &[usize],
    subset: &[usize],
) -> f64 {
    let (nr, ns) = (real[subset[0]].len(), synthetic[subset[0]].len());
    if nr == 0 || ns == 0 {
        return 1.0;
    }
    let key = |codes: &[Vec<u32>], row: usize| -> u64 {
        subset.iter().fold(0u64, |acc, &c| {
            acc.wrapping_mul(cards[c] as u64)
                .wrapping_add(u64::from(codes[c][row]))
        })
    };
    let mut cells: HashMap<u64, (f64, f64)> = HashMap::new();
    for row in 0..nr {
        cells.entry(key(real, row)).or_default().0 += 1.0 / nr as f64;
    }
    for row in 0..ns {
        cells.entry(key(synthetic, row)).or_default().1 += 1.0 / ns as f64;
    }
    0.5 * cells.values().map(|(p, q)| (p - q).abs()).sum::<f64>()
}

/// Pearson correlation of two numeric columns over rows where both are present.
fn pearson(table: &Table, a: &str, b: &str) -> Option<f64> {
    let (x, y) = (table.column(a).ok()?, table.column(b).ok()?);
    let pairs: Vec<(f64, f64)> = (0..table.nrows())
        .filter_map(|r| Some((x.number(r)?, y.number(r)?)))
        .collect();
    let n = pairs.len() as f64;
    if n < 2.0 {
        return None;
    }
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (u, v) in &pairs {
        sxy += (u - mx) * (v - my);
        sxx += (u - mx).powi(2);
        syy += (v - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Held-out AUC of logistic regression separating real (true) from synthetic rows.
fn detection_auc<R: Rng + ?Sized>(
    data: &Discretised,
    rows_per_side: usize,
    rng: &mut R,
) -> Option<f64> {
    let per_side = rows_per_side
        .min(data.real[0].len())
        .min(data.synthetic[0].len());
    if per_side < 10 {
        return None;
    }
    let cards: Vec<usize> = data.columns.iter().map(|c| c.cardinality()).collect();
    let design = Design::new(&cards);
    let columns: Vec<usize> = (0..cards.len()).collect();
    let mut sample = |codes: &[Vec<u32>], label: bool| -> Vec<(Vec<u32>, bool)> {
        let mut rows: Vec<usize> = (0..codes[0].len()).collect();
        rows.shuffle(rng);
        rows.truncate(per_side);
        rows.into_iter()
            .map(|r| (design.row(codes, &columns, r), label))
            .collect()
    };
    let mut all = sample(&data.real, true);
    all.extend(sample(&data.synthetic, false));
    all.shuffle(rng);
    let split = all.len() * 7 / 10;
    let (train, test) = all.split_at(split);
    let (train_rows, train_labels): (Vec<Vec<u32>>, Vec<bool>) = train.iter().cloned().unzip();
    let model = Logistic::train(&design, &train_rows, &train_labels, 1.0);
    let scores: Vec<f64> = test.iter().map(|(r, _)| model.probability(r)).collect();
    let labels: Vec<bool> = test.iter().map(|(_, l)| *l).collect();
    auc(&scores, &labels)
}
