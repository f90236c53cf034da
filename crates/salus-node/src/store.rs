//! The node's SQLite database.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

use salus_core::policy::NodePolicy;
use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;

use crate::{NodeConfig, NodeError, now_ms};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A registered dataset.
#[derive(Debug, Clone)]
pub struct DatasetRecord {
    pub name: String,
    pub path: String,
    pub schema: DatasetSchema,
    pub sha256: String,
    pub rows: i64,
    pub delimiter: u8,
}

/// A study as the node knows it.
#[derive(Debug, Clone)]
pub struct NodeStudy {
    pub study_id: String,
    pub spec: StudySpec,
    pub researcher: String,
    pub organisation: String,
    /// `pending` (awaiting the steward), `approved`, `refused`, `completed`, `failed`.
    pub state: String,
    pub reason: Option<String>,
    pub decision_sent: bool,
    pub cohort: Option<Vec<u8>>,
    pub consent_excluded: Option<i64>,
}

/// The node database.
#[derive(Debug, Clone)]
pub struct NodeStore {
    pool: SqlitePool,
}

fn corrupt(e: impl std::fmt::Display) -> NodeError {
    NodeError::Corrupt(e.to_string())
}

impl NodeStore {
    /// Opens (creating) the database and runs migrations.
    pub async fn open(config: &NodeConfig) -> Result<NodeStore, NodeError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| NodeError::io(&config.data_dir, e))?;
        let options = SqliteConnectOptions::new()
            .filename(config.data_dir.join("node.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(NodeStore { pool })
    }

    /// The pool (for modules with their own tables).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    // ---- datasets ----

    pub async fn put_dataset(&self, d: &DatasetRecord) -> Result<(), NodeError> {
        let schema = serde_json::to_string(&d.schema).map_err(corrupt)?;
        sqlx::query(
            "INSERT INTO datasets (name, path, schema_json, sha256, rows, delimiter, registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT(name) DO UPDATE SET path = excluded.path, schema_json = excluded.schema_json, sha256 = excluded.sha256, \
             rows = excluded.rows, delimiter = excluded.delimiter, registered_at = excluded.registered_at",
        )
        .bind(&d.name)
        .bind(&d.path)
        .bind(&schema)
        .bind(&d.sha256)
        .bind(d.rows)
        .bind((d.delimiter as char).to_string())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn datasets(&self) -> Result<Vec<DatasetRecord>, NodeError> {
        let rows = sqlx::query("SELECT * FROM datasets ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(dataset_record).collect()
    }

    pub async fn dataset(&self, name: &str) -> Result<DatasetRecord, NodeError> {
        let row = sqlx::query("SELECT * FROM datasets WHERE name = ?1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("this node has no dataset `{name}`")))?;
        dataset_record(&row)
    }

    // ---- policy ----

    pub async fn set_policy(&self, policy: &NodePolicy) -> Result<(), NodeError> {
        let json = serde_json::to_string(policy).map_err(corrupt)?;
        sqlx::query(
            "INSERT INTO policy (id, policy_json, updated_at) VALUES (1, ?1, ?2) \
             ON CONFLICT(id) DO UPDATE SET policy_json = excluded.policy_json, updated_at = excluded.updated_at",
        )
        .bind(&json)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The policy in force (the default policy until the steward sets one).
    pub async fn policy(&self) -> Result<NodePolicy, NodeError> {
        let row = sqlx::query("SELECT policy_json FROM policy WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => {
                serde_json::from_str(&r.try_get::<String, _>("policy_json")?).map_err(corrupt)
            }
            None => Ok(NodePolicy::default()),
        }
    }

    // ---- studies ----

    /// Records an offered study (idempotent: an offer seen twice keeps its first state).
    pub async fn offer(
        &self,
        id: &str,
        spec: &StudySpec,
        researcher: &str,
        org: &str,
        state: &str,
        reason: Option<&str>,
    ) -> Result<NodeStudy, NodeError> {
        let json = serde_json::to_string(spec).map_err(corrupt)?;
        sqlx::query(
            "INSERT INTO studies (study_id, spec_json, researcher, organisation, state, reason, offered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT(study_id) DO NOTHING",
        )
        .bind(id)
        .bind(&json)
        .bind(researcher)
        .bind(org)
        .bind(state)
        .bind(reason)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        self.study(id).await
    }

    pub async fn study(&self, id: &str) -> Result<NodeStudy, NodeError> {
        let row = sqlx::query("SELECT * FROM studies WHERE study_id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("this node has no study `{id}`")))?;
        study_record(&row)
    }

    pub async fn studies(&self) -> Result<Vec<NodeStudy>, NodeError> {
        let rows = sqlx::query("SELECT * FROM studies ORDER BY offered_at DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(study_record).collect()
    }

    /// The steward's (or the policy's) decision; it is sent to the hub by the worker.
    pub async fn decide(
        &self,
        id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<(), NodeError> {
        let r = sqlx::query("UPDATE studies SET state = ?1, reason = ?2, decided_at = ?3 WHERE study_id = ?4 AND state = 'pending'")
            .bind(if approve { "approved" } else { "refused" })
            .bind(reason)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(NodeError::Invalid(format!(
                "study `{id}` is not waiting for a decision"
            )));
        }
        Ok(())
    }

    // ---- privacy budget ----

    /// The zCDP budget a (dataset, researcher) pair has spent so far.
    pub async fn spent_rho(&self, dataset: &str, researcher: &str) -> Result<f64, NodeError> {
        let row =
            sqlx::query("SELECT spent_rho FROM ledger WHERE dataset = ?1 AND researcher = ?2")
                .bind(dataset)
                .bind(researcher)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(r) => r.try_get("spent_rho")?,
            None => 0.0,
        })
    }

    /// Charges a DP study's `rho` once (idempotent per study) against the pair's
    /// `budget`, in one transaction so concurrent studies can never overspend: SQLite
    /// serializes writers, and the check and the charge commit together. Returns the
    /// budget left, or `Err(left)` when the charge does not fit (nothing is charged).
    pub async fn charge_rho(
        &self,
        study_id: &str,
        dataset: &str,
        researcher: &str,
        rho: f64,
        budget: f64,
    ) -> Result<Result<f64, f64>, NodeError> {
        let mut conn = self.pool.acquire().await?;
        // IMMEDIATE takes the write lock before reading the ledger.
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let outcome = charge_in_tx(&mut conn, study_id, dataset, researcher, rho, budget).await;
        let end = if matches!(outcome, Ok(Ok(_))) {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        sqlx::query(end).execute(&mut *conn).await?;
        outcome
    }

    /// Decisions not yet delivered to the hub.
    pub async fn unsent_decisions(&self) -> Result<Vec<NodeStudy>, NodeError> {
        let rows = sqlx::query(
            "SELECT * FROM studies WHERE decision_sent = 0 AND state IN ('approved', 'refused')",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(study_record).collect()
    }

    pub async fn mark_decision_sent(&self, id: &str) -> Result<(), NodeError> {
        sqlx::query("UPDATE studies SET decision_sent = 1 WHERE study_id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_study_state(&self, id: &str, state: &str) -> Result<(), NodeError> {
        sqlx::query("UPDATE studies SET state = ?1 WHERE study_id = ?2")
            .bind(state)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Freezes a study's cohort (row bitmap) and records it for differencing checks,
    /// in one transaction. A second call keeps the first cohort.
    pub async fn freeze_cohort(
        &self,
        study: &NodeStudy,
        bits: &[u8],
        consent_excluded: u64,
    ) -> Result<(), NodeError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE studies SET cohort = ?1, consent_excluded = ?2 WHERE study_id = ?3 AND cohort IS NULL")
            .bind(bits)
            .bind(consent_excluded as i64)
            .bind(&study.study_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 1 {
            sqlx::query("INSERT OR IGNORE INTO cohort_history (study_id, dataset, researcher, cohort) VALUES (?1, ?2, ?3, ?4)")
                .bind(&study.study_id)
                .bind(&study.spec.dataset)
                .bind(&study.researcher)
                .bind(bits)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Earlier cohorts of a researcher on a dataset (other studies).
    pub async fn earlier_cohorts(
        &self,
        dataset: &str,
        researcher: &str,
        except: &str,
    ) -> Result<Vec<Vec<u8>>, NodeError> {
        let rows = sqlx::query("SELECT cohort FROM cohort_history WHERE dataset = ?1 AND researcher = ?2 AND study_id != ?3")
            .bind(dataset)
            .bind(researcher)
            .bind(except)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<Vec<u8>, _>("cohort")?))
            .collect()
    }

    // ---- audit witness ----

    /// The witness record (JSON, see [`crate::witness`]), if the node has witnessed anything.
    pub async fn witness_json(&self) -> Result<Option<String>, NodeError> {
        Ok(sqlx::query("SELECT state_json FROM witness WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("state_json"))
            .transpose()?)
    }

    /// Forgets everything witnessed (operator reset after an investigated alarm).
    pub async fn delete_witness(&self) -> Result<(), NodeError> {
        sqlx::query("DELETE FROM witness WHERE id = 1")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the witness record.
    pub async fn put_witness_json(&self, json: &str) -> Result<(), NodeError> {
        sqlx::query("INSERT INTO witness (id, state_json) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET state_json = excluded.state_json")
            .bind(json)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn dataset_record(r: &sqlx::sqlite::SqliteRow) -> Result<DatasetRecord, NodeError> {
    let delim: String = r.try_get("delimiter")?;
    Ok(DatasetRecord {
        name: r.try_get("name")?,
        path: r.try_get("path")?,
        schema: serde_json::from_str(&r.try_get::<String, _>("schema_json")?).map_err(corrupt)?,
        sha256: r.try_get("sha256")?,
        rows: r.try_get("rows")?,
        delimiter: delim.bytes().next().unwrap_or(b','),
    })
}

fn study_record(r: &sqlx::sqlite::SqliteRow) -> Result<NodeStudy, NodeError> {
    Ok(NodeStudy {
        study_id: r.try_get("study_id")?,
        spec: serde_json::from_str(&r.try_get::<String, _>("spec_json")?).map_err(corrupt)?,
        researcher: r.try_get("researcher")?,
        organisation: r.try_get("organisation")?,
        state: r.try_get("state")?,
        reason: r.try_get("reason")?,
        decision_sent: r.try_get::<i64, _>("decision_sent")? != 0,
        cohort: r.try_get("cohort")?,
        consent_excluded: r.try_get("consent_excluded")?,
    })
}

/// Packs a row mask into bytes (bit i of byte i/8).
pub fn pack_bits(mask: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; mask.len().div_ceil(8)];
    for (i, &b) in mask.iter().enumerate() {
        if b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// Unpacks a row mask of `len` rows.
pub fn unpack_bits(bits: &[u8], len: usize) -> Vec<bool> {
    (0..len)
        .map(|i| bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
        .collect()
}

/// Number of rows in one mask but not the other (symmetric difference).
pub fn symmetric_difference(a: &[u8], b: &[u8]) -> u64 {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)).count_ones() as u64
        })
        .sum()
}

/// Tolerance for float sums of charges (a budget spent exactly is not overspent).
const RHO_SLACK: f64 = 1e-12;

async fn charge_in_tx(
    conn: &mut sqlx::SqliteConnection,
    study_id: &str,
    dataset: &str,
    researcher: &str,
    rho: f64,
    budget: f64,
) -> Result<Result<f64, f64>, NodeError> {
    let spent: f64 =
        sqlx::query("SELECT spent_rho FROM ledger WHERE dataset = ?1 AND researcher = ?2")
            .bind(dataset)
            .bind(researcher)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("spent_rho"))
            .transpose()?
            .unwrap_or(0.0);
    let already = sqlx::query("SELECT 1 FROM ledger_charges WHERE study_id = ?1 AND round = 0")
        .bind(study_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if already {
        return Ok(Ok(budget - spent));
    }
    if !(rho.is_finite() && rho > 0.0) || spent + rho > budget + RHO_SLACK {
        return Ok(Err(budget - spent));
    }
    sqlx::query("INSERT INTO ledger_charges (study_id, round, dataset, researcher, rho, charged_at) VALUES (?1, 0, ?2, ?3, ?4, ?5)")
        .bind(study_id)
        .bind(dataset)
        .bind(researcher)
        .bind(rho)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO ledger (dataset, researcher, spent_rho) VALUES (?1, ?2, ?3) \
         ON CONFLICT(dataset, researcher) DO UPDATE SET spent_rho = spent_rho + excluded.spent_rho",
    )
    .bind(dataset)
    .bind(researcher)
    .bind(rho)
    .execute(&mut *conn)
    .await?;
    Ok(Ok(budget - spent - rho))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_masks_round_trip_and_difference() {
        let a = [true, false, true, true, false, false, false, false, true];
        let b = [true, false, true, false, false, false, false, false, false];
        assert_eq!(unpack_bits(&pack_bits(&a), a.len()), a);
        assert_eq!(symmetric_difference(&pack_bits(&a), &pack_bits(&b)), 2);
    }
}
