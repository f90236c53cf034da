//! The hub's database: one code path for SQLite and PostgreSQL through sqlx's `Any`
//! driver, portable SQL (TEXT and BIGINT only, `$n` placeholders), one migration set.
//!
//! Every write runs in a transaction under a single writer lock, together with the
//! audit entry that records it (see [`crate::audit`]); a crash leaves either the change
//! and its audit entry, or neither.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;
use salus_wire::{CatalogueEntry, NodeInfo, NodeStudyStatus, StudyInfo};

use crate::audit::{AuditEvent, AuditLog};
use crate::{HubError, hash_secret, now_ms, random_id};

macro_rules! node_select {
    () => {
        "SELECT node_id, name, organisation, identity_key, status, revoked_at, cosigned_size FROM nodes"
    };
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The database, the writer lock and the in-memory audit tree.
#[derive(Debug)]
pub struct Store {
    pool: AnyPool,
    write_lock: tokio::sync::Mutex<()>,
    pub audit: AuditLog,
}

/// An open write transaction holding the writer lock; dropped without commit, it rolls back.
pub struct WriteTx<'a> {
    _guard: tokio::sync::MutexGuard<'a, ()>,
    pub tx: sqlx::Transaction<'static, sqlx::Any>,
    audit: &'a AuditLog,
}

impl std::fmt::Debug for WriteTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTx")
    }
}

impl WriteTx<'_> {
    /// Appends the audit events in the same transaction, commits, publishes the entries.
    pub async fn commit(mut self, events: Vec<AuditEvent>) -> Result<(), HubError> {
        let staged = self.audit.stage(&mut self.tx, &events).await?;
        self.tx.commit().await?;
        self.audit.publish(staged)
    }
}

/// A node as stored.
#[derive(Debug, Clone)]
pub struct NodeRecord {
    pub node_id: String,
    pub name: String,
    pub organisation: String,
    pub identity_key: String,
    pub status: String,
    pub revoked_at: Option<i64>,
    pub cosigned_size: i64,
}

/// An API token's owner and scope.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub name: String,
    pub organisation: String,
    pub scope: String,
}

/// A study row.
#[derive(Debug, Clone)]
pub struct StudyRow {
    pub id: String,
    pub researcher: String,
    pub organisation: String,
    pub spec: StudySpec,
    pub status: String,
    pub error: Option<String>,
    pub plan_json: String,
    pub round: i64,
    pub attempt: i64,
    pub result_json: Option<String>,
    pub privacy_json: Option<String>,
    pub researcher_key: Option<String>,
    pub submitted_at: i64,
    pub finished_at: Option<i64>,
}

/// A node's participation in a study.
#[derive(Debug, Clone)]
pub struct StudyNodeRow {
    pub node_id: String,
    pub name: String,
    pub identity_key: String,
    pub state: String,
    pub reason: Option<String>,
    pub min_cell_count: Option<i64>,
    /// Privacy budget the node reported left after a DP study's charge.
    pub remaining_rho: Option<f64>,
}

fn corrupt(e: impl std::fmt::Display) -> HubError {
    HubError::Corrupt(e.to_string())
}

impl Store {
    /// Connects (creating the SQLite file if needed), runs migrations, loads the audit tree.
    pub async fn open(url: &str, log: AuditLog) -> Result<Store, HubError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 1 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if is_sqlite {
                        // WAL: readers never block the writer; NORMAL sync is durable in WAL mode.
                        sqlx::query("PRAGMA journal_mode=WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout=5000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys=ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let store = Store {
            pool,
            write_lock: tokio::sync::Mutex::new(()),
            audit: log,
        };
        store.audit.load(&store.pool).await?;
        Ok(store)
    }

    /// The pool, for read-only queries of other modules.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write: takes the writer lock and opens a transaction. Stage changes
    /// on `tx`, then [`WriteTx::commit`] with the audit events that record them.
    pub async fn begin(&self) -> Result<WriteTx<'_>, HubError> {
        let guard = self.write_lock.lock().await;
        let tx = self.pool.begin().await?;
        Ok(WriteTx {
            _guard: guard,
            tx,
            audit: &self.audit,
        })
    }

    // ---- invites and enrollment ----

    /// Creates a one-time invite for an organisation; returns the secret (shown once).
    pub async fn create_invite(
        &self,
        organisation: &str,
        ttl_secs: i64,
    ) -> Result<String, HubError> {
        let secret = random_secret();
        let hash = hash_secret(&secret);
        let now = now_ms();
        let org = organisation.to_string();
        let event = AuditEvent::new(
            "invite.created",
            serde_json::json!({"organisation": organisation, "invite": &hash[..16]}),
        );
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query("INSERT INTO invites (token_hash, organisation, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(&hash)
                .bind(&org)
                .bind(now)
                .bind(now + ttl_secs * 1000)
                .execute(&mut **tx)
                .await?;
        }
        w.commit(vec![event]).await?;
        Ok(secret)
    }

    /// Redeems an invite and registers the node, in one transaction.
    pub async fn enroll_node(
        &self,
        invite_secret: &str,
        name: &str,
        issue: impl FnOnce(&str, &str) -> Result<crate::ca::IssuedNodeCert, HubError>,
    ) -> Result<(String, String, crate::ca::IssuedNodeCert), HubError> {
        let hash = hash_secret(invite_secret);
        let name = name.to_string();
        let _guard = self.write_lock.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT organisation, expires_at, used_at FROM invites WHERE token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            HubError::Unauthorized(
                "unknown invite token; ask the hub operator for a new one (`salus hub invite`)"
                    .into(),
            )
        })?;
        let organisation: String = row.try_get("organisation")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        if used_at.is_some() {
            return Err(HubError::Gone(
                "this invite was already used; invites are single-use, ask for a new one".into(),
            ));
        }
        if expires_at < now_ms() {
            return Err(HubError::Gone(
                "this invite has expired; ask the hub operator for a new one".into(),
            ));
        }
        let taken = sqlx::query("SELECT node_id FROM nodes WHERE name = $1")
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(HubError::Conflict(format!(
                "a node named `{name}` is already enrolled; choose another name"
            )));
        }
        let node_id = random_id();
        let issued = issue(&node_id, &organisation)?;
        let now = now_ms();
        sqlx::query("UPDATE invites SET used_at = $1, node_id = $2 WHERE token_hash = $3")
            .bind(now)
            .bind(&node_id)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO nodes (node_id, name, organisation, cert_fingerprint, identity_key, status, enrolled_at) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6)",
        )
        .bind(&node_id)
        .bind(&name)
        .bind(&organisation)
        .bind(&issued.fingerprint)
        .bind(&issued.identity_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let event = AuditEvent::new(
            "node.enrolled",
            serde_json::json!({"node_id": node_id, "name": name, "organisation": organisation, "cert_fingerprint": issued.fingerprint, "identity_key": issued.identity_key}),
        );
        let staged = self.audit.stage(&mut tx, &[event]).await?;
        tx.commit().await?;
        self.audit.publish(staged)?;
        Ok((node_id, organisation, issued))
    }

    /// The active node presenting this certificate, or why it may not connect.
    pub async fn node_by_fingerprint(&self, fingerprint: &str) -> Result<NodeRecord, HubError> {
        let row = sqlx::query(concat!(node_select!(), " WHERE cert_fingerprint = $1"))
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| {
                HubError::Unauthorized(
                    "this certificate is not enrolled here; enroll with `salus node enroll`".into(),
                )
            })?;
        let node = node_record(&row)?;
        if node.status != "active" {
            return Err(HubError::Forbidden(format!(
                "node `{}` was revoked; its certificate is no longer accepted (enroll again with a new invite)",
                node.name
            )));
        }
        Ok(node)
    }

    /// Marks a node as seen now.
    pub async fn touch_node(&self, node_id: &str) -> Result<(), HubError> {
        sqlx::query("UPDATE nodes SET last_seen = $1 WHERE node_id = $2")
            .bind(now_ms())
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes a node by name; its certificate is refused from now on.
    pub async fn revoke_node(&self, name: &str) -> Result<(), HubError> {
        let name = name.to_string();
        let event = AuditEvent::new("node.revoked", serde_json::json!({"name": name}));
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            let done = sqlx::query("UPDATE nodes SET status = 'revoked', revoked_at = $1 WHERE name = $2 AND status = 'active'")
                .bind(now_ms())
                .bind(&name)
                .execute(&mut **tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(HubError::NotFound(format!("no active node named `{name}`")));
            }
        }
        w.commit(vec![event]).await?;
        Ok(())
    }

    /// All nodes.
    pub async fn list_nodes(&self) -> Result<Vec<NodeInfo>, HubError> {
        let rows = sqlx::query("SELECT node_id, name, organisation, status, enrolled_at, last_seen FROM nodes ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(NodeInfo {
                    node_id: r.try_get("node_id")?,
                    name: r.try_get("name")?,
                    organisation: r.try_get("organisation")?,
                    status: r.try_get("status")?,
                    enrolled_at: r.try_get("enrolled_at")?,
                    last_seen: r.try_get("last_seen")?,
                })
            })
            .collect()
    }

    /// Records the largest tree size a node has cosigned.
    pub async fn set_cosigned(
        &self,
        node_id: &str,
        size: i64,
        signature: &str,
    ) -> Result<(), HubError> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE nodes SET cosigned_size = $1 WHERE node_id = $2 AND cosigned_size <= $1",
        )
        .bind(size)
        .bind(node_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM audit_cosignatures WHERE tree_size = $1 AND node_id = $2")
            .bind(size)
            .bind(node_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO audit_cosignatures (tree_size, node_id, signature) VALUES ($1, $2, $3)",
        )
        .bind(size)
        .bind(node_id)
        .bind(signature)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- API tokens ----

    /// Creates a scoped API token (`researcher` or `admin`); returns the secret.
    pub async fn create_token(
        &self,
        name: &str,
        organisation: &str,
        scope: &str,
        ttl_secs: i64,
    ) -> Result<String, HubError> {
        if !matches!(scope, "researcher" | "admin") {
            return Err(HubError::Invalid(format!(
                "unknown scope `{scope}`; use researcher or admin"
            )));
        }
        let secret = format!("slt_{}", random_secret());
        let hash = hash_secret(&secret);
        let (name, org, scope) = (
            name.to_string(),
            organisation.to_string(),
            scope.to_string(),
        );
        let now = now_ms();
        let event = AuditEvent::new(
            "token.created",
            serde_json::json!({"name": name, "organisation": org, "scope": scope}),
        );
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query("INSERT INTO api_tokens (token_hash, name, organisation, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&hash)
                .bind(&name)
                .bind(&org)
                .bind(&scope)
                .bind(now)
                .bind(now + ttl_secs * 1000)
                .execute(&mut **tx)
                .await?;
        }
        w.commit(vec![event]).await?;
        Ok(secret)
    }

    /// Revokes every token of a name.
    pub async fn revoke_tokens(&self, name: &str) -> Result<u64, HubError> {
        let name = name.to_string();
        let event = AuditEvent::new("token.revoked", serde_json::json!({"name": name}));
        let mut w = self.begin().await?;
        let value = {
            let tx = &mut w.tx;
            let r = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
            )
            .bind(now_ms())
            .bind(&name)
            .execute(&mut **tx)
            .await?;
            r.rows_affected()
        };
        w.commit(vec![event]).await?;
        Ok(value)
    }

    /// The owner of a bearer token, if valid.
    pub async fn check_token(&self, secret: &str) -> Result<TokenInfo, HubError> {
        let row = sqlx::query("SELECT name, organisation, scope, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1")
            .bind(hash_secret(secret))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| HubError::Unauthorized("unknown API token; ask the hub operator for one (`salus hub token`)".into()))?;
        let revoked: Option<i64> = row.try_get("revoked_at")?;
        if revoked.is_some() {
            return Err(HubError::Unauthorized(
                "this API token was revoked; ask the hub operator for a new one".into(),
            ));
        }
        let expires: i64 = row.try_get("expires_at")?;
        if expires < now_ms() {
            return Err(HubError::Unauthorized(
                "this API token has expired; ask the hub operator for a new one".into(),
            ));
        }
        Ok(TokenInfo {
            name: row.try_get("name")?,
            organisation: row.try_get("organisation")?,
            scope: row.try_get("scope")?,
        })
    }

    // ---- catalogue ----

    /// Records (or updates) a dataset announced by a node.
    pub async fn announce_dataset(
        &self,
        node: &NodeRecord,
        name: &str,
        schema: &DatasetSchema,
        min_cell: u64,
        policy_sha256: Option<&str>,
    ) -> Result<(), HubError> {
        let schema_json = serde_json::to_string(schema).map_err(corrupt)?;
        let schema_hash = crate::hash_secret(&schema_json);
        let (node_id, name_s) = (node.node_id.clone(), name.to_string());
        let event = AuditEvent::new(
            "dataset.published",
            serde_json::json!({"node": node.name, "dataset": name, "schema_sha256": schema_hash, "min_cell_count": min_cell, "policy_sha256": policy_sha256}),
        );
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query("DELETE FROM datasets WHERE name = $1 AND node_id = $2")
                .bind(&name_s)
                .bind(&node_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("INSERT INTO datasets (name, node_id, schema_json, min_cell_count, updated_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&name_s)
                .bind(&node_id)
                .bind(&schema_json)
                .bind(min_cell as i64)
                .bind(now_ms())
                .execute(&mut **tx)
                .await?;
        }
        w.commit(vec![event]).await?;
        Ok(())
    }

    /// Logs one event that changes no table (e.g. a completed key ceremony).
    pub async fn record_event(&self, event: AuditEvent) -> Result<(), HubError> {
        let w = self.begin().await?;
        w.commit(vec![event]).await
    }

    /// Logs consent receipt hashes reported by a node (one entry each, one commit).
    pub async fn record_consent_receipts(
        &self,
        node: &NodeRecord,
        receipts: &[salus_wire::ConsentReceiptRef],
    ) -> Result<(), HubError> {
        if receipts.is_empty() {
            return Ok(());
        }
        let events = receipts
            .iter()
            .map(|r| {
                AuditEvent::new(
                    "consent.changed",
                    serde_json::json!({"node": node.name, "sequence": r.sequence, "receipt_sha256": r.hash.to_ascii_lowercase()}),
                )
            })
            .collect();
        let w = self.begin().await?;
        w.commit(events).await
    }

    /// The nodes holding a dataset, with their schema (active nodes only).
    pub async fn dataset_holders(
        &self,
        name: &str,
    ) -> Result<Vec<(NodeRecord, DatasetSchema, u64)>, HubError> {
        let rows = sqlx::query(
            "SELECT n.node_id, n.name, n.organisation, n.identity_key, n.status, n.revoked_at, n.cosigned_size, d.schema_json, d.min_cell_count \
             FROM datasets d JOIN nodes n ON n.node_id = d.node_id WHERE d.name = $1 AND n.status = 'active' ORDER BY n.name",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let schema: DatasetSchema =
                    serde_json::from_str(&r.try_get::<String, _>("schema_json")?)
                        .map_err(corrupt)?;
                let min: i64 = r.try_get("min_cell_count")?;
                Ok((node_record(r)?, schema, min as u64))
            })
            .collect()
    }

    /// The catalogue: every dataset with its holders and schema.
    pub async fn catalogue(&self) -> Result<Vec<CatalogueEntry>, HubError> {
        let rows = sqlx::query(
            "SELECT d.name AS dataset, n.name AS node, d.schema_json FROM datasets d JOIN nodes n ON n.node_id = d.node_id \
             WHERE n.status = 'active' ORDER BY d.name, n.name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<CatalogueEntry> = Vec::new();
        for r in rows {
            let name: String = r.try_get("dataset")?;
            let node: String = r.try_get("node")?;
            match out.last_mut() {
                Some(e) if e.name == name => e.nodes.push(node),
                _ => out.push(CatalogueEntry {
                    name,
                    nodes: vec![node],
                    schema: serde_json::from_str(&r.try_get::<String, _>("schema_json")?)
                        .map_err(corrupt)?,
                }),
            }
        }
        Ok(out)
    }

    // ---- studies ----

    /// Inserts a new study offered to `nodes`.
    pub async fn insert_study(&self, row: &StudyRow, nodes: &[NodeRecord]) -> Result<(), HubError> {
        let spec_json = serde_json::to_string(&row.spec).map_err(corrupt)?;
        let event = AuditEvent::new(
            "study.submitted",
            serde_json::json!({
                "study": row.id, "researcher": row.researcher, "organisation": row.organisation,
                "dataset": row.spec.dataset, "analysis": row.spec.analysis.kind(),
                "protection": row.spec.protection.as_str(), "spec_sha256": hash_secret(&spec_json),
                "nodes": nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
            }),
        );
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query(
                "INSERT INTO studies (id, researcher, organisation, spec_json, status, plan_json, round, attempt, researcher_key, submitted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8)",
            )
            .bind(&row.id)
            .bind(&row.researcher)
            .bind(&row.organisation)
            .bind(&spec_json)
            .bind(&row.status)
            .bind(&row.plan_json)
            .bind(&row.researcher_key)
            .bind(row.submitted_at)
            .execute(&mut **tx)
            .await?;
            for n in nodes {
                sqlx::query(
                    "INSERT INTO study_nodes (study_id, node_id, state) VALUES ($1, $2, 'offered')",
                )
                .bind(&row.id)
                .bind(&n.node_id)
                .execute(&mut **tx)
                .await?;
            }
        }
        w.commit(vec![event]).await
    }

    /// A study by id.
    pub async fn study(&self, id: &str) -> Result<StudyRow, HubError> {
        let row = sqlx::query("SELECT * FROM studies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("no study with id `{id}`")))?;
        study_row(&row)
    }

    /// Studies, newest first; optionally only one researcher's and/or one status.
    pub async fn studies(
        &self,
        researcher: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<StudyRow>, HubError> {
        let rows = sqlx::query(
            "SELECT * FROM studies WHERE ($1 = '' OR researcher = $1) AND ($2 = '' OR status = $2) ORDER BY submitted_at DESC, id",
        )
        .bind(researcher.unwrap_or(""))
        .bind(status.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(study_row).collect()
    }

    /// The nodes of a study with their state.
    pub async fn study_nodes(&self, id: &str) -> Result<Vec<StudyNodeRow>, HubError> {
        let rows = sqlx::query(
            "SELECT s.node_id, n.name, n.identity_key, s.state, s.reason, s.min_cell_count, s.remaining_rho FROM study_nodes s \
             JOIN nodes n ON n.node_id = s.node_id WHERE s.study_id = $1 ORDER BY n.name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StudyNodeRow {
                    node_id: r.try_get("node_id")?,
                    name: r.try_get("name")?,
                    identity_key: r.try_get("identity_key")?,
                    state: r.try_get("state")?,
                    reason: r.try_get("reason")?,
                    min_cell_count: r.try_get("min_cell_count")?,
                    remaining_rho: r.try_get("remaining_rho")?,
                })
            })
            .collect()
    }

    /// Studies offered to a node that it has not decided yet.
    pub async fn pending_offers(&self, node_id: &str) -> Result<Vec<StudyRow>, HubError> {
        let rows = sqlx::query(
            "SELECT st.* FROM studies st JOIN study_nodes s ON s.study_id = st.id \
             WHERE s.node_id = $1 AND s.state = 'offered' AND st.status = 'submitted' ORDER BY st.submitted_at",
        )
        .bind(node_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(study_row).collect()
    }

    /// Records a node's decision; returns the study's node states afterwards.
    pub async fn record_decision(
        &self,
        study_id: &str,
        node: &NodeRecord,
        approve: bool,
        reason: Option<String>,
        min_cell: u64,
        remaining_rho: Option<f64>,
    ) -> Result<Vec<StudyNodeRow>, HubError> {
        let state = if approve { "approved" } else { "refused" };
        let event = AuditEvent::new(
            if approve {
                "study.approved"
            } else {
                "study.refused"
            },
            serde_json::json!({"study": study_id, "node": node.name, "reason": reason}),
        );
        let (sid, nid) = (study_id.to_string(), node.node_id.clone());
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            let r = sqlx::query(
                "UPDATE study_nodes SET state = $1, reason = $2, min_cell_count = $3, remaining_rho = $4 WHERE study_id = $5 AND node_id = $6 AND state = 'offered'",
            )
            .bind(state)
            .bind(&reason)
            .bind(min_cell as i64)
            .bind(remaining_rho)
            .bind(&sid)
            .bind(&nid)
            .execute(&mut **tx)
            .await?;
            if r.rows_affected() == 0 {
                return Err(HubError::Conflict(
                    "this node already decided on this study, or was not asked".into(),
                ));
            }
        }
        w.commit(vec![event]).await?;
        self.study_nodes(study_id).await
    }

    /// Sets a study's status (and error), recording it in the audit log.
    pub async fn set_status(
        &self,
        id: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), HubError> {
        let finished = matches!(status, "completed" | "failed").then(now_ms);
        let event = AuditEvent::new(
            &format!("study.{status}"),
            serde_json::json!({"study": id, "error": error}),
        );
        let (id, status, error) = (
            id.to_string(),
            status.to_string(),
            error.map(str::to_string),
        );
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query(
                "UPDATE studies SET status = $1, error = $2, finished_at = $3 WHERE id = $4",
            )
            .bind(&status)
            .bind(&error)
            .bind(finished)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        }
        w.commit(vec![event]).await
    }

    /// Marks a node's part in a study as failed, with the reason.
    pub async fn set_node_failed(
        &self,
        study_id: &str,
        node_id: &str,
        reason: &str,
    ) -> Result<(), HubError> {
        sqlx::query("UPDATE study_nodes SET state = 'failed', reason = $1 WHERE study_id = $2 AND node_id = $3")
            .bind(reason)
            .bind(study_id)
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Persists the plan after a completed round (and the attempt counter).
    pub async fn save_progress(
        &self,
        id: &str,
        plan_json: &str,
        round: i64,
        attempt: i64,
        event: Option<AuditEvent>,
    ) -> Result<(), HubError> {
        let (id, plan) = (id.to_string(), plan_json.to_string());
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query(
                "UPDATE studies SET plan_json = $1, round = $2, attempt = $3 WHERE id = $4",
            )
            .bind(&plan)
            .bind(round)
            .bind(attempt)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        }
        w.commit(event.into_iter().collect()).await
    }

    /// Threshold HE over several rounds: stores the encrypted sums so far and waits for the
    /// researcher to steer the next round (status `awaiting-researcher`).
    pub async fn await_researcher(
        &self,
        id: &str,
        result_json: &str,
        privacy_json: &str,
    ) -> Result<(), HubError> {
        let (id, result, privacy) = (
            id.to_string(),
            result_json.to_string(),
            privacy_json.to_string(),
        );
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query(
                "UPDATE studies SET status = 'awaiting-researcher', result_json = $1, privacy_json = $2 WHERE id = $3",
            )
            .bind(&result)
            .bind(&privacy)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        }
        w.commit(vec![]).await
    }

    /// The researcher steered the next round: the study runs again at `round`, with the
    /// steered request kept in `result_json` (so a hub restart resumes it).
    pub async fn resume_steered(
        &self,
        id: &str,
        round: i64,
        result_json: &str,
        event: AuditEvent,
    ) -> Result<(), HubError> {
        let (id, result) = (id.to_string(), result_json.to_string());
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query(
                "UPDATE studies SET status = 'running', round = $1, result_json = $2 WHERE id = $3",
            )
            .bind(round)
            .bind(&result)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        }
        w.commit(vec![event]).await
    }

    /// Stores the released result and marks the study completed, with its audit entry.
    pub async fn complete_study(
        &self,
        id: &str,
        plan_json: &str,
        result_json: &str,
        privacy_json: &str,
    ) -> Result<(), HubError> {
        let event = AuditEvent::new(
            "study.released",
            serde_json::json!({
                "study": id,
                "result_sha256": hash_secret(result_json),
                "privacy": serde_json::from_str::<serde_json::Value>(privacy_json).map_err(corrupt)?,
            }),
        );
        let (id, plan, result, privacy) = (
            id.to_string(),
            plan_json.to_string(),
            result_json.to_string(),
            privacy_json.to_string(),
        );
        let mut w = self.begin().await?;
        {
            let tx = &mut w.tx;
            sqlx::query(
                "UPDATE studies SET status = 'completed', plan_json = $1, result_json = $2, privacy_json = $3, finished_at = $4, error = NULL WHERE id = $5",
            )
            .bind(&plan)
            .bind(&result)
            .bind(&privacy)
            .bind(now_ms())
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        }
        w.commit(vec![event]).await
    }

    /// The researcher-facing view of a study.
    pub async fn study_info(&self, row: &StudyRow) -> Result<StudyInfo, HubError> {
        let nodes = self
            .study_nodes(&row.id)
            .await?
            .into_iter()
            .map(|n| NodeStudyStatus {
                name: n.name,
                state: n.state,
                reason: n.reason,
            })
            .collect();
        Ok(StudyInfo {
            id: row.id.clone(),
            name: row.spec.name.clone(),
            analysis: row.spec.analysis.kind().to_string(),
            dataset: row.spec.dataset.clone(),
            protection: row.spec.protection.as_str().to_string(),
            status: row.status.clone(),
            round: row.round as u32,
            nodes,
            error: row.error.clone(),
            submitted_at: row.submitted_at,
            finished_at: row.finished_at,
        })
    }
}

fn node_record(r: &AnyRow) -> Result<NodeRecord, HubError> {
    Ok(NodeRecord {
        node_id: r.try_get("node_id")?,
        name: r.try_get("name")?,
        organisation: r.try_get("organisation")?,
        identity_key: r.try_get("identity_key")?,
        status: r.try_get("status")?,
        revoked_at: r.try_get("revoked_at")?,
        cosigned_size: r.try_get("cosigned_size")?,
    })
}

fn study_row(r: &AnyRow) -> Result<StudyRow, HubError> {
    Ok(StudyRow {
        id: r.try_get("id")?,
        researcher: r.try_get("researcher")?,
        organisation: r.try_get("organisation")?,
        spec: serde_json::from_str(&r.try_get::<String, _>("spec_json")?).map_err(corrupt)?,
        status: r.try_get("status")?,
        error: r.try_get("error")?,
        plan_json: r.try_get("plan_json")?,
        round: r.try_get("round")?,
        attempt: r.try_get("attempt")?,
        result_json: r.try_get("result_json")?,
        privacy_json: r.try_get("privacy_json")?,
        researcher_key: r.try_get("researcher_key")?,
        submitted_at: r.try_get("submitted_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

/// 256 random bits, base64url without padding.
pub fn random_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
