//! Anonymization for Salus: generalization hierarchies, privacy models, an optimal
//! lattice search, re-identification risk, attacks and pseudonymization.

mod anonymize;
pub mod attack;
mod encode;
mod error;
mod evaluate;
mod groupify;
pub mod hierarchy;
pub mod hipaa;
mod model;
pub mod risk;
mod search;
mod subset;
pub mod stats;

pub use anonymize::{
    Anonymization, AnonymizationReport, AnonymizationSpec, UtilityReport, anonymize, apply_transformation,
    transformation_score,
};
pub use error::{AnonError, Result};
pub use evaluate::Score;
pub use hierarchy::{Hierarchy, HierarchyRule};
pub use model::{Aggregate, Metric, PrivacyModel};
pub use risk::{RiskAssessment, RiskOptions, assess_classes, assess_table};
pub use search::SearchStats;
pub use subset::match_subset;
