//! A development-only protocol that sends vectors in the clear. It exists to test the
//! services' round logic in isolation; the product's factories never select it.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Aggregate, HubSession, NodeSession, Outcome, SessionFailure, SessionParams};

/// Hub side: waits for every participant's vector.
#[derive(Debug)]
pub struct PlainHub {
    params: SessionParams,
    received: BTreeMap<String, Vec<f64>>,
    expired: bool,
}

impl PlainHub {
    pub fn new(params: SessionParams) -> Self {
        PlainHub {
            params,
            received: BTreeMap::new(),
            expired: false,
        }
    }
}

impl HubSession for PlainHub {
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

    fn outcome(&self) -> Option<Result<Outcome, SessionFailure>> {
        let all: BTreeSet<&str> = self
            .params
            .participants
            .iter()
            .map(|p| p.node_id.as_str())
            .collect();
        let got: BTreeSet<&str> = self.received.keys().map(String::as_str).collect();
        if got == all {
            let mut sum = vec![0.0; self.params.layout.len()];
            for v in self.received.values() {
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
            }
            return Some(Ok(Outcome::Sum(Aggregate {
                sum,
                contributors: all.iter().map(|s| s.to_string()).collect(),
                dropped: vec![],
                hub_saw: "each node's vector in the clear (development protocol)".into(),
                noise: None,
            })));
        }
        self.expired.then(|| {
            Err(SessionFailure {
                message: "not every node answered in time".into(),
                missing: all.difference(&got).map(|s| s.to_string()).collect(),
            })
        })
    }
}

/// Node side: sends its vector.
#[derive(Debug)]
pub struct PlainNode {
    values: Vec<f64>,
}

impl PlainNode {
    pub fn new(values: Vec<f64>) -> Self {
        PlainNode { values }
    }
}

impl NodeSession for PlainNode {
    fn start(&mut self) -> Result<Vec<serde_json::Value>, String> {
        Ok(vec![serde_json::json!(self.values)])
    }

    fn handle(&mut self, _body: serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
        Ok(Vec::new())
    }
}

/// Factories for the development protocol (tests of the services only).
pub fn factories() -> (crate::HubSessionFactory, crate::NodeSessionFactory) {
    (
        std::sync::Arc::new(|_, p| Ok(Box::new(PlainHub::new(p.clone())))),
        std::sync::Arc::new(|_, _, v| Ok(Box::new(PlainNode::new(v)))),
    )
}
