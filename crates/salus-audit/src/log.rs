//! The hub's side of the log: batched appends producing one signed checkpoint,
//! in two phases so the hub can write entries in the same database transaction
//! as the change they record.
//!
//! ```text
//! let batch = log.prepare(now, events)?;   // entries, leaf hashes, signed checkpoint
//! tx.insert(batch.entries, batch.checkpoint); tx.commit()?;
//! log.apply(&batch)?;                      // only after the commit succeeded
//! ```

use ed25519_dalek::SigningKey;

use crate::checkpoint::Checkpoint;
use crate::cosignature::{Cosignature, verify_cosignature};
use crate::error::AuditError;
use crate::event::{AuditEvent, LogEntry};
use crate::hash::{Hash, leaf_hash};
use crate::note::{NoteSigner, NoteVerifier, SignatureKind, SignedNote};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::tree::MerkleTree;

/// One encoded entry ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Position in the log.
    pub index: u64,
    /// RFC 6962 leaf hash of `bytes`.
    pub leaf_hash: Hash,
    /// Canonical entry bytes (UTF-8 JSON).
    pub bytes: Vec<u8>,
}

/// Entries and the checkpoint that covers them, computed but not yet applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedBatch {
    /// Index of the first entry (the log size it was prepared against).
    pub start: u64,
    /// The encoded entries.
    pub entries: Vec<StoredEntry>,
    /// Tree size after the batch.
    pub size: u64,
    /// Root after the batch.
    pub root: Hash,
    /// Signed checkpoint note for `size`/`root`.
    pub checkpoint: String,
}

/// An append-only, signed audit log held in memory by the hub.
pub struct AuditLog {
    signer: NoteSigner,
    tree: MerkleTree,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.origin())
            .field("tree", &self.tree)
            .finish()
    }
}

impl AuditLog {
    /// An empty log named `origin` (e.g. `salus.example/audit`), signed by `log_key`.
    pub fn new(origin: &str, log_key: SigningKey) -> Result<AuditLog, AuditError> {
        AuditLog::restore(origin, log_key, Vec::new())
    }

    /// A log rebuilt from the leaf hashes the hub stored (in log order).
    pub fn restore(
        origin: &str,
        log_key: SigningKey,
        leaf_hashes: Vec<Hash>,
    ) -> Result<AuditLog, AuditError> {
        Ok(AuditLog {
            signer: NoteSigner::new(origin, log_key, SignatureKind::Ed25519)?,
            tree: MerkleTree::from_leaf_hashes(leaf_hashes),
        })
    }

    /// The log's origin (also its key name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The log's public key, for nodes and auditors.
    pub fn log_key(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.tree.len()
    }

    /// Current root.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The Merkle tree (read-only).
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// Encodes `events` as entries following the current log, and signs the
    /// checkpoint covering them, without changing the log.
    pub fn prepare(
        &self,
        time: u64,
        events: Vec<(String, AuditEvent)>,
    ) -> Result<PreparedBatch, AuditError> {
        let start = self.size();
        let mut entries = Vec::with_capacity(events.len());
        for (offset, (actor, event)) in events.into_iter().enumerate() {
            let index = start + offset as u64;
            let bytes = LogEntry::new(index, time, &actor, event).encode()?;
            entries.push(StoredEntry {
                index,
                leaf_hash: leaf_hash(&bytes),
                bytes,
            });
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| e.leaf_hash).collect();
        let root = self.tree.root_after(&leaves);
        let size = start + entries.len() as u64;
        let checkpoint = Checkpoint::new(self.origin(), size, root).sign(&self.signer)?;
        Ok(PreparedBatch {
            start,
            entries,
            size,
            root,
            checkpoint,
        })
    }

    /// Appends a prepared batch (after the hub's transaction committed).
    pub fn apply(&mut self, batch: &PreparedBatch) -> Result<(), AuditError> {
        if batch.start != self.size() {
            return Err(AuditError::StaleBatch {
                batch_start: batch.start,
                log_size: self.size(),
            });
        }
        for entry in &batch.entries {
            self.tree.push(entry.leaf_hash);
        }
        Ok(())
    }

    /// [`AuditLog::prepare`] then [`AuditLog::apply`], for callers without a transaction.
    pub fn append(
        &mut self,
        time: u64,
        events: Vec<(String, AuditEvent)>,
    ) -> Result<PreparedBatch, AuditError> {
        let batch = self.prepare(time, events)?;
        self.apply(&batch)?;
        Ok(batch)
    }

    /// A freshly signed checkpoint of the current tree.
    pub fn checkpoint(&self) -> Result<String, AuditError> {
        Checkpoint::new(self.origin(), self.size(), self.root()).sign(&self.signer)
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, AuditError> {
        let hashes = self.tree.inclusion_proof(index, size)?;
        let leaf_hash = self
            .tree
            .leaf(index)
            .ok_or(AuditError::LeafOutOfRange { index, size })?;
        Ok(InclusionProof {
            leaf_index: index,
            tree_size: size,
            leaf_hash,
            hashes,
        })
    }

    /// Consistency proof between two sizes the log has reached, as a witness needs
    /// it: empty when `old_size` is 0 or equal to `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, AuditError> {
        let hashes = if old_size == 0 {
            // A witness that has seen nothing needs no proof.
            self.tree.root_at(new_size)?;
            Vec::new()
        } else {
            self.tree.consistency_proof(old_size, new_size)?
        };
        Ok(ConsistencyProof {
            old_size,
            new_size,
            hashes,
        })
    }
}

/// Verifies a witness's cosignature on a checkpoint note and returns the note with
/// the cosignature line added (replacing an older one from the same witness).
pub fn attach_cosignature(
    checkpoint_note: &str,
    cosignature: &Cosignature,
    witness: &NoteVerifier,
) -> Result<String, AuditError> {
    let mut note = SignedNote::parse(checkpoint_note.as_bytes())?;
    verify_cosignature(witness, &note.text, cosignature)?;
    note.add_signature(cosignature.to_note_signature());
    Ok(note.to_text())
}
