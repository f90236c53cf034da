//! Protection sessions: how one round's contribution vectors travel from the nodes to
//! a sum, without the hub seeing any single node's vector.
//!
//! The hub runs a [`HubSession`] per (study, round, attempt); each node runs a
//! [`NodeSession`] started with its contribution vector (shaped by the public
//! [`Layout`]). Sessions exchange opaque JSON messages that the services relay; the
//! hub session finally yields an [`Outcome`]: the sum (secure aggregation) or an
//! encrypted sum only the researcher can open (threshold HE), or a failure that
//! revealed nothing.
//!
//! This crate is sans-I/O: time is passed in, randomness comes from seeds.
//!
//! - [`product_factories`]: the factories the services use, dispatching on the mode name
//!   `"secure-aggregation"` ([`secure_aggregation`]) or `"threshold-he"` ([`threshold_he`]).
//! - [`ResearcherKeys`] and [`decrypt_encrypted_sum`]: the researcher's key pair and the
//!   opening of a threshold-HE result.
//! - [`plain`]: a development protocol that sends vectors in the clear (tests only).
//!
//! Calling convention for the services: the hub calls `tick(now)` periodically and passes
//! `now` to every `receive`, then delivers `take_outgoing()` and checks `outcome()`; a node
//! posts what `start()` returns, then posts what each `handle(message)` returns.
//!
//! ```
//! use salus_protect::{Participant, SessionParams, NodeSessionParams, Outcome, product_factories};
//! use salus_study::layout::Layout;
//!
//! let seeds: Vec<[u8; 32]> = (1..=3).map(|i| [i; 32]).collect();
//! let participants: Vec<Participant> = seeds.iter().enumerate().map(|(i, seed)| Participant {
//!     node_id: format!("node-{i}"),
//!     name: format!("Hospital {i}"),
//!     identity_key: hex::encode(ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes()),
//! }).collect();
//! let params = SessionParams {
//!     session_id: "study-1/0/0".into(),
//!     participants: participants.clone(),
//!     threshold: 3,
//!     layout: Layout::default().counts("patients", 1).reals("age_sum", 1),
//!     deadline_ms: 60_000,
//!     dp: None,
//!     researcher_key: None,
//! };
//! let (hubs, nodes) = product_factories();
//! let mut hub = hubs("secure-aggregation", &params)?;
//! let mut sessions = Vec::new();
//! let mut posts = Vec::new();
//! for (i, p) in participants.iter().enumerate() {
//!     let node = NodeSessionParams {
//!         session: params.clone(),
//!         node_id: p.node_id.clone(),
//!         identity_seed: seeds[i],
//!         noise_seed: [100 + i as u8; 32],
//!         fresh_seed: [200 + i as u8; 32],
//!     };
//!     let mut session = nodes("secure-aggregation", &node, vec![10.0 * (i as f64 + 1.0), 40.5])?;
//!     posts.extend(session.start()?.into_iter().map(|m| (p.node_id.clone(), m)));
//!     sessions.push(session);
//! }
//! // Relay messages: four node posts, three hub deliveries.
//! for _ in 0..4 {
//!     for (from, body) in posts.drain(..) {
//!         hub.receive(&from, body, 1_000)?;
//!     }
//!     for (to, body) in hub.take_outgoing() {
//!         let i = participants.iter().position(|p| p.node_id == to).expect("a participant");
//!         posts.extend(sessions[i].handle(body)?.into_iter().map(|m| (to.clone(), m)));
//!     }
//! }
//! let Some(Ok(Outcome::Sum(aggregate))) = hub.outcome() else { panic!("no sum") };
//! assert_eq!(aggregate.sum, vec![60.0, 121.5]);
//! assert_eq!(aggregate.contributors.len(), 3);
//! # Ok::<(), String>(())
//! ```

use salus_study::layout::Layout;

mod common;
pub mod encoding;
mod error;
mod noise;
pub mod plain;
pub mod researcher;
pub mod secure_aggregation;
pub mod threshold_he;

pub use common::MIN_PHASE_MS;
pub use error::ProtectError;
pub use noise::RECORD_DELTA;
pub use researcher::{EncryptedSum, ResearcherKeys, decrypt_encrypted_sum};
pub use secure_aggregation::{SecaggHub, SecaggNode};
pub use threshold_he::{HeHub, HeNode};

/// The participants of a round and their identity keys (for signed protocol messages).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Participant {
    pub node_id: String,
    pub name: String,
    /// Ed25519 public key of the node's enrolled identity, hex.
    pub identity_key: String,
}

/// The result of a hub session.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The element-wise sum of the contributors' vectors, in the clear to the hub.
    Sum(Aggregate),
    /// The sum, encrypted to the researcher's key: the hub cannot read it.
    Encrypted(EncryptedAggregate),
}

/// A plaintext sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub sum: Vec<f64>,
    /// Node ids whose vectors are in the sum.
    pub contributors: Vec<String>,
    /// Node ids that dropped out.
    pub dropped: Vec<String>,
    /// What the hub observed, for the privacy record.
    pub hub_saw: String,
    /// Differential-privacy noise in the sum, if any (description for the record).
    pub noise: Option<serde_json::Value>,
}

/// An encrypted sum for the researcher.
#[derive(Debug, Clone, PartialEq)]
pub struct EncryptedAggregate {
    /// The ciphertext (serialized, versioned), to be decrypted by the researcher's key.
    pub ciphertext: String,
    pub contributors: Vec<String>,
    pub hub_saw: String,
}

/// Why a session failed (nothing was revealed).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFailure {
    pub message: String,
    /// Nodes that did not answer in time (candidates for a retry).
    pub missing: Vec<String>,
}

/// Differential privacy for a round: the zCDP budget the round's release costs and
/// the sensitivity of the count segments it applies to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DpRound {
    /// rho charged for this round's release.
    pub rho: f64,
    /// L1 and L2 sensitivity of the noised (count) part of the vector.
    pub l1_sensitivity: f64,
    pub l2_sensitivity: f64,
}

/// What a hub session needs.
#[derive(Debug, Clone)]
pub struct SessionParams {
    /// Unique per (study, round, attempt); binds every message.
    pub session_id: String,
    pub participants: Vec<Participant>,
    /// Minimum number of contributions (secure aggregation) — threshold HE needs all.
    pub threshold: usize,
    pub layout: Layout,
    /// When missing nodes count as dropped (ms since the epoch).
    pub deadline_ms: u64,
    pub dp: Option<DpRound>,
    /// Threshold HE: the researcher's public key (serialized).
    pub researcher_key: Option<String>,
}

/// What a node session needs.
#[derive(Debug, Clone)]
pub struct NodeSessionParams {
    pub session: SessionParams,
    /// This node's id (one of the participants).
    pub node_id: String,
    /// The node's Ed25519 identity seed (signs protocol messages).
    pub identity_seed: [u8; 32],
    /// Per-round secret for DP noise: identical on a re-run of the same round, so a
    /// re-run reveals no second noisy sample.
    pub noise_seed: [u8; 32],
    /// Fresh randomness for masks and encryption.
    pub fresh_seed: [u8; 32],
}

/// The hub's side of one session.
pub trait HubSession: Send + Sync {
    /// A protocol message from a participant.
    fn receive(&mut self, from: &str, body: serde_json::Value, now_ms: u64) -> Result<(), String>;
    /// Messages to deliver, as (node id, body).
    fn take_outgoing(&mut self) -> Vec<(String, serde_json::Value)>;
    /// Advances timers.
    fn tick(&mut self, now_ms: u64);
    /// `Some` once finished.
    fn outcome(&self) -> Option<Result<Outcome, SessionFailure>>;
}

/// A node's side of one session.
pub trait NodeSession: Send + Sync {
    /// Messages to send once the contribution is computed.
    fn start(&mut self) -> Result<Vec<serde_json::Value>, String>;
    /// A message from the hub; returns replies.
    fn handle(&mut self, body: serde_json::Value) -> Result<Vec<serde_json::Value>, String>;
}

/// Creates hub sessions for a protection mode name (`secure-aggregation`, `threshold-he`).
pub type HubSessionFactory = std::sync::Arc<
    dyn Fn(&str, &SessionParams) -> Result<Box<dyn HubSession>, String> + Send + Sync,
>;

/// Creates node sessions for a protection mode name, given the contribution vector.
pub type NodeSessionFactory = std::sync::Arc<
    dyn Fn(&str, &NodeSessionParams, Vec<f64>) -> Result<Box<dyn NodeSession>, String>
        + Send
        + Sync,
>;

/// Opens the hub's side of a session for a mode name.
pub fn hub_session(
    mode: &str,
    params: &SessionParams,
) -> Result<Box<dyn HubSession>, ProtectError> {
    match mode {
        secure_aggregation::MODE => Ok(Box::new(SecaggHub::new(params)?)),
        threshold_he::MODE => Ok(Box::new(HeHub::new(params)?)),
        other => Err(ProtectError::UnknownMode(other.to_string())),
    }
}

/// Opens a node's side of a session for a mode name, with its contribution vector.
pub fn node_session(
    mode: &str,
    params: &NodeSessionParams,
    values: Vec<f64>,
) -> Result<Box<dyn NodeSession>, ProtectError> {
    match mode {
        secure_aggregation::MODE => Ok(Box::new(SecaggNode::new(params, values)?)),
        threshold_he::MODE => Ok(Box::new(HeNode::new(params, values)?)),
        other => Err(ProtectError::UnknownMode(other.to_string())),
    }
}

/// The factories the hub and node services use: `"secure-aggregation"` or
/// `"threshold-he"`; any other mode name is an error naming the two.
pub fn product_factories() -> (HubSessionFactory, NodeSessionFactory) {
    (
        std::sync::Arc::new(|mode, params| hub_session(mode, params).map_err(|e| e.to_string())),
        std::sync::Arc::new(|mode, params, values| {
            node_session(mode, params, values).map_err(|e| e.to_string())
        }),
    )
}
