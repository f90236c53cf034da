//! The messages of the four rounds, as they travel between nodes and the hub (JSON through
//! the wire crate). Every node message carries the session id and an Ed25519 signature by
//! the sender's enrolled identity key over (session, sender, kind, body), so a message
//! replayed from another round or altered in transit is rejected.

use serde::{Deserialize, Serialize};

use crate::bytes::{ByteString, Bytes, RingVector};
use crate::config::NodeId;
use crate::crypto;

/// A message from a node to the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMessage {
    /// The session (round) this message belongs to.
    pub session: Bytes<32>,
    /// The sender.
    pub from: NodeId,
    /// Ed25519 signature by the sender's identity key over [`NodeMessage::digest`].
    pub signature: Bytes<64>,
    /// The content.
    pub body: NodeBody,
}

/// What a node sends in each round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum NodeBody {
    /// Round 0: the node's two X25519 public keys.
    AdvertiseKeys(KeyAdvertisement),
    /// Round 1: Shamir shares of its secrets, encrypted to each neighbour.
    EncryptedShares {
        /// One ciphertext per neighbour.
        shares: Vec<EncryptedShare>,
    },
    /// Round 2: the masked input vector.
    MaskedInput {
        /// x + self mask + pairwise masks (mod 2^64).
        masked: RingVector,
    },
    /// Round 3: shares that let the hub remove masks.
    UnmaskShares {
        /// Shares of survivors' self-mask scalars.
        self_mask: Vec<RevealedShare>,
        /// Shares of dropped nodes' mask secret keys.
        mask_key: Vec<RevealedShare>,
    },
}

/// A node's public keys for one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAdvertisement {
    /// X25519 key for encrypting shares to this node.
    pub cipher_public: Bytes<32>,
    /// X25519 key for pairwise masks.
    pub mask_public: Bytes<32>,
    /// SHA-256 commitment to the node's self-mask scalar b, so the hub can check the b it
    /// reconstructs (hiding: b has 252 random bits).
    pub self_mask_commitment: Bytes<32>,
}

/// Shares encrypted for one neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedShare {
    /// The recipient.
    pub to: NodeId,
    /// ChaCha20-Poly1305 ciphertext of (from, to, share of b, share of mask key).
    pub ciphertext: ByteString,
}

/// One Shamir share revealed to the hub in the unmasking round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealedShare {
    /// Whose secret this is a share of.
    pub owner: NodeId,
    /// The share (a canonical scalar).
    pub share: Bytes<32>,
}

/// A message from the hub to one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubMessage {
    /// The session (round).
    pub session: Bytes<32>,
    /// The recipient.
    pub to: NodeId,
    /// The content.
    pub body: HubBody,
}

/// What the hub sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum HubBody {
    /// After round 0: the signed key advertisements of the recipient and its neighbours.
    KeyDirectory {
        /// Each advertisement with its signature, exactly as the node sent it.
        adverts: Vec<SignedAdvertisement>,
    },
    /// After round 1: the ciphertexts addressed to the recipient.
    ForwardedShares {
        /// Sender and ciphertext.
        shares: Vec<ForwardedShare>,
    },
    /// After round 2: who survived (masked input received) and who dropped.
    UnmaskRequest {
        /// Nodes whose masked inputs are in the sum.
        survivors: Vec<NodeId>,
        /// Nodes that shared keys but sent no masked input.
        dropped: Vec<NodeId>,
    },
    /// The round was abandoned.
    Aborted {
        /// Why (no input values are ever included).
        reason: String,
    },
}

/// A key advertisement as relayed by the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAdvertisement {
    /// The advertising node.
    pub node: NodeId,
    /// Its keys.
    pub keys: KeyAdvertisement,
    /// Its signature over the advertisement.
    pub signature: Bytes<64>,
}

/// A ciphertext relayed by the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedShare {
    /// The sender.
    pub from: NodeId,
    /// The ciphertext, unchanged.
    pub ciphertext: ByteString,
}

impl NodeBody {
    /// The message kind, also used in errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AdvertiseKeys(_) => "key advertisement",
            Self::EncryptedShares { .. } => "encrypted shares",
            Self::MaskedInput { .. } => "masked input",
            Self::UnmaskShares { .. } => "unmasking shares",
        }
    }

    /// The digest the sender signs: bound to the session, the sender and every body byte.
    pub fn digest(&self, session: &[u8; 32], from: NodeId) -> [u8; 32] {
        match self {
            Self::AdvertiseKeys(keys) => advert_digest(session, from, keys),
            Self::EncryptedShares { shares } => {
                let mut parts = Vec::with_capacity(shares.len() * 2);
                let ids: Vec<[u8; 4]> = shares.iter().map(|s| s.to.0.to_be_bytes()).collect();
                for (share, id) in shares.iter().zip(&ids) {
                    parts.push(id.as_slice());
                    parts.push(share.ciphertext.0.as_slice());
                }
                crypto::transcript(session, from, "encrypted-shares", &parts)
            }
            Self::MaskedInput { masked } => {
                let bytes: Vec<u8> = masked.0.iter().flat_map(|v| v.to_le_bytes()).collect();
                crypto::transcript(session, from, "masked-input", &[&bytes])
            }
            Self::UnmaskShares {
                self_mask,
                mask_key,
            } => {
                let encode = |shares: &[RevealedShare]| -> Vec<u8> {
                    shares
                        .iter()
                        .flat_map(|s| s.owner.0.to_be_bytes().into_iter().chain(s.share.0))
                        .collect()
                };
                crypto::transcript(
                    session,
                    from,
                    "unmask-shares",
                    &[&encode(self_mask), &encode(mask_key)],
                )
            }
        }
    }
}

/// The digest of a key advertisement (what the directory's signatures cover).
pub fn advert_digest(session: &[u8; 32], from: NodeId, keys: &KeyAdvertisement) -> [u8; 32] {
    crypto::transcript(
        session,
        from,
        "advertise-keys",
        &[
            &keys.cipher_public.0,
            &keys.mask_public.0,
            &keys.self_mask_commitment.0,
        ],
    )
}
