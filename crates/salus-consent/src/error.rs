//! The crate's error type. Messages never contain patient pseudonyms or record contents.

/// Errors from building, importing, evaluating or verifying consent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentError {
    /// A consent record is incomplete or contradictory.
    #[error("invalid consent record: {0}")]
    InvalidRecord(String),
    /// A record with this id is already in the registry.
    #[error("a consent record with id {0:?} is already registered; use a new id for each change")]
    DuplicateRecord(String),
    /// A FHIR resource could not be mapped.
    #[error("cannot import FHIR Consent {resource}: {reason}")]
    Fhir {
        /// Resource id (or position in the bundle).
        resource: String,
        /// What is wrong.
        reason: String,
    },
    /// A date or time could not be parsed.
    #[error(
        "invalid date/time {0:?}: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm)"
    )]
    BadTime(String),
    /// A purpose or category name is not known.
    #[error("unknown {kind} {value:?}")]
    UnknownCode {
        /// `purpose` or `category`.
        kind: &'static str,
        /// The value given.
        value: String,
    },
    /// A key is not 32 bytes of hex or not a valid Ed25519 key.
    #[error("invalid key: {0}")]
    BadKey(String),
    /// A receipt is malformed.
    #[error("malformed consent receipt: {0}")]
    MalformedReceipt(String),
    /// A receipt's signature does not verify.
    #[error(
        "consent receipt {sequence} is not validly signed by the node key: it was altered or signed by another key"
    )]
    BadReceiptSignature {
        /// Receipt sequence number.
        sequence: u64,
    },
    /// A receipt chain is broken (missing, reordered or replaced receipt).
    #[error("consent receipt chain broken at receipt {sequence}: {reason}")]
    BrokenChain {
        /// Sequence number where the break was found.
        sequence: u64,
        /// What is wrong.
        reason: String,
    },
}
