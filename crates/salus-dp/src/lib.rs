//! Differential privacy for Salus: exact discrete samplers, zCDP accounting, distributed
//! noise shares for secure aggregation, and the privacy ledger logic.
//!
//! - [`DiscreteGaussian`]: exact N_Z(0, sigma^2) sampler (Canonne, Kamath, Steinke 2020)
//!   on exact rationals; reproduces libprio-rs' published vectors bit for bit.
//! - [`Skellam`] / [`Poisson`]: exact samplers for a rational mean (no floating point).
//! - [`zcdp`]: rho of each mechanism, composition, (epsilon, delta) conversions, all rounded
//!   toward more privacy loss.
//! - [`DistributedNoise`]: per-node noise shares whose sum carries the calibrated noise, with
//!   the threshold/dropout and collusion rules documented in [`distributed`].
//! - [`Ledger`]: rho budgets per (dataset, researcher); `charge` checks and debits at once.
//!
//! Pure library: randomness is an argument (`R: rand::Rng + rand::CryptoRng`), no clock,
//! no I/O.
//!
//! ```
//! use rand::SeedableRng;
//! use salus_dp::{zcdp, DiscreteGaussian, DistributedNoise, Ledger, LedgerKey, NoiseMechanism, Sensitivity};
//!
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
//!
//! // A count (sensitivity 1) released with rho = 0.5: sigma = 1.
//! let sigma = zcdp::sigma_for_rho(1.0, 0.5);
//! let noisy_count = 1234 + DiscreteGaussian::new(sigma)?.sample(&mut rng);
//! assert!((noisy_count - 1234).abs() < 20);
//! assert!(zcdp::rho_to_epsilon(0.5, 1e-6) < 0.5 + 2.0 * (0.5f64 * 1e6f64.ln()).sqrt());
//!
//! // Three sites, any two may survive: each adds Skellam noise for two shares.
//! let plan = DistributedNoise::calibrate(NoiseMechanism::Skellam, Sensitivity::unit(), 8, 2, 0.5)?;
//! let share = plan.sample_share(&mut rng)?; // added to the site's encoded histogram
//! assert_eq!(share.len(), 8);
//!
//! // The node charges the researcher's budget before releasing.
//! let mut ledger = Ledger::new(1.0)?;
//! let key = LedgerKey::new("diabetes-2024", "alice");
//! let receipt = ledger.charge(&key, plan.rho()).expect("within budget");
//! assert!(receipt.remaining_rho >= 0.5);
//! assert!(ledger.charge(&key, 0.9).is_err()); // refused with budget, spent and request
//! # Ok::<(), salus_dp::DpError>(())
//! ```

mod cks20;
pub mod distributed;
mod error;
mod gaussian;
pub mod ledger;
mod poisson;
pub mod zcdp;

pub use distributed::{
    DistributedNoise, NoiseMechanism, NoiseShare, NoiseSummary, Sensitivity, noise_share_for_node,
};
pub use error::DpError;
pub use gaussian::{DiscreteGaussian, MAX_SIGMA};
pub use ledger::{Account, BudgetExceeded, ChargeReceipt, Ledger, LedgerKey};
pub use poisson::{MAX_POISSON_MEAN, Poisson, Skellam, sample_skellam};
