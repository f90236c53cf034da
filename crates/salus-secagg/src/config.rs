//! The round configuration every party agrees on (participants and their enrolled Ed25519
//! identity keys, threshold, graph, vector length, optional DP noise plan), and the context
//! derived from it: the session id that binds every message, and the neighbour graph.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bytes::Bytes;
use crate::error::SecaggError;

/// A participant's number in the round: a Shamir x-coordinate, so never 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A fresh identifier per aggregation round (study id + round nonce): messages of one
/// round are rejected in every other round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoundId(pub Bytes<32>);

impl RoundId {
    /// Derives a round id from a study identifier and a per-round nonce (e.g. a counter or
    /// random bytes chosen by the hub when it opens the round).
    pub fn derive(study: &str, nonce: &[u8]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"salus-secagg/v1/round-id");
        hash.update((study.len() as u64).to_be_bytes());
        hash.update(study.as_bytes());
        hash.update(nonce);
        Self(Bytes(hash.finalize().into()))
    }
}

/// One participant: its id and its enrolled Ed25519 identity (verifying) key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The participant's number (Shamir x-coordinate, >= 1).
    pub id: NodeId,
    /// The enrolled identity key that signs its messages.
    pub identity: Bytes<32>,
}

impl Participant {
    /// A participant from its id and verifying key.
    pub fn new(id: NodeId, identity: &VerifyingKey) -> Self {
        Self {
            id,
            identity: Bytes(identity.to_bytes()),
        }
    }
}

/// Who shares secrets and masks with whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Graph {
    /// Bonawitz et al. 2017: every pair of nodes masks; Shamir threshold = round threshold.
    Full,
    /// SecAgg+ (Bell et al. 2020): a random `degree`-regular graph; each node's secrets are
    /// shared among itself and its `degree` neighbours with threshold `share_threshold`.
    Sparse {
        /// Neighbours per node (even, >= 2).
        degree: usize,
        /// Shares needed to reconstruct one node's secrets (of degree + 1 holders).
        share_threshold: usize,
    },
}

/// Everything the hub and nodes agree on before a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundConfig {
    /// Binds all messages to this round.
    pub round_id: RoundId,
    /// The participants, each with its enrolled identity key.
    pub participants: Vec<Participant>,
    /// Fewest surviving inputs whose sum may be released (also the Shamir threshold of the
    /// full graph). Fewer survivors: the round fails and reveals nothing.
    pub threshold: usize,
    /// Full (SecAgg) or sparse (SecAgg+) graph.
    pub graph: Graph,
    /// Length of every input vector (ring elements).
    pub dimension: usize,
    /// How long the hub waits in each phase before continuing with who answered (ms).
    pub phase_timeout_ms: u64,
    /// Optional distributed DP noise: every node adds its share before masking.
    pub noise: Option<salus_dp::DistributedNoise>,
}

/// A validated configuration plus what is derived from it.
#[derive(Debug, Clone)]
pub struct RoundContext {
    config: RoundConfig,
    session: [u8; 32],
    neighbours: BTreeMap<NodeId, Vec<NodeId>>,
}

impl RoundContext {
    /// Validates `config` and derives the session id and the neighbour graph.
    pub fn new(mut config: RoundConfig) -> Result<Self, SecaggError> {
        config.participants.sort_by_key(|p| p.id);
        validate(&config)?;
        let session = session_id(&config)?;
        let ids: Vec<NodeId> = config.participants.iter().map(|p| p.id).collect();
        let neighbours = match config.graph {
            Graph::Full => full_graph(&ids),
            Graph::Sparse { degree, .. } => sparse_graph(&ids, degree, &session),
        };
        Ok(Self {
            config,
            session,
            neighbours,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RoundConfig {
        &self.config
    }

    /// The 32-byte session id: SHA-256 over the whole configuration.
    pub fn session(&self) -> [u8; 32] {
        self.session
    }

    /// The neighbours of `node` (without `node` itself).
    pub fn neighbours(&self, node: NodeId) -> &[NodeId] {
        self.neighbours.get(&node).map_or(&[], Vec::as_slice)
    }

    /// Whether `node` is a participant.
    pub fn is_participant(&self, node: NodeId) -> bool {
        self.neighbours.contains_key(&node)
    }

    /// All participant ids in order.
    pub fn participant_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.neighbours.keys().copied()
    }

    /// The enrolled identity key of `node`.
    pub fn identity(&self, node: NodeId) -> Result<VerifyingKey, SecaggError> {
        let index = self
            .config
            .participants
            .binary_search_by_key(&node, |p| p.id)
            .map_err(|_| SecaggError::WrongSender {
                claimed: node,
                reason: "not a participant of this round",
            })?;
        VerifyingKey::from_bytes(&self.config.participants[index].identity.0).map_err(|_| {
            SecaggError::InvalidConfig(format!(
                "identity key of node {node} is not a valid Ed25519 key"
            ))
        })
    }

    /// Shares needed to reconstruct one node's secrets.
    pub fn share_threshold(&self) -> usize {
        match self.config.graph {
            Graph::Full => self.config.threshold,
            Graph::Sparse {
                share_threshold, ..
            } => share_threshold,
        }
    }
}

fn invalid(message: impl Into<String>) -> SecaggError {
    SecaggError::InvalidConfig(message.into())
}

fn validate(config: &RoundConfig) -> Result<(), SecaggError> {
    let n = config.participants.len();
    if n < 2 {
        return Err(invalid("secure aggregation needs at least 2 participants"));
    }
    if config.participants.iter().any(|p| p.id.0 == 0) {
        return Err(invalid(
            "participant id 0 is not allowed (ids are Shamir x-coordinates)",
        ));
    }
    if config.participants.windows(2).any(|w| w[0].id == w[1].id) {
        return Err(invalid("participant ids must be unique"));
    }
    if config.threshold < 2 || config.threshold > n {
        return Err(invalid(format!(
            "threshold must be between 2 and the number of participants ({n}); got {} (a sum of one input is that input)",
            config.threshold
        )));
    }
    if config.dimension == 0 {
        return Err(invalid("dimension must be at least 1"));
    }
    match config.graph {
        Graph::Full => {
            if 2 * config.threshold <= n {
                return Err(invalid(format!(
                    "the full graph needs a threshold above half the participants (> {}), got {}",
                    n / 2,
                    config.threshold
                )));
            }
        }
        Graph::Sparse {
            degree,
            share_threshold,
        } => {
            if degree < 2 || !degree.is_multiple_of(2) {
                return Err(invalid(format!(
                    "sparse graph degree must be even and >= 2, got {degree}"
                )));
            }
            let holders = degree.min(n - 1) + 1;
            if share_threshold > holders || 2 * share_threshold <= holders {
                return Err(invalid(format!(
                    "share threshold must be above half of the {holders} share holders and at most {holders}, got {share_threshold}"
                )));
            }
        }
    }
    if let Some(noise) = config
        .noise
        .as_ref()
        .filter(|n| n.dimension() != config.dimension)
    {
        return Err(invalid(format!(
            "the noise plan covers {} values but the round has {}",
            noise.dimension(),
            config.dimension
        )));
    }
    for participant in &config.participants {
        VerifyingKey::from_bytes(&participant.identity.0).map_err(|_| {
            invalid(format!(
                "identity key of node {} is not a valid Ed25519 key",
                participant.id
            ))
        })?;
    }
    Ok(())
}

fn session_id(config: &RoundConfig) -> Result<[u8; 32], SecaggError> {
    let canonical = serde_json::to_vec(config)
        .map_err(|e| invalid(format!("cannot encode configuration: {e}")))?;
    let mut hash = Sha256::new();
    hash.update(b"salus-secagg/v1/session");
    hash.update(canonical);
    Ok(hash.finalize().into())
}

fn full_graph(ids: &[NodeId]) -> BTreeMap<NodeId, Vec<NodeId>> {
    ids.iter()
        .map(|&id| {
            (
                id,
                ids.iter().copied().filter(|&other| other != id).collect(),
            )
        })
        .collect()
}

/// SecAgg+ graph: shuffle the ids with a PRG seeded from the session id (so every party
/// derives the same graph), place them on a circle and connect each to its `degree / 2`
/// nearest on both sides (the random circulant graph also used by Flower's SecAgg+).
fn sparse_graph(
    ids: &[NodeId],
    degree: usize,
    session: &[u8; 32],
) -> BTreeMap<NodeId, Vec<NodeId>> {
    let n = ids.len();
    if degree >= n - 1 {
        return full_graph(ids);
    }
    let mut seed = Sha256::new();
    seed.update(b"salus-secagg/v1/graph");
    seed.update(session);
    let mut rng = ChaCha20Rng::from_seed(seed.finalize().into());
    let mut order = ids.to_vec();
    // Fisher-Yates with our own rejection sampling so the graph never depends on the rand
    // crate's version.
    for i in (1..n).rev() {
        let j = uniform_index(&mut rng, i + 1);
        order.swap(i, j);
    }
    let half = degree / 2;
    let mut graph = BTreeMap::new();
    for (position, &id) in order.iter().enumerate() {
        let mut neighbours: Vec<NodeId> = (1..=half)
            .flat_map(|offset| {
                [
                    order[(position + offset) % n],
                    order[(position + n - offset) % n],
                ]
            })
            .collect();
        neighbours.sort();
        neighbours.dedup();
        graph.insert(id, neighbours);
    }
    graph
}

fn uniform_index(rng: &mut ChaCha20Rng, bound: usize) -> usize {
    let bound = bound as u64;
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let x = rng.next_u64();
        if x < zone {
            return (x % bound) as usize;
        }
    }
}
