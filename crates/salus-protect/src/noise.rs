//! Distributed differential privacy for one round: the noise plan both sides calibrate
//! from the round's [`DpRound`], each node's noise share (drawn from its `noise_seed`, so
//! a re-run of the round adds identical noise and reveals no second sample), and the
//! record the released aggregate carries (aggregate parameters only, never a share).
//!
//! Noise covers the **count** segments only; real segments are released without noise,
//! and the record says so. The mechanism is Skellam (sums of Skellam shares are exactly
//! Skellam, so the accounting has no slack) unless its per-node parameter would make the
//! exact sampler slow (mu above 2^16), in which case the distributed discrete Gaussian of
//! Kairouz, Liu and Steinke (2021) is used. Both are exact integer samplers (salus-dp).

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_dp::{DistributedNoise, NoiseMechanism, NoiseShare, Sensitivity, zcdp};

use crate::DpRound;
use crate::common::derive_seed;
use crate::error::ProtectError;

/// The delta at which the record states the (epsilon, delta) equivalent of rho.
pub const RECORD_DELTA: f64 = 1e-6;

/// Above this per-node Skellam mu the distributed discrete Gaussian is used instead.
const SKELLAM_MAX_MU: f64 = 65_536.0;

/// How many total standard deviations of headroom the ring encoding reserves for noise
/// (exceeded with probability far below 2^-100).
const HEADROOM_SIGMAS: f64 = 40.0;

/// A calibrated plan for one round, with what the record needs to say.
#[derive(Debug, Clone)]
pub(crate) struct NoisePlan {
    request: DpRound,
    plan: DistributedNoise,
    noised: Vec<String>,
    not_noised: Vec<String>,
}

impl NoisePlan {
    /// Calibrates noise for `counts` count values so that any sum of at least
    /// `min_shares` node shares is `dp.rho`-zCDP.
    pub(crate) fn new(
        dp: &DpRound,
        counts: usize,
        min_shares: usize,
        segments: (Vec<String>, Vec<String>),
    ) -> Result<Self, ProtectError> {
        if counts == 0 {
            return Err(ProtectError::invalid(
                "differential privacy was requested but the layout has no count segments; \
                 noise applies to counts only, so nothing would be protected",
            ));
        }
        let sensitivity = Sensitivity {
            l1: dp.l1_sensitivity,
            l2: dp.l2_sensitivity,
        };
        let calibrate = |mechanism| {
            DistributedNoise::calibrate(mechanism, sensitivity, counts, min_shares, dp.rho)
        };
        let skellam = calibrate(NoiseMechanism::Skellam);
        let plan = match skellam {
            Ok(plan) if skellam_is_cheap(&plan) => plan,
            _ => calibrate(NoiseMechanism::DistributedDiscreteGaussian)?,
        };
        Ok(Self {
            request: dp.clone(),
            plan,
            noised: segments.0,
            not_noised: segments.1,
        })
    }

    /// Headroom (encoded units) the sum of `nodes` shares needs.
    pub(crate) fn headroom(&self, nodes: usize) -> f64 {
        HEADROOM_SIGMAS * self.plan.total_variance(nodes).sqrt()
    }

    /// This node's noise share: one integer per count, drawn from `noise_seed` alone (not
    /// from the session id or the fresh seed), so every attempt of a round adds the same.
    pub(crate) fn node_share(&self, noise_seed: &[u8; 32]) -> Result<Vec<i64>, ProtectError> {
        let mut rng = ChaCha20Rng::from_seed(derive_seed("dp-noise", noise_seed));
        Ok(self.plan.sample_share(&mut rng)?)
    }

    /// The record of the noise in a sum of `shares` node shares.
    pub(crate) fn record(&self, shares: usize) -> serde_json::Value {
        let summary = self.plan.summary(shares);
        let mechanism = match self.plan.mechanism() {
            NoiseMechanism::Skellam => "skellam",
            NoiseMechanism::DistributedDiscreteGaussian => "distributed-discrete-gaussian",
        };
        let per_node = match self.plan.share() {
            NoiseShare::Skellam { sampler } => serde_json::json!({"mu": sampler.mu()}),
            NoiseShare::DiscreteGaussian { sigma } => serde_json::json!({"sigma": sigma}),
        };
        serde_json::json!({
            "mechanism": mechanism,
            "applies_to": self.noised,
            "not_noised": self.not_noised,
            "coordinates": self.plan.dimension(),
            "l1_sensitivity": self.request.l1_sensitivity,
            "l2_sensitivity": self.request.l2_sensitivity,
            "shares": summary.shares,
            "min_shares": self.plan.min_shares(),
            "per_node": per_node,
            "variance": summary.total_variance,
            "sigma": summary.total_sigma,
            "rho": self.request.rho,
            "rho_guaranteed": summary.rho_guaranteed,
            "rho_with_all_shares": summary.rho,
            "delta": RECORD_DELTA,
            "epsilon": zcdp::rho_to_epsilon(self.request.rho, RECORD_DELTA),
        })
    }
}

fn skellam_is_cheap(plan: &DistributedNoise) -> bool {
    matches!(plan.share(), NoiseShare::Skellam { sampler } if sampler.mu() <= SKELLAM_MAX_MU)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rho: f64, l2: f64) -> NoisePlan {
        let dp = DpRound {
            rho,
            l1_sensitivity: l2 * l2,
            l2_sensitivity: l2,
        };
        NoisePlan::new(&dp, 4, 3, (vec!["n".into()], vec!["x".into()])).expect("calibrates")
    }

    #[test]
    fn the_plan_meets_the_requested_rho_and_records_it() {
        let p = plan(0.25, 1.0);
        let record = p.record(3);
        assert_eq!(record["mechanism"], "skellam");
        assert_eq!(record["rho"], 0.25);
        let guaranteed = record["rho_guaranteed"].as_f64().expect("number");
        assert!(
            guaranteed <= 0.25 * (1.0 + 1e-9) && guaranteed > 0.25 * 0.99,
            "{guaranteed}"
        );
        assert!(record["epsilon"].as_f64().expect("number") > 0.25);
        assert_eq!(record["not_noised"][0], "x");
    }

    #[test]
    fn large_scales_switch_to_the_discrete_gaussian() {
        let record = plan(1e-4, 100.0).record(3);
        assert_eq!(record["mechanism"], "distributed-discrete-gaussian");
    }

    #[test]
    fn shares_depend_only_on_the_noise_seed() {
        let p = plan(0.01, 1.0);
        let a = p.node_share(&[7; 32]).expect("samples");
        assert_eq!(a, p.node_share(&[7; 32]).expect("samples"));
        assert_ne!(a, p.node_share(&[8; 32]).expect("samples"));
    }

    #[test]
    fn no_counts_means_no_dp() {
        let dp = DpRound {
            rho: 0.5,
            l1_sensitivity: 1.0,
            l2_sensitivity: 1.0,
        };
        assert!(NoisePlan::new(&dp, 0, 2, (vec![], vec!["x".into()])).is_err());
    }
}
