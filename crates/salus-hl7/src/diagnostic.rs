//! Diagnostics: what was wrong with the input, where, and how bad it is.
//!
//! A diagnostic names positions (message number, segment number and id, field path)
//! and the rule that was broken; it never repeats a patient value.

use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Data was skipped or could not be read.
    Error,
    /// The input broke a rule but nothing was lost, or a value was left out.
    Warning,
    /// Worth knowing (e.g. a message type this crate does not map).
    Info,
}

impl Severity {
    /// `"error"`, `"warning"` or `"info"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in the input a diagnostic points. Every part is optional; all are 1-based.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Ordinal of the message in the input (first MSH = 1).
    pub message: Option<usize>,
    /// Ordinal of the segment in the input (first non-empty segment = 1).
    pub segment: Option<usize>,
    /// The segment id, e.g. `PID`.
    pub segment_id: Option<String>,
    /// The field path, e.g. `PID-7` or `OBX-5`.
    pub field: Option<String>,
}

impl Location {
    /// A location pointing at a whole segment.
    pub fn segment(position: usize, id: &str) -> Self {
        Location {
            segment: Some(position),
            segment_id: Some(id.to_owned()),
            ..Location::default()
        }
    }

    /// The same location inside message number `message`.
    pub fn in_message(mut self, message: usize) -> Self {
        self.message = Some(message);
        self
    }

    /// The same location narrowed to a field path such as `PID-7`.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(m) = self.message {
            parts.push(format!("message {m}"));
        }
        match (self.segment, &self.segment_id) {
            (Some(n), Some(id)) => parts.push(format!("segment {n} ({id})")),
            (Some(n), None) => parts.push(format!("segment {n}")),
            (None, Some(id)) => parts.push(id.clone()),
            (None, None) => {}
        }
        if let Some(field) = &self.field {
            parts.push(field.clone());
        }
        if parts.is_empty() {
            f.write_str("input")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// One finding about the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// Where it is.
    pub location: Location,
    /// What is wrong and, where useful, what the reader did about it.
    pub message: String,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(location: Location, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, location, message)
    }

    /// A warning at `location`.
    pub fn warning(location: Location, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, location, message)
    }

    /// An informational note at `location`.
    pub fn info(location: Location, message: impl Into<String>) -> Self {
        Self::new(Severity::Info, location, message)
    }

    fn new(severity: Severity, location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            location,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.severity, self.location, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_naturally() {
        let loc = Location::segment(7, "OBX")
            .in_message(2)
            .with_field("OBX-5");
        assert_eq!(loc.to_string(), "message 2, segment 7 (OBX), OBX-5");
        assert_eq!(Location::default().to_string(), "input");
        let d = Diagnostic::warning(loc, "bad");
        assert_eq!(
            d.to_string(),
            "warning: message 2, segment 7 (OBX), OBX-5: bad"
        );
    }
}
