//! The hub's side of the tamper-evident audit log ([`salus_audit`]).
//!
//! Every write transaction of the [`Store`] stages its events here: they are encoded
//! as log entries, and the checkpoint covering them is signed, inside the same
//! database transaction as the change they record ([`AuditLog::stage`]); the
//! in-memory Merkle tree only moves once the transaction has committed
//! ([`AuditLog::publish`]). One commit is one batch and one signed checkpoint.
//!
//! The log's Ed25519 key lives beside the CA key (`audit-log.key`, mode 0600); its
//! public verifier key is also stored in the database (`audit_meta`) so that an
//! export can be made from a stopped hub's database alone ([`export_database`]).
//! Nodes witness checkpoints through poll responses ([`AuditLog::offer`]) and
//! send cosignatures back ([`Store::accept_cosignature`]).

use std::path::Path;
use std::sync::Mutex;

use ed25519_dalek::{SigningKey, VerifyingKey};
use salus_audit::{
    Checkpoint, Cosignature, Hash, NoteVerifier, PreparedBatch, SignatureKind, SignedNote,
    attach_cosignature, leaf_hash,
};
use salus_wire::CheckpointOffer;
use sqlx::{AnyPool, Row};

use crate::store::{NodeRecord, Store};
use crate::{HubError, now_ms};

/// File of the log signing key in the hub's data directory.
pub const KEY_FILE: &str = "audit-log.key";

/// Key-name prefix of node witnesses: a node named `site-a` cosigns as
/// `salus-node/site-a` with its enrolled identity key (the node uses the same name).
pub const WITNESS_PREFIX: &str = "salus-node/";

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

    /// Who acted, and the typed log event (a typed variant where the hub event
    /// maps onto one without losing fields, `Other` otherwise).
    pub fn to_log_event(&self) -> (String, salus_audit::AuditEvent) {
        use salus_audit::AuditEvent as E;
        let f = &self.fields;
        let text = |k: &str| f.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let actor = text("researcher")
            .or_else(|| text("node").map(|n| format!("node:{n}")))
            .unwrap_or_else(|| "hub".to_string());
        let study = text("study");
        let typed = match (self.kind.as_str(), &study) {
            ("study.approved", Some(s)) => text("node").map(|node_id| E::StudyApproved {
                study_id: s.clone(),
                node_id,
            }),
            ("study.refused", Some(s)) => text("node").map(|node_id| E::StudyRefused {
                study_id: s.clone(),
                node_id,
                reason: text("reason").unwrap_or_default(),
            }),
            ("study.released", Some(s)) => text("result_sha256")
                .and_then(|h| Hash::from_hex(&h))
                .map(|result_hash| E::ResultReleased {
                    study_id: s.clone(),
                    result_hash,
                    privacy: f.get("privacy").cloned().unwrap_or(serde_json::Value::Null),
                }),
            ("consent.changed", _) => text("receipt_sha256")
                .and_then(|h| Hash::from_hex(&h))
                .zip(text("node"))
                .map(|(receipt_hash, node_id)| E::ConsentChanged {
                    node_id,
                    receipt_hash,
                    receipt_sequence: f.get("sequence").and_then(|v| v.as_u64()).unwrap_or(0),
                }),
            _ => None,
        };
        let event = typed.unwrap_or_else(|| E::Other {
            action: self.kind.clone(),
            subject: ["study", "node_id", "name", "dataset", "organisation"]
                .iter()
                .find_map(|k| text(k))
                .unwrap_or_default(),
            detail: f.clone(),
        });
        (actor, event)
    }
}

/// Entries (and their checkpoint) staged in a transaction, to publish after it commits.
#[derive(Debug, Default)]
pub struct Staged {
    batch: Option<PreparedBatch>,
}

struct State {
    log: salus_audit::AuditLog,
    /// The latest signed checkpoint: its size and note.
    latest: Option<(u64, String)>,
}

/// The signed log, mirrored in memory for proofs and checkpoints.
pub struct AuditLog {
    state: Mutex<State>,
    verifier: NoteVerifier,
    /// Kept to rebuild the log from stored leaves ([`AuditLog::load`]); never printed.
    key: SigningKey,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.verifier.name())
            .field("size", &self.size())
            .finish()
    }
}

fn audit_err(e: impl std::fmt::Display) -> HubError {
    HubError::Corrupt(format!("audit log: {e}"))
}

/// `salus-hub/<directory name>`, reduced to characters valid in a key name.
fn origin_for(dir: &Path) -> String {
    let name: String = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    format!("salus-hub/{}", if name.is_empty() { "hub" } else { &name })
}

/// Reads the seed out of a Go-note private key string `PRIVATE+KEY+name+id+base64(0x01||seed)`.
fn seed_of(key_text: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    // Key names hold no `+`, but base64 may: split off name and id only.
    let material = key_text
        .trim()
        .strip_prefix("PRIVATE+KEY+")?
        .splitn(3, '+')
        .nth(2)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(material)
        .ok()?;
    raw.get(1..).and_then(|s| s.try_into().ok())
}

impl AuditLog {
    /// The log of the hub in `dir`: loads `audit-log.key`, creating it (mode 0600)
    /// on first start. Call [`AuditLog::load`] (done by `Store::open`) before use.
    pub fn load_or_create_key(dir: &Path) -> Result<AuditLog, HubError> {
        std::fs::create_dir_all(dir).map_err(|e| HubError::io(dir, e))?;
        let path = dir.join(KEY_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| HubError::io(&path, e))?;
            let bad = || {
                HubError::Corrupt(format!(
                    "{} is not a Salus audit log key; restore it from backup",
                    path.display()
                ))
            };
            let signer =
                salus_audit::NoteSigner::from_private_key_string(&text).map_err(|_| bad())?;
            let seed = seed_of(&text).ok_or_else(bad)?;
            return AuditLog::with_key(signer.name(), seed);
        }
        let seed: [u8; 32] = rand::random();
        let origin = origin_for(dir);
        let signer = salus_audit::NoteSigner::new(
            &origin,
            SigningKey::from_bytes(&seed),
            SignatureKind::Ed25519,
        )
        .map_err(audit_err)?;
        crate::ca::write_private(&path, signer.to_private_key_string().as_bytes())?;
        AuditLog::with_key(&origin, seed)
    }

    /// An empty log named `origin` signed with the Ed25519 key of `seed`.
    pub fn with_key(origin: &str, seed: [u8; 32]) -> Result<AuditLog, HubError> {
        let key = SigningKey::from_bytes(&seed);
        let log = salus_audit::AuditLog::new(origin, key.clone()).map_err(audit_err)?;
        Ok(AuditLog {
            key,
            verifier: log.log_key(),
            state: Mutex::new(State { log, latest: None }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked while holding it; the
        // tree is only ever extended after a commit, so the state is still a prefix.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The log's public verifier key (`origin+id+base64`), for nodes and auditors.
    pub fn verifier(&self) -> String {
        self.verifier.to_vkey()
    }

    /// Number of entries published.
    pub fn size(&self) -> u64 {
        self.lock().log.size()
    }

    /// The latest signed checkpoint (size, note).
    pub fn latest(&self) -> Option<(u64, String)> {
        self.lock().latest.clone()
    }

    /// Records the log key in the database (checking it against a recorded one),
    /// and rebuilds the tree from the stored leaf hashes.
    pub async fn load(&self, pool: &AnyPool) -> Result<(), HubError> {
        self.check_meta(pool).await?;
        let rows = sqlx::query("SELECT idx, entry, leaf_hash FROM audit_entries ORDER BY idx")
            .fetch_all(pool)
            .await?;
        let mut leaves = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let idx: i64 = r.try_get("idx")?;
            if idx != i as i64 {
                return Err(HubError::Corrupt(format!(
                    "audit entry {i} is missing (found {idx})"
                )));
            }
            let stored =
                Hash::from_hex(&r.try_get::<String, _>("leaf_hash")?).ok_or_else(|| {
                    HubError::Corrupt(format!("audit entry {i}: leaf hash is not 64 hex digits"))
                })?;
            let entry: String = r.try_get("entry")?;
            if leaf_hash(entry.as_bytes()) != stored {
                return Err(HubError::Corrupt(format!(
                    "audit entry {i} does not match its recorded leaf hash: the audit table was edited"
                )));
            }
            leaves.push(stored);
        }
        let latest = latest_checkpoint(pool).await?;
        let mut st = self.lock();
        st.log = salus_audit::AuditLog::restore(self.verifier.name(), self.key.clone(), leaves)
            .map_err(audit_err)?;
        if let Some((size, note)) = &latest {
            let signed_root = SignedNote::parse(note.as_bytes())
                .ok()
                .and_then(|n| Checkpoint::parse_body(&n.text).ok())
                .map(|c| c.root);
            if signed_root.is_none() || st.log.tree().root_at(*size).ok() != signed_root {
                tracing::error!(
                    size,
                    "the stored audit tree does not match its latest signed checkpoint"
                );
            }
        }
        st.latest = latest;
        Ok(())
    }

    async fn check_meta(&self, pool: &AnyPool) -> Result<(), HubError> {
        let vkey = self.verifier();
        let recorded: Option<String> = sqlx::query("SELECT log_key FROM audit_meta WHERE id = 1")
            .fetch_optional(pool)
            .await?
            .map(|r| r.try_get("log_key"))
            .transpose()?;
        match recorded {
            Some(k) if k == vkey => Ok(()),
            Some(k) => Err(HubError::Corrupt(format!(
                "the audit log key in {KEY_FILE} ({vkey}) is not the one this database was signed with ({k}); restore the original key file"
            ))),
            None => {
                sqlx::query("INSERT INTO audit_meta (id, origin, log_key, created_at) VALUES (1, $1, $2, $3)")
                    .bind(self.verifier.name())
                    .bind(&vkey)
                    .bind(now_ms())
                    .execute(pool)
                    .await?;
                Ok(())
            }
        }
    }

    /// Encodes `events` as the next entries and signs the checkpoint covering them,
    /// writing both in the open transaction (the caller holds the writer lock).
    pub async fn stage(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        events: &[AuditEvent],
    ) -> Result<Staged, HubError> {
        if events.is_empty() {
            return Ok(Staged::default());
        }
        self.catch_up(tx).await?;
        let now = now_ms();
        let time = (now / 1000).max(0) as u64;
        let batch = self
            .lock()
            .log
            .prepare(time, events.iter().map(AuditEvent::to_log_event).collect())
            .map_err(audit_err)?;
        for e in &batch.entries {
            let text = String::from_utf8(e.bytes.clone()).map_err(audit_err)?;
            sqlx::query("INSERT INTO audit_entries (idx, entry, leaf_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(e.index as i64)
                .bind(&text)
                .bind(e.leaf_hash.to_hex())
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO audit_checkpoints (tree_size, note, created_at) VALUES ($1, $2, $3)",
        )
        .bind(batch.size as i64)
        .bind(&batch.checkpoint)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(Staged { batch: Some(batch) })
    }

    /// Another process on the same database (the offline `salus hub invite` or
    /// `salus hub token` while the server runs) may have appended entries: read them
    /// inside this transaction, check their leaf hashes, and extend the in-memory tree
    /// so the next index is the database's next index.
    async fn catch_up(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<(), HubError> {
        let known = self.lock().log.size();
        let rows = sqlx::query(
            "SELECT idx, entry, leaf_hash FROM audit_entries WHERE idx >= $1 ORDER BY idx",
        )
        .bind(known as i64)
        .fetch_all(&mut **tx)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut leaves = self.lock().log.tree().leaves().to_vec();
        for r in &rows {
            let idx: i64 = r.try_get("idx")?;
            if idx != leaves.len() as i64 {
                return Err(HubError::Corrupt(format!(
                    "audit entry {} is missing (found {idx})",
                    leaves.len()
                )));
            }
            let entry: String = r.try_get("entry")?;
            let stored = Hash::from_hex(&r.try_get::<String, _>("leaf_hash")?)
                .filter(|h| *h == leaf_hash(entry.as_bytes()))
                .ok_or_else(|| {
                    HubError::Corrupt(format!(
                        "audit entry {idx} does not match its recorded leaf hash: the audit table was edited"
                    ))
                })?;
            leaves.push(stored);
        }
        let latest = latest_checkpoint(&mut **tx).await?;
        let log = salus_audit::AuditLog::restore(self.verifier.name(), self.key.clone(), leaves)
            .map_err(audit_err)?;
        tracing::info!(
            from = known,
            to = log.size(),
            "audit log extended by another writer on the same database"
        );
        let mut st = self.lock();
        st.log = log;
        st.latest = latest;
        Ok(())
    }

    /// The inclusion proof of entry `index` against the latest signed checkpoint:
    /// `{leaf_index, tree_size, leaf_hash, hashes, checkpoint}` (hex hashes, the
    /// checkpoint as its signed note), for auditors and patients holding a receipt.
    pub fn inclusion(&self, index: u64) -> Result<serde_json::Value, HubError> {
        let st = self.lock();
        let Some((size, note)) = &st.latest else {
            return Err(HubError::NotFound("the audit log is empty".into()));
        };
        if index >= *size {
            return Err(HubError::NotFound(format!(
                "entry {index} is not covered by the latest checkpoint (size {size})"
            )));
        }
        let proof = st.log.inclusion_proof(index, *size).map_err(audit_err)?;
        Ok(serde_json::json!({
            "leaf_index": proof.leaf_index,
            "tree_size": proof.tree_size,
            "leaf_hash": proof.leaf_hash.to_hex(),
            "hashes": proof.hashes.iter().map(Hash::to_hex).collect::<Vec<_>>(),
            "checkpoint": note,
        }))
    }

    /// Publishes committed entries and their checkpoint.
    pub fn publish(&self, staged: Staged) -> Result<(), HubError> {
        let Some(batch) = staged.batch else {
            return Ok(());
        };
        let mut st = self.lock();
        st.log.apply(&batch).map_err(audit_err)?;
        st.latest = Some((batch.size, batch.checkpoint));
        Ok(())
    }

    /// The checkpoint to offer a node whose cosigned size is `cosigned` and whose
    /// witness has verified the tree up to `witnessed` (what it reports on polls):
    /// `None` when it is up to date. The proof starts from `witnessed`.
    pub fn offer(
        &self,
        cosigned: u64,
        witnessed: u64,
    ) -> Result<Option<CheckpointOffer>, HubError> {
        let st = self.lock();
        let Some((size, note)) = &st.latest else {
            return Ok(None);
        };
        if cosigned >= *size && witnessed == *size {
            return Ok(None);
        }
        // A witness ahead of the log (e.g. a hub restored from an old backup) gets
        // the checkpoint without a proof: its witness sees the shrink and says so.
        let proof = if witnessed <= *size {
            st.log
                .consistency_proof(witnessed, *size)
                .map_err(audit_err)?
                .hashes
        } else {
            Vec::new()
        };
        Ok(Some(CheckpointOffer {
            note: note.clone(),
            from_size: witnessed,
            proof: proof.iter().map(Hash::to_hex).collect(),
        }))
    }
}

/// The witness verifier key of an enrolled node.
pub fn node_witness_key(node_name: &str, identity_key_hex: &str) -> Result<NoteVerifier, HubError> {
    let bytes: [u8; 32] = hex::decode(identity_key_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            HubError::Corrupt(format!(
                "node `{node_name}`: identity key is not 32 bytes of hex"
            ))
        })?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| HubError::Corrupt(format!("node `{node_name}`: invalid identity key")))?;
    salus_audit::witness_key(&format!("{WITNESS_PREFIX}{node_name}"), key).map_err(audit_err)
}

/// Reads the cosignature of `witness` from one signature line over `note`.
fn parse_cosignature(note: &str, line: &str, witness: &NoteVerifier) -> Option<Cosignature> {
    let combined = format!("{note}{}\n", line.trim_end());
    let parsed = SignedNote::parse(combined.as_bytes()).ok()?;
    let sig = parsed.signatures.last().filter(|s| witness.matches(s))?;
    Cosignature::from_note_signature(sig).ok()
}

impl Store {
    /// Checks a node's cosignature of the checkpoint of `tree_size` against its
    /// enrolled identity key and records it.
    pub async fn accept_cosignature(
        &self,
        node: &NodeRecord,
        c: &salus_wire::Cosignature,
    ) -> Result<(), HubError> {
        let note: String = sqlx::query("SELECT note FROM audit_checkpoints WHERE tree_size = $1")
            .bind(c.tree_size as i64)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| {
                HubError::NotFound(format!("no audit checkpoint of size {}", c.tree_size))
            })?
            .try_get("note")?;
        let witness = node_witness_key(&node.name, &node.identity_key)?;
        let cosig = parse_cosignature(&note, &c.signature, &witness).ok_or_else(|| {
            HubError::Invalid(format!(
                "the cosignature is not a `cosignature/v1` line by `{}` with this node's identity key",
                witness.name()
            ))
        })?;
        attach_cosignature(&note, &cosig, &witness).map_err(|_| {
            HubError::Invalid(format!(
                "the cosignature of checkpoint {} does not verify with this node's identity key",
                c.tree_size
            ))
        })?;
        self.set_cosigned(&node.node_id, c.tree_size as i64, &cosig.to_line())
            .await
    }
}

/// The latest stored checkpoint: (tree size, signed note).
async fn latest_checkpoint<'e, E>(executor: E) -> Result<Option<(u64, String)>, HubError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1")
        .fetch_optional(executor)
        .await?
        .map(|r| {
            Ok::<_, HubError>((
                r.try_get::<i64, _>("tree_size")? as u64,
                r.try_get::<String, _>("note")?,
            ))
        })
        .transpose()
}

mod export;

pub use export::{export_database, export_from_pool};

#[cfg(test)]
mod tests;
