//! Fetching and checking the hub's audit export, for `salus audit export` and
//! `salus demo`: the export comes from a running hub (`GET /v1/audit/export`) or a
//! stopped hub's database, and is verified offline with [`salus_audit::verify_export`].

use std::path::Path;

use anyhow::Context;
use salus_net::client::HubClient;

/// The audit export (JSON bytes) of the hub `client` talks to (any researcher or
/// admin token).
pub async fn fetch_export(client: &HubClient) -> anyhow::Result<Vec<u8>> {
    let text = client
        .get_text("/audit/export")
        .await
        .context("fetching the audit export from the hub")?;
    Ok(text.into_bytes())
}

/// The audit export of a stopped hub, read from its database (a SQLite file, or a
/// `sqlite:`/`postgres:` URL) without the hub's keys.
pub async fn export_database(db: &Path) -> anyhow::Result<Vec<u8>> {
    salus_hub::audit::export_database(&db.to_string_lossy())
        .await
        .with_context(|| format!("exporting the audit log of {}", db.display()))
}

/// Verifies an export offline and returns the report as JSON:
/// `{"entries","checkpoints","witnesses","valid","problems", ...}`.
pub fn verify_bytes(bytes: &[u8]) -> serde_json::Value {
    let report = salus_audit::verify_export(bytes);
    serde_json::to_value(&report).unwrap_or_else(|e| {
        serde_json::json!({
            "entries": report.entries,
            "checkpoints": report.checkpoints,
            "witnesses": report.witnesses,
            "valid": false,
            "problems": [format!("the verification report could not be encoded: {e}")],
        })
    })
}
