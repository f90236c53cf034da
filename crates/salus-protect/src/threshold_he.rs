//! Threshold homomorphic encryption under a study round: [`HeHub`] and [`HeNode`] run a
//! per-session key ceremony and an encrypted sum on `salus-he` (multiparty BFV, N-of-N),
//! and hand the hub only the sum re-encrypted to the researcher's key.
//!
//! Message flow (three node -> hub posts, two hub -> node deliveries):
//! 1. node: its signed public key share (the CRS is derived from the session binding);
//!    hub -> node: the collective public key (all shares combined, signatures checked);
//! 2. node: checks that the key's roster is exactly the study's participants with their
//!    enrolled identity keys and contains its own share, then sends its contribution
//!    (counts + DP noise, reals; see [`crate::encoding`]) encrypted under the collective
//!    key, with an Ed25519 signature binding the ciphertext digest to the session and its
//!    party number; hub -> node: **all** participants' signed ciphertexts (the key-switch
//!    request);
//! 3. node: runs the check below, computes the sum itself and sends its noise-flooded
//!    key-switch share of that sum to the researcher's key; the hub combines the shares
//!    into the sum under the researcher's key: [`crate::Outcome::Encrypted`].
//!
//! **The check a node makes before key switching** (a node must never re-encrypt anything
//! but the sum of every participant's contribution, or the hub could ask it to re-encrypt
//! one node's ciphertext on its own):
//! - the request holds exactly one ciphertext per participant, in party order;
//! - each ciphertext's signature verifies under that participant's enrolled identity key,
//!   over (session binding, party number, ciphertext digest): it is what that node
//!   encrypted in this session, unaltered;
//! - the entry for this node is the ciphertext it sent;
//! - every ciphertext is under the collective key this node confirmed and has the round's
//!   length;
//! - the node sums the ciphertexts itself and switches only that sum, only to the
//!   researcher key in its own session parameters (never one named by the hub), and only
//!   once per session.
//!
//! The hub also checks each share and ciphertext as it arrives (sender, party number,
//! identity key, signature, key, length) and refuses bad ones with an error to the sender.
//! N-of-N: a participant missing at any phase deadline fails the session, naming it.
//! Timeouts follow the same rule as secure aggregation (first phase until
//! `deadline_ms`, later phases as long again).

mod hub;
mod node;

pub use hub::HeHub;
pub use node::HeNode;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use salus_he::{Ciphertext, CollectivePublicKey, Crs, KeySwitchShare, Params, PublicKeyShare};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::SessionParams;
use crate::common::{Roster, session_binding};
use crate::encoding::LayoutCodec;
use crate::error::ProtectError;
use crate::noise::NoisePlan;
use crate::researcher::parse_researcher_public;

/// The mode name.
pub const MODE: &str = "threshold-he";

/// What a node posts to the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum HeNodeMessage {
    /// Phase 1: the node's signed public key share.
    KeyShare {
        /// Hex of the session binding.
        session: String,
        /// The share (base64 of a versioned salus-he blob).
        share: PublicKeyShare,
    },
    /// Phase 2: the node's contribution under the collective key.
    Ciphertext {
        /// Hex of the session binding.
        session: String,
        /// The ciphertext, signed by the node.
        signed: SignedCiphertext,
    },
    /// Phase 3: the node's key-switch share of the sum.
    KeySwitchShare {
        /// Hex of the session binding.
        session: String,
        /// The share (signed inside salus-he, bound to the sum's digest and the target key).
        share: KeySwitchShare,
    },
}

/// What the hub sends to a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
// A message is built once, serialised and dropped; boxing the key would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum HeHubMessage {
    /// After phase 1: the collective public key.
    CollectiveKey {
        /// Hex of the session binding.
        session: String,
        /// The key with its roster.
        key: CollectivePublicKey,
    },
    /// After phase 2: every participant's signed ciphertext, in party order.
    KeySwitchRequest {
        /// Hex of the session binding.
        session: String,
        /// One entry per participant.
        ciphertexts: Vec<SignedCiphertext>,
    },
    /// The session was abandoned.
    Aborted {
        /// Hex of the session binding.
        session: String,
        /// Why (never any value).
        reason: String,
    },
}

/// A contribution ciphertext with its author's signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedCiphertext {
    /// The author's party number (participant index + 1).
    pub party: u32,
    /// The ciphertext under the collective key.
    pub ciphertext: Ciphertext,
    /// Hex Ed25519 signature over [`ciphertext_digest`].
    pub signature: String,
}

/// The digest a node signs for its ciphertext: session binding, party, ciphertext digest.
pub fn ciphertext_digest(binding: &[u8; 32], party: u32, ciphertext: &Ciphertext) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"salus-protect/v1/he-ciphertext");
    hash.update(binding);
    hash.update(party.to_be_bytes());
    hash.update(ciphertext.digest());
    hash.finalize().into()
}

impl SignedCiphertext {
    /// Signs `ciphertext` as `party`'s contribution to the session `binding`.
    pub(crate) fn sign(
        binding: &[u8; 32],
        party: u32,
        ciphertext: Ciphertext,
        key: &SigningKey,
    ) -> Self {
        let signature = key.sign(&ciphertext_digest(binding, party, &ciphertext));
        Self {
            party,
            ciphertext,
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Verifies the signature under `key`.
    pub(crate) fn verify(
        &self,
        binding: &[u8; 32],
        key: &VerifyingKey,
    ) -> Result<(), ProtectError> {
        let bad = || {
            ProtectError::refused(format!(
                "the ciphertext of party {} does not carry a valid signature by its enrolled identity key",
                self.party
            ))
        };
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        key.verify_strict(
            &ciphertext_digest(binding, self.party, &self.ciphertext),
            &Signature::from_bytes(&bytes),
        )
        .map_err(|_| bad())
    }
}

/// Everything both sides derive identically from the session parameters.
struct HeSetup {
    roster: Roster,
    binding: [u8; 32],
    session: String,
    params: Params,
    crs: Crs,
    layout: LayoutCodec,
    limbs: usize,
    researcher: salus_he::ResearcherPublicKey,
    noise: Option<NoisePlan>,
}

impl HeSetup {
    fn new(params: &SessionParams) -> Result<Self, ProtectError> {
        let roster = Roster::new(&params.participants)?;
        let n = roster.len();
        if n > salus_he::params::MAX_PARTIES {
            return Err(ProtectError::invalid(format!(
                "threshold HE supports at most {} nodes per study, this one has {n}; use secure aggregation",
                salus_he::params::MAX_PARTIES
            )));
        }
        let key = params.researcher_key.as_deref().ok_or_else(|| {
            ProtectError::invalid("threshold HE needs the researcher's public key (create one with `ResearcherKeys::generate`)")
        })?;
        let researcher = parse_researcher_public(key)?;
        let layout = LayoutCodec::new(&params.layout, n)?;
        let noise = match &params.dp {
            Some(dp) => Some(NoisePlan::new(
                dp,
                layout.count_len(),
                params.threshold.clamp(1, n),
                layout.segment_names(),
            )?),
            None => None,
        };
        let binding = session_binding(MODE, params, true);
        let he_params = Params::standard();
        let mut label = b"salus-protect/v1/threshold-he/crs/".to_vec();
        label.extend_from_slice(&binding);
        let crs = Crs::derive(&he_params, &label)?;
        Ok(Self {
            limbs: crate::encoding::he_limb_count(&layout),
            roster,
            session: hex::encode(binding),
            binding,
            params: he_params,
            crs,
            layout,
            researcher,
            noise,
        })
    }

    /// Refuses a message from another session.
    fn check_session(&self, session: &str) -> Result<(), ProtectError> {
        if session != self.session {
            return Err(ProtectError::refused(
                "the message belongs to another session (replayed, misrouted, or the hub and node disagree on the study parameters)",
            ));
        }
        Ok(())
    }

    /// Checks a ciphertext's shape: under `key`, integer payload, the round's length.
    fn check_ciphertext(
        &self,
        party: u32,
        ct: &Ciphertext,
        key: &CollectivePublicKey,
    ) -> Result<(), ProtectError> {
        if ct.key_id() != key.key_id() {
            return Err(ProtectError::refused(format!(
                "the ciphertext of party {party} is not under this session's collective key"
            )));
        }
        if ct.len() != self.limbs || ct.payload() != salus_he::Payload::Integers {
            return Err(ProtectError::refused(format!(
                "the ciphertext of party {party} does not have the round's shape ({} integers)",
                self.limbs
            )));
        }
        Ok(())
    }
}

/// Party number of participant `index`.
fn party_number(index: usize) -> u32 {
    index as u32 + 1
}
