//! The HTTPS API. Handlers are thin: authenticate, call the store or coordinator,
//! answer JSON. Errors become `ApiError` bodies in one place ([`HubError`]'s
//! `IntoResponse`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use salus_core::schema::DatasetSchema;
use salus_study::plan::StudyPlan;
use salus_wire::{
    ApiError, DatasetAnnouncement, Decision, EnrollRequest, EnrollResponse, ErrorCode, NodeFailure,
    PollResponse, ProtocolEnvelope, StudyInfo, StudyResult, SubmitStudy,
};

use crate::ca::Ca;
use crate::coordinator::Coordinator;
use crate::store::{NodeRecord, StudyRow, TokenInfo};
use crate::{HubError, now_ms};

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub ca: Arc<Ca>,
    pub coordinator: Arc<Coordinator>,
    /// Signed-note verifier of the audit log's key (given to nodes at enrollment).
    pub log_verifier: Arc<String>,
}

/// The client certificate a connection presented (DER), set by the TLS acceptor.
#[derive(Debug, Clone, Default)]
pub struct PeerCert(pub Option<Vec<u8>>);

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            HubError::Invalid(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            HubError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            HubError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            HubError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            HubError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            HubError::Gone(_) => (StatusCode::GONE, ErrorCode::Gone),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "internal error");
        }
        (status, Json(ApiError::new(code, self.to_string()))).into_response()
    }
}

/// An authenticated node (mutual TLS, not revoked).
pub struct AuthNode(pub NodeRecord);

impl FromRequestParts<AppState> for AuthNode {
    type Rejection = HubError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let der = parts
            .extensions
            .get::<PeerCert>()
            .and_then(|p| p.0.clone())
            .ok_or_else(|| {
                HubError::Unauthorized(
                    "node endpoints need the node's client certificate (mutual TLS)".into(),
                )
            })?;
        let node = state
            .coordinator
            .store()
            .node_by_fingerprint(&salus_net::tls::fingerprint(&der))
            .await?;
        Ok(AuthNode(node))
    }
}

/// An authenticated person (bearer API token).
pub struct AuthUser(pub TokenInfo);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = HubError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                HubError::Unauthorized(
                    "missing `Authorization: Bearer <token>`; get a token from the hub operator"
                        .into(),
                )
            })?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            HubError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?;
        Ok(AuthUser(
            state.coordinator.store().check_token(token.trim()).await?,
        ))
    }
}

/// The router.
pub fn router(state: AppState) -> Router {
    let node = Router::new()
        .route("/poll", get(poll))
        .route("/datasets", post(announce_dataset))
        .route("/studies/{id}/decision", post(decide))
        .route("/studies/{id}/failure", post(node_failure))
        .route("/messages", post(protocol_message))
        .route("/cosign", post(cosign))
        .route("/consent-receipts", post(consent_receipts))
        .layer(DefaultBodyLimit::max(256 * 1024 * 1024));
    let v1 = Router::new()
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/ca", get(ca_pem))
        .route("/enroll", post(enroll))
        .route("/studies", post(submit).get(list_studies))
        .route("/studies/{id}", get(study_status))
        .route("/studies/{id}/result", get(study_result))
        .route("/studies/{id}/advance", post(advance_study))
        .route("/catalogue", get(catalogue))
        .route("/nodes", get(list_nodes))
        .route("/audit/key", get(audit_key))
        .route("/audit/export", get(audit_export))
        .route("/audit/proof", get(audit_proof))
        .nest("/node", node);
    Router::new()
        .nest(salus_wire::API_PREFIX, v1)
        .fallback(|| async {
            HubError::NotFound("no such endpoint; the API lives under /v1".into())
        })
        .with_state(state)
}

async fn ca_pem(State(s): State<AppState>) -> String {
    s.ca.cert_pem().to_string()
}

async fn enroll(
    State(s): State<AppState>,
    Json(req): Json<EnrollRequest>,
) -> Result<Json<EnrollResponse>, HubError> {
    let name = req.name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(HubError::Invalid(
            "node names are 1-64 letters, digits, `-` or `_` (e.g. `site-a`)".into(),
        ));
    }
    let ca = s.ca.clone();
    let csr = req.csr_pem.clone();
    let (node_id, organisation, issued) = s
        .coordinator
        .store()
        .enroll_node(&req.token, name, |node_id, org| {
            ca.sign_node_csr(&csr, node_id, org)
        })
        .await?;
    Ok(Json(EnrollResponse {
        node_id,
        name: name.to_string(),
        organisation,
        cert_pem: issued.cert_pem,
        ca_pem: s.ca.cert_pem().to_string(),
        log_verifier: s.log_verifier.to_string(),
    }))
}

#[derive(Debug, Deserialize)]
struct PollQuery {
    #[serde(default)]
    epoch: String,
    #[serde(default)]
    after: u64,
    #[serde(default = "default_wait")]
    wait_ms: u64,
    /// Size of the audit tree the node's witness has verified (proofs start there).
    #[serde(default)]
    witnessed: Option<u64>,
}

fn default_wait() -> u64 {
    25_000
}

async fn poll(
    State(s): State<AppState>,
    AuthNode(node): AuthNode,
    Query(q): Query<PollQuery>,
) -> Result<Json<PollResponse>, HubError> {
    s.coordinator.store().touch_node(&node.node_id).await?;
    let wait = Duration::from_millis(q.wait_ms.min(60_000));
    let (last_seq, items) = s
        .coordinator
        .poll(&node.node_id, &q.epoch, q.after, wait)
        .await;
    let cosigned = node.cosigned_size.max(0) as u64;
    let checkpoint = s
        .coordinator
        .store()
        .audit
        .offer(cosigned, q.witnessed.unwrap_or(cosigned))?;
    Ok(Json(PollResponse {
        epoch: s.coordinator.epoch().to_string(),
        last_seq,
        items,
        checkpoint,
    }))
}

async fn announce_dataset(
    State(s): State<AppState>,
    AuthNode(node): AuthNode,
    Json(a): Json<DatasetAnnouncement>,
) -> Result<Json<serde_json::Value>, HubError> {
    a.schema
        .validate()
        .map_err(|e| HubError::Invalid(e.to_string()))?;
    if a.name.trim().is_empty() {
        return Err(HubError::Invalid("a dataset needs a name".into()));
    }
    s.coordinator
        .store()
        .announce_dataset(
            &node,
            &a.name,
            &a.schema,
            a.min_cell_count.max(1),
            a.policy_sha256.as_deref(),
        )
        .await?;
    Ok(Json(
        serde_json::json!({"dataset": a.name, "node": node.name}),
    ))
}

async fn decide(
    State(s): State<AppState>,
    AuthNode(node): AuthNode,
    Path(id): Path<String>,
    Json(d): Json<Decision>,
) -> Result<Json<serde_json::Value>, HubError> {
    let reason = d.refusal.map(|r| r.to_string());
    let nodes = s
        .coordinator
        .store()
        .record_decision(
            &id,
            &node,
            d.approve,
            reason,
            d.min_cell_count.max(1),
            d.remaining_rho,
        )
        .await?;
    s.coordinator.after_decision(&id, &nodes).await?;
    Ok(Json(serde_json::json!({"study": id, "recorded": true})))
}

async fn node_failure(
    State(s): State<AppState>,
    AuthNode(node): AuthNode,
    Path(id): Path<String>,
    Json(f): Json<NodeFailure>,
) -> Result<Json<serde_json::Value>, HubError> {
    let message = match f.refusal {
        Some(r) => r.to_string(),
        None => f.message,
    };
    s.coordinator.node_failed(&node, &id, &message).await?;
    Ok(Json(serde_json::json!({"study": id, "recorded": true})))
}

async fn protocol_message(
    State(s): State<AppState>,
    AuthNode(node): AuthNode,
    Json(env): Json<ProtocolEnvelope>,
) -> Result<Json<serde_json::Value>, HubError> {
    s.coordinator.receive(&node.node_id, env).await?;
    Ok(Json(serde_json::json!({"accepted": true})))
}

async fn submit(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Json(req): Json<SubmitStudy>,
) -> Result<(StatusCode, Json<StudyInfo>), HubError> {
    if user.scope != "researcher" && user.scope != "admin" {
        return Err(HubError::Forbidden(
            "this token may not submit studies".into(),
        ));
    }
    let spec = req.spec;
    spec.validate()
        .map_err(|e| HubError::Invalid(e.to_string()))?;
    let store = s.coordinator.store();
    let holders = store.dataset_holders(&spec.dataset).await?;
    if holders.is_empty() {
        let known: Vec<String> = store
            .catalogue()
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        return Err(HubError::NotFound(format!(
            "no node holds dataset `{}`; the catalogue has: {}",
            spec.dataset,
            if known.is_empty() {
                "nothing yet".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    let chosen: Vec<_> = if spec.nodes.is_empty() {
        holders
    } else {
        for n in &spec.nodes {
            if !holders.iter().any(|(h, _, _)| &h.name == n) {
                return Err(HubError::Invalid(format!(
                    "node `{n}` does not hold dataset `{}` (holders: {})",
                    spec.dataset,
                    holders
                        .iter()
                        .map(|(h, _, _)| h.name.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        holders
            .into_iter()
            .filter(|(h, _, _)| spec.nodes.contains(&h.name))
            .collect()
    };
    let schema = common_schema(&spec, &chosen)?;
    let plan = StudyPlan::new(&spec, &schema).map_err(|e| HubError::Invalid(e.to_string()))?;
    let row = StudyRow {
        id: crate::random_id()[..16].to_string(),
        researcher: user.name.clone(),
        organisation: user.organisation.clone(),
        spec,
        status: "submitted".into(),
        error: None,
        plan_json: serde_json::to_string(&plan).map_err(|e| HubError::Corrupt(e.to_string()))?,
        round: 0,
        attempt: 0,
        result_json: None,
        privacy_json: None,
        researcher_key: req.researcher_key,
        submitted_at: now_ms(),
        finished_at: None,
    };
    let nodes: Vec<NodeRecord> = chosen.into_iter().map(|(n, _, _)| n).collect();
    store.insert_study(&row, &nodes).await?;
    s.coordinator.offer(&row).await?;
    let info = store.study_info(&store.study(&row.id).await?).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// The schema every chosen node declares for the study's columns (they must agree).
fn common_schema(
    spec: &salus_core::study::StudySpec,
    chosen: &[(NodeRecord, DatasetSchema, u64)],
) -> Result<DatasetSchema, HubError> {
    let (first_node, first, _) = &chosen[0];
    let mut used: Vec<&str> = spec.analysis.columns();
    let filter = salus_study::cohort::Filter::parse(&spec.cohort)
        .map_err(|e| HubError::Invalid(e.to_string()))?;
    used.extend(filter.columns());
    for (node, schema, _) in &chosen[1..] {
        for c in &used {
            if schema.columns.get(*c) != first.columns.get(*c) {
                return Err(HubError::Conflict(format!(
                    "nodes `{}` and `{}` declare column `{c}` differently; the data stewards must align their schemas",
                    first_node.name, node.name
                )));
            }
        }
    }
    Ok(first.clone())
}

fn can_see(user: &TokenInfo, study: &StudyRow) -> Result<(), HubError> {
    if user.scope == "admin" || user.name == study.researcher {
        Ok(())
    } else {
        Err(HubError::NotFound(format!(
            "no study with id `{}`",
            study.id
        )))
    }
}

async fn list_studies(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<StudyInfo>>, HubError> {
    let store = s.coordinator.store();
    let who = (user.scope != "admin").then_some(user.name.as_str());
    let mut out = Vec::new();
    for row in store.studies(who, None).await? {
        out.push(store.study_info(&row).await?);
    }
    Ok(Json(out))
}

async fn study_status(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<StudyInfo>, HubError> {
    let store = s.coordinator.store();
    let row = store.study(&id).await?;
    can_see(&user, &row)?;
    Ok(Json(store.study_info(&row).await?))
}

async fn study_result(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<StudyResult>, HubError> {
    let store = s.coordinator.store();
    let row = store.study(&id).await?;
    can_see(&user, &row)?;
    match (&row.result_json, &row.privacy_json) {
        (Some(r), Some(p)) => Ok(Json(StudyResult {
            id: row.id.clone(),
            analysis: row.spec.analysis.kind().to_string(),
            status: row.status.clone(),
            protection: row.spec.protection.as_str().to_string(),
            result: serde_json::from_str(r).map_err(|e| HubError::Corrupt(e.to_string()))?,
            privacy: serde_json::from_str(p).map_err(|e| HubError::Corrupt(e.to_string()))?,
        })),
        _ => Err(HubError::Conflict(match row.status.as_str() {
            "failed" => format!("study `{id}` failed: {}", row.error.unwrap_or_default()),
            other => format!("study `{id}` has no result yet (status: {other})"),
        })),
    }
}

async fn advance_study(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Json(req): Json<salus_wire::AdvanceStudy>,
) -> Result<Json<StudyInfo>, HubError> {
    let store = s.coordinator.store();
    let row = store.study(&id).await?;
    can_see(&user, &row)?;
    if user.name != row.researcher {
        return Err(HubError::Forbidden(
            "only the researcher who submitted the study can steer it".into(),
        ));
    }
    s.coordinator.advance(&row, req).await?;
    let row = store.study(&id).await?;
    Ok(Json(store.study_info(&row).await?))
}

async fn catalogue(
    State(s): State<AppState>,
    AuthUser(_): AuthUser,
) -> Result<Json<Vec<salus_wire::CatalogueEntry>>, HubError> {
    Ok(Json(s.coordinator.store().catalogue().await?))
}

async fn list_nodes(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<salus_wire::NodeInfo>>, HubError> {
    if user.scope != "admin" {
        return Err(HubError::Forbidden(
            "listing nodes needs an admin token".into(),
        ));
    }
    Ok(Json(s.coordinator.store().list_nodes().await?))
}

/// `POST /v1/node/cosign`: a node's witness cosignature of a checkpoint.
async fn cosign(
    State(s): State<AppState>,
    AuthNode(node): AuthNode,
    Json(c): Json<salus_wire::Cosignature>,
) -> Result<Json<serde_json::Value>, HubError> {
    s.coordinator.store().accept_cosignature(&node, &c).await?;
    Ok(Json(
        serde_json::json!({"tree_size": c.tree_size, "recorded": true}),
    ))
}

/// A node reports the hashes of consent receipts it issued; each becomes a
/// `consent.changed` audit entry (the hub never sees the consent itself).
async fn consent_receipts(
    State(s): State<AppState>,
    AuthNode(node): AuthNode,
    Json(report): Json<salus_wire::ConsentReceiptReport>,
) -> Result<Json<serde_json::Value>, HubError> {
    for r in &report.receipts {
        if r.hash.len() != 64 || !r.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(HubError::Invalid(format!(
                "consent receipt {} has no SHA-256 hex hash",
                r.sequence
            )));
        }
    }
    s.coordinator
        .store()
        .record_consent_receipts(&node, &report.receipts)
        .await?;
    Ok(Json(serde_json::json!({"recorded": report.receipts.len()})))
}

#[derive(Debug, Deserialize)]
struct ProofQuery {
    entry: u64,
}

/// `GET /v1/audit/proof?entry=N`: inclusion proof of one entry against the latest
/// signed checkpoint (any valid token; entries hold ids and hashes only).
async fn audit_proof(
    State(s): State<AppState>,
    AuthUser(_user): AuthUser,
    Query(q): Query<ProofQuery>,
) -> Result<Json<serde_json::Value>, HubError> {
    Ok(Json(s.coordinator.store().audit.inclusion(q.entry)?))
}

/// `GET /v1/audit/key`: the log's verifier key, for auditors to pin.
async fn audit_key(State(s): State<AppState>) -> String {
    s.log_verifier.to_string()
}

/// `GET /v1/audit/export`: the whole log, checkpoints and cosignatures (any valid
/// researcher or admin token; entries hold ids and hashes only).
async fn audit_export(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Response, HubError> {
    if user.scope != "admin" && user.scope != "researcher" {
        return Err(HubError::Forbidden(
            "exporting the audit log needs a researcher or admin token".into(),
        ));
    }
    let bytes = s.coordinator.store().audit_export().await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response())
}
