//! Utility: train a logistic regression on synthetic data and test it on real data (TSTR),
//! against the same model trained on real data (TRTR).
//!
//! The outcome is made binary: for two classes the rarer one is positive; for more classes
//! the most frequent class is positive (one-vs-rest); for a numeric column binned by deciles,
//! the upper half is positive. Features are the one-hot codes of every other column. The
//! test set is the holdout when given, otherwise a seeded 30% of the real rows (which the
//! synthesizer has seen: the report says so).

use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::discretize::Discretised;
use super::logistic::{Design, Logistic, auc};
use crate::error::{Result, SynthError};

/// Accuracy and AUC of one classifier on the test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Share of correct predictions at threshold 0.5.
    pub accuracy: f64,
    /// ROC AUC.
    pub auc: Option<f64>,
}

/// The utility section of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utility {
    /// The outcome column.
    pub target: String,
    /// What counts as positive.
    pub positive_class: String,
    /// Where the test rows come from.
    pub test_set: String,
    /// Number of test rows.
    pub test_rows: usize,
    /// Trained on real rows (TRTR).
    pub trained_on_real: Scores,
    /// Trained on synthetic rows (TSTR).
    pub trained_on_synthetic: Scores,
    /// TSTR AUC / TRTR AUC.
    pub auc_ratio: Option<f64>,
    /// TRTR accuracy - TSTR accuracy.
    pub accuracy_gap: f64,
}

/// Test rows with both classifiers' predictions, reused by the bias section.
pub(crate) struct Predictions {
    pub test_codes: Vec<Vec<u32>>,
    pub test_labels: Vec<bool>,
    pub real_probabilities: Vec<f64>,
    pub synthetic_probabilities: Vec<f64>,
    pub is_positive: Box<dyn Fn(u32) -> bool>,
}

/// Computes the utility section for `target` (a column of `data`).
pub(crate) fn utility<R: Rng + ?Sized>(
    data: &Discretised,
    target: &str,
    rng: &mut R,
) -> Result<(Utility, Predictions)> {
    let t = data
        .columns
        .iter()
        .position(|c| c.name == target)
        .ok_or_else(|| {
            SynthError::Evaluation(format!(
                "--target `{target}` is not a column of both tables"
            ))
        })?;
    let column = &data.columns[t];
    let (is_positive, positive_class) = positive_rule(data, t);
    let is_positive: Box<dyn Fn(u32) -> bool> = Box::new(is_positive);
    let missing_code = (column.cardinality() - 1) as u32;
    let features: Vec<usize> = (0..data.columns.len()).filter(|&c| c != t).collect();
    if features.is_empty() {
        return Err(SynthError::Evaluation(
            "utility needs at least one column besides the target".to_string(),
        ));
    }
    let known = |codes: &[Vec<u32>]| -> Vec<usize> {
        (0..codes[t].len())
            .filter(|&r| codes[t][r] != missing_code)
            .collect()
    };
    let (train_real, test_codes, test_set) = match &data.holdout {
        Some(holdout) => (
            known(&data.real),
            take(holdout, &known(holdout)),
            "holdout".to_string(),
        ),
        None => {
            let mut rows = known(&data.real);
            rows.shuffle(rng);
            let split = rows.len() * 7 / 10;
            let test = take(&data.real, &rows[split..]);
            rows.truncate(split);
            (rows, test, "30% of the real rows (the synthesizer saw them; give --holdout for an unseen test set)".to_string())
        }
    };
    let test_rows: Vec<usize> = (0..test_codes[0].len()).collect();
    let test_labels: Vec<bool> = test_rows
        .iter()
        .map(|&r| is_positive(test_codes[t][r]))
        .collect();
    if test_labels.len() < 10 {
        return Err(SynthError::Evaluation(
            "fewer than 10 test rows with a known target".to_string(),
        ));
    }
    let cards: Vec<usize> = data.columns.iter().map(|c| c.cardinality()).collect();
    let design = Design::new(&cards);
    let train = |codes: &[Vec<u32>], rows: &[usize]| {
        let x: Vec<Vec<u32>> = rows
            .iter()
            .map(|&r| design.row(codes, &features, r))
            .collect();
        let y: Vec<bool> = rows.iter().map(|&r| is_positive(codes[t][r])).collect();
        Logistic::train(&design, &x, &y, 1.0)
    };
    let real_model = train(&data.real, &train_real);
    let synthetic_model = train(&data.synthetic, &known(&data.synthetic));
    let predict = |m: &Logistic| -> Vec<f64> {
        test_rows
            .iter()
            .map(|&r| m.probability(&design.row(&test_codes, &features, r)))
            .collect()
    };
    let (real_probabilities, synthetic_probabilities) =
        (predict(&real_model), predict(&synthetic_model));
    let score = |p: &[f64]| Scores {
        accuracy: p
            .iter()
            .zip(&test_labels)
            .filter(|(p, l)| (**p >= 0.5) == **l)
            .count() as f64
            / p.len() as f64,
        auc: auc(p, &test_labels),
    };
    let (on_real, on_synthetic) = (score(&real_probabilities), score(&synthetic_probabilities));
    let utility = Utility {
        target: target.to_string(),
        positive_class,
        test_set,
        test_rows: test_labels.len(),
        auc_ratio: on_real
            .auc
            .zip(on_synthetic.auc)
            .map(|(r, s)| if r > 0.0 { s / r } else { 0.0 }),
        accuracy_gap: on_real.accuracy - on_synthetic.accuracy,
        trained_on_real: on_real,
        trained_on_synthetic: on_synthetic,
    };
    Ok((
        utility,
        Predictions {
            test_codes,
            test_labels,
            real_probabilities,
            synthetic_probabilities,
            is_positive,
        },
    ))
}

fn take(codes: &[Vec<u32>], rows: &[usize]) -> Vec<Vec<u32>> {
    codes
        .iter()
        .map(|c| rows.iter().map(|&r| c[r]).collect())
        .collect()
}

/// Which codes of the target are positive, and a description.
fn positive_rule(data: &Discretised, t: usize) -> (impl Fn(u32) -> bool + 'static, String) {
    let column = &data.columns[t];
    let values = column.cardinality() - 2;
    let mut counts = vec![0usize; values];
    for &code in &data.real[t] {
        if (code as usize) < values {
            counts[code as usize] += 1;
        }
    }
    let present: Vec<usize> = (0..values).filter(|&v| counts[v] > 0).collect();
    let (codes, label): (Vec<u32>, String) = if column.is_binned() {
        let half = values / 2;
        (
            (half..values).map(|v| v as u32).collect(),
            format!("{} and above", column.labels[half]),
        )
    } else if present.len() == 2 {
        let rarer = *present
            .iter()
            .min_by_key(|&&v| (counts[v], v))
            .unwrap_or(&present[0]);
        (vec![rarer as u32], column.labels[rarer].clone())
    } else {
        let commonest = (0..values)
            .max_by_key(|&v| (counts[v], std::cmp::Reverse(v)))
            .unwrap_or(0);
        (
            vec![commonest as u32],
            format!("{} (vs all other classes)", column.labels[commonest]),
        )
    };
    (move |code: u32| codes.contains(&code), label)
}
