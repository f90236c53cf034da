//! The hub's side of the protection protocols, behind one interface: a session per
//! (study, round, attempt) that receives node messages, emits messages to nodes, and
//! eventually yields the element-wise sum of the nodes' vectors — or fails having
//! revealed nothing.

use std::collections::{BTreeMap, BTreeSet};

use salus_study::layout::Layout;
use salus_wire::Participant;

/// The outcome of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The element-wise sum of the contributors' vectors.
    pub sum: Vec<f64>,
    /// Node ids whose vectors are in the sum.
    pub contributors: Vec<String>,
    /// Node ids that dropped out.
    pub dropped: Vec<String>,
    /// What the hub observed, for the privacy record.
    pub hub_saw: String,
}

/// Why a session failed.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFailure {
    pub message: String,
    /// Nodes that did not answer in time (candidates for a retry).
    pub missing: Vec<String>,
}

/// One protection-protocol session on the hub.
pub trait HubSession: Send {
    /// A protocol message from a participant.
    fn receive(&mut self, from: &str, body: serde_json::Value, now_ms: u64) -> Result<(), String>;
    /// Messages to deliver, as (node id, body).
    fn take_outgoing(&mut self) -> Vec<(String, serde_json::Value)>;
    /// Advances timers: a deadline passed means missing nodes count as dropped.
    fn tick(&mut self, now_ms: u64);
    /// `Some` once the session finished.
    fn outcome(&self) -> Option<Result<Aggregate, SessionFailure>>;
}

/// Everything a session needs to start.
#[derive(Debug, Clone)]
pub struct SessionParams {
    pub session_id: String,
    pub participants: Vec<Participant>,
    pub threshold: usize,
    pub layout: Layout,
    pub deadline_ms: u64,
}

/// Development-only session that receives plain vectors. It exists to test the
/// coordinator's round logic in isolation and is never selected for a study.
#[derive(Debug)]
pub struct PlainSession {
    params: SessionParams,
    received: BTreeMap<String, Vec<f64>>,
    expired: bool,
}

impl PlainSession {
    pub fn new(params: SessionParams) -> Self {
        PlainSession {
            params,
            received: BTreeMap::new(),
            expired: false,
        }
    }
}

impl HubSession for PlainSession {
    fn receive(&mut self, from: &str, body: serde_json::Value, _now: u64) -> Result<(), String> {
        let values: Vec<f64> = serde_json::from_value(body).map_err(|e| e.to_string())?;
        if values.len() != self.params.layout.len() {
            return Err(format!("expected {} values", self.params.layout.len()));
        }
        self.received.insert(from.to_string(), values);
        Ok(())
    }

    fn take_outgoing(&mut self) -> Vec<(String, serde_json::Value)> {
        Vec::new()
    }

    fn tick(&mut self, now: u64) {
        if now >= self.params.deadline_ms {
            self.expired = true;
        }
    }

    fn outcome(&self) -> Option<Result<Aggregate, SessionFailure>> {
        let all: BTreeSet<&str> = self.params.participants.iter().map(|p| p.node_id.as_str()).collect();
        let got: BTreeSet<&str> = self.received.keys().map(String::as_str).collect();
        if got == all {
            let mut sum = vec![0.0; self.params.layout.len()];
            for v in self.received.values() {
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
            }
            return Some(Ok(Aggregate {
                sum,
                contributors: all.iter().map(|s| s.to_string()).collect(),
                dropped: vec![],
                hub_saw: "each node's vector in the clear (development session)".into(),
            }));
        }
        self.expired.then(|| {
            Err(SessionFailure {
                message: "not every node answered in time".into(),
                missing: all.difference(&got).map(|s| s.to_string()).collect(),
            })
        })
    }
}
