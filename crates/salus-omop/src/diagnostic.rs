//! Diagnostics of an import: where (`file:line:column`) and what, never a value.
//!
//! A CSV with a million bad cells must not produce a million lines: the
//! [`Diagnostics`] collector keeps the first few of each kind and then counts.

use std::collections::HashMap;
use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A row (or table) was skipped.
    Error,
    /// A value was left out or looks wrong; the row was kept.
    Warning,
    /// A note (counts, cohort attrition).
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

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// `file:line:column`, `file:line`, `file`, or `cohort`.
    pub location: String,
    /// What is wrong and what was done about it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.severity, self.location, self.message)
    }
}

/// How many diagnostics of one kind (file + column + problem) are kept verbatim.
const KEEP_PER_KIND: usize = 10;

/// Collects diagnostics, keeping the first [`KEEP_PER_KIND`] of each kind and
/// summarising the rest.
#[derive(Debug, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
    suppressed: HashMap<String, (Severity, String, usize)>,
    seen: HashMap<String, usize>,
}

impl Diagnostics {
    /// Records a diagnostic; `kind` groups repeats (e.g. `person.csv/year_of_birth/int`).
    pub fn push(&mut self, kind: &str, severity: Severity, location: String, message: String) {
        let n = self.seen.entry(kind.to_owned()).or_insert(0);
        *n += 1;
        if *n <= KEEP_PER_KIND {
            self.list.push(Diagnostic {
                severity,
                location,
                message,
            });
        } else {
            let file = location.split(':').next().unwrap_or_default().to_owned();
            let entry = self
                .suppressed
                .entry(kind.to_owned())
                .or_insert((severity, file, 0));
            entry.2 += 1;
        }
    }

    /// Records a diagnostic that is never grouped.
    pub fn add(
        &mut self,
        severity: Severity,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.list.push(Diagnostic {
            severity,
            location: location.into(),
            message: message.into(),
        });
    }

    /// The diagnostics, with one summary line per kind that was cut short.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        let mut list = self.list;
        let mut rest: Vec<_> = self.suppressed.into_iter().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, (severity, file, count)) in rest {
            list.push(Diagnostic {
                severity,
                location: file,
                message: format!("{count} more diagnostics like the ones above were not listed"),
            });
        }
        list
    }
}
