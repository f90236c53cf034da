//! The hub role as a sans-I/O state machine. The service shell feeds it every message a node
//! posts (`receive`), the current time (`tick`), and serves each node's long-poll from
//! `poll_outgoing`. A phase ends when every expected node has answered, or when its deadline
//! passes with at least `threshold` answers; with fewer, the round fails and nothing is
//! revealed. The hub only ever holds masked vectors, encrypted shares it cannot open, and
//! at the end the sum.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::bytes::Bytes;
use crate::config::{NodeId, RoundConfig, RoundContext};
use crate::crypto;
use crate::error::SecaggError;
use crate::messages::{
    ForwardedShare, HubBody, HubMessage, NodeBody, NodeMessage, RevealedShare, SignedAdvertisement,
};
use crate::unmask::{self, UnmaskInputs};

/// Where the hub is in the round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubPhase {
    /// Collecting key advertisements.
    AdvertiseKeys,
    /// Collecting encrypted shares.
    ShareKeys,
    /// Collecting masked inputs.
    MaskedInput,
    /// Collecting unmasking shares.
    Unmasking,
    /// The sum is available.
    Finished,
    /// The round failed; nothing was revealed.
    Failed,
}

impl HubPhase {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::AdvertiseKeys => "key advertisement",
            Self::ShareKeys => "share keys",
            Self::MaskedInput => "masked input",
            Self::Unmasking => "unmasking",
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }
}

/// The released result of a successful round.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AggregateOutput {
    /// The sum of the survivors' encoded inputs (plus the DP noise, if any), in Z_2^64.
    pub sum: Vec<u64>,
    /// Nodes whose inputs are in the sum.
    pub survivors: Vec<NodeId>,
    /// Nodes that shared keys but whose inputs are not in the sum.
    pub dropped: Vec<NodeId>,
    /// The DP noise the sum carries (aggregate parameters only), if the round used DP.
    pub noise: Option<salus_dp::NoiseSummary>,
}

/// The hub's side of one aggregation round.
#[derive(Debug)]
pub struct HubSession {
    context: Arc<RoundContext>,
    phase: HubPhase,
    now_ms: u64,
    deadline_ms: u64,
    adverts: BTreeMap<NodeId, SignedAdvertisement>,
    shares: BTreeMap<NodeId, Vec<(NodeId, Vec<u8>)>>,
    /// For each node, the senders whose shares were forwarded to it (= whom it masked with).
    masked_with: BTreeMap<NodeId, BTreeSet<NodeId>>,
    sum: Vec<u64>,
    masked_from: BTreeSet<NodeId>,
    unmask_from: BTreeSet<NodeId>,
    self_mask_shares: BTreeMap<NodeId, Vec<(u32, Bytes<32>)>>,
    mask_key_shares: BTreeMap<NodeId, Vec<(u32, Bytes<32>)>>,
    outbox: BTreeMap<NodeId, Vec<HubMessage>>,
    outcome: Option<Result<AggregateOutput, SecaggError>>,
}

impl HubSession {
    /// Opens a round at time `now_ms` (milliseconds on any monotonic clock the caller uses).
    pub fn new(config: RoundConfig, now_ms: u64) -> Result<Self, SecaggError> {
        Ok(Self::with_context(
            Arc::new(RoundContext::new(config)?),
            now_ms,
        ))
    }

    /// Opens a round from an already validated context.
    pub fn with_context(context: Arc<RoundContext>, now_ms: u64) -> Self {
        let deadline_ms = now_ms.saturating_add(context.config().phase_timeout_ms);
        let dimension = context.config().dimension;
        Self {
            context,
            phase: HubPhase::AdvertiseKeys,
            now_ms,
            deadline_ms,
            adverts: BTreeMap::new(),
            shares: BTreeMap::new(),
            masked_with: BTreeMap::new(),
            sum: vec![0; dimension],
            masked_from: BTreeSet::new(),
            unmask_from: BTreeSet::new(),
            self_mask_shares: BTreeMap::new(),
            mask_key_shares: BTreeMap::new(),
            outbox: BTreeMap::new(),
            outcome: None,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> HubPhase {
        self.phase
    }

    /// When the current phase times out (ms).
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// The round's context (configuration, session id, graph).
    pub fn context(&self) -> &RoundContext {
        &self.context
    }

    /// `None` while running; then the released sum or why the round failed.
    pub fn result(&self) -> Option<&Result<AggregateOutput, SecaggError>> {
        self.outcome.as_ref()
    }

    /// Messages waiting for `node` (drained: each is returned once).
    pub fn poll_outgoing(&mut self, node: NodeId) -> Vec<HubMessage> {
        self.outbox.remove(&node).unwrap_or_default()
    }

    /// Whether any message waits for `node`.
    pub fn has_outgoing(&self, node: NodeId) -> bool {
        self.outbox
            .get(&node)
            .is_some_and(|queue| !queue.is_empty())
    }

    /// Advances time: a phase whose deadline passed continues with who answered, or fails.
    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        if self.now_ms >= self.deadline_ms && self.outcome.is_none() {
            self.close_phase();
        }
    }

    /// Accepts one message posted by `from` (the peer the transport authenticated). A
    /// rejected message changes nothing; the error says why. When the message completes a
    /// phase, the next phase's deadline starts from the last time given to [`HubSession::tick`],
    /// so a service should call `tick(now)` before each `receive`.
    pub fn receive(&mut self, from: NodeId, message: NodeMessage) -> Result<(), SecaggError> {
        self.check_envelope(from, &message)?;
        let session = self.context.session();
        let digest = message.body.digest(&session, from);
        if !crypto::verify(&self.context.identity(from)?, &digest, &message.signature.0) {
            return Err(SecaggError::BadSignature {
                what: message.body.kind(),
                node: from,
            });
        }
        match message.body {
            NodeBody::AdvertiseKeys(keys) => {
                self.adverts.insert(
                    from,
                    SignedAdvertisement {
                        node: from,
                        keys,
                        signature: message.signature,
                    },
                );
            }
            NodeBody::EncryptedShares { shares } => self.accept_shares(from, shares)?,
            NodeBody::MaskedInput { masked } => self.accept_masked(from, masked.0)?,
            NodeBody::UnmaskShares {
                self_mask,
                mask_key,
            } => self.accept_unmask(from, self_mask, mask_key)?,
        }
        if self.all_answered() {
            self.close_phase();
        }
        Ok(())
    }

    fn check_envelope(&self, from: NodeId, message: &NodeMessage) -> Result<(), SecaggError> {
        if message.session.0 != self.context.session() {
            return Err(SecaggError::WrongSession);
        }
        if message.from != from {
            return Err(SecaggError::WrongSender {
                claimed: message.from,
                reason: "the message names a sender other than the authenticated peer",
            });
        }
        if !self.context.is_participant(from) {
            return Err(SecaggError::WrongSender {
                claimed: from,
                reason: "not a participant of this round",
            });
        }
        let expected_phase = match message.body {
            NodeBody::AdvertiseKeys(_) => HubPhase::AdvertiseKeys,
            NodeBody::EncryptedShares { .. } => HubPhase::ShareKeys,
            NodeBody::MaskedInput { .. } => HubPhase::MaskedInput,
            NodeBody::UnmaskShares { .. } => HubPhase::Unmasking,
        };
        if self.phase != expected_phase
            || !self.expected().contains(&from)
            || self.answered().contains(&from)
        {
            return Err(SecaggError::UnexpectedMessage {
                what: message.body.kind(),
                node: from,
                phase: self.phase.name(),
            });
        }
        Ok(())
    }

    /// Who must answer in the current phase.
    fn expected(&self) -> BTreeSet<NodeId> {
        match self.phase {
            HubPhase::AdvertiseKeys => self.context.participant_ids().collect(),
            HubPhase::ShareKeys => self.adverts.keys().copied().collect(),
            HubPhase::MaskedInput => self.shares.keys().copied().collect(),
            HubPhase::Unmasking => self.masked_from.clone(),
            HubPhase::Finished | HubPhase::Failed => BTreeSet::new(),
        }
    }

    /// Who has answered in the current phase.
    fn answered(&self) -> BTreeSet<NodeId> {
        match self.phase {
            HubPhase::AdvertiseKeys => self.adverts.keys().copied().collect(),
            HubPhase::ShareKeys => self.shares.keys().copied().collect(),
            HubPhase::MaskedInput => self.masked_from.clone(),
            HubPhase::Unmasking => self.unmask_from.clone(),
            HubPhase::Finished | HubPhase::Failed => BTreeSet::new(),
        }
    }

    fn all_answered(&self) -> bool {
        self.outcome.is_none() && self.answered().len() == self.expected().len()
    }

    fn accept_shares(
        &mut self,
        from: NodeId,
        shares: Vec<crate::messages::EncryptedShare>,
    ) -> Result<(), SecaggError> {
        let neighbours = self.context.neighbours(from);
        let mut seen = BTreeSet::new();
        let mut list = Vec::with_capacity(shares.len());
        for share in shares {
            let valid = neighbours.binary_search(&share.to).is_ok()
                && self.adverts.contains_key(&share.to)
                && share.ciphertext.0.len() == crypto::SHARE_CIPHERTEXT_LEN
                && seen.insert(share.to);
            if !valid {
                return Err(SecaggError::Malformed {
                    what: "encrypted shares",
                    node: from,
                    reason: format!("unexpected or duplicate share for node {}", share.to),
                });
            }
            list.push((share.to, share.ciphertext.0));
        }
        self.shares.insert(from, list);
        Ok(())
    }

    fn accept_masked(&mut self, from: NodeId, masked: Vec<u64>) -> Result<(), SecaggError> {
        if masked.len() != self.sum.len() {
            return Err(SecaggError::WrongLength {
                what: "masked input",
                got: masked.len(),
                expected: self.sum.len(),
            });
        }
        for (total, value) in self.sum.iter_mut().zip(masked) {
            *total = total.wrapping_add(value);
        }
        self.masked_from.insert(from);
        Ok(())
    }

    fn accept_unmask(
        &mut self,
        from: NodeId,
        self_mask: Vec<RevealedShare>,
        mask_key: Vec<RevealedShare>,
    ) -> Result<(), SecaggError> {
        let dropped = self.dropped();
        // `from` holds shares of `owner` iff the hub forwarded owner's ciphertext to `from`.
        let holds_for = |owner: NodeId| {
            owner == from
                || self
                    .masked_with
                    .get(&from)
                    .is_some_and(|s| s.contains(&owner))
        };
        let bad = self_mask
            .iter()
            .any(|s| !self.masked_from.contains(&s.owner) || !holds_for(s.owner))
            || mask_key
                .iter()
                .any(|s| !dropped.contains(&s.owner) || !holds_for(s.owner));
        if bad {
            return Err(SecaggError::Malformed {
                what: "unmasking shares",
                node: from,
                reason: "a share for a node this sender holds no share of, or of the wrong kind"
                    .into(),
            });
        }
        for share in self_mask {
            self.self_mask_shares
                .entry(share.owner)
                .or_default()
                .push((from.0, share.share));
        }
        for share in mask_key {
            self.mask_key_shares
                .entry(share.owner)
                .or_default()
                .push((from.0, share.share));
        }
        self.unmask_from.insert(from);
        Ok(())
    }

    /// Nodes that shared keys but sent no masked input.
    fn dropped(&self) -> BTreeSet<NodeId> {
        self.shares
            .keys()
            .filter(|n| !self.masked_from.contains(n))
            .copied()
            .collect()
    }

    /// Ends the current phase: continue with who answered if enough did, else fail.
    fn close_phase(&mut self) {
        let answered = self.answered().len();
        let needed = self.context.config().threshold;
        if self.phase == HubPhase::Unmasking {
            self.finish();
            return;
        }
        if answered < needed {
            self.fail(SecaggError::RoundFailed {
                phase: self.phase.name(),
                got: answered,
                needed,
            });
            return;
        }
        match self.phase {
            HubPhase::AdvertiseKeys => self.send_directories(),
            HubPhase::ShareKeys => self.forward_shares(),
            HubPhase::MaskedInput => self.request_unmasking(),
            HubPhase::Unmasking | HubPhase::Finished | HubPhase::Failed => {}
        }
        self.deadline_ms = self
            .now_ms
            .saturating_add(self.context.config().phase_timeout_ms);
    }

    fn send(&mut self, to: NodeId, body: HubBody) {
        let message = HubMessage {
            session: Bytes(self.context.session()),
            to,
            body,
        };
        self.outbox.entry(to).or_default().push(message);
    }

    fn send_directories(&mut self) {
        let recipients: Vec<NodeId> = self.adverts.keys().copied().collect();
        for node in recipients {
            let adverts: Vec<SignedAdvertisement> = std::iter::once(node)
                .chain(self.context.neighbours(node).iter().copied())
                .filter_map(|n| self.adverts.get(&n).copied())
                .collect();
            self.send(node, HubBody::KeyDirectory { adverts });
        }
        self.phase = HubPhase::ShareKeys;
    }

    fn forward_shares(&mut self) {
        let mut inbox: BTreeMap<NodeId, Vec<ForwardedShare>> =
            self.shares.keys().map(|&n| (n, Vec::new())).collect();
        for (&from, list) in &self.shares {
            for (to, ciphertext) in list {
                if let Some(queue) = inbox.get_mut(to) {
                    queue.push(ForwardedShare {
                        from,
                        ciphertext: crate::bytes::ByteString(ciphertext.clone()),
                    });
                    self.masked_with.entry(*to).or_default().insert(from);
                }
            }
        }
        for (node, shares) in inbox {
            self.send(node, HubBody::ForwardedShares { shares });
        }
        self.phase = HubPhase::MaskedInput;
    }

    fn request_unmasking(&mut self) {
        let survivors: Vec<NodeId> = self.masked_from.iter().copied().collect();
        let dropped: Vec<NodeId> = self.dropped().into_iter().collect();
        for &node in &survivors {
            self.send(
                node,
                HubBody::UnmaskRequest {
                    survivors: survivors.clone(),
                    dropped: dropped.clone(),
                },
            );
        }
        self.phase = HubPhase::Unmasking;
    }

    /// Reconstructs the secrets and removes the masks; fails if shares are missing.
    fn finish(&mut self) {
        let inputs = UnmaskInputs {
            context: &self.context,
            survivors: &self.masked_from,
            dropped: &self.dropped(),
            masked_with: &self.masked_with,
            adverts: &self.adverts,
            self_mask_shares: &self.self_mask_shares,
            mask_key_shares: &self.mask_key_shares,
        };
        match unmask::remove_masks(&inputs) {
            Ok(total_mask) => {
                let sum: Vec<u64> = self
                    .sum
                    .iter()
                    .zip(&total_mask)
                    .map(|(s, m)| s.wrapping_sub(*m))
                    .collect();
                let survivors: Vec<NodeId> = self.masked_from.iter().copied().collect();
                let noise = self
                    .context
                    .config()
                    .noise
                    .as_ref()
                    .map(|plan| plan.summary(survivors.len()));
                let dropped = self.dropped().into_iter().collect();
                self.phase = HubPhase::Finished;
                self.outcome = Some(Ok(AggregateOutput {
                    sum,
                    survivors,
                    dropped,
                    noise,
                }));
            }
            Err(error) => self.fail(error),
        }
    }

    fn fail(&mut self, error: SecaggError) {
        let reason = error.to_string();
        let everyone: Vec<NodeId> = self.context.participant_ids().collect();
        for node in everyone {
            self.send(
                node,
                HubBody::Aborted {
                    reason: reason.clone(),
                },
            );
        }
        self.sum.iter_mut().for_each(|v| *v = 0);
        self.phase = HubPhase::Failed;
        self.outcome = Some(Err(error));
    }
}
