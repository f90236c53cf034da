//! Diagnostics of an import (what was skipped, what looks wrong) and the
//! `Located` wrapper that carries a resource together with where it came from.
//!
//! A diagnostic names a position (`file:line`, `file entry[3] Observation/abc`)
//! and a FHIR path or element name, never a patient value.

use serde::{Deserialize, Serialize};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was not imported (a line, a resource, a row of a view).
    Error,
    /// Imported, but the input does not conform to FHIR R4 here.
    Warning,
    /// A note (an unresolved reference, a resource type no view uses, ...).
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One finding of an import, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// Where: `file:line`, `file entry[i]`, a resource `Type/id`, then a FHIR path.
    pub location: String,
    /// What is wrong and, where possible, what to do about it.
    pub message: String,
}

impl Diagnostic {
    /// An error diagnostic.
    pub fn error(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, location, message)
    }

    /// A warning diagnostic.
    pub fn warning(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, location, message)
    }

    /// An informational diagnostic.
    pub fn info(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Info, location, message)
    }

    /// A diagnostic of the given severity.
    pub fn new(
        severity: Severity,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            location: location.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.location, self.message)
    }
}

/// A value (usually one FHIR resource as `serde_json::Value`) with a label saying
/// where it came from: `file.ndjson:12`, `bundle.json entry[3]`, `msg.hl7 #2 PID`.
///
/// `Debug` shows only the label: the value may hold patient data.
#[derive(Clone, PartialEq)]
pub struct Located<T> {
    /// Where the value came from, used as the prefix of every diagnostic about it.
    pub location: String,
    /// The value itself.
    pub value: T,
}

impl<T> Located<T> {
    /// Wraps a value with its location.
    pub fn new(location: impl Into<String>, value: T) -> Self {
        Located {
            location: location.into(),
            value,
        }
    }
}

impl<T> std::fmt::Debug for Located<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Located")
            .field("location", &self.location)
            .field("value", &format_args!("<redacted>"))
            .finish()
    }
}
