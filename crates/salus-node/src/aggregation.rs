//! The node's side of the protection protocols, behind one interface: started with the
//! node's contribution vector, it answers hub messages until the round completes.

use salus_study::layout::Layout;
use salus_wire::Participant;

/// One protection-protocol session on the node.
pub trait NodeSession: Send {
    /// First messages to send after computing the contribution.
    fn start(&mut self) -> Result<Vec<serde_json::Value>, String>;
    /// A message from the hub; returns replies.
    fn handle(&mut self, body: serde_json::Value) -> Result<Vec<serde_json::Value>, String>;
}

/// What a session needs.
#[derive(Debug, Clone)]
pub struct NodeSessionParams {
    pub session_id: String,
    pub node_id: String,
    pub participants: Vec<Participant>,
    pub threshold: usize,
    pub layout: Layout,
    /// The node's Ed25519 identity seed (signs protocol messages).
    pub identity_seed: [u8; 32],
    /// Deterministic per-round secret for DP noise (same on a re-run of the round).
    pub noise_seed: [u8; 32],
    pub config: serde_json::Value,
}

/// Development-only session sending the plain vector (pairs with the hub's `PlainSession`).
#[derive(Debug)]
pub struct PlainNodeSession {
    values: Vec<f64>,
}

impl PlainNodeSession {
    pub fn new(values: Vec<f64>) -> Self {
        PlainNodeSession { values }
    }
}

impl NodeSession for PlainNodeSession {
    fn start(&mut self) -> Result<Vec<serde_json::Value>, String> {
        Ok(vec![serde_json::json!(self.values)])
    }

    fn handle(&mut self, _body: serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
        Ok(Vec::new())
    }
}

/// Builds a node session for a protection mode.
pub type NodeSessionFactory = std::sync::Arc<
    dyn Fn(&str, &NodeSessionParams, Vec<f64>) -> Result<Box<dyn NodeSession>, String> + Send + Sync,
>;

/// The development factory (plain vectors): for tests of the round logic only.
pub fn plain_sessions() -> NodeSessionFactory {
    std::sync::Arc::new(|_, _, values| Ok(Box::new(PlainNodeSession::new(values))))
}
