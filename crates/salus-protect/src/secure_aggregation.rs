//! Secure aggregation under a study round: [`SecaggHub`] and [`SecaggNode`] adapt the
//! sans-I/O state machines of `salus-secagg` (Bonawitz et al. 2017; SecAgg+ above
//! [`SPARSE_ABOVE`] participants) to the [`HubSession`] / [`NodeSession`] traits.
//!
//! Message flow (four node -> hub posts, three hub -> node deliveries, every message
//! signed with the node's enrolled identity key and bound to the session):
//! 1. node: signed key advertisement; hub -> node: the directory of its neighbours' keys;
//! 2. node: Shamir shares of its secrets, encrypted to each neighbour; hub -> node: the
//!    shares addressed to it;
//! 3. node: its masked vector (contribution + DP noise + masks); hub -> node: who survived;
//! 4. node: the shares the hub needs to remove the masks; the hub releases the sum.
//!
//! Timeouts: the first phase ends at `SessionParams.deadline_ms`; each later phase gets as
//! long as the first one had, from when it starts. A phase that times out continues with
//! who answered if at least the threshold did; otherwise the round fails, naming the nodes
//! that did not answer, and nothing is revealed.
//!
//! The threshold is the study's, raised where the protocol needs more: at least 2, and for
//! the full graph a majority of the participants (see [`effective_threshold`]).

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_secagg::{
    Graph, HubMessage, HubPhase, NodeId, NodeMessage, Participant as SecaggParticipant,
    RoundConfig, RoundContext, RoundId,
};
use zeroize::Zeroize;

use crate::common::{PhaseClock, Roster, session_binding};
use crate::encoding::{LayoutCodec, RingCodec};
use crate::error::ProtectError;
use crate::noise::NoisePlan;
use crate::{
    Aggregate, HubSession, NodeSession, NodeSessionParams, Outcome, SessionFailure, SessionParams,
};

/// The mode name.
pub const MODE: &str = "secure-aggregation";

/// Up to this many participants every pair of nodes masks (full graph); above it, the
/// sparse SecAgg+ graph of degree 4 ceil(log2 n).
pub const SPARSE_ABOVE: usize = 16;

/// The phase timeout written into the protocol configuration. It is virtual: the hub
/// session drives the state machine's clock itself from [`PhaseClock`], and nodes never
/// time out, so any constant agreed by both sides works.
const VIRTUAL_PHASE_MS: u64 = 60_000;

/// The graph for `participants` nodes.
pub fn graph_for(participants: usize) -> Graph {
    if participants <= SPARSE_ABOVE {
        Graph::Full
    } else {
        salus_secagg::benchmark::default_sparse_graph(participants)
    }
}

/// The threshold the protocol enforces for a requested one: at least 2 (a sum of one input
/// is that input), a majority for the full graph (so two disjoint sets of survivors cannot
/// both be unmasked), at most `participants`.
pub fn effective_threshold(participants: usize, requested: usize) -> usize {
    let floor = match graph_for(participants) {
        Graph::Full => participants / 2 + 1,
        Graph::Sparse { .. } => 2,
    };
    requested.max(floor).max(2).min(participants)
}

/// Everything both sides derive identically from the session parameters.
struct Setup {
    roster: Roster,
    config: RoundConfig,
    codec: RingCodec,
    noise: Option<NoisePlan>,
}

impl Setup {
    fn new(params: &SessionParams) -> Result<Self, ProtectError> {
        let roster = Roster::new(&params.participants)?;
        let n = roster.len();
        if n < 2 {
            return Err(ProtectError::invalid(
                "secure aggregation needs at least 2 nodes: the sum over one node would be that node's vector",
            ));
        }
        let threshold = effective_threshold(n, params.threshold);
        let layout = LayoutCodec::new(&params.layout, n)?;
        let noise = match &params.dp {
            Some(dp) => Some(NoisePlan::new(
                dp,
                layout.count_len(),
                threshold,
                layout.segment_names(),
            )?),
            None => None,
        };
        let headroom = noise.as_ref().map_or(0.0, |plan| plan.headroom(n));
        let codec = RingCodec::new(layout, n, headroom)?;
        let binding = session_binding(MODE, params, false);
        let participants = roster
            .keys()
            .iter()
            .enumerate()
            .map(|(i, key)| SecaggParticipant::new(node_number(i), key))
            .collect();
        let config = RoundConfig {
            round_id: RoundId::derive(&params.session_id, &binding),
            participants,
            threshold,
            graph: graph_for(n),
            dimension: codec.dimension(),
            phase_timeout_ms: VIRTUAL_PHASE_MS,
            // Noise is added by this crate from the node's noise seed (not from the
            // protocol's fresh randomness) and to the count part only.
            noise: None,
        };
        RoundContext::new(config.clone())?;
        Ok(Self {
            roster,
            config,
            codec,
            noise,
        })
    }
}

/// Participant `index` (0-based, in the order given) is protocol node `index + 1`.
fn node_number(index: usize) -> NodeId {
    NodeId(index as u32 + 1)
}

/// The hub's side of a secure-aggregation round.
pub struct SecaggHub {
    setup: Setup,
    inner: salus_secagg::HubSession,
    clock: PhaseClock,
    /// Messages accepted from each participant (one per phase, in order).
    accepted: Vec<usize>,
    outcome: Option<Result<Outcome, SessionFailure>>,
}

impl std::fmt::Debug for SecaggHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecaggHub")
            .field("phase", &self.inner.phase())
            .finish_non_exhaustive()
    }
}

impl SecaggHub {
    /// Opens the hub's side of a round.
    pub fn new(params: &SessionParams) -> Result<Self, ProtectError> {
        let setup = Setup::new(params)?;
        let inner = salus_secagg::HubSession::new(setup.config.clone(), 0)?;
        let accepted = vec![0; setup.roster.len()];
        Ok(Self {
            setup,
            inner,
            clock: PhaseClock::new(params.deadline_ms),
            accepted,
            outcome: None,
        })
    }

    /// Applies the real clock: when the current phase's time is up, the state machine's
    /// (virtual) deadline is reached so it continues with who answered, or fails.
    fn advance(&mut self, now_ms: u64) {
        self.clock.observe(now_ms);
        if self.inner.result().is_some() || !self.clock.expired(now_ms) {
            return;
        }
        let before = self.inner.phase();
        self.inner.tick(self.inner.deadline_ms());
        if self.inner.phase() != before {
            self.clock.next_phase(now_ms);
        }
        self.settle(before);
    }

    /// Turns the state machine's result into the session outcome, once.
    fn settle(&mut self, phase_before: HubPhase) {
        if self.outcome.is_some() {
            return;
        }
        let Some(result) = self.inner.result() else {
            return;
        };
        self.outcome = Some(match result {
            Ok(output) => self.aggregate(output).map(Outcome::Sum),
            Err(error) => Err(self.failure(error.to_string(), phase_before)),
        });
    }

    fn aggregate(
        &self,
        output: &salus_secagg::AggregateOutput,
    ) -> Result<Aggregate, SessionFailure> {
        let sum = self
            .setup
            .codec
            .decode(&output.sum)
            .map_err(|e| self.failure(e.to_string(), HubPhase::Finished))?;
        let survived = |i: usize| output.survivors.contains(&node_number(i));
        let contributors = self.setup.roster.ids_where(survived);
        let dropped = self.setup.roster.ids_where(|i| !survived(i));
        let noise = self
            .setup
            .noise
            .as_ref()
            .map(|plan| plan.record(contributors.len()));
        Ok(Aggregate {
            hub_saw: hub_saw(contributors.len(), dropped.len(), noise.is_some()),
            sum,
            contributors,
            dropped,
            noise,
        })
    }

    /// A failure naming the nodes that had not answered in the phase that failed.
    fn failure(&self, message: String, phase: HubPhase) -> SessionFailure {
        let step = phase_step(phase);
        SessionFailure {
            message: format!("secure aggregation failed: {message}"),
            missing: self
                .setup
                .roster
                .ids_where(|i| self.accepted[i] <= step && step < 4),
        }
    }
}

/// Which message (0..=3) the hub collects in `phase`; 4 once it is done.
fn phase_step(phase: HubPhase) -> usize {
    match phase {
        HubPhase::AdvertiseKeys => 0,
        HubPhase::ShareKeys => 1,
        HubPhase::MaskedInput => 2,
        HubPhase::Unmasking => 3,
        _ => 4,
    }
}

fn hub_saw(contributors: usize, dropped: usize, noisy: bool) -> String {
    let mut text = format!(
        "masked vectors from {contributors} nodes (each uniformly random on its own), the encrypted \
         key shares it relayed between nodes (it cannot open them), the shares needed to remove the \
         masks, and the element-wise sum of the {contributors} contributions"
    );
    if noisy {
        text.push_str(" with the nodes' differential-privacy noise already added to the counts (never the exact counts)");
    }
    if dropped > 0 {
        text.push_str(&format!(
            "; {dropped} node(s) dropped out and are not in the sum"
        ));
    }
    text
}

impl HubSession for SecaggHub {
    fn receive(&mut self, from: &str, body: serde_json::Value, now_ms: u64) -> Result<(), String> {
        self.advance(now_ms);
        if self.outcome.is_some() {
            return Err("the secure-aggregation session is over; the message was ignored".into());
        }
        let index = self.setup.roster.require(from).map_err(|e| e.to_string())?;
        let message: NodeMessage = serde_json::from_value(body).map_err(|e| {
            ProtectError::malformed(format!("not a secure-aggregation node message: {e}"))
                .to_string()
        })?;
        let before = self.inner.phase();
        self.inner
            .receive(node_number(index), message)
            .map_err(|e| e.to_string())?;
        self.accepted[index] += 1;
        if self.inner.phase() != before {
            self.clock.next_phase(now_ms);
        }
        self.settle(before);
        Ok(())
    }

    fn take_outgoing(&mut self) -> Vec<(String, serde_json::Value)> {
        let mut out = Vec::new();
        for index in 0..self.setup.roster.len() {
            for message in self.inner.poll_outgoing(node_number(index)) {
                // Serializing plain data structures cannot fail.
                if let Ok(body) = serde_json::to_value(&message) {
                    out.push((self.setup.roster.id(index).to_string(), body));
                }
            }
        }
        out
    }

    fn tick(&mut self, now_ms: u64) {
        self.advance(now_ms);
    }

    fn outcome(&self) -> Option<Result<Outcome, SessionFailure>> {
        self.outcome.clone()
    }
}

/// A node's side of a secure-aggregation round.
pub struct SecaggNode {
    inner: salus_secagg::NodeSession,
}

impl std::fmt::Debug for SecaggNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the contribution.
        f.debug_struct("SecaggNode")
            .field("node", &self.inner.id())
            .field("phase", &self.inner.phase())
            .finish_non_exhaustive()
    }
}

impl SecaggNode {
    /// Checks and encodes the contribution, adds this node's DP noise share to the counts
    /// (no ledger is charged here: the node service does that before), and prepares the
    /// protocol state with masks from `fresh_seed`.
    pub fn new(params: &NodeSessionParams, mut values: Vec<f64>) -> Result<Self, ProtectError> {
        let setup = Setup::new(&params.session)?;
        let index = setup.roster.require(&params.node_id)?;
        let identity = setup.roster.signing_key(index, &params.identity_seed)?;
        let encoded = encode_contribution(&setup, &values, &params.noise_seed);
        values.zeroize();
        let mut rng = ChaCha20Rng::from_seed(params.fresh_seed);
        let inner = salus_secagg::NodeSession::new(
            setup.config,
            node_number(index),
            identity,
            encoded?,
            &mut rng,
        )?;
        Ok(Self { inner })
    }
}

fn encode_contribution(
    setup: &Setup,
    values: &[f64],
    noise_seed: &[u8; 32],
) -> Result<Vec<u64>, ProtectError> {
    let (mut counts, mut reals) = setup.codec.layout().split(values)?;
    let noise = match &setup.noise {
        Some(plan) => Some(plan.node_share(noise_seed)?),
        None => None,
    };
    let encoded = setup.codec.encode(&counts, &reals, noise.as_deref());
    counts.zeroize();
    reals.zeroize();
    encoded
}

impl NodeSession for SecaggNode {
    fn start(&mut self) -> Result<Vec<serde_json::Value>, String> {
        let message = self.inner.start().map_err(|e| e.to_string())?;
        Ok(vec![to_body(&message)?])
    }

    fn handle(&mut self, body: serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
        let message: HubMessage = serde_json::from_value(body).map_err(|e| {
            ProtectError::malformed(format!("not a secure-aggregation hub message: {e}"))
                .to_string()
        })?;
        match self.inner.handle(&message).map_err(|e| e.to_string())? {
            Some(reply) => Ok(vec![to_body(&reply)?]),
            None => Ok(Vec::new()),
        }
    }
}

fn to_body(message: &NodeMessage) -> Result<serde_json::Value, String> {
    serde_json::to_value(message).map_err(|e| format!("cannot serialize a protocol message: {e}"))
}
