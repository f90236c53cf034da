//! The hub's side of the audit log: entries are staged inside the transaction of the
//! change they record, and published to the in-memory Merkle tree after commit.

use std::sync::Mutex;

use sqlx::{AnyPool, Row};

use crate::{HubError, now_ms};

/// An event to record: a kind (`study.submitted`, ...) and ids/hashes only.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub kind: String,
    pub fields: serde_json::Value,
}

impl AuditEvent {
    pub fn new(kind: &str, fields: serde_json::Value) -> Self {
        AuditEvent {
            kind: kind.to_string(),
            fields,
        }
    }
}

/// Entries staged in a transaction, to publish after it commits.
#[derive(Debug, Default)]
pub struct Staged {
    leaves: Vec<[u8; 32]>,
}

/// The log's leaf hashes, mirrored in memory for proofs and checkpoints.
#[derive(Debug, Default)]
pub struct AuditLog {
    leaves: Mutex<Vec<[u8; 32]>>,
}

/// RFC 6962 leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

impl AuditLog {
    /// Loads every leaf hash from the database.
    pub async fn load(&self, pool: &AnyPool) -> Result<(), HubError> {
        let rows = sqlx::query("SELECT idx, leaf_hash FROM audit_entries ORDER BY idx")
            .fetch_all(pool)
            .await?;
        let mut leaves = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let idx: i64 = r.try_get("idx")?;
            if idx != i as i64 {
                return Err(HubError::Corrupt(format!("audit entry {i} is missing (found {idx})")));
            }
            let h: String = r.try_get("leaf_hash")?;
            let bytes = hex::decode(&h).map_err(|e| HubError::Corrupt(e.to_string()))?;
            leaves.push(
                bytes
                    .try_into()
                    .map_err(|_| HubError::Corrupt(format!("audit leaf {i} is not 32 bytes")))?,
            );
        }
        *self.lock() = leaves;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<[u8; 32]>> {
        // A poisoned lock only means another thread panicked mid-push of a Vec: the
        // data is still a consistent prefix, so keep going.
        self.leaves.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of entries published.
    pub fn size(&self) -> u64 {
        self.lock().len() as u64
    }

    /// Inserts entries in the open transaction (caller holds the writer lock).
    pub async fn stage(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        events: &[AuditEvent],
    ) -> Result<Staged, HubError> {
        let mut staged = Staged::default();
        let start = self.size();
        for (i, e) in events.iter().enumerate() {
            let idx = start + i as u64;
            let now = now_ms();
            let entry = serde_json::json!({"index": idx, "time": now, "kind": e.kind, "fields": e.fields}).to_string();
            let leaf = leaf_hash(entry.as_bytes());
            sqlx::query("INSERT INTO audit_entries (idx, entry, leaf_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(idx as i64)
                .bind(&entry)
                .bind(hex::encode(leaf))
                .bind(now)
                .execute(&mut **tx)
                .await?;
            staged.leaves.push(leaf);
        }
        Ok(staged)
    }

    /// Publishes committed entries.
    pub fn publish(&self, staged: Staged) {
        self.lock().extend(staged.leaves);
    }
}
