//! The error type of this crate: failures that stop a whole input from being read.
//!
//! Problems inside a batch (a bad segment, an unclosed batch, an odd date) are not
//! errors: they are [`crate::Diagnostic`]s returned beside the good messages.

/// Why a single message or path could not be parsed.
///
/// Messages never quote patient values: only segment ids, positions and the
/// offending syntax element are shown.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hl7Error {
    /// The text does not start with an `MSH` segment.
    #[error("an HL7 v2 message must start with an MSH segment; found {found:?} instead")]
    MissingMsh {
        /// The first three characters found (a segment id, never data).
        found: String,
    },
    /// MSH-1/MSH-2 do not define a usable set of separators.
    #[error(
        "MSH-1/MSH-2 must define distinct, non-alphanumeric separators (e.g. `MSH|^~\\&|`): {reason}"
    )]
    BadEncodingCharacters {
        /// What is wrong with them.
        reason: &'static str,
    },
    /// The input held no message at all.
    #[error("the input holds no HL7 v2 message (no MSH segment found)")]
    NoMessage,
    /// The input held more than one message where exactly one was expected.
    #[error("the input holds {count} messages; use `salus_hl7::parse` to read batches and files")]
    SeveralMessages {
        /// How many MSH segments were found.
        count: usize,
    },
    /// A terser-style path such as `PID-5-1` could not be parsed.
    #[error(
        "invalid HL7 path {path:?}: expected SEG[occurrence]-FIELD[repetition]-COMPONENT-SUBCOMPONENT, e.g. `PID-5-1` or `OBX[2]-5`"
    )]
    BadPath {
        /// The path as given (written by the programmer, not patient data).
        path: String,
    },
}
