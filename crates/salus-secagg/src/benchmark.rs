//! One complete in-process round for benchmarks (`salus bench secagg`, criterion): N nodes
//! with fresh identity keys and random inputs, a fraction of them dropping out after
//! sharing keys (the costly case: the hub must rebuild their pairwise masks), every message
//! serialised to JSON and parsed back, and the result checked against the plain sum.
//!
//! Definitions used in the report:
//! - `bytes_per_node`: mean JSON bytes a surviving node posts over the four rounds;
//! - `expansion`: `bytes_per_node / (8 * dim)`, i.e. relative to the raw 64-bit plaintext
//!   vector. Bonawitz et al. report 1.73x for binary messages with 2^10 users; our JSON carries
//!   the masked vector in base64 (4/3 of raw), so the protocol overhead is expansion / 1.33.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::config::{Graph, NodeId, Participant, RoundConfig, RoundContext, RoundId};
use crate::error::SecaggError;
use crate::simulation::{self, DropPoint, SimulationOptions, Stopwatch};

/// Parameters of a benchmark round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchSetup {
    /// Number of nodes.
    pub clients: usize,
    /// Vector length.
    pub dimension: usize,
    /// Fraction of nodes that drop after sharing keys (0 to < 0.5).
    pub dropout: f64,
    /// Full or sparse graph.
    pub graph: Graph,
    /// Minimum survivors (defaults to a majority).
    pub threshold: usize,
    /// Seed for keys, inputs and the protocol's randomness.
    pub seed: u64,
}

impl BenchSetup {
    /// A setup with the defaults we benchmark: majority threshold; for the sparse graph a
    /// degree of 4 ceil(log2 n) (even, at most n - 1) and a majority share threshold.
    pub fn new(clients: usize, dimension: usize, dropout: f64, sparse: bool, seed: u64) -> Self {
        let graph = if sparse {
            default_sparse_graph(clients)
        } else {
            Graph::Full
        };
        Self {
            clients,
            dimension,
            dropout,
            graph,
            threshold: clients / 2 + 1,
            seed,
        }
    }
}

/// The sparse graph used by default: degree 4 ceil(log2 n), share threshold a majority of
/// the degree + 1 holders.
pub fn default_sparse_graph(clients: usize) -> Graph {
    let log2 = usize::BITS - clients.max(2).saturating_sub(1).leading_zeros();
    let mut degree = (4 * log2 as usize).min(clients.saturating_sub(1));
    degree -= degree % 2;
    let degree = degree.max(2);
    Graph::Sparse {
        degree,
        share_threshold: degree / 2 + 1,
    }
}

/// What `salus bench secagg --json` prints, in this field order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchResult {
    /// Number of nodes.
    pub clients: usize,
    /// Vector length.
    pub dim: usize,
    /// Nodes that dropped out.
    pub dropped: usize,
    /// Wall time of the whole round (all nodes + hub + JSON), seconds.
    pub seconds: f64,
    /// Time inside the hub state machine, seconds.
    pub hub_seconds: f64,
    /// Mean time inside one node's state machine, seconds.
    pub node_seconds_mean: f64,
    /// Mean JSON bytes one surviving node sends over the round.
    pub bytes_per_node: f64,
    /// bytes_per_node / (8 * dim).
    pub expansion: f64,
    /// Whether the released sum equals the plain sum of the survivors' inputs.
    pub correct: bool,
}

/// Runs one benchmark round.
pub fn run(setup: &BenchSetup, stopwatch: &dyn Stopwatch) -> Result<BenchResult, SecaggError> {
    if !(0.0..0.5).contains(&setup.dropout) {
        return Err(SecaggError::InvalidConfig(
            "dropout must be in [0, 0.5)".into(),
        ));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(setup.seed);
    let keys: Vec<SigningKey> = (0..setup.clients)
        .map(|_| {
            let mut secret = [0u8; 32];
            rng.fill_bytes(&mut secret);
            SigningKey::from_bytes(&secret)
        })
        .collect();
    let inputs: Vec<Vec<u64>> = (0..setup.clients)
        .map(|_| {
            (0..setup.dimension)
                .map(|_| u64::from(rng.next_u32()))
                .collect()
        })
        .collect();
    let config = RoundConfig {
        round_id: RoundId::derive("salus-bench", &setup.seed.to_be_bytes()),
        participants: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Participant::new(NodeId(i as u32 + 1), &k.verifying_key()))
            .collect(),
        threshold: setup.threshold,
        graph: setup.graph,
        dimension: setup.dimension,
        phase_timeout_ms: 60_000,
        noise: None,
    };
    let dropped = (setup.clients as f64 * setup.dropout).round() as usize;
    // Drop every k-th node so dropouts spread over the graph.
    let dropouts: BTreeMap<NodeId, DropPoint> = (0..dropped)
        .map(|i| {
            (
                NodeId((i * setup.clients / dropped.max(1)) as u32 + 1),
                DropPoint::BeforeMaskedInput,
            )
        })
        .collect();
    let start = stopwatch.elapsed();
    let context = Arc::new(RoundContext::new(config)?);
    let nodes = keys
        .into_iter()
        .zip(inputs.iter().cloned())
        .enumerate()
        .map(|(i, (k, x))| (NodeId(i as u32 + 1), k, x))
        .collect();
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let options = SimulationOptions {
        dropouts: dropouts.clone(),
        through_json: true,
    };
    let report = simulation::simulate(context, nodes, seed, &options, stopwatch);
    let seconds = (stopwatch.elapsed() - start).as_secs_f64();
    let output = report.result?;
    let survivors: Vec<NodeId> = (1..=setup.clients as u32)
        .map(NodeId)
        .filter(|id| !dropouts.contains_key(id))
        .collect();
    let mut expected = vec![0u64; setup.dimension];
    for id in &survivors {
        for (total, value) in expected.iter_mut().zip(&inputs[id.0 as usize - 1]) {
            *total = total.wrapping_add(*value);
        }
    }
    let n = setup.clients as f64;
    // Bytes are averaged over the nodes that completed the round (as Bonawitz et al. do).
    let completed: Vec<usize> = output
        .survivors
        .iter()
        .filter_map(|id| report.bytes_sent.get(id).copied())
        .collect();
    let bytes_per_node = completed.iter().sum::<usize>() as f64 / completed.len().max(1) as f64;
    let node_total: Duration = report.node_time.values().sum();
    Ok(BenchResult {
        clients: setup.clients,
        dim: setup.dimension,
        dropped: output.dropped.len(),
        seconds,
        hub_seconds: report.hub_time.as_secs_f64(),
        node_seconds_mean: node_total.as_secs_f64() / n,
        bytes_per_node,
        expansion: bytes_per_node / (8.0 * setup.dimension as f64),
        correct: output.sum == expected && output.survivors == survivors,
    })
}
