//! Patient consent kept on the node and enforced at compute time.
//!
//! Each change (a FHIR Consent import, a grant, a withdrawal) is stored in
//! `consent_records` with a receipt signed by the node's identity key and chained to
//! the node's previous receipt. The receipt's hash is reported to the hub, which puts
//! it in the audit log (`consent.changed`): a patient or auditor can later prove what
//! the consent state was at a given time. The hub only ever sees the hash.
//!
//! At compute time [`CohortConsent`] turns the records into a
//! [`salus_consent::Registry`] and answers, per table row, whether the row's patient
//! (the schema's `patient_key` column) permits the study's purpose for the dataset's
//! data categories.

use std::str::FromStr;

use ed25519_dalek::SigningKey;
use salus_consent::{
    ChainState, ConsentPolicy, ConsentReceipt, ConsentRecord, DataCategory, Purpose, ReceiptIssuer,
    Registry,
};
use salus_core::policy::ConsentDefault;
use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;
use salus_table::Table;
use sqlx::Row;

use crate::NodeError;
use crate::store::NodeStore;

/// A stored consent change and its signed receipt.
#[derive(Debug, Clone)]
pub struct StoredConsent {
    pub record: ConsentRecord,
    pub receipt: ConsentReceipt,
    /// Hex SHA-256 of the receipt (what the audit log holds).
    pub receipt_hash: String,
}

/// Stores consent changes, each with a receipt signed by `key` (the node identity) and
/// chained to the last one; returns the newly stored ones. A record already stored
/// with the same content is skipped (re-importing an export is harmless); the same id
/// with other content is an error. One transaction: a crash leaves either all or none.
pub async fn record(
    store: &NodeStore,
    issuer: &str,
    key: &SigningKey,
    records: &[ConsentRecord],
    issued_at: i64,
) -> Result<Vec<StoredConsent>, NodeError> {
    for r in records {
        r.validate().map_err(consent_err)?;
    }
    let mut conn = store.pool().acquire().await?;
    // IMMEDIATE: read the chain head and append under the write lock.
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let outcome = record_in_tx(&mut conn, issuer, key, records, issued_at).await;
    let end = if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    sqlx::query(end).execute(&mut *conn).await?;
    outcome
}

async fn record_in_tx(
    conn: &mut sqlx::SqliteConnection,
    issuer: &str,
    key: &SigningKey,
    records: &[ConsentRecord],
    issued_at: i64,
) -> Result<Vec<StoredConsent>, NodeError> {
    let last: Option<String> = sqlx::query_scalar(
        "SELECT receipt FROM consent_records WHERE receipt IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let chain = match last {
        Some(text) => {
            let receipt = ConsentReceipt::from_json(&text).map_err(consent_err)?;
            ChainState {
                next_sequence: receipt.body.sequence + 1,
                previous: hex::encode(receipt.hash().map_err(consent_err)?),
            }
        }
        None => ChainState::default(),
    };
    let mut issuer = ReceiptIssuer::new(issuer, key.clone(), chain);
    let mut stored = Vec::with_capacity(records.len());
    for r in records {
        let json = serde_json::to_string(r).map_err(|e| NodeError::Corrupt(e.to_string()))?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT record_json FROM consent_records WHERE record_id = ?1")
                .bind(&r.id)
                .fetch_optional(&mut *conn)
                .await?;
        match existing {
            // Importing the same export again: already recorded, nothing to issue.
            Some(stored) if stored == json => continue,
            Some(_) => {
                return Err(NodeError::Invalid(format!(
                    "consent record `{}` is already stored with different content; a change needs a new record id",
                    r.id
                )));
            }
            None => {}
        }
        let receipt = issuer.issue(r, issued_at).map_err(consent_err)?;
        let receipt_hash = hex::encode(receipt.hash().map_err(consent_err)?);
        sqlx::query(
            "INSERT INTO consent_records (patient, record_json, receipt, created_at, record_id, receipt_hash, reported) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        )
        .bind(&r.patient)
        .bind(&json)
        .bind(receipt.to_json().map_err(consent_err)?)
        .bind(issued_at)
        .bind(&r.id)
        .bind(&receipt_hash)
        .execute(&mut *conn)
        .await?;
        stored.push(StoredConsent {
            record: r.clone(),
            receipt,
            receipt_hash,
        });
    }
    Ok(stored)
}

/// Every stored consent record, in the order recorded.
pub async fn records(store: &NodeStore) -> Result<Vec<ConsentRecord>, NodeError> {
    let rows = sqlx::query("SELECT record_json FROM consent_records ORDER BY seq")
        .fetch_all(store.pool())
        .await?;
    decode_records(&rows)
}

/// One patient's stored consent records, in the order recorded.
pub async fn records_of(store: &NodeStore, patient: &str) -> Result<Vec<ConsentRecord>, NodeError> {
    let rows =
        sqlx::query("SELECT record_json FROM consent_records WHERE patient = ?1 ORDER BY seq")
            .bind(patient)
            .fetch_all(store.pool())
            .await?;
    decode_records(&rows)
}

fn decode_records(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<ConsentRecord>, NodeError> {
    rows.iter()
        .map(|r| {
            serde_json::from_str(&r.try_get::<String, _>("record_json")?)
                .map_err(|e| NodeError::Corrupt(format!("consent record: {e}")))
        })
        .collect()
}

/// A receipt whose hash the hub has not yet acknowledged.
#[derive(Debug, Clone)]
pub struct PendingReceipt {
    /// Row in `consent_records`.
    pub row: i64,
    /// Position in the node's receipt chain.
    pub sequence: u64,
    /// Hex SHA-256 of the receipt.
    pub hash: String,
    /// POSIX seconds when it was issued.
    pub issued_at: i64,
}

/// Receipts whose hash the hub has not yet acknowledged, oldest first.
pub async fn unreported(store: &NodeStore) -> Result<Vec<PendingReceipt>, NodeError> {
    let rows = sqlx::query(
        "SELECT seq, receipt, receipt_hash, created_at FROM consent_records \
         WHERE reported = 0 AND receipt_hash IS NOT NULL ORDER BY seq",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let receipt = ConsentReceipt::from_json(&r.try_get::<String, _>("receipt")?)
                .map_err(consent_err)?;
            Ok(PendingReceipt {
                row: r.try_get("seq")?,
                sequence: receipt.body.sequence,
                hash: r.try_get("receipt_hash")?,
                issued_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Marks receipts (by row `seq`) as recorded in the hub's audit log.
pub async fn mark_reported(store: &NodeStore, seqs: &[i64]) -> Result<(), NodeError> {
    for seq in seqs {
        sqlx::query("UPDATE consent_records SET reported = 1 WHERE seq = ?1")
            .bind(seq)
            .execute(store.pool())
            .await?;
    }
    Ok(())
}

/// The registry under the node's default rule.
pub fn registry(
    records: Vec<ConsentRecord>,
    default: ConsentDefault,
) -> Result<Registry, NodeError> {
    let policy = match default {
        ConsentDefault::OptIn => ConsentPolicy::opt_in(),
        ConsentDefault::OptOut => ConsentPolicy::opt_out(),
    };
    let mut registry = Registry::new(policy);
    for r in records {
        registry.add(r).map_err(consent_err)?;
    }
    Ok(registry)
}

/// The use a study makes of a dataset, as consent sees it.
#[derive(Debug, Clone)]
pub struct StudyUse {
    pub purpose: Purpose,
    pub categories: Vec<DataCategory>,
}

impl StudyUse {
    /// The study's purpose (a plain `research` purpose is checked as the named study,
    /// so consent limited to one study is honoured and research consent covers it) and
    /// the dataset's data categories.
    pub fn of(spec: &StudySpec, schema: &DatasetSchema) -> Result<StudyUse, NodeError> {
        let purpose = Purpose::from_str(&spec.purpose).map_err(|e| {
            NodeError::Invalid(format!(
                "study purpose `{}`: {e}; use research, study:<id>, treatment, public_health, commercial, operations or other:<code>",
                spec.purpose
            ))
        })?;
        let purpose = match purpose {
            Purpose::Research => Purpose::Study(spec.name.clone()),
            p => p,
        };
        let categories = schema
            .categories
            .iter()
            .map(|c| {
                DataCategory::from_str(c)
                    .map_err(|e| NodeError::Invalid(format!("dataset category `{c}`: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(StudyUse {
            purpose,
            categories,
        })
    }
}

/// Consent decisions for the rows of one table, for one study.
#[derive(Debug)]
pub struct CohortConsent {
    permitted: Vec<bool>,
}

impl CohortConsent {
    /// Evaluates every row at time `at` (POSIX seconds). A dataset without a
    /// `patient_key` can only be used when consent cannot exclude anyone (an opt-out
    /// node with no records).
    pub fn evaluate(
        registry: &Registry,
        table: &Table,
        schema: &DatasetSchema,
        wanted: &StudyUse,
        at: i64,
    ) -> Result<CohortConsent, NodeError> {
        let Some(key) = &schema.patient_key else {
            let nobody_excluded = registry.is_empty()
                && registry.policy().default_for(&wanted.purpose)
                    == salus_consent::Decision::Permit;
            if nobody_excluded {
                return Ok(CohortConsent {
                    permitted: vec![true; table.nrows()],
                });
            }
            return Err(NodeError::Invalid(
                "this node enforces consent but the dataset schema names no `patient_key` column; add `patient_key = \"<pseudonym column>\"` to the schema and register the dataset again".into(),
            ));
        };
        let column = table.column(key).map_err(NodeError::Table)?;
        let permitted = (0..table.nrows())
            .map(|i| match column.display(i) {
                Some(patient) => {
                    registry.is_permitted(&patient, &wanted.purpose, &wanted.categories, at)
                }
                // A row without a pseudonym cannot be matched to any consent.
                None => false,
            })
            .collect();
        Ok(CohortConsent { permitted })
    }

    /// True when row `i` may be used.
    pub fn permits(&self, i: usize) -> bool {
        self.permitted.get(i).copied().unwrap_or(false)
    }
}

fn consent_err(e: salus_consent::ConsentError) -> NodeError {
    NodeError::Invalid(format!("consent: {e}"))
}

/// A new record id: `prefix`, then 12 random hex digits.
pub fn fresh_record_id(prefix: &str) -> String {
    format!("{prefix}-{}", hex::encode(rand::random::<[u8; 6]>()))
}

/// POSIX seconds now.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
