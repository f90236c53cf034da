//! Distributed noise: each node adds a share of integer noise to its encoded vector before
//! secure aggregation, so only the noisy SUM is ever revealed and the sum carries the
//! calibrated noise.
//!
//! Two mechanisms, both exact and both accounted in zCDP:
//! - **Skellam** (Agarwal, Kairouz, Liu 2021): node shares Sk(mu_node) sum to exactly
//!   Sk(shares * mu_node), a Skellam of variance 2 * shares * mu_node; rho from
//!   [`crate::zcdp::rho_skellam`]. Sampling costs O(sqrt(mu_node)) per coordinate: the right
//!   choice for counts and histograms at modest noise scales.
//! - **Distributed discrete Gaussian** (Kairouz, Liu, Steinke 2021): node shares
//!   N_Z(0, s^2); the sum is not exactly a discrete Gaussian, and KLS21 Proposition 14 bounds
//!   its rho ([`crate::zcdp::rho_distributed_discrete_gaussian`]; the extra term is below
//!   1e-15 once s >= 2). Sampling costs O(1) per coordinate at any scale.
//!
//! **Dropouts and collusion.** The plan is calibrated for `min_shares` honest shares: with t
//! the secure-aggregation threshold (the fewest survivors whose sum can be released) and c
//! the number of nodes that might collude with the hub (a colluder knows and can subtract its
//! own share), use `min_shares = t - c`. Each node adds noise for that many shares, so any
//! release (>= t survivors) carries at least the calibrated noise; more survivors only add
//! noise (and lower rho). The ledger is charged [`DistributedNoise::rho`], the guarantee at
//! `min_shares`, before the round; the released record may state the smaller actual rho.

use rand::{CryptoRng, Rng};
use serde::{Deserialize, Serialize};

use crate::error::{DpError, non_negative, positive};
use crate::gaussian::DiscreteGaussian;
use crate::poisson::Skellam;
use crate::zcdp;

/// Which noise distribution the nodes add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseMechanism {
    /// Symmetric Skellam shares (closed under sums).
    Skellam,
    /// Discrete Gaussian shares with the KLS21 accounting.
    DistributedDiscreteGaussian,
}

impl NoiseMechanism {
    fn name(self) -> &'static str {
        match self {
            Self::Skellam => "skellam",
            Self::DistributedDiscreteGaussian => "distributed-discrete-gaussian",
        }
    }
}

/// Sensitivity of the integer (already encoded) query: how much one person can move the
/// summed vector, in L1 and L2 norm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// L1 norm bound.
    pub l1: f64,
    /// L2 norm bound.
    pub l2: f64,
}

impl Sensitivity {
    /// From an L2 bound alone, using L1 <= min(sqrt(d) L2, L2^2) for integer vectors.
    pub fn from_l2(l2: f64, dimension: usize) -> Self {
        let d = dimension.max(1) as f64;
        Self {
            l1: (d.sqrt() * l2).min(l2 * l2).next_up(),
            l2,
        }
    }

    /// For one count per person in one cell (histograms, counts): L1 = L2 = 1.
    pub fn unit() -> Self {
        Self { l1: 1.0, l2: 1.0 }
    }
}

/// The per-node noise parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NoiseShare {
    /// Each node adds Sk(mu) per coordinate (variance 2 mu).
    Skellam {
        /// The exact sampler (mu is stored as an exact rational).
        sampler: Skellam,
    },
    /// Each node adds N_Z(0, sigma^2) per coordinate.
    DiscreteGaussian {
        /// The per-node scale sigma (converted exactly to a rational when sampling).
        sigma: f64,
    },
}

/// A calibrated plan for distributed noise: what each node adds and what it guarantees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributedNoise {
    mechanism: NoiseMechanism,
    sensitivity: Sensitivity,
    dimension: usize,
    min_shares: usize,
    share: NoiseShare,
}

/// What a released aggregate carries, for the study result (never individual shares).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseSummary {
    /// The mechanism.
    pub mechanism: NoiseMechanism,
    /// Number of noise shares in the released sum.
    pub shares: usize,
    /// Variance of the total noise per coordinate.
    pub total_variance: f64,
    /// Standard deviation of the total noise per coordinate.
    pub total_sigma: f64,
    /// For Skellam: the total Poisson parameter mu (variance 2 mu); None otherwise.
    pub total_mu: Option<f64>,
    /// zCDP rho of this release against an outside observer (all shares honest).
    pub rho: f64,
    /// zCDP rho guaranteed with only `min_shares` honest shares (what the ledger charged).
    pub rho_guaranteed: f64,
}

impl DistributedNoise {
    /// The plan that makes a sum of `min_shares` node shares `rho`-zCDP for a query of the
    /// given `sensitivity` and `dimension`.
    pub fn calibrate(
        mechanism: NoiseMechanism,
        sensitivity: Sensitivity,
        dimension: usize,
        min_shares: usize,
        rho: f64,
    ) -> Result<Self, DpError> {
        let rho = positive("rho", rho)?;
        non_negative("l1 sensitivity", sensitivity.l1)?;
        positive("l2 sensitivity", sensitivity.l2)?;
        if min_shares == 0 {
            return Err(DpError::NoShares(min_shares));
        }
        let share = match mechanism {
            NoiseMechanism::Skellam => {
                let rho_of = |v: f64| zcdp::rho_skellam(sensitivity.l1, sensitivity.l2, v);
                let start = sensitivity.l2 * sensitivity.l2 / (2.0 * rho);
                let variance = smallest_scale(start, rho, rho_of, mechanism)?;
                let mu = variance / (2.0 * min_shares as f64);
                NoiseShare::Skellam {
                    sampler: Skellam::new(mu)?,
                }
            }
            NoiseMechanism::DistributedDiscreteGaussian => {
                let n = min_shares;
                let rho_of = |s: f64| {
                    zcdp::rho_distributed_discrete_gaussian(
                        sensitivity.l1,
                        sensitivity.l2,
                        s,
                        n,
                        dimension,
                    )
                };
                let start = (zcdp::sigma_for_rho(sensitivity.l2, rho) / (n as f64).sqrt()).max(0.5);
                let sigma = smallest_scale(start, rho, rho_of, mechanism)?;
                DiscreteGaussian::new(sigma)?;
                NoiseShare::DiscreteGaussian { sigma }
            }
        };
        let plan = Self {
            mechanism,
            sensitivity,
            dimension,
            min_shares,
            share,
        };
        if plan.rho() > rho * (1.0 + 1e-9) {
            return Err(DpError::Unreachable {
                rho,
                mechanism: mechanism.name(),
                reason: "calibration overshot",
            });
        }
        Ok(plan)
    }

    /// The mechanism.
    pub fn mechanism(&self) -> NoiseMechanism {
        self.mechanism
    }

    /// The per-node noise parameter.
    pub fn share(&self) -> NoiseShare {
        self.share
    }

    /// The number of honest shares the guarantee assumes.
    pub fn min_shares(&self) -> usize {
        self.min_shares
    }

    /// The vector length each share covers.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// The query sensitivity the plan was calibrated for.
    pub fn sensitivity(&self) -> Sensitivity {
        self.sensitivity
    }

    /// rho guaranteed when only `min_shares` shares are honest: the amount to charge.
    pub fn rho(&self) -> f64 {
        self.rho_with_shares(self.min_shares)
    }

    /// rho when `shares` honest shares are in the sum (infinite for zero shares).
    pub fn rho_with_shares(&self, shares: usize) -> f64 {
        if shares == 0 {
            return f64::INFINITY;
        }
        let Sensitivity { l1, l2 } = self.sensitivity;
        match self.share {
            NoiseShare::Skellam { sampler } => {
                zcdp::rho_skellam(l1, l2, shares as f64 * sampler.variance())
            }
            NoiseShare::DiscreteGaussian { sigma } => {
                zcdp::rho_distributed_discrete_gaussian(l1, l2, sigma, shares, self.dimension)
            }
        }
    }

    /// Per-coordinate variance of the summed noise of `shares` nodes.
    pub fn total_variance(&self, shares: usize) -> f64 {
        let per_node = match self.share {
            NoiseShare::Skellam { sampler } => sampler.variance(),
            NoiseShare::DiscreteGaussian { sigma } => sigma * sigma,
        };
        shares as f64 * per_node
    }

    /// What a release summing `shares` node shares carries.
    pub fn summary(&self, shares: usize) -> NoiseSummary {
        let total_variance = self.total_variance(shares);
        NoiseSummary {
            mechanism: self.mechanism,
            shares,
            total_variance,
            total_sigma: total_variance.sqrt(),
            total_mu: match self.share {
                NoiseShare::Skellam { sampler } => Some(shares as f64 * sampler.mu()),
                NoiseShare::DiscreteGaussian { .. } => None,
            },
            rho: self.rho_with_shares(shares),
            rho_guaranteed: self.rho(),
        }
    }

    /// One node's noise share: `dimension` independent exact samples. Fails only for a plan
    /// whose parameters were edited into invalid values after calibration.
    pub fn sample_share<R: Rng + CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<Vec<i64>, DpError> {
        Ok(match self.share {
            NoiseShare::Skellam { sampler } => sampler.sample_vec(self.dimension, rng),
            NoiseShare::DiscreteGaussian { sigma } => {
                DiscreteGaussian::new(sigma)?.sample_vec(self.dimension, rng)
            }
        })
    }
}

/// One node's share of the distributed noise (see [`DistributedNoise`]).
pub fn noise_share_for_node<R: Rng + CryptoRng + ?Sized>(
    plan: &DistributedNoise,
    rng: &mut R,
) -> Result<Vec<i64>, DpError> {
    plan.sample_share(rng)
}

/// Smallest scale x >= start (to a relative 1e-9, rounded up) with rho_of(x) <= target;
/// rho_of must be non-increasing.
fn smallest_scale(
    start: f64,
    target: f64,
    rho_of: impl Fn(f64) -> f64,
    mechanism: NoiseMechanism,
) -> Result<f64, DpError> {
    let unreachable = |reason| DpError::Unreachable {
        rho: target,
        mechanism: mechanism.name(),
        reason,
    };
    if !(start.is_finite() && start > 0.0) {
        return Err(unreachable(
            "the sensitivity and rho give no finite noise scale",
        ));
    }
    let mut lo = start;
    let mut hi = start;
    let mut doublings = 0;
    while rho_of(hi) > target {
        lo = hi;
        hi *= 2.0;
        doublings += 1;
        if doublings > 200 || !hi.is_finite() {
            return Err(unreachable("no finite noise scale reaches it"));
        }
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if rho_of(mid) <= target {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    Ok(hi.next_up())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skellam_plan_meets_rho_with_threshold_shares() {
        let plan =
            DistributedNoise::calibrate(NoiseMechanism::Skellam, Sensitivity::unit(), 4, 3, 0.5)
                .expect("calibrates");
        assert!(plan.rho() <= 0.5 * (1.0 + 1e-9));
        // More survivors only add noise.
        assert!(plan.rho_with_shares(5) < plan.rho());
        assert_eq!(plan.rho_with_shares(0), f64::INFINITY);
        let summary = plan.summary(5);
        assert_eq!(summary.shares, 5);
        assert!(summary.total_mu.is_some());
    }

    #[test]
    fn distributed_gaussian_plan_meets_rho() {
        let plan = DistributedNoise::calibrate(
            NoiseMechanism::DistributedDiscreteGaussian,
            Sensitivity::from_l2(100.0, 10),
            10,
            4,
            0.1,
        )
        .expect("calibrates");
        assert!(plan.rho() <= 0.1 * (1.0 + 1e-9));
        let NoiseShare::DiscreteGaussian { sigma } = plan.share() else {
            panic!("wrong share kind")
        };
        // Central sigma would be 100 / sqrt(0.2) = 223.6; four shares split its variance.
        assert!((sigma * 2.0 - 223.6068).abs() < 0.01, "{sigma}");
    }

    #[test]
    fn rejects_zero_shares_and_bad_rho() {
        let s = Sensitivity::unit();
        assert!(DistributedNoise::calibrate(NoiseMechanism::Skellam, s, 1, 0, 1.0).is_err());
        assert!(DistributedNoise::calibrate(NoiseMechanism::Skellam, s, 1, 2, 0.0).is_err());
        assert!(DistributedNoise::calibrate(NoiseMechanism::Skellam, s, 1, 2, f64::NAN).is_err());
    }
}
