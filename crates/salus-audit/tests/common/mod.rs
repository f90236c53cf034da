//! Shared test helpers: a hub log and witnesses with fixed keys.

#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use salus_audit::{AuditError, AuditEvent, AuditLog, Hash, NoteVerifier, Witness, WitnessSigner};

pub const ORIGIN: &str = "salus.test/audit";

pub fn hub() -> AuditLog {
    AuditLog::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap_or_else(|e| panic!("{e}"))
}

pub fn witness_signer(n: u8) -> WitnessSigner {
    WitnessSigner::new(
        &format!("salus-node/node-{n}"),
        SigningKey::from_bytes(&[10 + n; 32]),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

pub fn witness(n: u8, log: &AuditLog) -> Witness {
    Witness::new(witness_signer(n), log.log_key())
}

pub fn witness_key(n: u8) -> NoteVerifier {
    witness_signer(n).witness_key()
}

/// `count` distinct events, numbered from `from`.
pub fn events(from: u64, count: u64) -> Vec<(String, AuditEvent)> {
    (from..from + count)
        .map(|i| {
            (
                format!("node-{}", i % 3),
                AuditEvent::ContributionReceived {
                    study_id: format!("study-{}", i / 4),
                    node_id: format!("node-{}", i % 3),
                    contribution_hash: Hash::sha256(&i.to_be_bytes()),
                },
            )
        })
        .collect()
}

/// Appends a batch and returns its checkpoint note.
pub fn append(log: &mut AuditLog, from: u64, count: u64) -> Result<String, AuditError> {
    Ok(log
        .append(1_700_000_000 + from, events(from, count))?
        .checkpoint)
}
