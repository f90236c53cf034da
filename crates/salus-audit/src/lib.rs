//! Tamper-evident audit log for Salus: an RFC 9162 (Certificate Transparency)
//! Merkle tree with inclusion and consistency proofs, checkpoints in the C2SP
//! `tlog-checkpoint` / `signed-note` format signed with Ed25519, and witness
//! cosignatures in the C2SP `tlog-cosignature` (`cosignature/v1`) format.
//!
//! The hub appends typed [`AuditEvent`]s in batches with [`AuditLog`] and signs one
//! checkpoint per batch; each node runs a [`Witness`] that cosigns a checkpoint
//! only if it extends the last one it saw, so a hub that drops, edits or forks
//! history is caught; auditors check an [`AuditExport`] offline with
//! [`verify_export`]. Pure: no I/O, no clock (time is a parameter), no RNG (keys
//! are given by the caller).
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use salus_audit::{AuditEvent, AuditExport, AuditLog, Witness, WitnessSigner, attach_cosignature, verify_export};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Hub: a log signed by its key (keys come from the caller's key store).
//! let mut log = AuditLog::new("salus.example/audit", SigningKey::from_bytes(&[1; 32]))?;
//! // Node: a witness with its enrolled identity key.
//! let node_key = WitnessSigner::new("salus-node/hospital-a", SigningKey::from_bytes(&[2; 32]))?;
//! let witness_key = node_key.witness_key();
//! let mut witness = Witness::new(node_key, log.log_key());
//!
//! let batch = log.append(1_700_000_000, vec![(
//!     "researcher-7".to_string(),
//!     AuditEvent::StudyApproved { study_id: "s-1".into(), node_id: "hospital-a".into() },
//! )])?;
//! // The node polls: no proof needed from the empty tree.
//! let cosig = witness.observe(batch.checkpoint.as_bytes(), &[], 1_700_000_005)?;
//! let cosigned = attach_cosignature(&batch.checkpoint, &cosig, &witness_key)?;
//!
//! // Later batches need a consistency proof from the size the node saw.
//! let batch2 = log.append(1_700_000_100, vec![(
//!     "hub".to_string(),
//!     AuditEvent::NodeRevoked { node_id: "hospital-b".into(), reason: "key-compromise".into() },
//! )])?;
//! let proof = log.consistency_proof(witness.size(), log.size())?;
//! let cosig2 = witness.observe(batch2.checkpoint.as_bytes(), &proof.hashes, 1_700_000_105)?;
//! let cosigned2 = attach_cosignature(&batch2.checkpoint, &cosig2, &witness_key)?;
//!
//! // Auditor: export and verify offline.
//! let entries: Vec<Vec<u8>> = batch.entries.iter().chain(&batch2.entries).map(|e| e.bytes.clone()).collect();
//! let export = AuditExport::build(&log.log_key(), &entries, &[cosigned, cosigned2], &[witness_key])?;
//! let report = verify_export(&export.to_json()?);
//! assert!(report.valid, "{:?}", report.problems);
//! assert_eq!((report.entries, report.checkpoints, report.witnesses), (2, 2, 1));
//! # Ok(()) }
//! ```

pub mod checkpoint;
pub mod cosignature;
pub mod error;
pub mod event;
pub mod export;
pub mod hash;
pub mod log;
pub mod note;
pub mod proof;
pub mod tree;
pub mod verify;
pub mod witness;

pub use checkpoint::{Checkpoint, VerifiedCheckpoint, open_checkpoint};
pub use cosignature::{
    Cosignature, WitnessSigner, cosigned_message, verify_cosignature, witness_key,
};
pub use error::AuditError;
pub use event::{AuditEvent, LogEntry};
pub use export::{AuditExport, EXPORT_FORMAT};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use log::{AuditLog, PreparedBatch, StoredEntry, attach_cosignature};
pub use note::{NoteSignature, NoteSigner, NoteVerifier, SignatureKind, SignedNote};
pub use proof::{
    ConsistencyProof, InclusionProof, ProofError, verify_consistency, verify_inclusion,
};
pub use tree::MerkleTree;
pub use verify::{VerifyOptions, VerifyReport, verify_export, verify_export_with};
pub use witness::{Witness, WitnessError, WitnessState};
