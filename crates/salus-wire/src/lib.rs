//! The wire protocol: JSON bodies of the hub's HTTPS API, versioned by path (`/v1`).
//!
//! This crate is the only place where what crosses the network is defined. Nothing
//! here may carry patient rows: node-to-hub bodies hold study decisions, protocol
//! messages of the protection layer (masked vectors, ciphertexts, key shares), and
//! witness cosignatures.
//!
//! ```
//! use salus_wire::{ApiError, ErrorCode};
//! let e = ApiError::new(ErrorCode::NotFound, "no study with id 7");
//! let text = serde_json::to_string(&e).unwrap();
//! assert_eq!(text, r#"{"code":"not-found","error":"no study with id 7"}"#);
//! ```

use serde::{Deserialize, Serialize};

use salus_core::policy::Refusal;
use salus_core::privacy::PrivacyRecord;
use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;
use salus_study::RoundRequest;

/// The API version prefix every path starts with.
pub const API_PREFIX: &str = "/v1";

/// Machine-readable error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    Internal,
    Unavailable,
}

/// Every error response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    /// A sentence for the user: what went wrong and what to do.
    pub error: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        ApiError {
            code,
            error: error.into(),
        }
    }
}

/// `POST /v1/enroll` (no client certificate yet; the one-time token authenticates).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub token: String,
    /// The node's name, unique in the federation (e.g. `site-a`).
    pub name: String,
    /// PKCS#10 certificate signing request for the node's Ed25519 key, PEM.
    pub csr_pem: String,
}

/// The hub's answer to enrollment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub node_id: String,
    pub name: String,
    pub organisation: String,
    /// The node's certificate, PEM, signed by the hub CA.
    pub cert_pem: String,
    /// The hub CA certificate, PEM.
    pub ca_pem: String,
    /// The audit log's checkpoint-signing public key (signed-note verifier string).
    pub log_verifier: String,
}

/// `POST /v1/node/datasets`: a node announces a dataset's schema (never its rows).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetAnnouncement {
    pub name: String,
    pub schema: DatasetSchema,
    /// The node's minimum cell count, applied by the hub to released cells.
    pub min_cell_count: u64,
    /// SHA-256 of the node's policy in force, so the hub's audit log records policy
    /// changes (the node announces again when its policy changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_sha256: Option<String>,
}

/// One item of work for a node, delivered by long polling.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WorkItem {
    /// A new study the node must approve or refuse.
    Offer(StudyOffer),
    /// Compute a round's contribution and start the protection protocol.
    Round(RoundTask),
    /// A protection-protocol message addressed to this node.
    Protocol(ProtocolEnvelope),
    /// The study ended; the node may release per-study state.
    Closed { study_id: String, status: String },
}

/// A study offered to a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudyOffer {
    pub study_id: String,
    pub spec: StudySpec,
    pub researcher: String,
    pub organisation: String,
}

pub use salus_protect::Participant;

/// Protection parameters of a round.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProtectionParams {
    /// `secure-aggregation` or `threshold-he`.
    pub mode: String,
    /// Minimum number of surviving nodes.
    pub threshold: usize,
    /// Differential privacy of this round's release, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<salus_protect::DpRound>,
    /// Threshold HE: the researcher's public key the sum is re-encrypted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub researcher_key: Option<String>,
}

/// A round to compute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundTask {
    pub study_id: String,
    /// Attempt number: a round restarted after a hub restart gets a new attempt, and
    /// messages of older attempts are refused.
    pub attempt: u32,
    pub request: RoundRequest,
    pub participants: Vec<Participant>,
    pub protection: ProtectionParams,
}

/// A protection-protocol message between a node and the hub, bound to its round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProtocolEnvelope {
    pub study_id: String,
    pub round: u32,
    pub attempt: u32,
    pub body: serde_json::Value,
}

/// `GET /v1/node/poll?epoch=E&after=N&wait_ms=W` response. Items are numbered
/// within an epoch (one hub process lifetime); the node acknowledges everything up to
/// `last_seq` by sending it back as `after`, and resets when the epoch changes.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct PollResponse {
    pub epoch: String,
    pub last_seq: u64,
    pub items: Vec<WorkItem>,
    /// The latest signed audit checkpoint, for the node to witness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointOffer>,
}

/// A checkpoint with the consistency proof from the node's last cosigned size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointOffer {
    /// The signed note text.
    pub note: String,
    /// Size the proof starts from (the node's last cosigned size).
    pub from_size: u64,
    /// Consistency proof hashes, hex.
    pub proof: Vec<String>,
}

/// `POST /v1/node/cosign`: a witness cosignature by a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cosignature {
    pub tree_size: u64,
    /// The cosignature line (C2SP tlog-cosignature), as text.
    pub signature: String,
}

/// `POST /v1/node/consent-receipts`: hashes of consent receipts the node issued, for
/// the audit log. Never the consent record or the patient pseudonym.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsentReceiptReport {
    pub receipts: Vec<ConsentReceiptRef>,
}

/// One consent receipt, by hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsentReceiptRef {
    /// Position in the node's receipt chain.
    pub sequence: u64,
    /// Hex SHA-256 of the signed receipt.
    pub hash: String,
}

/// `POST /v1/node/studies/{id}/decision`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The node's minimum cell count (the hub releases with the largest).
    pub min_cell_count: u64,
    /// For a DP study: the node's privacy budget (rho) left after charging this study.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_rho: Option<f64>,
}

/// `POST /v1/node/studies/{id}/failure`: the node cannot compute a round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeFailure {
    pub round: u32,
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    pub message: String,
}

/// `POST /v1/studies` (researcher).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmitStudy {
    pub spec: StudySpec,
    /// For `threshold-he`: the researcher's HE public key (serialized), so the result
    /// is re-encrypted to them and nobody else can read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub researcher_key: Option<String>,
}

/// `POST /v1/studies/{id}/advance` (researcher): steers a threshold-HE study over several
/// rounds. Only the researcher can decrypt the round sums, so only they can take the
/// Newton step: after decrypting the sums up to `round` they send the next round's
/// request, or `next: null` when the model has converged (the study is then completed
/// and its result is the encrypted sums of every round).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdvanceStudy {
    /// The last round whose sum the researcher read.
    pub round: u32,
    /// The next round to run, or `None` when the study is complete.
    #[serde(default)]
    pub next: Option<salus_study::RoundRequest>,
}

/// A node's part in a study.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeStudyStatus {
    pub name: String,
    /// `offered`, `approved`, `refused`, `failed`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A study as seen by its researcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudyInfo {
    pub id: String,
    pub name: String,
    pub analysis: String,
    pub dataset: String,
    pub protection: String,
    /// `submitted`, `running`, `completed`, `failed`.
    pub status: String,
    pub round: u32,
    pub nodes: Vec<NodeStudyStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub submitted_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
}

/// A completed study's result, as released to its researcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudyResult {
    pub id: String,
    pub analysis: String,
    pub status: String,
    pub protection: String,
    pub result: serde_json::Value,
    pub privacy: PrivacyRecord,
}

/// A dataset in the hub catalogue: schema and holders, never rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub name: String,
    pub nodes: Vec<String>,
    pub schema: DatasetSchema,
}

/// A node as listed by the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node_id: String,
    pub name: String,
    pub organisation: String,
    pub status: String,
    pub enrolled_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}
