//! The one error type of `salus-synth`. Messages name columns and parameters, never
//! patient values, and say what to do next.

/// Everything that can go wrong while building a domain, fitting, sampling or evaluating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// A column named by the caller is not in the table.
    #[error("column `{name}` is not in the data; available columns: {available}")]
    UnknownColumn {
        /// The requested column.
        name: String,
        /// The columns the data has.
        available: String,
    },
    /// A column cannot be modelled as it is.
    #[error("column `{column}`: {reason}")]
    Column {
        /// The column concerned.
        column: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Values of the data fall outside the (public) domain.
    #[error(
        "column `{column}` has {count} value(s) outside the domain{hint}; add them to the schema \
         (categories) or clean the data"
    )]
    OutsideDomain {
        /// The column concerned.
        column: String,
        /// How many cells (values are never shown).
        count: usize,
        /// Extra advice.
        hint: String,
    },
    /// A privacy parameter is invalid.
    #[error("invalid privacy parameter: {0}")]
    Privacy(String),
    /// A step would spend more than the remaining budget.
    #[error(
        "privacy budget exceeded: step `{step}` needs rho = {requested:.6} but only {remaining:.6} \
         of {budget:.6} is left; raise --epsilon or measure fewer marginals"
    )]
    BudgetExceeded {
        /// The step that was refused.
        step: String,
        /// Its rho.
        requested: f64,
        /// What was left.
        remaining: f64,
        /// The total budget.
        budget: f64,
    },
    /// The noise layer (salus-dp) refused a parameter.
    #[error("noise: {0}")]
    Noise(#[from] salus_dp::DpError),
    /// Measurements passed to the estimator are inconsistent with the domain.
    #[error("measurement {index}: {reason}")]
    Measurement {
        /// Position of the measurement in the list.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The graphical model would be too large to fit in memory or time.
    #[error(
        "the model would need {cells} cells (limit {limit}); use fewer or coarser columns \
         (--bins) or the mst method"
    )]
    ModelTooLarge {
        /// Cells the junction tree would need.
        cells: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A `--given` condition cannot be applied.
    #[error("condition on `{column}`: {reason}")]
    Condition {
        /// The conditioned column.
        column: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The model file is malformed or of an unsupported version.
    #[error("model file: {0}")]
    ModelFile(String),
    /// The evaluation cannot be computed as asked.
    #[error("evaluation: {0}")]
    Evaluation(String),
    /// An error from the table layer.
    #[error(transparent)]
    Table(#[from] salus_table::TableError),
}

/// Result alias of this crate.
pub type Result<T, E = SynthError> = std::result::Result<T, E>;

pub(crate) fn column_error(column: &str, reason: impl Into<String>) -> SynthError {
    SynthError::Column {
        column: column.to_string(),
        reason: reason.into(),
    }
}
