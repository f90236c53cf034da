//! The node role as a sans-I/O state machine: `start()` gives the key advertisement to post;
//! each message fetched from the hub goes into `handle()`, which returns the next message to
//! post (or nothing). Randomness is drawn once, at construction, into a private ChaCha20
//! generator; there is no clock and no I/O.
//!
//! Safety rules enforced here (Bonawitz et al. 2017, section 4): a node reveals, for each
//! other node, either a share of its self mask (it survived) or a share of its mask key (it
//! dropped), never both, and reveals nothing when fewer than `threshold` inputs survive.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chacha20poly1305::ChaCha20Poly1305;
use curve25519_dalek::Scalar;
use ed25519_dalek::SigningKey;
use rand::{CryptoRng, Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

use crate::bytes::{ByteString, Bytes, RingVector};
use crate::config::{NodeId, RoundConfig, RoundContext};
use crate::crypto::{self, MaskSign};
use crate::error::SecaggError;
use crate::messages::{
    EncryptedShare, ForwardedShare, HubBody, HubMessage, KeyAdvertisement, NodeBody, NodeMessage,
    RevealedShare, SignedAdvertisement, advert_digest,
};
use crate::shamir;

/// Where a node is in the round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePhase {
    /// Created; `start()` not called yet.
    Created,
    /// Key advertisement sent; waiting for the key directory.
    Advertised,
    /// Encrypted shares sent; waiting for the shares addressed to us.
    SharesSent,
    /// Masked input sent; waiting for the unmasking request.
    MaskedInputSent,
    /// Unmasking shares sent: our part is done.
    Finished,
    /// The hub aborted the round, or we refused to continue.
    Aborted,
}

impl NodePhase {
    fn name(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Advertised => "waiting for key directory",
            Self::SharesSent => "waiting for shares",
            Self::MaskedInputSent => "waiting for unmask request",
            Self::Finished => "finished",
            Self::Aborted => "aborted",
        }
    }
}

/// What a node derives for each neighbour from the directory.
struct Peer {
    cipher: ChaCha20Poly1305,
    mask_seed: [u8; 32],
}

/// One node's side of one aggregation round.
pub struct NodeSession {
    context: Arc<RoundContext>,
    me: NodeId,
    identity: SigningKey,
    rng: ChaCha20Rng,
    input: Vec<u64>,
    phase: NodePhase,
    cipher_secret: StaticSecret,
    mask_scalar: Scalar,
    self_mask: Scalar,
    keys: KeyAdvertisement,
    peers: BTreeMap<NodeId, Peer>,
    held: BTreeMap<NodeId, (Scalar, Scalar)>,
    senders: BTreeSet<NodeId>,
}

impl std::fmt::Debug for NodeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the input or secrets.
        f.debug_struct("NodeSession")
            .field("me", &self.me)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Drop for NodeSession {
    fn drop(&mut self) {
        self.input.zeroize();
        self.mask_scalar.zeroize();
        self.self_mask.zeroize();
        for (b, key) in self.held.values_mut() {
            b.zeroize();
            key.zeroize();
        }
    }
}

impl NodeSession {
    /// A session for node `me` with its enrolled identity key and its encoded input
    /// (`config.dimension` ring elements). If the configuration carries a DP noise plan, the
    /// node's noise share is sampled now and added to the input before any masking.
    pub fn new<R: Rng + CryptoRng + ?Sized>(
        config: RoundConfig,
        me: NodeId,
        identity: SigningKey,
        input: Vec<u64>,
        rng: &mut R,
    ) -> Result<Self, SecaggError> {
        Self::with_context(
            Arc::new(RoundContext::new(config)?),
            me,
            identity,
            input,
            rng,
        )
    }

    /// Like [`NodeSession::new`] with an already validated context (shared between sessions
    /// in simulations).
    pub fn with_context<R: Rng + CryptoRng + ?Sized>(
        context: Arc<RoundContext>,
        me: NodeId,
        identity: SigningKey,
        mut input: Vec<u64>,
        rng: &mut R,
    ) -> Result<Self, SecaggError> {
        if context.identity(me)? != identity.verifying_key() {
            return Err(SecaggError::InvalidConfig(format!(
                "this node's identity key is not the key enrolled for node {me} in the round configuration"
            )));
        }
        let expected = context.config().dimension;
        if input.len() != expected {
            return Err(SecaggError::WrongLength {
                what: "input vector",
                got: input.len(),
                expected,
            });
        }
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        if let Some(plan) = &context.config().noise {
            let noise = plan.sample_share(&mut rng)?;
            for (value, n) in input.iter_mut().zip(noise) {
                *value = value.wrapping_add(n as u64);
            }
        }
        let empty = Bytes([0; 32]);
        Ok(Self {
            context,
            me,
            identity,
            rng,
            input,
            phase: NodePhase::Created,
            cipher_secret: StaticSecret::from([0u8; 32]),
            mask_scalar: Scalar::ZERO,
            self_mask: Scalar::ZERO,
            keys: KeyAdvertisement {
                cipher_public: empty,
                mask_public: empty,
                self_mask_commitment: empty,
            },
            peers: BTreeMap::new(),
            held: BTreeMap::new(),
            senders: BTreeSet::new(),
        })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.me
    }

    /// Where the node is in the round.
    pub fn phase(&self) -> NodePhase {
        self.phase
    }

    /// Round 0: fresh keys and the signed advertisement to post to the hub.
    pub fn start(&mut self) -> Result<NodeMessage, SecaggError> {
        if self.phase != NodePhase::Created {
            return Err(self.unexpected("start"));
        }
        let mut cipher_bytes = [0u8; 32];
        self.rng.fill_bytes(&mut cipher_bytes);
        self.cipher_secret = StaticSecret::from(cipher_bytes);
        cipher_bytes.zeroize();
        self.mask_scalar = shamir::random_scalar(&mut self.rng);
        self.self_mask = shamir::random_scalar(&mut self.rng);
        let session = self.context.session();
        self.keys = KeyAdvertisement {
            cipher_public: Bytes(PublicKey::from(&self.cipher_secret).to_bytes()),
            mask_public: Bytes(
                PublicKey::from(&crypto::x25519_from_scalar(&self.mask_scalar)).to_bytes(),
            ),
            self_mask_commitment: Bytes(crypto::self_mask_commitment(
                &self.self_mask,
                &session,
                self.me,
            )),
        };
        self.phase = NodePhase::Advertised;
        Ok(self.sign(NodeBody::AdvertiseKeys(self.keys)))
    }

    /// Processes one message from the hub; returns the message to post next, if any.
    /// An error leaves the node where it was (a rejected message changes nothing), except
    /// that refusing to unmask with too few survivors aborts the node's round.
    pub fn handle(&mut self, message: &HubMessage) -> Result<Option<NodeMessage>, SecaggError> {
        if message.session.0 != self.context.session() {
            return Err(SecaggError::WrongSession);
        }
        if message.to != self.me {
            return Err(SecaggError::WrongSender {
                claimed: message.to,
                reason: "message addressed to another node",
            });
        }
        match (&message.body, self.phase) {
            (HubBody::Aborted { .. }, _) => {
                self.phase = NodePhase::Aborted;
                Ok(None)
            }
            (HubBody::KeyDirectory { adverts }, NodePhase::Advertised) => {
                self.on_directory(adverts).map(Some)
            }
            (HubBody::ForwardedShares { shares }, NodePhase::SharesSent) => {
                self.on_shares(shares).map(Some)
            }
            (HubBody::UnmaskRequest { survivors, dropped }, NodePhase::MaskedInputSent) => {
                self.on_unmask(survivors, dropped).map(Some)
            }
            _ => Err(self.unexpected(hub_kind(&message.body))),
        }
    }

    fn unexpected(&self, what: &'static str) -> SecaggError {
        SecaggError::UnexpectedMessage {
            what,
            node: self.me,
            phase: self.phase.name(),
        }
    }

    fn sign(&self, body: NodeBody) -> NodeMessage {
        let session = self.context.session();
        let digest = body.digest(&session, self.me);
        NodeMessage {
            session: Bytes(session),
            from: self.me,
            signature: Bytes(crypto::sign(&self.identity, &digest)),
            body,
        }
    }

    /// Round 1: check the directory, then share b and the mask key among the holders.
    fn on_directory(
        &mut self,
        adverts: &[SignedAdvertisement],
    ) -> Result<NodeMessage, SecaggError> {
        let directory = self.verify_directory(adverts)?;
        let session = self.context.session();
        let mask_secret = crypto::x25519_from_scalar(&self.mask_scalar);
        let mut peers = BTreeMap::new();
        for (&node, keys) in directory.iter().filter(|(node, _)| **node != self.me) {
            let cipher = crypto::share_cipher(
                &self.cipher_secret,
                &keys.cipher_public.0,
                &session,
                self.me,
                node,
            );
            let seed =
                crypto::mask_seed(&mask_secret, &keys.mask_public.0, &session, self.me, node);
            // A neighbour with a small-order key is left out, as if it had dropped.
            if let (Some(cipher), Some(mask_seed)) = (cipher, seed) {
                peers.insert(node, Peer { cipher, mask_seed });
            }
        }
        let threshold = self.context.share_threshold();
        let holders: Vec<u32> = std::iter::once(self.me.0)
            .chain(peers.keys().map(|n| n.0))
            .collect();
        if holders.len() < threshold {
            return Err(self.abort_with("key advertisement", holders.len(), threshold));
        }
        let mut holders_sorted = holders.clone();
        holders_sorted.sort_unstable();
        let b_shares = shamir::share(self.self_mask, threshold, &holders_sorted, &mut self.rng);
        let key_shares = shamir::share(self.mask_scalar, threshold, &holders_sorted, &mut self.rng);
        let mut shares = Vec::with_capacity(peers.len());
        for ((x, b_share), key_share) in holders_sorted.iter().zip(&b_shares).zip(&key_shares) {
            let to = NodeId(*x);
            if to == self.me {
                self.held.insert(self.me, (*b_share, *key_share));
            } else if let Some(peer) = peers.get(&to) {
                let sealed =
                    crypto::seal_shares(&peer.cipher, &session, self.me, to, b_share, key_share)
                        .ok_or(SecaggError::BadCiphertext { from: self.me, to })?;
                shares.push(EncryptedShare {
                    to,
                    ciphertext: ByteString(sealed),
                });
            }
        }
        self.peers = peers;
        self.phase = NodePhase::SharesSent;
        Ok(self.sign(NodeBody::EncryptedShares { shares }))
    }

    /// Verifies every advertisement's signature; only ourselves and neighbours are allowed,
    /// and ours must be exactly what we sent.
    fn verify_directory(
        &self,
        adverts: &[SignedAdvertisement],
    ) -> Result<BTreeMap<NodeId, KeyAdvertisement>, SecaggError> {
        let session = self.context.session();
        let neighbours = self.context.neighbours(self.me);
        let mut directory = BTreeMap::new();
        for advert in adverts {
            let node = advert.node;
            if node != self.me && neighbours.binary_search(&node).is_err() {
                return Err(malformed(
                    self.me,
                    "key directory",
                    format!("node {node} is not a neighbour"),
                ));
            }
            let digest = advert_digest(&session, node, &advert.keys);
            if !crypto::verify(&self.context.identity(node)?, &digest, &advert.signature.0) {
                return Err(SecaggError::BadSignature {
                    what: "key advertisement",
                    node,
                });
            }
            if directory.insert(node, advert.keys).is_some() {
                return Err(malformed(
                    self.me,
                    "key directory",
                    format!("node {node} appears twice"),
                ));
            }
        }
        if directory.get(&self.me) != Some(&self.keys) {
            return Err(malformed(
                self.me,
                "key directory",
                "our own advertisement is missing or altered".into(),
            ));
        }
        Ok(directory)
    }

    /// Round 2: decrypt the shares we hold, then mask the input.
    fn on_shares(&mut self, shares: &[ForwardedShare]) -> Result<NodeMessage, SecaggError> {
        let session = self.context.session();
        let mut opened = BTreeMap::new();
        for share in shares {
            let from = share.from;
            let peer = self.peers.get(&from).ok_or_else(|| {
                malformed(
                    self.me,
                    "forwarded shares",
                    format!("share from node {from}, which is not in our directory"),
                )
            })?;
            let pair =
                crypto::open_shares(&peer.cipher, &session, from, self.me, &share.ciphertext.0)
                    .ok_or(SecaggError::BadCiphertext { from, to: self.me })?;
            if opened.insert(from, pair).is_some() {
                return Err(malformed(
                    self.me,
                    "forwarded shares",
                    format!("two shares from node {from}"),
                ));
            }
        }
        let threshold = self.context.share_threshold();
        if opened.len() + 1 < threshold {
            return Err(self.abort_with("share keys", opened.len() + 1, threshold));
        }
        self.senders = opened.keys().copied().collect();
        self.held.extend(opened);
        let mut masked = self.input.clone();
        crypto::apply_mask(
            &mut masked,
            &crypto::self_mask_seed(&self.self_mask, &session, self.me),
            MaskSign::Add,
        );
        for peer_id in &self.senders {
            if let Some(peer) = self.peers.get(peer_id) {
                crypto::apply_mask(
                    &mut masked,
                    &peer.mask_seed,
                    MaskSign::pairwise(self.me, *peer_id),
                );
            }
        }
        self.phase = NodePhase::MaskedInputSent;
        Ok(self.sign(NodeBody::MaskedInput {
            masked: RingVector(masked),
        }))
    }

    /// Round 3: reveal, per owner, the share matching its fate (survived or dropped).
    fn on_unmask(
        &mut self,
        survivors: &[NodeId],
        dropped: &[NodeId],
    ) -> Result<NodeMessage, SecaggError> {
        let survivors: BTreeSet<NodeId> = survivors.iter().copied().collect();
        let dropped: BTreeSet<NodeId> = dropped.iter().copied().collect();
        if !survivors.is_disjoint(&dropped) {
            self.phase = NodePhase::Aborted;
            return Err(malformed(
                self.me,
                "unmask request",
                "a node is listed both as survivor and as dropped".into(),
            ));
        }
        if !survivors.contains(&self.me) {
            return Err(malformed(
                self.me,
                "unmask request",
                "we are not listed as a survivor".into(),
            ));
        }
        let needed = self.context.config().threshold;
        if survivors.len() < needed {
            return Err(self.abort_with("masked input", survivors.len(), needed));
        }
        let mut self_mask = Vec::new();
        let mut mask_key = Vec::new();
        for (&owner, (b_share, key_share)) in &self.held {
            if survivors.contains(&owner) {
                self_mask.push(RevealedShare {
                    owner,
                    share: Bytes(b_share.to_bytes()),
                });
            } else if dropped.contains(&owner) && owner != self.me {
                mask_key.push(RevealedShare {
                    owner,
                    share: Bytes(key_share.to_bytes()),
                });
            }
        }
        self.phase = NodePhase::Finished;
        Ok(self.sign(NodeBody::UnmaskShares {
            self_mask,
            mask_key,
        }))
    }

    fn abort_with(&mut self, phase: &'static str, got: usize, needed: usize) -> SecaggError {
        self.phase = NodePhase::Aborted;
        SecaggError::RoundFailed { phase, got, needed }
    }
}

fn malformed(node: NodeId, what: &'static str, reason: String) -> SecaggError {
    SecaggError::Malformed { what, node, reason }
}

fn hub_kind(body: &HubBody) -> &'static str {
    match body {
        HubBody::KeyDirectory { .. } => "key directory",
        HubBody::ForwardedShares { .. } => "forwarded shares",
        HubBody::UnmaskRequest { .. } => "unmask request",
        HubBody::Aborted { .. } => "abort notice",
    }
}
