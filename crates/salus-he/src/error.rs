//! The one error type of `salus-he`.
//!
//! Messages say what went wrong and what to do about it. They never contain
//! plaintext values, secret keys or share contents.

use crate::keys::PartyId;

/// Everything that can go wrong in `salus-he`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeError {
    /// The bytes do not start with the `salus-he` magic header.
    #[error(
        "not a salus-he blob (bad magic bytes); check that the file or message is the right one"
    )]
    NotSalusHe,
    /// The blob was written by another (older or newer) format version.
    #[error(
        "unsupported salus-he format version {found} (this build reads version {supported}); re-create the key, share or ciphertext with this version"
    )]
    UnsupportedVersion {
        /// Version found in the blob.
        found: u8,
        /// Version this build reads and writes.
        supported: u8,
    },
    /// The blob holds another kind of object than the one asked for.
    #[error("expected a {expected} blob but found a {found} blob; pass the right file or message")]
    WrongBlobKind {
        /// What the caller asked for.
        expected: &'static str,
        /// What the blob holds.
        found: &'static str,
    },
    /// The blob names a parameter set this build does not know.
    #[error("unknown parameter set id {0}; the blob was made with other HE parameters")]
    UnknownParamSet(u8),
    /// Two objects use different parameter sets.
    #[error(
        "parameter set mismatch ({0}); all keys and ciphertexts of one study must use the same parameters"
    )]
    ParamSetMismatch(&'static str),
    /// The blob is truncated, has trailing bytes or holds an out-of-range value.
    #[error("malformed salus-he blob: {0}")]
    Malformed(&'static str),
    /// Input values that cannot be encoded.
    #[error("cannot encode input: {0}")]
    Encoding(String),
    /// Two ciphertexts cannot be combined.
    #[error("ciphertexts are incompatible: {0}")]
    Incompatible(&'static str),
    /// The noise budget of a ciphertext would be exceeded.
    #[error(
        "noise budget exceeded: the ciphertext has too many additions or too large scalings to be decrypted safely; decrypt partial sums separately"
    )]
    NoiseBudgetExceeded,
    /// The plaintext range could wrap around the plaintext modulus.
    #[error(
        "plaintext range exceeded: more than {max_weight} weighted contributions were summed, so the result could wrap; decrypt partial sums separately"
    )]
    RangeExceeded {
        /// Largest total weight that still decodes exactly.
        max_weight: u64,
    },
    /// A key ceremony was asked for with too few or too many parties.
    #[error("a collective key needs between 1 and {max} parties, got {got}")]
    PartyCount {
        /// Parties supplied.
        got: usize,
        /// Largest number of parties the parameters support.
        max: usize,
    },
    /// The same party appears twice.
    #[error("party {0} appears more than once; each party contributes exactly one share")]
    DuplicateParty(PartyId),
    /// A party that is not part of the collective key sent a share.
    #[error("party {0} is not a member of this collective key")]
    UnknownParty(PartyId),
    /// Some parties have not sent their share yet.
    #[error(
        "missing shares from parties {0:?}; every member of the collective key must take part (N-of-N)"
    )]
    MissingShares(Vec<PartyId>),
    /// A share's signature does not verify against the party's identity key.
    #[error(
        "the share from party {0} has an invalid signature; it was altered or signed with another identity key"
    )]
    BadSignature(PartyId),
    /// A share was computed for another ciphertext, key or target.
    #[error(
        "the share from party {0} was made for another ciphertext or key; ask the party to recompute it"
    )]
    ShareMismatch(PartyId),
    /// Shares from different CRS/ceremonies were mixed.
    #[error(
        "public key shares come from different common reference strings; restart the key ceremony with one CRS"
    )]
    CrsMismatch,
    /// The ciphertext was encrypted under another key.
    #[error(
        "the ciphertext was encrypted under another key; use the key of the study it belongs to"
    )]
    WrongKey,
    /// The party has not yet confirmed the collective key.
    #[error(
        "the party has not confirmed the collective public key yet; call `confirm_collective_key` first"
    )]
    KeyNotConfirmed,
    /// The collective key does not include this party's contribution.
    #[error(
        "the collective public key does not contain this party's share; refuse it and restart the key ceremony"
    )]
    KeyDoesNotIncludeParty,
    /// The decrypted integrity check slot did not match: a share was wrong.
    #[error(
        "integrity check failed after decryption: at least one share was computed with a wrong secret key, for another ciphertext, or is missing; the result was discarded"
    )]
    IntegrityCheckFailed,
    /// A signature or key could not be parsed.
    #[error("invalid identity key or signature bytes")]
    BadIdentityKey,
    /// The model or features do not fit the encrypted-inference limits.
    #[error("encrypted inference: {0}")]
    Inference(String),
    /// Internal arithmetic failure in the lattice library (a bug, please report).
    #[error("internal lattice arithmetic error: {0}")]
    Math(String),
}

impl From<fhe_math::Error> for HeError {
    fn from(e: fhe_math::Error) -> Self {
        HeError::Math(e.to_string())
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = HeError> = std::result::Result<T, E>;
