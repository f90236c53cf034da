//! Attack-based validation of released data (anonymized or synthetic).
//!
//! # API (stable; used by `salus-synth` to evaluate synthetic data)
//!
//! Every attack takes the released table (anonymized or synthetic), the original
//! (training) table, an optional control table (original records that were **not** used
//! to make the release), a config and a caller-supplied RNG, and returns a serializable
//! result:
//!
//! ```text
//! singling_out(released, original, control, &SinglingOutConfig, rng)      -> AttackResult
//! linkability(released, original, control, &LinkabilityConfig, rng)       -> AttackResult
//! attribute_inference(released, original, control, &InferenceConfig, rng) -> AttackResult
//! linkage_attack(released, auxiliary, control, &LinkageConfig, rng)       -> LinkageResult
//! ```
//!
//! The first three follow Anonymeter (Giomi et al., "A Unified Framework for Quantifying
//! Privacy Risk in Synthetic Data", PoPETs 2023): the attack's success rate on the
//! original records is compared with a naive baseline (random guesses) and with the same
//! attack on the control records; `risk = (attack - control) / (1 - control)` with the
//! error propagated from Wilson intervals, clamped to [0, 1]. Without a control table the
//! risk is the attack's success rate. [`linkage_attack`] is the classic re-identification
//! attack on a generalized release: each auxiliary record (with identity) is matched on
//! the quasi-identifiers to the released records whose generalized values cover it, and
//! the attacker picks one candidate at random; the share of correct re-identifications
//! gets a Wilson and an exact (Clopper-Pearson) interval.
//!
//! Columns are compared as numbers when they are numeric in every table involved, as
//! text otherwise. Missing values are their own category in queries and count as a full
//! mismatch in distances (as in Anonymeter).

mod data;
mod inference;
mod linkability;
mod linkage;
mod singling_out;

use serde::{Deserialize, Serialize};

pub use inference::{InferenceConfig, attribute_inference};
pub use linkability::{LinkabilityConfig, linkability};
pub use linkage::{LinkageConfig, LinkageResult, linkage_attack};
pub use singling_out::{SinglingOutConfig, SinglingOutMode, singling_out};

use crate::stats::{Proportion, wilson, wilson_centre};

/// Outcome of an Anonymeter-style attack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackResult {
    /// Which attack ("singling_out_univariate", "linkability", "inference:<secret>", ...).
    pub attack: String,
    /// Attacks attempted against the original records.
    pub n_attacks: usize,
    /// Successful attacks against the original records.
    pub n_success: usize,
    /// Successful naive (random-guess) attacks.
    pub n_baseline: usize,
    /// Successful attacks against the control records (size-corrected for singling out).
    pub n_control: Option<f64>,
    /// Success rate against the original records, with its Wilson interval.
    pub attack_rate: Proportion,
    /// Success rate of the naive baseline, with its Wilson interval.
    pub baseline_rate: Proportion,
    /// Success rate against the control records, with its Wilson interval.
    pub control_rate: Option<Proportion>,
    /// The privacy risk and its interval: residual success over control when a control
    /// table is given, otherwise the attack success rate.
    pub risk: Proportion,
    /// Confidence level of all intervals.
    pub confidence: f64,
    /// False when the attack did no better than the naive baseline: then the result
    /// says little (Anonymeter prints the same warning).
    pub beats_baseline: bool,
}

impl AttackResult {
    /// Assembles the rates and the risk from the success counts (Anonymeter's formulas).
    pub(crate) fn from_counts(
        attack: impl Into<String>,
        n_attacks: usize,
        n_success: usize,
        n_baseline: usize,
        n_control: Option<f64>,
        confidence: f64,
    ) -> Self {
        let n = n_attacks as f64;
        let attack_rate = wilson(n_success as f64, n, confidence);
        let baseline_rate = wilson(n_baseline as f64, n, confidence);
        let control_rate = n_control.map(|c| wilson(c.min(n), n, confidence));
        let (att, att_err) = wilson_centre(n_success as f64, n, confidence);
        let risk = match n_control {
            None => bound(att, att_err),
            Some(c) => {
                let (ctl, ctl_err) = wilson_centre(c.min(n), n, confidence);
                if ctl >= 1.0 {
                    Proportion {
                        value: 0.0,
                        lower: 0.0,
                        upper: 1.0,
                    }
                } else {
                    let residual = (att - ctl) / (1.0 - ctl);
                    let d_att = 1.0 / (1.0 - ctl).abs();
                    let d_ctl = (att - 1.0) / (1.0 - ctl).powi(2);
                    let err = ((att_err * d_att).powi(2) + (ctl_err * d_ctl).powi(2)).sqrt();
                    bound(residual, err)
                }
            }
        };
        AttackResult {
            attack: attack.into(),
            n_attacks,
            n_success,
            n_baseline,
            n_control,
            beats_baseline: attack_rate.value > baseline_rate.value,
            attack_rate,
            baseline_rate,
            control_rate,
            risk,
            confidence,
        }
    }
}

fn bound(value: f64, error: f64) -> Proportion {
    Proportion {
        value: value.clamp(0.0, 1.0),
        lower: (value - error).clamp(0.0, 1.0),
        upper: (value + error).clamp(0.0, 1.0),
    }
}

pub(crate) fn check_confidence(confidence: f64) -> crate::Result<()> {
    if confidence > 0.0 && confidence < 1.0 {
        Ok(())
    } else {
        Err(crate::AnonError::InvalidParameter(format!(
            "confidence must be strictly between 0 and 1 (got {confidence})"
        )))
    }
}

/// Picks `k` distinct indices out of `0..n` uniformly (partial Fisher-Yates).
pub(crate) fn sample_indices<R: rand::Rng + ?Sized>(n: usize, k: usize, rng: &mut R) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = rng.random_range(i..n);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_matches_anonymeter_formula() {
        // Anonymeter: success_rate(100, 30, .95) and residual over control 10/100.
        let r = AttackResult::from_counts("x", 100, 30, 5, Some(10.0), 0.95);
        let z2 = 1.959_963_984_540_054_f64.powi(2);
        let att = (30.0 + 0.5 * z2) / (100.0 + z2);
        let ctl = (10.0 + 0.5 * z2) / (100.0 + z2);
        assert!((r.risk.value - (att - ctl) / (1.0 - ctl)).abs() < 1e-12);
        assert!(r.beats_baseline);
        let no_control = AttackResult::from_counts("x", 100, 30, 5, None, 0.95);
        assert!((no_control.risk.value - att).abs() < 1e-12);
    }
}
