//! The export file: everything an auditor needs to check the log offline.
//!
//! ```json
//! {
//!   "format": "salus-audit-export/v1",
//!   "origin": "salus.example/audit",
//!   "log_key": "salus.example/audit+1a2b3c4d+AV...",
//!   "witnesses": ["salus-node/a+5e6f7a8b+BP...", "..."],
//!   "entries": [{"leaf_hash": "<hex>", "data": "<canonical entry JSON>"}, ...],
//!   "checkpoints": [{"note": "<checkpoint note with cosignatures>",
//!                    "consistency_from_previous": ["<hex>", ...]}, ...]
//! }
//! ```
//!
//! Entries are kept as the exact stored bytes (a JSON string), so the verifier
//! hashes what the hub hashed. Fields are plain strings so one damaged value is
//! reported against its entry instead of making the whole file unreadable.

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::error::AuditError;
use crate::hash::{Hash, leaf_hash};
use crate::note::{NoteVerifier, SignedNote};
use crate::tree::MerkleTree;

/// The export format identifier.
pub const EXPORT_FORMAT: &str = "salus-audit-export/v1";

/// One entry as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedEntry {
    /// Hex leaf hash the hub recorded for this entry.
    pub leaf_hash: String,
    /// The canonical entry bytes (UTF-8 JSON) as stored.
    pub data: String,
}

/// One checkpoint as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedCheckpoint {
    /// The checkpoint note, log signature and cosignatures included.
    pub note: String,
    /// Hex consistency proof from the previous checkpoint's size (empty for the first).
    #[serde(default)]
    pub consistency_from_previous: Vec<String>,
}

/// The whole export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditExport {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// The log origin.
    pub origin: String,
    /// The log's verifier key.
    pub log_key: String,
    /// Verifier keys (`cosignature/v1`) of the enrolled witnesses.
    #[serde(default)]
    pub witnesses: Vec<String>,
    /// All entries in log order.
    pub entries: Vec<ExportedEntry>,
    /// All published checkpoints, in increasing size.
    pub checkpoints: Vec<ExportedCheckpoint>,
}

impl AuditExport {
    /// Builds an export from what the hub stored: entry bytes in log order,
    /// checkpoint notes (with cosignatures) in publication order, witness keys.
    /// Consistency proofs between successive checkpoints are computed here.
    pub fn build(
        log_key: &NoteVerifier,
        entries: &[Vec<u8>],
        checkpoint_notes: &[String],
        witnesses: &[NoteVerifier],
    ) -> Result<AuditExport, AuditError> {
        let mut tree = MerkleTree::new();
        let mut exported = Vec::with_capacity(entries.len());
        for (index, bytes) in entries.iter().enumerate() {
            let data = String::from_utf8(bytes.clone())
                .map_err(|_| AuditError::BadEntry(format!("entry {index} is not UTF-8")))?;
            let hash = leaf_hash(bytes);
            tree.push(hash);
            exported.push(ExportedEntry {
                leaf_hash: hash.to_hex(),
                data,
            });
        }
        let mut checkpoints = Vec::with_capacity(checkpoint_notes.len());
        let mut previous_size = 0;
        for note in checkpoint_notes {
            let size = Checkpoint::parse_body(&SignedNote::parse(note.as_bytes())?.text)?.size;
            let proof = if previous_size > 0 && previous_size < size {
                tree.consistency_proof(previous_size, size)?
            } else {
                Vec::new()
            };
            checkpoints.push(ExportedCheckpoint {
                note: note.clone(),
                consistency_from_previous: proof.iter().map(Hash::to_hex).collect(),
            });
            previous_size = size;
        }
        Ok(AuditExport {
            format: EXPORT_FORMAT.to_owned(),
            origin: log_key.name().to_owned(),
            log_key: log_key.to_vkey(),
            witnesses: witnesses.iter().map(NoteVerifier::to_vkey).collect(),
            entries: exported,
            checkpoints,
        })
    }

    /// Pretty JSON bytes, the file format.
    pub fn to_json(&self) -> Result<Vec<u8>, AuditError> {
        serde_json::to_vec_pretty(self).map_err(|e| AuditError::BadExport(e.to_string()))
    }

    /// Parses an export file.
    pub fn from_json(bytes: &[u8]) -> Result<AuditExport, AuditError> {
        serde_json::from_slice(bytes).map_err(|e| {
            AuditError::BadExport(format!(
                "not a Salus audit export (JSON error at line {}, column {}: {})",
                e.line(),
                e.column(),
                classify(&e)
            ))
        })
    }
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "missing or mistyped field",
        serde_json::error::Category::Eof => "file truncated",
    }
}
