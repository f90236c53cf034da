//! The crate's error type: what can go wrong compiling FHIRPath, loading a
//! ViewDefinition or running one. Messages name paths, columns and positions,
//! never patient values.

/// Errors of FHIRPath compilation and evaluation, ViewDefinition loading and running.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirError {
    /// A FHIRPath expression does not parse.
    #[error("FHIRPath `{expression}` at character {position}: {message}")]
    FhirPathSyntax {
        /// The expression as written in the view.
        expression: String,
        /// 0-based character offset of the problem.
        position: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A FHIRPath expression parsed but cannot be evaluated (wrong arity,
    /// unknown function, type error at run time...).
    #[error("FHIRPath: {0}")]
    FhirPathEval(String),
    /// A ViewDefinition is not valid (missing resource, bad column, ...).
    #[error("ViewDefinition {location}: {message}")]
    InvalidView {
        /// Where in the ViewDefinition (e.g. `select[0].column[1]`).
        location: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A survival specification cannot be applied to the tables at hand.
    #[error("survival view: {0}")]
    Survival(String),
    /// Building an output table failed.
    #[error("table: {0}")]
    Table(String),
}

impl FhirError {
    pub(crate) fn eval(message: impl Into<String>) -> Self {
        FhirError::FhirPathEval(message.into())
    }

    pub(crate) fn view(location: impl Into<String>, message: impl Into<String>) -> Self {
        FhirError::InvalidView {
            location: location.into(),
            message: message.into(),
        }
    }
}

impl From<salus_table::TableError> for FhirError {
    fn from(e: salus_table::TableError) -> Self {
        FhirError::Table(e.to_string())
    }
}

/// Result alias of this crate.
pub type Result<T, E = FhirError> = std::result::Result<T, E>;
