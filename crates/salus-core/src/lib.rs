//! Vocabulary types shared by every Salus crate.
//!
//! Nothing here computes or does I/O: these are the nouns the rest of the system
//! speaks — a dataset [`schema`] with column roles, a [`study`] specification
//! (dataset, cohort filter, analysis, protection, differential privacy), a node
//! [`policy`], and the [`privacy`] record every result carries.
//!
//! ```
//! use salus_core::study::StudySpec;
//!
//! let spec = StudySpec::from_toml(r#"
//!     name = "Survival by hormone therapy"
//!     dataset = "gbsg2"
//!     cohort = "age >= 45"
//!     [analysis]
//!     type = "kaplan-meier"
//!     time = "time"
//!     event = "cens"
//!     group = "horTh"
//!     grid = { step = 30.0 }
//! "#).unwrap();
//! assert_eq!(spec.dataset, "gbsg2");
//! assert_eq!(spec.analysis.kind(), "kaplan-meier");
//! ```

pub mod policy;
pub mod privacy;
pub mod schema;
pub mod study;

/// Errors in parsing or validating vocabulary documents (schemas, specs, policies).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The document is not valid TOML/JSON or does not have the expected shape.
    #[error("{what} is malformed: {message}")]
    Malformed { what: &'static str, message: String },
    /// The document parsed but violates a rule.
    #[error("{what} is invalid: {message}")]
    Invalid { what: &'static str, message: String },
}

impl CoreError {
    pub(crate) fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            what,
            message: message.into(),
        }
    }
}

/// Parses TOML or JSON: JSON when the text starts with `{`, TOML otherwise.
pub(crate) fn parse_document<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: &str,
) -> Result<T, CoreError> {
    let trimmed = text.trim_start();
    let result = if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).map_err(|e| e.to_string())
    } else {
        toml::from_str(text).map_err(|e| e.to_string())
    };
    result.map_err(|message| CoreError::Malformed { what, message })
}
