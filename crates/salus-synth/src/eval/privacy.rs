//! Privacy: empirical attacks on the synthetic data.
//!
//! - The Anonymeter-style attacks of `salus_anon::attack` (singling out, linkability,
//!   attribute inference on every column), with the holdout as the control set: risk is the
//!   attack's success on training records beyond its success on unseen records, with
//!   Wilson intervals. Without a holdout the risk is the raw success rate (an upper bound).
//! - Membership inference on the most vulnerable records (Stadler et al. 2022 target
//!   outliers): the `targets` rarest training records (members) and rarest holdout records
//!   (non-members) are scored by their distance to the closest synthetic record; the AUC
//!   and advantage (max TPR - FPR) say how well closeness reveals membership.
//! - Distance to closest record (Gower: numeric |a - b| / range, category mismatch 1), from
//!   a sample of synthetic rows and of holdout rows to the real rows: a diagnostic only, as
//!   natural duplicates are common and DCR proves nothing either way.

use rand::Rng;
use rand::seq::SliceRandom;
use salus_anon::attack::{
    AttackResult, InferenceConfig, LinkabilityConfig, SinglingOutConfig, SinglingOutMode,
    attribute_inference, singling_out,
};
use salus_table::Table;
use serde::{Deserialize, Serialize};

use super::discretize::Discretised;
use super::logistic::auc;

/// The result of one attack, or why it could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttackOutcome {
    /// The attack ran.
    Done(AttackResult),
    /// The attack could not run (the message says why).
    NotRun {
        /// Why.
        not_run: String,
    },
}

impl AttackOutcome {
    fn from(result: Result<AttackResult, salus_anon::AnonError>) -> Self {
        match result {
            Ok(r) => AttackOutcome::Done(r),
            Err(e) => AttackOutcome::NotRun {
                not_run: e.to_string(),
            },
        }
    }

    /// The risk point estimate, when the attack ran.
    pub fn risk(&self) -> Option<f64> {
        match self {
            AttackOutcome::Done(r) => Some(r.risk.value),
            AttackOutcome::NotRun { .. } => None,
        }
    }
}

/// Membership inference against the most vulnerable records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipInference {
    /// Members and non-members attacked (each).
    pub targets: usize,
    /// AUC of "closer to a synthetic record = member" (0.5 = no signal).
    pub auc: Option<f64>,
    /// max over thresholds of TPR - FPR.
    pub advantage: f64,
}

/// Distances to the closest real record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistanceToClosest {
    /// Synthetic rows sampled.
    pub synthetic_rows: usize,
    /// Share of sampled synthetic rows identical to some real row.
    pub synthetic_exact_match_rate: f64,
    /// Median DCR of synthetic rows.
    pub synthetic_median: f64,
    /// 5th percentile DCR of synthetic rows.
    pub synthetic_p05: f64,
    /// The same for holdout rows (the natural baseline), when a holdout is given.
    pub holdout_exact_match_rate: Option<f64>,
    /// Median DCR of holdout rows.
    pub holdout_median: Option<f64>,
    /// 5th percentile DCR of holdout rows.
    pub holdout_p05: Option<f64>,
}

/// The privacy section of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Privacy {
    /// Whether a holdout served as the control set.
    pub control: bool,
    /// Singling out with one attribute per predicate.
    pub singling_out_univariate: AttackOutcome,
    /// Singling out with three attributes per predicate.
    pub singling_out_multivariate: AttackOutcome,
    /// Linking the two halves of the columns through the synthetic data.
    pub linkability: AttackOutcome,
    /// Attribute inference with each column as the secret.
    pub attribute_inference: Vec<AttackOutcome>,
    /// The largest attribute-inference risk.
    pub attribute_inference_max_risk: Option<f64>,
    /// Membership inference on the most vulnerable records (needs a holdout).
    pub membership_inference: Option<MembershipInference>,
    /// Distance to closest record (diagnostic only).
    pub distance_to_closest_record: DistanceToClosest,
}

/// Attack sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PrivacySettings {
    pub attacks: usize,
    pub inference_attacks: usize,
    pub membership_targets: usize,
    pub dcr_rows: usize,
}

/// Computes the privacy section.
pub(crate) fn privacy<R: Rng + ?Sized>(
    real: &Table,
    synthetic: &Table,
    holdout: Option<&Table>,
    data: &Discretised,
    settings: &PrivacySettings,
    rng: &mut R,
) -> Privacy {
    let names: Vec<String> = data.columns.iter().map(|c| c.name.clone()).collect();
    let single = |mode, rng: &mut R| {
        let config = SinglingOutConfig {
            n_attacks: settings.attacks,
            mode,
            columns: Some(names.clone()),
            ..Default::default()
        };
        AttackOutcome::from(singling_out(synthetic, real, holdout, &config, rng))
    };
    let singling_out_univariate = single(SinglingOutMode::Univariate, rng);
    let singling_out_multivariate = single(SinglingOutMode::Multivariate, rng);
    let half = names.len().div_ceil(2);
    let linkability = if names.len() < 2 {
        AttackOutcome::NotRun {
            not_run: "needs at least two columns".to_string(),
        }
    } else {
        let config = LinkabilityConfig {
            aux_cols: (names[..half].to_vec(), names[half..].to_vec()),
            n_attacks: settings.attacks,
            ..Default::default()
        };
        AttackOutcome::from(salus_anon::attack::linkability(
            synthetic, real, holdout, &config, rng,
        ))
    };
    let attribute_inference: Vec<AttackOutcome> = (0..names.len())
        .filter(|_| names.len() >= 2)
        .map(|s| {
            let aux = names
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != s)
                .map(|(_, n)| n.clone())
                .collect();
            let config = InferenceConfig {
                aux_cols: aux,
                secret: names[s].clone(),
                n_attacks: settings.inference_attacks,
                ..Default::default()
            };
            AttackOutcome::from(attribute_inference(synthetic, real, holdout, &config, rng))
        })
        .collect();
    let attribute_inference_max_risk = attribute_inference
        .iter()
        .filter_map(AttackOutcome::risk)
        .reduce(f64::max);
    let points = Points::new(real, data);
    Privacy {
        control: holdout.is_some(),
        singling_out_univariate,
        singling_out_multivariate,
        linkability,
        attribute_inference,
        attribute_inference_max_risk,
        membership_inference: holdout.zip(data.holdout.as_ref()).map(|(h, codes)| {
            membership(
                &points,
                (real, synthetic, h),
                data,
                codes,
                settings.membership_targets,
            )
        }),
        distance_to_closest_record: distance_to_closest(
            &points,
            (real, synthetic, holdout),
            data,
            settings.dcr_rows,
            rng,
        ),
    }
}

/// Mixed-type rows for Gower distances: numbers scaled by the real range, categories as codes.
struct Points {
    numeric: Vec<bool>,
    range: Vec<f64>,
}

enum Values<'a> {
    Number(Vec<Option<f64>>),
    Code(&'a [u32]),
}

impl Points {
    fn new(real: &Table, data: &Discretised) -> Self {
        let numeric: Vec<bool> = data.columns.iter().map(|c| c.numeric).collect();
        let range = data
            .columns
            .iter()
            .map(|c| {
                let values: Vec<f64> = real
                    .column(&c.name)
                    .map(|col| (0..col.len()).filter_map(|r| col.number(r)).collect())
                    .unwrap_or_default();
                let (lo, hi) = values
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                if hi > lo { hi - lo } else { 1.0 }
            })
            .collect();
        Points { numeric, range }
    }

    fn view<'a>(
        &self,
        table: &Table,
        codes: &'a [Vec<u32>],
        data: &Discretised,
    ) -> Vec<Values<'a>> {
        data.columns
            .iter()
            .enumerate()
            .map(
                |(c, column)| match (self.numeric[c], table.column(&column.name)) {
                    (true, Ok(col)) => Values::Number(
                        (0..col.len())
                            .map(|r| col.number(r).map(|x| x / self.range[c]))
                            .collect(),
                    ),
                    _ => Values::Code(&codes[c]),
                },
            )
            .collect()
    }
}

fn distance(a: &[Values<'_>], i: usize, b: &[Values<'_>], j: usize) -> f64 {
    let total: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| match (x, y) {
            (Values::Number(x), Values::Number(y)) => match (x[i], y[j]) {
                (Some(u), Some(v)) => (u - v).abs().min(1.0),
                (None, None) => 0.0,
                _ => 1.0,
            },
            (Values::Code(x), Values::Code(y)) => f64::from(u8::from(x[i] != y[j])),
            _ => 1.0,
        })
        .sum();
    total / a.len().max(1) as f64
}

fn closest(from: &[Values<'_>], row: usize, to: &[Values<'_>], rows: usize) -> f64 {
    let mut best = f64::MAX;
    for j in 0..rows {
        best = best.min(distance(from, row, to, j));
        if best == 0.0 {
            break;
        }
    }
    best
}

fn distance_to_closest<R: Rng + ?Sized>(
    points: &Points,
    tables: (&Table, &Table, Option<&Table>),
    data: &Discretised,
    sample: usize,
    rng: &mut R,
) -> DistanceToClosest {
    let (real, synthetic, holdout) = tables;
    let target = points.view(real, &data.real, data);
    let mut measure = |table: &Table, codes: &[Vec<u32>]| -> (usize, f64, f64, f64) {
        let view = points.view(table, codes, data);
        let mut rows: Vec<usize> = (0..table.nrows()).collect();
        rows.shuffle(rng);
        rows.truncate(sample);
        let mut d: Vec<f64> = rows
            .iter()
            .map(|&r| closest(&view, r, &target, real.nrows()))
            .collect();
        d.sort_by(f64::total_cmp);
        let exact = d.iter().filter(|&&x| x == 0.0).count() as f64 / d.len().max(1) as f64;
        (d.len(), exact, quantile(&d, 0.5), quantile(&d, 0.05))
    };
    let (n, exact, median, p05) = measure(synthetic, &data.synthetic);
    let baseline = holdout
        .zip(data.holdout.as_ref())
        .map(|(h, codes)| measure(h, codes));
    DistanceToClosest {
        synthetic_rows: n,
        synthetic_exact_match_rate: exact,
        synthetic_median: median,
        synthetic_p05: p05,
        holdout_exact_match_rate: baseline.map(|b| b.1),
        holdout_median: baseline.map(|b| b.2),
        holdout_p05: baseline.map(|b| b.3),
    }
}

/// Distance-based membership inference against the `targets` rarest members and
/// non-members (rarity: sum over columns of -ln frequency in real and holdout pooled).
fn membership(
    points: &Points,
    tables: (&Table, &Table, &Table),
    data: &Discretised,
    holdout_codes: &[Vec<u32>],
    targets: usize,
) -> MembershipInference {
    let (real, synthetic, holdout) = tables;
    let k = targets.min(real.nrows()).min(holdout.nrows());
    let pooled = (real.nrows() + holdout.nrows()) as f64;
    let frequencies: Vec<Vec<f64>> = data
        .columns
        .iter()
        .enumerate()
        .map(|(c, column)| {
            let mut f = vec![0.0; column.cardinality()];
            data.real[c]
                .iter()
                .chain(&holdout_codes[c])
                .for_each(|&v| f[v as usize] += 1.0);
            f
        })
        .collect();
    let rarest = |codes: &[Vec<u32>], rows: usize| -> Vec<usize> {
        let rarity = |r: usize| -> f64 {
            (0..codes.len())
                .map(|c| -(frequencies[c][codes[c][r] as usize] / pooled).ln())
                .sum()
        };
        let mut order: Vec<(f64, usize)> = (0..rows).map(|r| (rarity(r), r)).collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        order.into_iter().take(k).map(|(_, r)| r).collect()
    };
    let released = points.view(synthetic, &data.synthetic, data);
    let distances = |table: &Table, codes: &[Vec<u32>]| -> Vec<f64> {
        let view = points.view(table, codes, data);
        rarest(codes, table.nrows())
            .into_iter()
            .map(|r| closest(&view, r, &released, synthetic.nrows()))
            .collect()
    };
    let members = distances(real, &data.real);
    let non_members = distances(holdout, holdout_codes);
    let scores: Vec<f64> = members.iter().chain(&non_members).map(|d| -d).collect();
    let labels: Vec<bool> = members
        .iter()
        .map(|_| true)
        .chain(non_members.iter().map(|_| false))
        .collect();
    MembershipInference {
        targets: k,
        auc: auc(&scores, &labels),
        advantage: advantage(&scores, &labels),
    }
}

/// max over thresholds of TPR - FPR (0 when one class is absent).
fn advantage(scores: &[f64], labels: &[bool]) -> f64 {
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut best) = (0.0, 0.0, 0.0f64);
    for (i, &row) in order.iter().enumerate() {
        if labels[row] {
            tp += 1.0
        } else {
            fp += 1.0
        }
        let boundary = i + 1 == order.len() || scores[order[i + 1]] != scores[row];
        if boundary {
            best = best.max(tp / positives - fp / negatives);
        }
    }
    best
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
