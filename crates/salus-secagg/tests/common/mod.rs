//! Shared helpers: build a round, run the in-memory simulation, compute the expected sum.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use salus_secagg::simulation::{self, DropPoint, NoStopwatch, SimulationOptions, SimulationReport};
use salus_secagg::{Graph, NodeId, Participant, RoundConfig, RoundContext, RoundId};

/// Identity keys for nodes 1..=n (deterministic).
pub fn identities(n: usize) -> Vec<SigningKey> {
    (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            SigningKey::from_bytes(&seed)
        })
        .collect()
}

/// A configuration for nodes 1..=n with the given keys.
pub fn config(
    keys: &[SigningKey],
    threshold: usize,
    graph: Graph,
    dimension: usize,
    round: &[u8],
) -> RoundConfig {
    RoundConfig {
        round_id: RoundId::derive("test-study", round),
        participants: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Participant::new(NodeId(i as u32 + 1), &k.verifying_key()))
            .collect(),
        threshold,
        graph,
        dimension,
        phase_timeout_ms: 10_000,
        noise: None,
    }
}

/// Random inputs (full 64-bit ring elements) for n nodes.
pub fn random_inputs(n: usize, dimension: usize, seed: u64) -> Vec<Vec<u64>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..dimension).map(|_| rng.next_u64()).collect())
        .collect()
}

/// Runs the simulation.
pub fn run(
    config: RoundConfig,
    keys: &[SigningKey],
    inputs: &[Vec<u64>],
    dropouts: BTreeMap<NodeId, DropPoint>,
    seed: u8,
) -> SimulationReport {
    let context = Arc::new(RoundContext::new(config).expect("valid configuration"));
    let nodes = keys
        .iter()
        .zip(inputs)
        .enumerate()
        .map(|(i, (k, x))| (NodeId(i as u32 + 1), k.clone(), x.clone()))
        .collect();
    let options = SimulationOptions {
        dropouts,
        through_json: false,
    };
    simulation::simulate(context, nodes, [seed; 32], &options, &NoStopwatch)
}

/// The element-wise ring sum of the inputs of `survivors`.
pub fn ring_sum(inputs: &[Vec<u64>], survivors: &[NodeId]) -> Vec<u64> {
    let dimension = inputs.first().map_or(0, Vec::len);
    let mut sum = vec![0u64; dimension];
    for node in survivors {
        for (total, value) in sum.iter_mut().zip(&inputs[node.0 as usize - 1]) {
            *total = total.wrapping_add(*value);
        }
    }
    sum
}
