//! Bias: does the synthetic data (and a model trained on it) treat the groups of a protected
//! attribute as the real data does?
//!
//! - per group: the outcome rate in the real and in the synthetic data;
//! - for the classifiers trained on real (TRTR) and on synthetic (TSTR) data, on the test
//!   set: demographic parity difference (max - min of the positive-prediction rate over
//!   groups) and equalized odds difference (the larger of the TPR and FPR ranges), as
//!   fairlearn defines them. Groups with fewer than `MIN_GROUP` test rows are listed but
//!   left out of the differences (their rates are too noisy).

use serde::{Deserialize, Serialize};

use super::discretize::Discretised;
use super::utility::Predictions;
use crate::error::{Result, SynthError};

const MIN_GROUP: usize = 30;

/// One group of the protected attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    /// The group's value.
    pub group: String,
    /// Rows in the real data.
    pub real_rows: usize,
    /// Rows in the synthetic data.
    pub synthetic_rows: usize,
    /// Outcome rate in the real data.
    pub real_outcome_rate: Option<f64>,
    /// Outcome rate in the synthetic data.
    pub synthetic_outcome_rate: Option<f64>,
    /// Test rows (for the classifier metrics).
    pub test_rows: usize,
    /// Positive-prediction rate of the classifier trained on real data.
    pub selection_rate_trained_on_real: Option<f64>,
    /// Positive-prediction rate of the classifier trained on synthetic data.
    pub selection_rate_trained_on_synthetic: Option<f64>,
}

/// A fairness difference for data or classifiers from real and synthetic data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// Real data, or the classifier trained on real data.
    pub real: Option<f64>,
    /// Synthetic data, or the classifier trained on synthetic data.
    pub synthetic: Option<f64>,
}

/// The bias section of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bias {
    /// The protected attribute.
    pub protected: String,
    /// The outcome (the utility target) and its positive class.
    pub outcome: String,
    /// Per group.
    pub groups: Vec<GroupRates>,
    /// max - min outcome rate over groups, in the data.
    pub outcome_rate_difference: Difference,
    /// Demographic parity difference of the classifiers on the test set.
    pub demographic_parity_difference: Difference,
    /// Equalized odds difference of the classifiers on the test set.
    pub equalized_odds_difference: Difference,
    /// Groups need this many test rows to enter the differences.
    pub min_group_rows: usize,
}

/// Computes the bias section for `protected`, given the utility predictions.
pub(crate) fn bias(
    data: &Discretised,
    protected: &str,
    outcome: &str,
    predictions: &Predictions,
) -> Result<Bias> {
    let p = data
        .columns
        .iter()
        .position(|c| c.name == protected)
        .ok_or_else(|| {
            SynthError::Evaluation(format!(
                "--protected `{protected}` is not a column of both tables"
            ))
        })?;
    let t = data
        .columns
        .iter()
        .position(|c| c.name == outcome)
        .unwrap_or(0);
    let column = &data.columns[p];
    let positive = &predictions.is_positive;
    let missing_target = (data.columns[t].cardinality() - 1) as u32;
    let rate = |codes: &[Vec<u32>], group: u32| -> (usize, Option<f64>) {
        let rows: Vec<usize> = (0..codes[p].len())
            .filter(|&r| codes[p][r] == group && codes[t][r] != missing_target)
            .collect();
        let hits = rows.iter().filter(|&&r| positive(codes[t][r])).count();
        (
            rows.len(),
            (!rows.is_empty()).then(|| hits as f64 / rows.len() as f64),
        )
    };
    let test = &predictions.test_codes;
    let mut groups = Vec::new();
    let mut classifier_rows: Vec<(Vec<usize>, usize)> = Vec::new();
    for group in 0..column.cardinality() as u32 {
        let (real_rows, real_outcome_rate) = rate(&data.real, group);
        let (synthetic_rows, synthetic_outcome_rate) = rate(&data.synthetic, group);
        let members: Vec<usize> = (0..test[p].len())
            .filter(|&r| test[p][r] == group)
            .collect();
        if real_rows == 0 && synthetic_rows == 0 && members.is_empty() {
            continue;
        }
        let selection = |probs: &[f64]| -> Option<f64> {
            (!members.is_empty()).then(|| {
                members.iter().filter(|&&r| probs[r] >= 0.5).count() as f64 / members.len() as f64
            })
        };
        groups.push(GroupRates {
            group: column.labels[group as usize].clone(),
            real_rows,
            synthetic_rows,
            real_outcome_rate,
            synthetic_outcome_rate,
            test_rows: members.len(),
            selection_rate_trained_on_real: selection(&predictions.real_probabilities),
            selection_rate_trained_on_synthetic: selection(&predictions.synthetic_probabilities),
        });
        classifier_rows.push((members, groups.len() - 1));
    }
    let eligible: Vec<&Vec<usize>> = classifier_rows
        .iter()
        .filter(|(m, _)| m.len() >= MIN_GROUP)
        .map(|(m, _)| m)
        .collect();
    let labels = &predictions.test_labels;
    let odds = |probs: &[f64]| equalized_odds(&eligible, probs, labels);
    let parity = |probs: &[f64]| range(eligible.iter().map(|m| share(m, |r| probs[r] >= 0.5)));
    let outcome_range = |pick: fn(&GroupRates) -> Option<f64>| {
        range(
            groups
                .iter()
                .filter(|g| g.real_rows >= MIN_GROUP && g.synthetic_rows >= MIN_GROUP)
                .filter_map(pick),
        )
    };
    Ok(Bias {
        protected: protected.to_string(),
        outcome: outcome.to_string(),
        outcome_rate_difference: Difference {
            real: outcome_range(|g| g.real_outcome_rate),
            synthetic: outcome_range(|g| g.synthetic_outcome_rate),
        },
        demographic_parity_difference: Difference {
            real: parity(&predictions.real_probabilities),
            synthetic: parity(&predictions.synthetic_probabilities),
        },
        equalized_odds_difference: Difference {
            real: odds(&predictions.real_probabilities),
            synthetic: odds(&predictions.synthetic_probabilities),
        },
        groups,
        min_group_rows: MIN_GROUP,
    })
}

fn share(rows: &[usize], keep: impl Fn(usize) -> bool) -> f64 {
    rows.iter().filter(|&&r| keep(r)).count() as f64 / rows.len().max(1) as f64
}

fn range(values: impl Iterator<Item = f64>) -> Option<f64> {
    let values: Vec<f64> = values.collect();
    (values.len() >= 2).then(|| {
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        let min = values.iter().copied().fold(f64::MAX, f64::min);
        max - min
    })
}

/// max(TPR range, FPR range) over groups (groups lacking positives or negatives are skipped
/// for that rate).
fn equalized_odds(groups: &[&Vec<usize>], probs: &[f64], labels: &[bool]) -> Option<f64> {
    let rate_given = |members: &Vec<usize>, label: bool| -> Option<f64> {
        let rows: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&r| labels[r] == label)
            .collect();
        (!rows.is_empty()).then(|| share(&rows, |r| probs[r] >= 0.5))
    };
    let tpr = range(groups.iter().filter_map(|m| rate_given(m, true)));
    let fpr = range(groups.iter().filter_map(|m| rate_given(m, false)));
    match (tpr, fpr) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
