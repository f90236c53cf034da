//! Typed audit events and their canonical byte encoding (the Merkle leaf).
//!
//! Entries hold ids, hashes and pseudonyms only, never patient data. The
//! canonical encoding is compact JSON with a fixed field order
//! (`{"v":1,"index":..,"time":..,"actor":..,"event":{"kind":..,..}}`); the leaf
//! hash is computed over the exact bytes stored, so verifiers never need to
//! re-encode an entry.

use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::hash::{Hash, leaf_hash};

/// Current entry format version.
pub const ENTRY_VERSION: u32 = 1;

/// Entries larger than this are refused: an audit entry is a handful of ids and
/// hashes, so a large one is a sign that data leaked into it.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// A security-relevant event recorded by the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum AuditEvent {
    /// A node was enrolled; `identity_key` is its Ed25519 witness/identity public key (hex).
    NodeEnrolled {
        /// Node id.
        node_id: String,
        /// Hex Ed25519 public key.
        identity_key: String,
    },
    /// A node's enrollment was revoked.
    NodeRevoked {
        /// Node id.
        node_id: String,
        /// Short reason code, not free text about people.
        reason: String,
    },
    /// A node changed its policy (hash of the canonical policy document).
    PolicyChanged {
        /// Node id.
        node_id: String,
        /// SHA-256 of the policy.
        policy_hash: Hash,
    },
    /// A researcher submitted a study.
    StudySubmitted {
        /// Study id.
        study_id: String,
        /// Researcher id or pseudonym.
        researcher: String,
        /// SHA-256 of the study specification.
        spec_hash: Hash,
    },
    /// A node's steward approved a study.
    StudyApproved {
        /// Study id.
        study_id: String,
        /// Approving node.
        node_id: String,
    },
    /// A node's steward (or policy) refused a study.
    StudyRefused {
        /// Study id.
        study_id: String,
        /// Refusing node.
        node_id: String,
        /// Short reason code.
        reason: String,
    },
    /// The hub received a (masked or encrypted) contribution.
    ContributionReceived {
        /// Study id.
        study_id: String,
        /// Contributing node.
        node_id: String,
        /// SHA-256 of the contribution as received.
        contribution_hash: Hash,
    },
    /// A result was released to the researcher, with its privacy record.
    ResultReleased {
        /// Study id.
        study_id: String,
        /// SHA-256 of the released result.
        result_hash: Hash,
        /// The privacy record (guarantees, epsilon, thresholds, excluded counts...).
        privacy: serde_json::Value,
    },
    /// A patient's consent changed on a node: only the signed receipt's hash is logged.
    ConsentChanged {
        /// Node holding the consent.
        node_id: String,
        /// SHA-256 of the signed consent receipt.
        receipt_hash: Hash,
        /// Sequence number of the receipt in the node's receipt chain.
        receipt_sequence: u64,
    },
    /// A dataset (anonymized or synthetic) was published.
    DatasetPublished {
        /// Dataset id.
        dataset_id: String,
        /// Publishing node.
        node_id: String,
        /// SHA-256 of the published file.
        content_hash: Hash,
        /// Risk score record (JSON), if any.
        risk: serde_json::Value,
    },
    /// A key ceremony (e.g. threshold key generation) completed.
    KeyCeremony {
        /// Ceremony id.
        ceremony_id: String,
        /// Participating node ids.
        participants: Vec<String>,
        /// SHA-256 of the resulting public key.
        public_key_hash: Hash,
    },
    /// A sealed record was exchanged between two parties.
    RecordExchanged {
        /// Exchange id.
        exchange_id: String,
        /// Sender (node or clinician id).
        sender: String,
        /// Intended recipient.
        recipient: String,
        /// SHA-256 of the sealed envelope.
        envelope_hash: Hash,
    },
    /// Any other event: an action name, the subject id and structured details.
    Other {
        /// Action name, e.g. `study_cancelled`.
        action: String,
        /// Subject id.
        subject: String,
        /// Details (ids and hashes only).
        detail: serde_json::Value,
    },
}

impl AuditEvent {
    /// The `kind` tag, e.g. `"study_submitted"`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::NodeEnrolled { .. } => "node_enrolled",
            AuditEvent::NodeRevoked { .. } => "node_revoked",
            AuditEvent::PolicyChanged { .. } => "policy_changed",
            AuditEvent::StudySubmitted { .. } => "study_submitted",
            AuditEvent::StudyApproved { .. } => "study_approved",
            AuditEvent::StudyRefused { .. } => "study_refused",
            AuditEvent::ContributionReceived { .. } => "contribution_received",
            AuditEvent::ResultReleased { .. } => "result_released",
            AuditEvent::ConsentChanged { .. } => "consent_changed",
            AuditEvent::DatasetPublished { .. } => "dataset_published",
            AuditEvent::KeyCeremony { .. } => "key_ceremony",
            AuditEvent::RecordExchanged { .. } => "record_exchanged",
            AuditEvent::Other { .. } => "other",
        }
    }
}

/// One log entry: position, time (given by the caller), who acted, what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Format version ([`ENTRY_VERSION`]).
    pub v: u32,
    /// Position in the log (0-based); makes dropped or reordered entries visible.
    pub index: u64,
    /// POSIX seconds when the hub recorded the event.
    pub time: u64,
    /// Who caused it (user, node or service id).
    pub actor: String,
    /// The event.
    pub event: AuditEvent,
}

impl LogEntry {
    /// A version-1 entry.
    pub fn new(index: u64, time: u64, actor: &str, event: AuditEvent) -> LogEntry {
        LogEntry {
            v: ENTRY_VERSION,
            index,
            time,
            actor: actor.to_owned(),
            event,
        }
    }

    /// Canonical bytes (compact JSON, fixed field order).
    pub fn encode(&self) -> Result<Vec<u8>, AuditError> {
        let bytes = serde_json::to_vec(self).map_err(|e| AuditError::BadEntry(e.to_string()))?;
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(AuditError::BadEntry(format!(
                "entry is {} bytes, the limit is {MAX_ENTRY_BYTES}: audit entries hold ids and hashes only",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    /// Parses stored entry bytes.
    pub fn decode(bytes: &[u8]) -> Result<LogEntry, AuditError> {
        let entry: LogEntry = serde_json::from_slice(bytes).map_err(|e| {
            // Report the position only: the message could echo entry content.
            AuditError::BadEntry(format!(
                "not a Salus audit entry (JSON error at column {})",
                e.column()
            ))
        })?;
        if entry.v != ENTRY_VERSION {
            return Err(AuditError::BadEntry(format!(
                "unsupported entry version {}",
                entry.v
            )));
        }
        Ok(entry)
    }

    /// The RFC 6962 leaf hash of the canonical bytes.
    pub fn leaf_hash(&self) -> Result<Hash, AuditError> {
        Ok(leaf_hash(&self.encode()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_stable_and_round_trips() -> Result<(), AuditError> {
        let entry = LogEntry::new(
            3,
            1_700_000_000,
            "hub",
            AuditEvent::StudyApproved {
                study_id: "s-1".into(),
                node_id: "node-a".into(),
            },
        );
        let bytes = entry.encode()?;
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            r#"{"v":1,"index":3,"time":1700000000,"actor":"hub","event":{"kind":"study_approved","study_id":"s-1","node_id":"node-a"}}"#
        );
        assert_eq!(LogEntry::decode(&bytes)?, entry);
        Ok(())
    }

    #[test]
    fn unknown_fields_and_versions_are_rejected() {
        let extra = br#"{"v":1,"index":0,"time":1,"actor":"a","event":{"kind":"study_approved","study_id":"s","node_id":"n","patient":"x"}}"#;
        assert!(LogEntry::decode(extra).is_err());
        let v2 = br#"{"v":2,"index":0,"time":1,"actor":"a","event":{"kind":"study_approved","study_id":"s","node_id":"n"}}"#;
        assert!(LogEntry::decode(v2).is_err());
    }

    #[test]
    fn oversized_entries_are_refused() {
        let entry = LogEntry::new(
            0,
            0,
            "hub",
            AuditEvent::Other {
                action: "x".into(),
                subject: "y".into(),
                detail: serde_json::Value::String("z".repeat(MAX_ENTRY_BYTES)),
            },
        );
        assert!(entry.encode().is_err());
    }
}
