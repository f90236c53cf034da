//! Differentially private synthetic data (work in progress).

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
pub use federated::{FederatedMstPlan, fit_from_measurements, mst_measurements, plan_federated_mst, select_tree};
pub use fit::{Budget, FitOptions, Method, fit};
pub use infer::{ColumnSpec, DomainOptions, KindHint, infer_domain};
pub use measure::{Measurement, local_marginal_counts, marginal_lengths, split_measurements};
pub use model::{MODEL_FORMAT, MODEL_VERSION, MeasuredClique, Model, PrivacyRecord};
pub use sample::Condition;
