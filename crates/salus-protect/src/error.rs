//! The one error type of `salus-protect`. Messages name the node, segment or phase
//! involved and what to do; they never contain contribution values or key material.

/// Everything that can go wrong when setting up or running a protection session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectError {
    /// The mode name is not one the product implements.
    #[error("unknown protection mode `{0}`: use `secure-aggregation` or `threshold-he`")]
    UnknownMode(String),
    /// The session parameters are inconsistent (participants, keys, threshold, layout).
    #[error("invalid protection session parameters: {0}")]
    InvalidParams(String),
    /// This node's contribution does not fit the round's layout.
    #[error("the contribution does not fit the round's layout: {0}")]
    Contribution(String),
    /// A protocol message could not be parsed or belongs to another session.
    #[error("malformed protocol message: {0}")]
    Malformed(String),
    /// A well-formed protocol message was refused (wrong phase, wrong sender, failed check).
    #[error("protocol message refused: {0}")]
    Refused(String),
    /// Secure aggregation refused a configuration, an input or a message.
    #[error(transparent)]
    Secagg(#[from] salus_secagg::SecaggError),
    /// Threshold HE refused a key, share or ciphertext.
    #[error(transparent)]
    He(#[from] salus_he::HeError),
    /// The differential-privacy noise could not be planned or sampled.
    #[error(transparent)]
    Dp(#[from] salus_dp::DpError),
    /// A researcher key string could not be read.
    #[error("researcher key: {0}")]
    ResearcherKey(String),
    /// An encrypted-sum blob could not be read or decrypted.
    #[error("encrypted sum: {0}")]
    EncryptedSum(String),
}

impl ProtectError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidParams(message.into())
    }

    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Self::Refused(message.into())
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::Malformed(message.into())
    }
}
