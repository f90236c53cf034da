//! Differentially private synthetic data from noisy marginals, on one table or across sites.
//!
//! The pipeline follows the marginal-based state of the art (MST, winner of the NIST 2018
//! challenge, and AIM), with exact noise:
//!
//! 1. **Domain** ([`infer_domain`], [`Domain`]): categories, numeric and date bins (public
//!    bounds, or bounds estimated with the discrete Gaussian and charged to the budget),
//!    missing values as their own cell.
//! 2. **Selection and measurement** ([`fit`] with [`Method::Mst`] or [`Method::Aim`]):
//!    marginals are measured with `salus_dp::DiscreteGaussian` (exact integer noise) and
//!    chosen with an exponential mechanism sampled on exact rationals; every step is charged
//!    to an [`Accountant`] in zCDP before it runs, and the model records the rho per step.
//! 3. **Estimation**: a Private-PGM-style graphical model fitted by mirror descent with
//!    exact belief propagation on a junction tree (for MST the tree itself).
//! 4. **Sampling** ([`Model::sample`]): deterministic for a seeded RNG, optionally
//!    conditioned on fixed values ([`Condition`]).
//! 5. **Evaluation** ([`eval::evaluate`]): fidelity, utility, privacy attacks (from
//!    `salus-anon`) and bias, as JSON and a self-contained HTML report.
//!
//! **Federated synthesis** ([`federated`](crate::plan_federated_mst)): nodes contribute
//! [`local_marginal_counts`] plus their noise share through secure aggregation; the hub
//! selects the tree with [`select_tree`] and fits with [`fit_from_measurements`], seeing only
//! noisy sums.
//!
//! Pure library: randomness is an argument (`rand::Rng + rand::CryptoRng` where noise is
//! drawn), no clock, no file system.
//!
//! ```
//! use rand::SeedableRng;
//! use salus_synth::{fit, Budget, Condition, FitOptions};
//! use salus_table::{read_csv, CsvOptions};
//!
//! let mut csv = String::from("sex,age,smoker\n");
//! for i in 0..600 {
//!     let sex = if i % 2 == 0 { "F" } else { "M" };
//!     let smoker = if i % 7 < 2 { "yes" } else { "no" };
//!     csv.push_str(&format!("{sex},{},{smoker}\n", 20 + i % 60));
//! }
//! let table = read_csv(csv.as_bytes(), &CsvOptions::default())?;
//!
//! // A fixed seed is for reproducible examples only: real releases use OS randomness.
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let budget = Budget::from_epsilon_delta(2.0, 1e-6)?;
//! let model = fit(&table, &budget, &FitOptions::default(), &mut rng)?;
//! assert!(model.privacy.rho_spent <= budget.rho);
//!
//! let synthetic = model.sample(100, &[Condition::parse("sex=F")?], &mut rng)?;
//! assert_eq!(synthetic.names(), vec!["sex", "age", "smoker"]);
//! assert!(synthetic.text("sex")?.iter().all(|s| s.as_deref() == Some("F")));
//! let round_trip = salus_synth::Model::from_json(&model.to_json()?)?;
//! assert_eq!(round_trip, model);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Tests may unwrap: a panic is the failure report there.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod accountant;
mod aim;
mod binning;
mod compress;
mod domain;
mod error;
mod estimate;
pub mod eval;
mod exact;
mod factor;
mod federated;
mod fit;
mod infer;
mod inference;
mod junction;
mod measure;
mod model;
mod mst;
mod sample;

pub use accountant::{Accountant, Step};
pub use aim::AimOptions;
pub use compress::AttributeCompression;
pub use domain::{Attribute, AttributeKind, Domain, DomainSource, Encoded};
pub use error::{Result, SynthError};
pub use estimate::EstimationOptions;
pub use factor::Clique;
pub use federated::{
    FederatedMstPlan, fit_from_measurements, mst_measurements, plan_federated_mst, select_tree,
};
pub use fit::{Budget, FitOptions, Method, fit};
pub use infer::{ColumnSpec, DomainOptions, KindHint, infer_domain};
pub use measure::{Measurement, local_marginal_counts, marginal_lengths, split_measurements};
pub use model::{MODEL_FORMAT, MODEL_VERSION, MeasuredClique, Model, PrivacyRecord};
pub use sample::Condition;
