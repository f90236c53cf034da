//! Anonymization for Salus: generalization hierarchies, privacy models, an optimal
//! lattice search with ARX-compatible utility metrics, re-identification risk with a
//! single score, attack-based validation and pseudonymization.
//!
//! * [`anonymize`] finds the transformation (one generalization level per
//!   quasi-identifier, plus suppression of the classes that still violate a model) that
//!   minimizes the chosen [`Metric`] under every [`PrivacyModel`] and the suppression
//!   limit, and returns the released table with an [`AnonymizationReport`]. The optimum
//!   and its metric value match ARX's published test oracles (see `tests/arx_oracles.rs`).
//! * [`assess_table`] / [`assess_classes`] measure prosecutor, journalist and marketer
//!   risk, sample and population uniques (Pitman, Zayatz, SNB, Dankar's rule) and the
//!   score; [`hipaa`] checks HIPAA Safe Harbor identifiers.
//! * [`attack`] runs linkage, singling-out, linkability and attribute-inference attacks
//!   against any released table (anonymized or synthetic).
//! * [`pseudonym`] replaces identifiers by keyed HMAC pseudonyms and shifts dates.
//!
//! The crate does no I/O: tables and hierarchy bytes come in, values go out.
//!
//! ```
//! use salus_anon::{AnonymizationSpec, Hierarchy, HierarchyRule, PrivacyModel, anonymize};
//! use salus_table::{Column, Table};
//!
//! let ages = [34.0, 36.0, 35.0, 52.0, 57.0, 55.0];
//! let table = Table::new(vec![
//!     Column::numeric("age", ages.iter().map(|&a| Some(a)).collect()),
//!     Column::text("dx", ["flu", "cold", "flu", "gout", "flu", "cold"].iter().map(|s| Some(s.to_string())).collect()),
//! ])
//! .unwrap();
//! let values: Vec<String> = ages.iter().map(|a| a.to_string()).collect();
//! let rule = HierarchyRule::Intervals { widths: vec![10.0, 20.0], origin: 0.0, top_code: None, bottom_code: None };
//! let mut spec = AnonymizationSpec::new(vec![("age".into(), Hierarchy::from_rule("age", &rule, &values).unwrap())]);
//! spec.models = vec![PrivacyModel::KAnonymity { k: 3 }];
//!
//! let result = anonymize(&table, &spec).unwrap();
//! assert_eq!(result.report.transformation["age"], 1); // decades
//! assert_eq!(result.output.text("age").unwrap()[0].as_deref(), Some("30-39"));
//! assert_eq!(result.report.k, 3);
//! // Every record sits in a class of 3: a prosecutor risk of 1/3, above the default
//! // threshold of 0.2. k-anonymity alone does not make this release pass the risk check.
//! assert!((result.report.risk.prosecutor.max - 1.0 / 3.0).abs() < 1e-9);
//! assert!(result.report.score > 0.2 && !result.report.passed);
//! ```

mod anonymize;
pub mod attack;
pub mod config;
mod encode;
mod error;
mod evaluate;
mod groupify;
pub mod hierarchy;
pub mod hipaa;
mod model;
pub mod pseudonym;
pub mod risk;
mod search;
pub mod stats;
mod subset;

pub use anonymize::{
    Anonymization, AnonymizationReport, AnonymizationSpec, UtilityReport, anonymize,
    apply_transformation, transformation_score,
};
pub use config::AnonymizeConfig;
pub use error::{AnonError, Result};
pub use evaluate::Score;
pub use hierarchy::{Hierarchy, HierarchyRule};
pub use model::{Aggregate, Metric, PrivacyModel};
pub use risk::{RiskAssessment, RiskOptions, assess_classes, assess_table};
pub use search::SearchStats;
pub use subset::match_subset;
