//! Evaluation of one transformation: which classes violate the privacy models (and are
//! suppressed), whether the transformation is acceptable, and its utility metric —
//! all with ARX's definitions so that results can be compared with ARX's test oracles.

use std::cmp::Ordering;

use crate::encode::Encoded;
use crate::groupify::Classes;
use crate::model::{Aggregate, Metric, PrivacyModel};
use crate::risk::population::{PopulationModel, estimate_uniques};

/// A metric value: one number, or ARX's "rank" vector compared lexicographically.
#[derive(Debug, Clone, PartialEq)]
pub enum Score {
    /// A single value (lower is better).
    Value(f64),
    /// Per-attribute values sorted in descending order (lexicographic order).
    Rank(Vec<f64>),
}

impl Score {
    /// Total order: lower is better.
    pub fn compare(&self, other: &Score) -> Ordering {
        match (self, other) {
            (Score::Value(a), Score::Value(b)) => a.total_cmp(b),
            (Score::Rank(a), Score::Rank(b)) => a
                .iter()
                .zip(b)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
            (Score::Value(_), Score::Rank(_)) => Ordering::Less,
            (Score::Rank(_), Score::Value(_)) => Ordering::Greater,
        }
    }

    /// A single number for reports (the geometric mean of the vector for ranks, as ARX).
    pub fn scalar(&self) -> f64 {
        match self {
            Score::Value(v) => *v,
            Score::Rank(v) if v.is_empty() => 0.0,
            Score::Rank(v) => {
                v.iter()
                    .map(|x| (x + 1.0).powf(1.0 / v.len() as f64))
                    .product::<f64>()
                    - 1.0
            }
        }
    }
}

/// Sensitive-attribute context the per-class checks need.
pub(crate) struct SensitiveContext {
    /// For hierarchical t-closeness: `parents[level][code]` = node code at `level + 1`
    /// (level 0 = the sensitive values), and the number of nodes per level.
    pub emd_tree: Option<EmdTree>,
}

/// The generalization tree of a sensitive attribute for the hierarchical EMD.
pub(crate) struct EmdTree {
    /// `parent[l][node]`: index of the parent (at level l+1) of a node at level l.
    pub parent: Vec<Vec<u32>>,
    /// Nodes per level (level 0 = values).
    pub width: Vec<usize>,
}

/// Everything the evaluation of a node needs besides the classes.
pub(crate) struct Evaluator<'a> {
    pub enc: &'a Encoded,
    pub models: &'a [PrivacyModel],
    /// Index of each model's sensitive attribute in `enc.sensitive`.
    pub model_attribute: Vec<Option<usize>>,
    pub sensitive: Vec<SensitiveContext>,
    pub max_outliers: usize,
    pub metric: Metric,
    /// Normalized attribute weights for multi-dimensional metrics.
    pub weights: Vec<f64>,
    /// Per QI and level: released records per level-0 code (for entropy).
    pub code_counts: Vec<Vec<f64>>,
}

/// Result of evaluating a transformation.
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    pub anonymous: bool,
    pub suppressed: usize,
    pub score: Score,
    /// Per-attribute values before aggregation (multi-dimensional metrics).
    pub per_attribute: Vec<f64>,
}

const ARX_FACTOR: f64 = 1e10;

/// ARX keeps 10 decimals of every per-attribute value (floor), so do we.
pub(crate) fn arx_round(x: f64) -> f64 {
    (x * ARX_FACTOR).floor() / ARX_FACTOR
}

fn log2(x: f64) -> f64 {
    x.ln() / std::f64::consts::LN_2
}

impl Evaluator<'_> {
    /// Flags the classes that violate a per-class model.
    pub fn outliers(&self, classes: &Classes) -> Vec<bool> {
        (0..classes.keys.len())
            .map(|c| classes.count[c] > 0 && !self.class_ok(classes, c))
            .collect()
    }

    fn class_ok(&self, classes: &Classes, c: usize) -> bool {
        let count = classes.count[c] as f64;
        self.models
            .iter()
            .zip(&self.model_attribute)
            .all(|(model, attr)| {
                let dist = || classes.distributions[attr.unwrap_or(0)].of(c);
                match model {
                    PrivacyModel::KAnonymity { k } => classes.count[c] as usize >= *k,
                    PrivacyModel::DistinctLDiversity { l, .. } => dist().len() >= *l,
                    PrivacyModel::EntropyLDiversity { l, .. } => entropy_l(dist(), *l),
                    PrivacyModel::RecursiveClDiversity { c: constant, l, .. } => {
                        recursive_cl(dist(), *constant, *l)
                    }
                    PrivacyModel::EqualDistanceTCloseness { t, .. } => {
                        let freq = &self.enc.sensitive[attr.unwrap_or(0)].frequencies;
                        let mut value = 1.0;
                        for &(v, n) in dist() {
                            let f = freq[v as usize];
                            value += (f - f64::from(n) / count).abs() - f;
                        }
                        value / 2.0 <= *t
                    }
                    PrivacyModel::HierarchicalTCloseness { t, .. } => {
                        let a = attr.unwrap_or(0);
                        match &self.sensitive[a].emd_tree {
                            Some(tree) => {
                                hierarchical_emd(
                                    tree,
                                    &self.enc.sensitive[a].frequencies,
                                    dist(),
                                    count,
                                ) <= *t
                            }
                            None => false,
                        }
                    }
                    PrivacyModel::DeltaPresence {
                        delta_min,
                        delta_max,
                    } => {
                        let delta = count / f64::from(classes.pcount[c]);
                        delta >= *delta_min && delta <= *delta_max
                    }
                    PrivacyModel::AverageRisk { .. }
                    | PrivacyModel::PopulationUniqueness { .. } => true,
                }
            })
    }

    /// delta-presence also constrains population classes without any released record
    /// (delta = 0 tells an attacker that nobody in them is in the release); suppression
    /// cannot repair those, so they make the transformation unacceptable. As in ARX
    /// (`HashGroupify.isPrivacyModelFulfilled`), a k-anonymity model takes precedence:
    /// such a class is then simply an empty class below k.
    fn presence_ok(&self, classes: &Classes) -> bool {
        if self
            .models
            .iter()
            .any(|m| matches!(m, PrivacyModel::KAnonymity { .. }))
        {
            return true;
        }
        self.models.iter().all(|m| match m {
            PrivacyModel::DeltaPresence { delta_min, .. } if *delta_min > 0.0 => {
                (0..classes.keys.len()).all(|c| classes.count[c] > 0 || classes.pcount[c] == 0)
            }
            _ => true,
        })
    }

    /// Checks the table-level models on the classes that are kept.
    fn global_ok(&self, classes: &Classes, outliers: &[bool]) -> bool {
        let kept: Vec<u32> = (0..classes.keys.len())
            .filter(|&c| classes.count[c] > 0 && !outliers[c])
            .map(|c| classes.count[c])
            .collect();
        let records: f64 = kept.iter().map(|&n| f64::from(n)).sum();
        self.models.iter().all(|model| match model {
            PrivacyModel::AverageRisk { max } => {
                records == 0.0 || kept.len() as f64 / records <= *max
            }
            PrivacyModel::PopulationUniqueness { max, population } => {
                let estimate = estimate_uniques(&kept, *population, PopulationModel::Dankar);
                estimate.fraction <= *max
            }
            _ => true,
        })
    }

    /// Evaluates a transformation given its classes.
    pub fn evaluate(&self, levels: &[usize], classes: &Classes) -> Evaluation {
        let outliers = self.outliers(classes);
        let suppressed: usize = (0..outliers.len())
            .filter(|&c| outliers[c])
            .map(|c| classes.count[c] as usize)
            .sum();
        let anonymous = suppressed <= self.max_outliers
            && self.presence_ok(classes)
            && self.global_ok(classes, &outliers);
        let (score, per_attribute) = self.metric_value(levels, classes, &outliers);
        Evaluation {
            anonymous,
            suppressed,
            score,
            per_attribute,
        }
    }

    // Classes are held as parallel arrays (keys, counts, outlier flags), so index loops
    // read more plainly here than zipped iterators.
    #[allow(clippy::needless_range_loop)]
    fn metric_value(
        &self,
        levels: &[usize],
        classes: &Classes,
        outliers: &[bool],
    ) -> (Score, Vec<f64>) {
        let n = self.enc.released_rows as f64;
        match &self.metric {
            Metric::Loss {
                gs_factor,
                aggregate,
                ..
            } => {
                let (g, s) = loss_factors(*gs_factor);
                let values: Vec<f64> = (0..self.enc.qis.len())
                    .map(|q| {
                        let qi = &self.enc.qis[q];
                        let mut sum = 0.0;
                        for c in 0..classes.keys.len() {
                            if classes.count[c] == 0 {
                                continue;
                            }
                            let count = f64::from(classes.count[c]);
                            let code =
                                ((classes.keys[c] >> qi.shift) & ((1u128 << qi.bits) - 1)) as usize;
                            let share = count * qi.share[levels[q]][code];
                            sum += if !outliers[c] {
                                share * g
                            } else if s == 1.0 {
                                count
                            } else {
                                share + s * (count - share)
                            };
                        }
                        normalize_loss(sum, g, n, qi.domain_size)
                    })
                    .collect();
                (aggregate_values(&values, &self.weights, *aggregate), values)
            }
            Metric::NonUniformEntropy { monotonic } => {
                let mut values: Vec<f64> = self.entropy_raw(levels);
                if !monotonic {
                    self.add_suppressed_entropy(levels, classes, outliers, &mut values);
                }
                let values: Vec<f64> = values
                    .into_iter()
                    .map(|v| arx_round(if v == 0.0 { v } else { -v }))
                    .collect();
                (Score::Value(values.iter().sum()), values)
            }
            Metric::Discernibility { monotonic } => {
                let mut dm = 0.0;
                for c in 0..classes.keys.len() {
                    let count = f64::from(classes.count[c]);
                    if count == 0.0 {
                        continue;
                    }
                    dm += if *monotonic || !outliers[c] {
                        count * count
                    } else {
                        n * count
                    };
                }
                (Score::Value(dm), Vec::new())
            }
            Metric::Aecs => {
                let kept = (0..classes.keys.len())
                    .filter(|&c| classes.count[c] > 0 && !outliers[c])
                    .count();
                let any_suppressed =
                    (0..classes.keys.len()).any(|c| classes.count[c] > 0 && outliers[c]);
                let groups = kept + usize::from(any_suppressed);
                (
                    Score::Value(if groups == 0 { 0.0 } else { n / groups as f64 }),
                    Vec::new(),
                )
            }
        }
    }

    /// ARX's (precomputed) non-uniform entropy before the sign switch: per attribute
    /// sum over original values of a * log2(a / b), a = records with the value, b =
    /// records with its generalization.
    pub fn entropy_raw(&self, levels: &[usize]) -> Vec<f64> {
        self.enc
            .qis
            .iter()
            .enumerate()
            .map(|(q, qi)| {
                let level = levels[q];
                let counts = &self.code_counts[q];
                let mut generalized = vec![0.0; qi.labels[level].len()];
                for (code0, &a) in counts.iter().enumerate() {
                    generalized[qi.up[level][code0] as usize] += a;
                }
                let mut value = 0.0;
                for (code0, &a) in counts.iter().enumerate() {
                    if a != 0.0 {
                        value += a * log2(a / generalized[qi.up[level][code0] as usize]);
                    }
                }
                value
            })
            .collect()
    }

    fn add_suppressed_entropy(
        &self,
        levels: &[usize],
        classes: &Classes,
        outliers: &[bool],
        values: &mut [f64],
    ) {
        let suppressed: f64 = (0..outliers.len())
            .filter(|&c| outliers[c])
            .map(|c| f64::from(classes.count[c]))
            .sum();
        if suppressed == 0.0 {
            return;
        }
        for (q, qi) in self.enc.qis.iter().enumerate() {
            let mut per_value = vec![0.0; qi.labels[levels[q]].len()];
            for c in (0..outliers.len()).filter(|&c| outliers[c] && classes.count[c] > 0) {
                let code = ((classes.keys[c] >> qi.shift) & ((1u128 << qi.bits) - 1)) as usize;
                per_value[code] += f64::from(classes.count[c]);
            }
            for count in per_value.into_iter().filter(|&x| x > 0.0) {
                values[q] += count * log2(count / suppressed);
            }
        }
    }
}

/// ARX's generalization and suppression factors derived from the gs-factor.
pub(crate) fn loss_factors(gs: f64) -> (f64, f64) {
    let s = if gs < 0.5 { 2.0 * gs } else { 1.0 };
    let g = if gs <= 0.5 {
        1.0
    } else {
        1.0 - 2.0 * (gs - 0.5)
    };
    (g, s)
}

/// ARX's normalization of a Loss aggregate: (sum - min) / (max - min), min = g n / domain.
pub(crate) fn normalize_loss(sum: f64, g: f64, n: f64, domain: f64) -> f64 {
    let min = g * n / domain;
    let result = (sum - min) / (n - min);
    arx_round(if result >= 0.0 { result } else { 0.0 })
}

/// Combines per-attribute values (ARX's aggregate functions).
pub(crate) fn aggregate_values(values: &[f64], weights: &[f64], aggregate: Aggregate) -> Score {
    let weighted = || values.iter().zip(weights).map(|(v, w)| v * w);
    match aggregate {
        Aggregate::Sum => Score::Value(weighted().sum()),
        Aggregate::Max => Score::Value(weighted().fold(0.0, f64::max)),
        Aggregate::ArithmeticMean => {
            Score::Value(weighted().sum::<f64>() / values.len().max(1) as f64)
        }
        Aggregate::GeometricMean => {
            let n = values.len().max(1) as f64;
            let mut result = 1.0;
            for (v, w) in values.iter().zip(weights) {
                result *= ((v + 1.0) * w).powf(1.0 / n);
            }
            Score::Value(result - 1.0)
        }
        Aggregate::Rank => {
            let mut v: Vec<f64> = weighted().collect();
            v.sort_by(|a, b| b.total_cmp(a));
            Score::Rank(v)
        }
    }
}

fn entropy_l(dist: &[(u32, u32)], l: f64) -> bool {
    if (dist.len() as f64) < l.ceil() {
        return false;
    }
    let (mut total, mut sum) = (0.0, 0.0);
    for &(_, n) in dist {
        let f = f64::from(n);
        sum += f * log2(f);
        total += f;
    }
    -((sum / total) - log2(total)) >= log2(l)
}

fn recursive_cl(dist: &[(u32, u32)], c: f64, l: usize) -> bool {
    if dist.len() < l || l == 0 {
        return false;
    }
    let mut counts: Vec<u32> = dist.iter().map(|e| e.1).collect();
    counts.sort_unstable();
    // Everything except the l-1 most frequent values, times c, must exceed the largest.
    let threshold: f64 = counts[..=counts.len() - l]
        .iter()
        .map(|&n| f64::from(n))
        .sum::<f64>()
        * c;
    f64::from(counts[counts.len() - 1]) < threshold
}

/// Hierarchical earth mover's distance (Li et al. 2007) between the class distribution
/// and the table distribution, as computed by ARX.
fn hierarchical_emd(tree: &EmdTree, global: &[f64], dist: &[(u32, u32)], count: f64) -> f64 {
    let height = (tree.width.len() - 1) as f64;
    if height == 0.0 {
        return 0.0;
    }
    let mut extra: Vec<f64> = global.to_vec();
    for &(v, n) in dist {
        extra[v as usize] -= f64::from(n) / count;
    }
    let mut cost = 0.0;
    for level in 1..tree.width.len() {
        let mut pos = vec![0.0; tree.width[level]];
        let mut neg = vec![0.0; tree.width[level]];
        for (node, &e) in extra.iter().enumerate() {
            let p = tree.parent[level - 1][node] as usize;
            if e > 0.0 {
                pos[p] += e;
            } else {
                neg[p] -= e;
            }
        }
        extra = pos.iter().zip(&neg).map(|(p, n)| p - n).collect();
        cost += pos.iter().zip(&neg).map(|(p, n)| p.min(*n)).sum::<f64>() * level as f64 / height;
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_cl_matches_definition() {
        // counts 5,3,2 with c=2,l=2: 5 < 2*(3+2)=10 holds; c=1: 5 < 5 fails.
        let d = [(0, 5), (1, 3), (2, 2)];
        assert!(recursive_cl(&d, 2.0, 2));
        assert!(!recursive_cl(&d, 1.0, 2));
        assert!(!recursive_cl(&d, 9.0, 4));
    }

    #[test]
    fn entropy_l_uniform_class() {
        assert!(entropy_l(&[(0, 2), (1, 2), (2, 2), (3, 2)], 3.0));
        assert!(!entropy_l(&[(0, 4), (1, 1), (2, 1)], 3.0));
    }

    #[test]
    fn hierarchical_emd_example_from_li_et_al() {
        // Two leaves under one parent under the root: moving all mass between siblings
        // costs 1/2 (one level of two).
        let tree = EmdTree {
            parent: vec![vec![0, 0, 1], vec![0, 0]],
            width: vec![3, 2, 1],
        };
        let global = [0.5, 0.5, 0.0];
        assert!((hierarchical_emd(&tree, &global, &[(0, 4)], 4.0) - 0.25).abs() < 1e-12);
        assert!((hierarchical_emd(&tree, &global, &[(2, 4)], 4.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rank_order_is_lexicographic() {
        let a = Score::Rank(vec![0.3, 0.1]);
        let b = Score::Rank(vec![0.3, 0.2]);
        assert_eq!(a.compare(&b), Ordering::Less);
    }
}
