//! Linkability attack (Anonymeter's `LinkabilityEvaluator`): the original records are
//! split into two column sets, as if held by two parties; the attacker links the halves
//! when both have the same nearest neighbour(s) in the released table.

use std::collections::HashSet;

use rand::Rng;
use salus_table::Table;
use serde::{Deserialize, Serialize};

use super::data::{EncodedTables, nearest, parallel_map};
use super::{AttackResult, check_confidence, sample_indices};
use crate::{AnonError, Result};

/// Parameters of [`linkability`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkabilityConfig {
    /// The two auxiliary column sets held by the two parties.
    pub aux_cols: (Vec<String>, Vec<String>),
    /// Original records attacked (default 500; capped at the table size).
    pub n_attacks: usize,
    /// Neighbours considered on each side (default 1).
    pub n_neighbors: usize,
    /// Confidence level of the intervals (default 0.95).
    pub confidence: f64,
}

impl Default for LinkabilityConfig {
    fn default() -> Self {
        LinkabilityConfig {
            aux_cols: (Vec::new(), Vec::new()),
            n_attacks: 500,
            n_neighbors: 1,
            confidence: 0.95,
        }
    }
}

/// Runs the linkability attack on `original` (and `control`) through `released`.
pub fn linkability<R: Rng + ?Sized>(
    released: &Table,
    original: &Table,
    control: Option<&Table>,
    config: &LinkabilityConfig,
    rng: &mut R,
) -> Result<AttackResult> {
    check_confidence(config.confidence)?;
    let (left, right) = &config.aux_cols;
    if left.is_empty() || right.is_empty() {
        return Err(AnonError::InvalidParameter(
            "linkability needs two non-empty auxiliary column sets".into(),
        ));
    }
    if config.n_neighbors == 0 || config.n_attacks == 0 {
        return Err(AnonError::InvalidParameter(
            "n_attacks and n_neighbors must be at least 1".into(),
        ));
    }
    if released.nrows() == 0 {
        return Err(AnonError::Attack("the released table is empty".into()));
    }
    let mut names: Vec<String> = left.clone();
    names.extend(right.iter().filter(|c| !left.contains(c)).cloned());
    let mut tables = vec![released, original];
    tables.extend(control);
    let data = EncodedTables::new(&tables, &names)?;
    let cols_left: Vec<usize> = left.iter().map(|c| data.index(c)).collect::<Result<_>>()?;
    let cols_right: Vec<usize> = right.iter().map(|c| data.index(c)).collect::<Result<_>>()?;
    let n_attacks = config.n_attacks.min(original.nrows());
    let k = config.n_neighbors.min(released.nrows());

    let attack = |t: usize, targets: Vec<usize>| {
        parallel_map(targets.len(), |i| {
            let a: HashSet<usize> = nearest(&data, &cols_left, t, targets[i], 0, k)
                .into_iter()
                .collect();
            nearest(&data, &cols_right, t, targets[i], 0, k)
                .iter()
                .any(|j| a.contains(j))
        })
        .into_iter()
        .filter(|&linked| linked)
        .count()
    };
    let targets = sample_indices(original.nrows(), n_attacks, rng);
    let n_success = attack(1, targets);
    let n_baseline = (0..n_attacks)
        .filter(|_| {
            let a: HashSet<usize> = sample_indices(released.nrows(), k, rng)
                .into_iter()
                .collect();
            sample_indices(released.nrows(), k, rng)
                .iter()
                .any(|j| a.contains(j))
        })
        .count();
    let n_control = control.map(|c| {
        let targets = sample_indices(c.nrows(), n_attacks, rng);
        attack(2, targets) as f64
    });
    Ok(AttackResult::from_counts(
        "linkability",
        n_attacks,
        n_success,
        n_baseline,
        n_control,
        config.confidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use salus_table::Column;

    fn table(n: usize, offset: f64) -> Table {
        Table::new(vec![
            Column::numeric("a", (0..n).map(|i| Some(i as f64 + offset)).collect()),
            Column::numeric(
                "b",
                (0..n).map(|i| Some((i * 7 % n) as f64 + offset)).collect(),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn identical_release_links_every_record() {
        let t = table(100, 0.0);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let config = LinkabilityConfig {
            aux_cols: (vec!["a".into()], vec!["b".into()]),
            n_attacks: 50,
            ..Default::default()
        };
        let r = linkability(&t, &t, None, &config, &mut rng).unwrap();
        assert_eq!(r.n_success, 50);
        assert!(r.n_baseline < 10);
    }

    #[test]
    fn control_like_training_means_no_risk() {
        // Release unrelated to both training and control: risk must be near zero.
        let released = table(100, 0.5);
        let training = table(100, 1000.0);
        let control = table(100, 1000.0);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let config = LinkabilityConfig {
            aux_cols: (vec!["a".into()], vec!["b".into()]),
            n_attacks: 100,
            ..Default::default()
        };
        let r = linkability(&released, &training, Some(&control), &config, &mut rng).unwrap();
        assert!(r.risk.value < 0.1, "{:?}", r.risk);
    }
}
