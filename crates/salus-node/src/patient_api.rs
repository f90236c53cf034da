//! The patients' consent API, served by the node itself (HTTPS, for the hospital's
//! patient portal on its own network; the node still makes no connection to the
//! hub other than outbound).
//!
//! A patient authenticates with a bearer token the data steward issued for their
//! pseudonym (`salus node consent token`); tokens are stored hashed and expire.
//! Passkeys replace tokens later. A patient can only see and change their own consent:
//!
//! * `GET /v1/patient/consent`: their records and the effective research decision now;
//! * `POST /v1/patient/consent` with `{"decision": "permit"|"deny", "purposes":
//!   ["research", "study:<name>", ...], "categories": [...]}` (categories optional: all):
//!   a new consent record, effective for every study frozen from now on, answered
//!   with its signed receipt (the node reports the receipt's hash to the hub's audit log).

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ed25519_dalek::SigningKey;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::RngCore;
use salus_consent::{ConsentRecord, DataCategory, Decision, Provision, Purpose};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::store::NodeStore;
use crate::{NodeConfig, NodeError, consent};

/// Prefix of patient tokens.
const TOKEN_PREFIX: &str = "spt_";

/// Issues a token for `patient` valid for `ttl_secs`; returns it (shown once).
pub async fn issue_token(
    store: &NodeStore,
    patient: &str,
    ttl_secs: i64,
) -> Result<String, NodeError> {
    if patient.trim().is_empty() {
        return Err(NodeError::Invalid(
            "a patient token needs a pseudonym".into(),
        ));
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let now = consent::now_seconds();
    sqlx::query(
        "INSERT INTO patient_tokens (token_hash, patient, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(token_hash(&token))
    .bind(patient)
    .bind(now.saturating_add(ttl_secs))
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(token)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The patient a token belongs to, if it is known and not expired.
async fn patient_of(store: &NodeStore, token: &str) -> Result<Option<String>, NodeError> {
    let row = sqlx::query("SELECT patient, expires_at FROM patient_tokens WHERE token_hash = ?1")
        .bind(token_hash(token))
        .fetch_optional(store.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let expires: i64 = row.try_get("expires_at")?;
    if expires <= consent::now_seconds() {
        return Ok(None);
    }
    Ok(Some(row.try_get("patient")?))
}

#[derive(Clone)]
struct ApiState {
    store: NodeStore,
    issuer: String,
    key: SigningKey,
}

/// A running patient API.
#[derive(Debug)]
pub struct PatientApi {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl PatientApi {
    /// Stops accepting connections.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Starts the API on `listen` with a server certificate chain and key (PEM) the
/// portal trusts; the node must be enrolled (receipts are signed by its identity key).
pub async fn start(
    config: &NodeConfig,
    listen: SocketAddr,
    chain_pem: &str,
    key_pem: &str,
) -> Result<PatientApi, NodeError> {
    let identity = crate::identity::load(config)?;
    let key = identity.signing_key()?;
    let store = NodeStore::open(config).await?;
    let state = ApiState {
        store,
        issuer: identity.info.name.clone(),
        key,
    };
    let app = Router::new()
        .route("/v1/patient/consent", get(show).post(change))
        .with_state(state);
    // No client certificates: patients authenticate with tokens. The chain's own
    // certificates stand in as the (unused) client CA.
    let tls = salus_net::tls::server_config(chain_pem, key_pem, chain_pem)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| NodeError::io(std::path::Path::new(&listen.to_string()), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| NodeError::io(std::path::Path::new(&listen.to_string()), e))?;
    let (shutdown, rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, acceptor, app, rx));
    Ok(PatientApi {
        addr,
        shutdown,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!(error = %e, "patient API: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    app.clone().oneshot(req)
                });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                tracing::debug!(error = %e, "patient API connection ended with an error");
            }
        });
    }
}

/// An API error as JSON (`{"error", "code"}`), the shape the Salus client reads.
struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.2, "code": self.1});
        (self.0, Json(body)).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Invalid(m) => ApiError(StatusCode::BAD_REQUEST, "invalid", m),
            other => {
                tracing::error!(error = %other, "patient API");
                ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the node could not complete the request; try again later".into(),
                )
            }
        }
    }
}

async fn authenticate(state: &ApiState, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| t.starts_with(TOKEN_PREFIX));
    let unauthorized = || {
        ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid patient token is needed (Authorization: Bearer spt_...); ask the hospital for a new one if yours expired".into(),
        )
    };
    let token = token.ok_or_else(unauthorized)?;
    patient_of(&state.store, token)
        .await?
        .ok_or_else(unauthorized)
}

async fn show(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let patient = authenticate(&state, &headers).await?;
    let policy = state.store.policy().await?;
    let mine = consent::records_of(&state.store, &patient).await?;
    let registry = consent::registry(mine.clone(), policy.consent_default)?;
    let research = registry.evaluate(&patient, &Purpose::Research, &[], consent::now_seconds());
    Ok(Json(serde_json::json!({
        "patient": patient,
        "records": mine,
        "research": if research.decision == Decision::Permit { "permit" } else { "deny" },
        "default": policy.consent_default,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentChange {
    decision: String,
    purposes: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
}

async fn change(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Json<ConsentChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let patient = authenticate(&state, &headers).await?;
    let Json(change) = body.map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("expected {{\"decision\": \"permit\"|\"deny\", \"purposes\": [...], \"categories\": [...]}}: {e}"),
        )
    })?;
    let record = record_for(&patient, &change)?;
    let now = consent::now_seconds();
    let stored = consent::record(&state.store, &state.issuer, &state.key, &[record], now).await?;
    let s = &stored[0];
    Ok(Json(serde_json::json!({
        "record": s.record.id,
        "receipt": s.receipt,
        "sha256": s.receipt_hash,
    })))
}

fn record_for(patient: &str, change: &ConsentChange) -> Result<ConsentRecord, ApiError> {
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, "invalid", m);
    let decision = match change.decision.as_str() {
        "permit" => Decision::Permit,
        "deny" => Decision::Deny,
        other => {
            return Err(bad(format!(
                "decision must be permit or deny, not `{other}`"
            )));
        }
    };
    if change.purposes.is_empty() {
        return Err(bad("name at least one purpose (e.g. research)".into()));
    }
    let purposes = change
        .purposes
        .iter()
        .map(|p| Purpose::from_str(p).map_err(|e| bad(format!("purpose `{p}`: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let categories = change
        .categories
        .iter()
        .map(|c| DataCategory::from_str(c).map_err(|e| bad(format!("category `{c}`: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut provision = Provision::all(decision).for_purposes(purposes);
    if !categories.is_empty() {
        provision = provision.for_categories(categories);
    }
    Ok(ConsentRecord::new(
        &consent::fresh_record_id("patient-api"),
        patient,
        consent::now_seconds(),
        "patient-api",
        provision,
    ))
}
