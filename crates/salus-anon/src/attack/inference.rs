//! Attribute-inference attack (Anonymeter's `InferenceEvaluator`): knowing some
//! attributes of a target, the attacker takes the secret attribute of the nearest
//! released record as its guess.

use rand::Rng;
use salus_table::Table;
use serde::{Deserialize, Serialize};

use super::data::{Encoded, EncodedTables, nearest, parallel_map};
use super::{AttackResult, check_confidence, sample_indices};
use crate::{AnonError, Result};

/// Parameters of [`attribute_inference`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InferenceConfig {
    /// Attributes the attacker knows.
    pub aux_cols: Vec<String>,
    /// The attribute the attacker wants to learn.
    pub secret: String,
    /// Targets attacked (default 500; capped at the table size).
    pub n_attacks: usize,
    /// For a numeric secret: a guess is right when |guess - secret| <= tolerance * |secret|
    /// (Anonymeter's 5 %). Categorical secrets must match exactly.
    pub tolerance: f64,
    /// Confidence level of the intervals (default 0.95).
    pub confidence: f64,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        InferenceConfig {
            aux_cols: Vec::new(),
            secret: String::new(),
            n_attacks: 500,
            tolerance: 0.05,
            confidence: 0.95,
        }
    }
}

/// Runs the attribute-inference attack on `original` (and `control`) through `released`.
pub fn attribute_inference<R: Rng + ?Sized>(
    released: &Table,
    original: &Table,
    control: Option<&Table>,
    config: &InferenceConfig,
    rng: &mut R,
) -> Result<AttackResult> {
    check_confidence(config.confidence)?;
    if config.aux_cols.is_empty() || config.secret.is_empty() {
        return Err(AnonError::InvalidParameter(
            "inference needs auxiliary columns and a secret column".into(),
        ));
    }
    if config.aux_cols.contains(&config.secret) {
        return Err(AnonError::InvalidParameter(
            "the secret column cannot also be an auxiliary column".into(),
        ));
    }
    if released.nrows() == 0 || config.n_attacks == 0 {
        return Err(AnonError::Attack(
            "the released table is empty or n_attacks is 0".into(),
        ));
    }
    let mut names = config.aux_cols.clone();
    names.push(config.secret.clone());
    let mut tables = vec![released, original];
    tables.extend(control);
    let data = EncodedTables::new(&tables, &names)?;
    let aux: Vec<usize> = (0..config.aux_cols.len()).collect();
    let secret = names.len() - 1;
    let n_attacks = config.n_attacks.min(original.nrows());
    let correct = |t: usize, target: usize, guess_row: usize| {
        same_secret(
            &data.columns[secret],
            t,
            target,
            guess_row,
            config.tolerance,
        )
    };

    let attack = |t: usize, targets: Vec<usize>| {
        parallel_map(targets.len(), |i| {
            let guess = nearest(&data, &aux, t, targets[i], 0, 1);
            guess.first().is_some_and(|&g| correct(t, targets[i], g))
        })
        .into_iter()
        .filter(|&ok| ok)
        .count()
    };
    let targets = sample_indices(original.nrows(), n_attacks, rng);
    let n_baseline = targets
        .iter()
        .filter(|&&target| {
            let guess = rng.random_range(0..released.nrows());
            correct(1, target, guess)
        })
        .count();
    let n_success = attack(1, targets);
    let n_control = control.map(|c| attack(2, sample_indices(c.nrows(), n_attacks, rng)) as f64);
    Ok(AttackResult::from_counts(
        format!("inference:{}", config.secret),
        n_attacks,
        n_success,
        n_baseline,
        n_control,
        config.confidence,
    ))
}

/// True when the released row's secret is a correct guess of the target's. Two missing
/// values count as a correct guess (as in Anonymeter).
fn same_secret(
    column: &Encoded,
    t: usize,
    target: usize,
    guess_row: usize,
    tolerance: f64,
) -> bool {
    match column {
        Encoded::Numeric { values, .. } => match (values[0][guess_row], values[t][target]) {
            (Some(g), Some(s)) => (g - s).abs() <= tolerance * s.abs().max(1e-12),
            (None, None) => true,
            _ => false,
        },
        Encoded::Categorical { values, .. } => values[0][guess_row] == values[t][target],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use salus_table::Column;

    #[test]
    fn copy_of_the_data_reveals_the_secret() {
        let n = 300;
        let t = Table::new(vec![
            Column::numeric("age", (0..n).map(|i| Some(f64::from(i))).collect()),
            Column::text("dx", (0..n).map(|i| Some(format!("d{}", i % 7))).collect()),
        ])
        .unwrap();
        let config = InferenceConfig {
            aux_cols: vec!["age".into()],
            secret: "dx".into(),
            n_attacks: 100,
            ..Default::default()
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let r = attribute_inference(&t, &t, None, &config, &mut rng).unwrap();
        assert_eq!(r.n_success, 100);
        assert!(r.n_baseline < 40, "baseline {}", r.n_baseline);
    }
}
