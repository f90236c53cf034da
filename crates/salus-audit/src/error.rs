//! The crate's error type. Messages say what went wrong and what to do; they never
//! carry entry contents.

use crate::proof::ProofError;

/// Errors from building, signing, parsing or checking the audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A tree size beyond the number of leaves was asked for.
    #[error(
        "tree size {size} is beyond the log's {tree_size} entries; ask for a size the log has reached"
    )]
    SizeBeyondTree {
        /// Requested size.
        size: u64,
        /// Leaves in the tree.
        tree_size: u64,
    },
    /// A leaf index outside the tree was asked for.
    #[error("entry {index} is not in a tree of {size} entries")]
    LeafOutOfRange {
        /// Requested index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof was asked for an impossible pair of sizes.
    #[error("no consistency proof from size {old_size} to {new_size}: need 0 < old <= new")]
    BadProofRange {
        /// Earlier size.
        old_size: u64,
        /// Later size.
        new_size: u64,
    },
    /// A proof failed to verify.
    #[error("proof rejected: {0}")]
    Proof(#[from] ProofError),
    /// A signed note (checkpoint) is not well formed.
    #[error("malformed signed note: {0}")]
    MalformedNote(String),
    /// A checkpoint body is not well formed.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// A key string (`name+id+base64`) is not well formed.
    #[error("malformed key: {0}")]
    MalformedKey(String),
    /// A key name is empty or contains a space or a plus sign.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    BadKeyName(String),
    /// No signature from the expected key was found on a note.
    #[error("the note carries no signature from key {0}; check the key or the origin")]
    MissingSignature(String),
    /// A signature from a known key failed to verify.
    #[error("signature by {0} does not verify: the note was altered or signed by another key")]
    BadSignature(String),
    /// An audit entry could not be encoded or decoded.
    #[error("invalid audit entry: {0}")]
    BadEntry(String),
    /// A prepared batch no longer fits the log (another batch was applied first).
    #[error(
        "prepared batch starts at {batch_start} but the log now has {log_size} entries; prepare it again"
    )]
    StaleBatch {
        /// Index the batch was prepared for.
        batch_start: u64,
        /// Current log size.
        log_size: u64,
    },
    /// An export file could not be read at all.
    #[error("cannot read the export: {0}")]
    BadExport(String),
}
