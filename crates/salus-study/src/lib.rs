//! The study engine, without I/O: what a study computes at each node, how the hub
//! combines the contributions, and what is finally released.
//!
//! A study runs in **rounds**. In each round the hub's [`plan::StudyPlan`] issues a
//! [`RoundRequest`]; every node evaluates the cohort filter on its own rows and
//! computes a contribution vector with [`local::contribute`] whose shape is fixed by
//! the public [`layout::Layout`] (so a vector's length reveals nothing about the
//! data); the protection layer (secure aggregation or threshold HE) delivers only the
//! element-wise **sum** of those vectors to the plan; the plan either asks for another
//! round (a Newton step) or finishes. [`disclosure`] then suppresses small cells
//! before anything reaches the researcher.
//!
//! ```
//! use salus_core::{schema::DatasetSchema, study::StudySpec};
//! use salus_study::{local, plan::{Progress, StudyPlan}};
//! use salus_table::{read_csv, CsvOptions};
//!
//! let schema = DatasetSchema::from_text(r#"
//!     [columns.age]
//!     type = "numeric"
//!     role = "quasi-identifier"
//! "#).unwrap();
//! let spec = StudySpec::from_toml(r#"
//!     name = "ages"
//!     dataset = "d"
//!     [analysis]
//!     type = "descriptive"
//!     columns = ["age"]
//! "#).unwrap();
//! let mut plan = StudyPlan::new(&spec, &schema).unwrap();
//! let round = plan.next_round().unwrap();
//!
//! // Two sites compute their contributions; the hub only ever gets the sum.
//! let a = read_csv("age\n50\n60\n70\n40\n55\n".as_bytes(), &CsvOptions::default()).unwrap();
//! let b = read_csv("age\n30\n35\n45\n65\n66\n".as_bytes(), &CsvOptions::default()).unwrap();
//! let va = local::contribute(&spec, &schema, &round, &local::Cohort::all(&a)).unwrap();
//! let vb = local::contribute(&spec, &schema, &round, &local::Cohort::all(&b)).unwrap();
//! let sum: Vec<f64> = va.iter().zip(&vb).map(|(x, y)| x + y).collect();
//! assert!(matches!(plan.absorb(round.round, &sum).unwrap(), Progress::Done));
//! let released = plan.release(5).unwrap();
//! assert_eq!(released.result["n"], 10);
//! assert_eq!(released.result["columns"]["age"]["mean"], 51.6);
//! ```

pub mod cohort;
pub mod disclosure;
pub mod layout;
pub mod local;
mod local_models;
mod models;
pub mod plan;

use serde::{Deserialize, Serialize};

/// What the hub asks every node to compute in one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRequest {
    /// Round number, from 0.
    pub round: u32,
    /// Analysis-specific parameters of this round.
    pub step: Step,
    /// The shape of the contribution vector.
    pub layout: layout::Layout,
}

/// Analysis-specific parameters of a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// The single round of a one-shot analysis.
    Once,
    /// Evaluate the model terms at these coefficients (Newton-Raphson).
    Newton { beta: Vec<f64> },
    /// Free-form parameters for analyses that carry their own (e.g. synthesis).
    Custom { value: serde_json::Value },
}

/// Errors of study planning and local computation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudyError {
    #[error("cohort filter: {0}")]
    Cohort(String),
    #[error("{0}")]
    Spec(#[from] salus_core::CoreError),
    #[error("data: {0}")]
    Data(String),
    #[error("{0}")]
    Table(#[from] salus_table::TableError),
    #[error("round {got} does not match the plan's round {expected}; the contribution is stale")]
    WrongRound { expected: u32, got: u32 },
    #[error("the contribution has {got} values but the layout needs {expected}")]
    WrongLength { expected: usize, got: usize },
    #[error("the model did not converge: {0}")]
    NotConverged(String),
    #[error("{0}")]
    Disclosure(String),
    #[error("{0}")]
    Analysis(String),
}
