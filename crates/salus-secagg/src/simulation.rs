//! A deterministic in-memory simulation of one round: a hub and N nodes exchanging real
//! (optionally JSON-serialised) messages, with dropouts at any stage and shuffled delivery.
//! Used by the tests, the criterion bench and `salus bench secagg`. Nodes are processed in
//! parallel (rayon); the outcome depends only on the seed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::{NodeId, RoundContext};
use crate::error::SecaggError;
use crate::hub::{AggregateOutput, HubSession};
use crate::messages::{HubMessage, NodeMessage};
use crate::node::NodeSession;

/// The last step a node completes before it disappears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropPoint {
    /// Never advertises keys.
    BeforeAdvertise,
    /// Advertises keys, then sends no shares.
    BeforeShares,
    /// Sends shares, then no masked input.
    BeforeMaskedInput,
    /// Sends its masked input, then no unmasking shares.
    BeforeUnmask,
}

impl DropPoint {
    fn step(self) -> usize {
        match self {
            Self::BeforeAdvertise => 0,
            Self::BeforeShares => 1,
            Self::BeforeMaskedInput => 2,
            Self::BeforeUnmask => 3,
        }
    }
}

/// A source of elapsed time for measurements (the library never reads a clock itself).
pub trait Stopwatch: Sync {
    /// Time since an arbitrary fixed origin.
    fn elapsed(&self) -> Duration;
}

/// A stopwatch that always reads zero (tests that measure nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStopwatch;

impl Stopwatch for NoStopwatch {
    fn elapsed(&self) -> Duration {
        Duration::ZERO
    }
}

/// How to run the simulation.
#[derive(Debug, Clone, Default)]
pub struct SimulationOptions {
    /// Which nodes drop out, and when.
    pub dropouts: BTreeMap<NodeId, DropPoint>,
    /// Serialise every message to JSON and back (and count the bytes).
    pub through_json: bool,
}

/// What happened.
#[derive(Debug)]
pub struct SimulationReport {
    /// The hub's result.
    pub result: Result<AggregateOutput, SecaggError>,
    /// JSON bytes each node sent (0 unless `through_json`).
    pub bytes_sent: BTreeMap<NodeId, usize>,
    /// Time spent inside the hub state machine.
    pub hub_time: Duration,
    /// Time each node spent inside its state machine (including noise sampling).
    pub node_time: BTreeMap<NodeId, Duration>,
    /// Errors nodes reported (a node that errs stops, like a dropout).
    pub node_errors: Vec<(NodeId, SecaggError)>,
}

/// Runs one round. `nodes` pairs each participant id with its identity key and encoded input.
pub fn simulate(
    context: Arc<RoundContext>,
    nodes: Vec<(NodeId, SigningKey, Vec<u64>)>,
    seed: [u8; 32],
    options: &SimulationOptions,
    stopwatch: &dyn Stopwatch,
) -> SimulationReport {
    let mut report = SimulationReport {
        result: Err(SecaggError::RoundFailed {
            phase: "not started",
            got: 0,
            needed: 0,
        }),
        bytes_sent: nodes.iter().map(|(id, _, _)| (*id, 0)).collect(),
        hub_time: Duration::ZERO,
        node_time: nodes
            .iter()
            .map(|(id, _, _)| (*id, Duration::ZERO))
            .collect(),
        node_errors: Vec::new(),
    };
    let mut sessions: Vec<Option<NodeSession>> = nodes
        .into_par_iter()
        .map(|(id, key, input)| {
            let mut rng = ChaCha20Rng::from_seed(derive_seed(&seed, b"node", id.0));
            NodeSession::with_context(context.clone(), id, key, input, &mut rng).ok()
        })
        .collect();
    let hub_start = stopwatch.elapsed();
    let mut hub = HubSession::with_context(context.clone(), 0);
    report.hub_time += stopwatch.elapsed() - hub_start;
    let mut shuffle = ChaCha20Rng::from_seed(derive_seed(&seed, b"shuffle", 0));
    let mut now = 0u64;
    let mut inboxes: Vec<Vec<HubMessage>> = vec![Vec::new(); sessions.len()];
    for step in 0..4 {
        let outgoing = run_nodes(
            &mut sessions,
            &mut inboxes,
            step,
            options,
            stopwatch,
            &mut report,
        );
        let mut delivered = outgoing;
        shuffle_in_place(&mut delivered, &mut shuffle);
        let start = stopwatch.elapsed();
        for (from, message) in delivered {
            let _ = hub.receive(from, message);
        }
        if hub.result().is_none() && hub_phase_step(&hub) == step {
            now = hub.deadline_ms();
            hub.tick(now);
        }
        for (slot, session) in inboxes.iter_mut().zip(&sessions) {
            if let Some(session) = session {
                *slot = hub.poll_outgoing(session.id());
            }
        }
        report.hub_time += stopwatch.elapsed() - start;
        if hub.result().is_some() {
            break;
        }
    }
    if hub.result().is_none() {
        hub.tick(now.saturating_add(hub.deadline_ms()));
    }
    report.result = hub
        .result()
        .cloned()
        .unwrap_or(Err(SecaggError::RoundFailed {
            phase: "unfinished",
            got: 0,
            needed: 0,
        }));
    report
}

/// Which protocol step (0..=3) the hub is collecting.
fn hub_phase_step(hub: &HubSession) -> usize {
    use crate::hub::HubPhase;
    match hub.phase() {
        HubPhase::AdvertiseKeys => 0,
        HubPhase::ShareKeys => 1,
        HubPhase::MaskedInput => 2,
        HubPhase::Unmasking => 3,
        HubPhase::Finished | HubPhase::Failed => 4,
    }
}

/// Lets every live node take its step; returns the messages they post.
fn run_nodes(
    sessions: &mut [Option<NodeSession>],
    inboxes: &mut [Vec<HubMessage>],
    step: usize,
    options: &SimulationOptions,
    stopwatch: &dyn Stopwatch,
    report: &mut SimulationReport,
) -> Vec<(NodeId, NodeMessage)> {
    type Outcome = (NodeId, Duration, usize, Vec<NodeMessage>, Vec<SecaggError>);
    let outcomes: Vec<Outcome> = sessions
        .par_iter_mut()
        .zip(inboxes.par_iter_mut())
        .filter_map(|(slot, inbox)| {
            let session = slot.as_mut()?;
            let id = session.id();
            if options
                .dropouts
                .get(&id)
                .is_some_and(|point| point.step() <= step)
            {
                return None;
            }
            let start = stopwatch.elapsed();
            let mut sent = Vec::new();
            let mut errors = Vec::new();
            if step == 0 {
                match session.start() {
                    Ok(message) => sent.push(message),
                    Err(error) => errors.push(error),
                }
            }
            for message in inbox.drain(..) {
                let message = if options.through_json {
                    round_trip(&message)
                } else {
                    Some(message)
                };
                match message.map(|m| session.handle(&m)) {
                    Some(Ok(Some(reply))) => sent.push(reply),
                    Some(Ok(None)) => {}
                    Some(Err(error)) => errors.push(error),
                    None => errors.push(SecaggError::Malformed {
                        what: "hub message",
                        node: id,
                        reason: "JSON".into(),
                    }),
                }
            }
            let elapsed = stopwatch.elapsed() - start;
            let mut bytes = 0;
            if options.through_json {
                sent = sent
                    .into_iter()
                    .filter_map(|m| {
                        let text = serde_json::to_vec(&m).ok()?;
                        bytes += text.len();
                        serde_json::from_slice(&text).ok()
                    })
                    .collect();
            }
            Some((id, elapsed, bytes, sent, errors))
        })
        .collect();
    let mut messages = Vec::new();
    for (id, elapsed, bytes, sent, errors) in outcomes {
        *report.node_time.entry(id).or_default() += elapsed;
        *report.bytes_sent.entry(id).or_default() += bytes;
        report
            .node_errors
            .extend(errors.into_iter().map(|e| (id, e)));
        messages.extend(sent.into_iter().map(|m| (id, m)));
    }
    messages
}

fn round_trip(message: &HubMessage) -> Option<HubMessage> {
    serde_json::from_slice(&serde_json::to_vec(message).ok()?).ok()
}

fn derive_seed(seed: &[u8; 32], label: &[u8], index: u32) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"salus-secagg/v1/simulation");
    hash.update(seed);
    hash.update(label);
    hash.update(index.to_be_bytes());
    hash.finalize().into()
}

fn shuffle_in_place<T>(items: &mut [T], rng: &mut ChaCha20Rng) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
