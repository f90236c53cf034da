//! Exports of the audit log: everything an auditor needs, built from the hub's
//! database alone (running hub, or a stopped hub's file opened read-only).

use std::collections::BTreeMap;
use std::path::Path;

use salus_audit::{AuditExport, NoteVerifier, attach_cosignature};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

use super::{audit_err, node_witness_key, parse_cosignature};
use crate::HubError;
use crate::store::Store;

impl Store {
    /// The audit export (JSON bytes) of this hub.
    pub async fn audit_export(&self) -> Result<Vec<u8>, HubError> {
        export_from_pool(self.pool()).await
    }
}

/// Builds the [`AuditExport`] from a hub database: entries, checkpoints with the
/// nodes' cosignatures attached, and the witness keys of every enrolled node.
pub async fn export_from_pool(pool: &AnyPool) -> Result<Vec<u8>, HubError> {
    // One read transaction: entries and checkpoints from the same snapshot.
    let mut tx = pool.begin().await?;
    let log_key: String = sqlx::query("SELECT log_key FROM audit_meta WHERE id = 1")
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            HubError::NotFound(
                "this database holds no audit log key (it was never opened by a hub)".into(),
            )
        })?
        .try_get("log_key")?;
    let log_key = NoteVerifier::from_vkey(&log_key).map_err(audit_err)?;
    let entries: Vec<Vec<u8>> = sqlx::query("SELECT entry FROM audit_entries ORDER BY idx")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("entry").map(String::into_bytes))
        .collect::<Result<_, _>>()?;
    let checkpoints = sqlx::query(
        "SELECT tree_size, note FROM audit_checkpoints WHERE tree_size <= $1 ORDER BY tree_size",
    )
    .bind(entries.len() as i64)
    .fetch_all(&mut *tx)
    .await?;
    let mut cosigs: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT tree_size, node_id, signature FROM audit_cosignatures ORDER BY tree_size, node_id",
    )
    .fetch_all(&mut *tx)
    .await?
    {
        cosigs
            .entry(r.try_get("tree_size")?)
            .or_default()
            .push((r.try_get("node_id")?, r.try_get("signature")?));
    }
    let mut witnesses: BTreeMap<String, NoteVerifier> = BTreeMap::new();
    for r in sqlx::query("SELECT node_id, name, identity_key FROM nodes ORDER BY name")
        .fetch_all(&mut *tx)
        .await?
    {
        let (id, name, key): (String, String, String) = (
            r.try_get("node_id")?,
            r.try_get("name")?,
            r.try_get("identity_key")?,
        );
        match node_witness_key(&name, &key) {
            Ok(v) => {
                witnesses.insert(id, v);
            }
            Err(e) => {
                tracing::warn!(node = %name, error = %e, "node left out of the export's witnesses")
            }
        }
    }
    tx.commit().await?;
    let mut notes = Vec::with_capacity(checkpoints.len());
    for r in &checkpoints {
        let size: i64 = r.try_get("tree_size")?;
        let mut note: String = r.try_get("note")?;
        for (node_id, line) in cosigs.get(&size).into_iter().flatten() {
            note = with_cosignature(note, line, witnesses.get(node_id));
        }
        notes.push(note);
    }
    let witness_keys: Vec<NoteVerifier> = witnesses.into_values().collect();
    AuditExport::build(&log_key, &entries, &notes, &witness_keys)
        .and_then(|e| e.to_json())
        .map_err(audit_err)
}

/// Attaches a stored cosignature line; one that no longer verifies is appended as
/// is, so the offline verifier names it instead of the export hiding it.
fn with_cosignature(note: String, line: &str, witness: Option<&NoteVerifier>) -> String {
    if let Some(w) = witness
        && let Some(c) = parse_cosignature(&note, line, w)
        && let Ok(attached) = attach_cosignature(&note, &c, w)
    {
        return attached;
    }
    format!("{note}{}\n", line.trim_end())
}

/// The export of a stopped hub's database, opened read-only (`path` is a SQLite
/// file, or a `sqlite:`/`postgres:` URL).
pub async fn export_database(path: &str) -> Result<Vec<u8>, HubError> {
    sqlx::any::install_default_drivers();
    let url = if path.starts_with("sqlite:") || path.starts_with("postgres") {
        path.to_string()
    } else {
        if !Path::new(path).exists() {
            return Err(HubError::NotFound(format!("no hub database at {path}")));
        }
        format!("sqlite://{path}?mode=ro")
    };
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let out = export_from_pool(&pool).await;
    pool.close().await;
    out
}
