//! A deterministic in-memory driver: one hub session and N node sessions, created by the
//! product factories and driven only through the `HubSession` / `NodeSession` traits.
//! Every message goes through a `serde_json` text round trip, deliveries are shuffled by
//! a seeded generator, nodes can disappear after a given number of posts, and time only
//! moves (past the phase deadline) when no message is in flight.

#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use salus_protect::{
    DpRound, HubSession, NodeSession, NodeSessionParams, Outcome, Participant, SessionFailure,
    SessionParams, hub_session, node_session,
};
use salus_study::layout::Layout;

/// When the hub first hears of time.
pub const START_MS: u64 = 1_000;
/// The services' deadline for the first phase.
pub const DEADLINE_MS: u64 = 11_000;

/// The identity seed of node `i`.
pub fn identity_seed(i: usize) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[0] = 1 + i as u8;
    seed[31] = 0x5a;
    seed
}

/// A study's participants `node-0 ... node-{n-1}` with their enrolled keys.
pub fn participants(n: usize) -> Vec<Participant> {
    (0..n)
        .map(|i| Participant {
            node_id: format!("node-{i}"),
            name: format!("Hospital {i}"),
            identity_key: hex::encode(
                ed25519_dalek::SigningKey::from_bytes(&identity_seed(i))
                    .verifying_key()
                    .to_bytes(),
            ),
        })
        .collect()
}

/// Session parameters for `n` nodes.
pub fn params(n: usize, layout: Layout, threshold: usize, dp: Option<DpRound>) -> SessionParams {
    SessionParams {
        session_id: "study-7/0/0".into(),
        participants: participants(n),
        threshold,
        layout,
        deadline_ms: DEADLINE_MS,
        dp,
        researcher_key: None,
    }
}

/// How to run one session.
#[derive(Debug, Clone)]
pub struct Run {
    pub mode: &'static str,
    /// Per node: how many messages it posts before it disappears (`None`: never).
    pub posts_before_leaving: Vec<Option<usize>>,
    /// Seeds the delivery order.
    pub shuffle_seed: u64,
    /// Per node DP noise seeds (default: derived from the node index).
    pub noise_seeds: Vec<[u8; 32]>,
    /// Mixed into every node's fresh seed.
    pub fresh_salt: u8,
}

impl Run {
    pub fn new(mode: &'static str, n: usize) -> Self {
        Self {
            mode,
            posts_before_leaving: vec![None; n],
            shuffle_seed: 1,
            noise_seeds: (0..n).map(|i| [0x40 + i as u8; 32]).collect(),
            fresh_salt: 0,
        }
    }
}

/// What happened.
#[derive(Debug)]
pub struct Report {
    pub outcome: Result<Outcome, SessionFailure>,
    pub hub_errors: Vec<String>,
    pub node_errors: Vec<(usize, String)>,
    /// Rounds of hub -> node deliveries.
    pub exchanges: usize,
    /// JSON bytes posted by nodes and sent by the hub.
    pub node_bytes: usize,
    pub hub_bytes: usize,
}

impl Report {
    /// The plaintext aggregate, or a panic naming what happened instead.
    pub fn sum(&self) -> &salus_protect::Aggregate {
        match &self.outcome {
            Ok(Outcome::Sum(aggregate)) => aggregate,
            other => panic!("expected a sum, got {other:?}"),
        }
    }

    /// The encrypted aggregate.
    pub fn encrypted(&self) -> &salus_protect::EncryptedAggregate {
        match &self.outcome {
            Ok(Outcome::Encrypted(aggregate)) => aggregate,
            other => panic!("expected an encrypted sum, got {other:?}"),
        }
    }

    /// The failure.
    pub fn failure(&self) -> &SessionFailure {
        match &self.outcome {
            Err(failure) => failure,
            Ok(_) => panic!("expected a failure"),
        }
    }
}

fn round_trip(value: &serde_json::Value, bytes: &mut usize) -> serde_json::Value {
    let text = serde_json::to_string(value).expect("JSON values serialize");
    *bytes += text.len();
    serde_json::from_str(&text).expect("JSON text parses")
}

fn shuffle<T>(items: &mut [T], rng: &mut ChaCha20Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

/// A node in the simulation.
struct SimNode {
    session: Box<dyn NodeSession>,
    posted: usize,
    limit: Option<usize>,
}

impl SimNode {
    fn gone(&self) -> bool {
        self.limit.is_some_and(|limit| self.posted >= limit)
    }

    /// Keeps the messages the node still posts before leaving.
    fn post(
        &mut self,
        index: usize,
        bodies: Vec<serde_json::Value>,
        out: &mut Vec<(usize, serde_json::Value)>,
    ) {
        for body in bodies {
            if self.gone() {
                return;
            }
            self.posted += 1;
            out.push((index, body));
        }
    }
}

/// Runs one session of `run.mode` with `contributions[i]` at node `i`.
pub fn run(params: &SessionParams, contributions: &[Vec<f64>], run: &Run) -> Report {
    let mut hub: Box<dyn HubSession> = hub_session(run.mode, params).expect("hub session opens");
    let mut rng = ChaCha20Rng::seed_from_u64(run.shuffle_seed);
    let mut report = Report {
        outcome: Err(SessionFailure {
            message: "unfinished".into(),
            missing: vec![],
        }),
        hub_errors: vec![],
        node_errors: vec![],
        exchanges: 0,
        node_bytes: 0,
        hub_bytes: 0,
    };
    let mut nodes: Vec<SimNode> = contributions
        .iter()
        .enumerate()
        .map(|(i, values)| {
            let node_params = NodeSessionParams {
                session: SessionParams {
                    deadline_ms: 0,
                    ..params.clone()
                },
                node_id: params.participants[i].node_id.clone(),
                identity_seed: identity_seed(i),
                noise_seed: run.noise_seeds[i],
                fresh_seed: [0x80 ^ run.fresh_salt ^ i as u8; 32],
            };
            SimNode {
                session: node_session(run.mode, &node_params, values.clone())
                    .expect("node session opens"),
                posted: 0,
                limit: run.posts_before_leaving[i],
            }
        })
        .collect();
    let mut now = START_MS;
    hub.tick(now);
    let mut posts = Vec::new();
    for (i, node) in nodes.iter_mut().enumerate() {
        if node.gone() {
            continue;
        }
        match node.session.start() {
            Ok(bodies) => node.post(i, bodies, &mut posts),
            Err(e) => report.node_errors.push((i, e)),
        }
    }
    for _ in 0..40 {
        shuffle(&mut posts, &mut rng);
        for (i, body) in posts.drain(..) {
            let body = round_trip(&body, &mut report.node_bytes);
            if let Err(e) = hub.receive(&params.participants[i].node_id, body, now) {
                report.hub_errors.push(e);
            }
        }
        let mut outgoing = hub.take_outgoing();
        if outgoing.is_empty() {
            if hub.outcome().is_some() {
                break;
            }
            // Nothing in flight: let the phase deadline pass.
            now += DEADLINE_MS;
            hub.tick(now);
            outgoing = hub.take_outgoing();
        }
        report.exchanges += 1;
        shuffle(&mut outgoing, &mut rng);
        for (to, body) in outgoing {
            let body = round_trip(&body, &mut report.hub_bytes);
            let i = params
                .participants
                .iter()
                .position(|p| p.node_id == to)
                .expect("addressed to a participant");
            if nodes[i].gone() {
                continue;
            }
            match nodes[i].session.handle(body) {
                Ok(replies) => nodes[i].post(i, replies, &mut posts),
                Err(e) => report.node_errors.push((i, e)),
            }
        }
        if hub.outcome().is_some() && posts.is_empty() {
            break;
        }
    }
    report.outcome = hub.outcome().expect("the session finished");
    report
}

/// The plain element-wise sum of the given nodes' vectors.
pub fn plain_sum(contributions: &[Vec<f64>], included: impl Fn(usize) -> bool) -> Vec<f64> {
    let mut sum = vec![0.0; contributions[0].len()];
    for (_, values) in contributions
        .iter()
        .enumerate()
        .filter(|(i, _)| included(*i))
    {
        sum.iter_mut().zip(values).for_each(|(s, v)| *s += v);
    }
    sum
}

/// Checks a federated sum against the plain sum: counts exactly, reals to the fixed-point
/// resolution (n * 2^-41 plus f64 rounding of the plain sum).
pub fn assert_close(layout: &Layout, federated: &[f64], plain: &[f64], contributions: &[Vec<f64>]) {
    assert_eq!(federated.len(), plain.len());
    let mut offset = 0;
    for segment in &layout.segments {
        for j in offset..offset + segment.len {
            match segment.kind {
                salus_study::layout::SegmentKind::Count { .. } => {
                    assert_eq!(federated[j], plain[j], "count {j}");
                }
                salus_study::layout::SegmentKind::Real => {
                    let magnitude: f64 = contributions.iter().map(|c| c[j].abs()).sum();
                    let tolerance = contributions.len() as f64 * 2f64.powi(-41) + 4e-16 * magnitude;
                    assert!(
                        (federated[j] - plain[j]).abs() <= tolerance,
                        "real {j}: {} vs {} (tolerance {tolerance:e})",
                        federated[j],
                        plain[j]
                    );
                }
            }
        }
        offset += segment.len;
    }
}
