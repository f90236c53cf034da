//! The node's side of a threshold-HE session: key share, confirmation of the collective
//! key, encrypted contribution, and the checked key-switch share of the sum.

use ed25519_dalek::SigningKey;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_he::{Ciphertext, CollectivePublicKey, Party, encrypt_i64s};
use zeroize::Zeroize;

use super::{HeHubMessage, HeNodeMessage, HeSetup, SignedCiphertext, party_number};
use crate::encoding::he_limbs;
use crate::error::ProtectError;
use crate::{NodeSession, NodeSessionParams};

/// Where the node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Created,
    ShareSent,
    CiphertextSent,
    Switched,
    Aborted,
}

/// A node's side of a threshold-HE session.
pub struct HeNode {
    setup: HeSetup,
    index: usize,
    identity: SigningKey,
    party: Party,
    rng: ChaCha20Rng,
    limbs: Vec<i64>,
    phase: Phase,
    key: Option<CollectivePublicKey>,
    sent: Option<[u8; 32]>,
}

impl std::fmt::Debug for HeNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the contribution or key material.
        f.debug_struct("HeNode")
            .field("party", &party_number(self.index))
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Drop for HeNode {
    fn drop(&mut self) {
        self.limbs.zeroize();
    }
}

impl HeNode {
    /// Checks and encodes the contribution, adds this node's DP noise share to the counts
    /// (no ledger is charged here), and makes this session's secret key share.
    pub fn new(params: &NodeSessionParams, mut values: Vec<f64>) -> Result<Self, ProtectError> {
        let setup = HeSetup::new(&params.session)?;
        let index = setup.roster.require(&params.node_id)?;
        let identity = setup.roster.signing_key(index, &params.identity_seed)?;
        let limbs = encode(&setup, &values, &params.noise_seed);
        values.zeroize();
        let limbs = limbs?;
        let mut rng = ChaCha20Rng::from_seed(params.fresh_seed);
        let party = Party::with_identity(
            party_number(index),
            &setup.params,
            &setup.crs,
            identity.clone(),
            &mut rng,
        )?;
        Ok(Self {
            setup,
            index,
            identity,
            party,
            rng,
            limbs,
            phase: Phase::Created,
            key: None,
            sent: None,
        })
    }

    fn expect(&self, phase: Phase, what: &str) -> Result<(), ProtectError> {
        if self.phase != phase {
            return Err(ProtectError::refused(format!(
                "{what} is not expected now (node phase: {:?}); it is ignored",
                self.phase
            )));
        }
        Ok(())
    }

    /// Phase 2: confirm the collective key, then encrypt and sign the contribution.
    fn on_key(&mut self, key: CollectivePublicKey) -> Result<HeNodeMessage, ProtectError> {
        self.expect(Phase::ShareSent, "the collective key")?;
        self.check_roster(&key)?;
        self.party.confirm_collective_key(&key)?;
        let ciphertext = encrypt_i64s(&key, &self.limbs, &mut self.rng)?;
        self.limbs.zeroize();
        self.sent = Some(ciphertext.digest());
        self.key = Some(key);
        self.phase = Phase::CiphertextSent;
        let me = party_number(self.index);
        Ok(HeNodeMessage::Ciphertext {
            session: self.setup.session.clone(),
            signed: SignedCiphertext::sign(&self.setup.binding, me, ciphertext, &self.identity),
        })
    }

    /// The key's members must be exactly the participants, with their enrolled keys: the
    /// hub can neither add a member of its own nor leave a node out.
    fn check_roster(&self, key: &CollectivePublicKey) -> Result<(), ProtectError> {
        let roster = key.roster();
        let matches = roster.len() == self.setup.roster.len()
            && roster.iter().enumerate().all(|(i, entry)| {
                entry.party == party_number(i)
                    && entry.verifying_key == self.setup.roster.key(i).to_bytes()
            });
        if !matches {
            return Err(ProtectError::refused(
                "the collective key's members are not exactly this study's participants with their enrolled identity keys; refusing to encrypt under it",
            ));
        }
        Ok(())
    }

    /// Phase 3: check the request (see the module documentation), sum, key-switch the sum.
    fn on_request(
        &mut self,
        ciphertexts: Vec<SignedCiphertext>,
    ) -> Result<HeNodeMessage, ProtectError> {
        self.expect(Phase::CiphertextSent, "a key-switch request")?;
        let sum = self.verified_sum(&ciphertexts)?;
        let share = self
            .party
            .key_switch_share(&sum, &self.setup.researcher, &mut self.rng)?;
        self.phase = Phase::Switched;
        Ok(HeNodeMessage::KeySwitchShare {
            session: self.setup.session.clone(),
            share,
        })
    }

    /// The sum of every participant's signed ciphertext, or why the request is refused.
    fn verified_sum(&self, ciphertexts: &[SignedCiphertext]) -> Result<Ciphertext, ProtectError> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| ProtectError::refused("no collective key confirmed yet"))?;
        let n = self.setup.roster.len();
        if ciphertexts.len() != n {
            return Err(ProtectError::refused(format!(
                "the key-switch request holds {} ciphertexts but the study has {n} participants; \
                 only the sum of every participant's contribution is re-encrypted",
                ciphertexts.len()
            )));
        }
        for (i, signed) in ciphertexts.iter().enumerate() {
            if signed.party != party_number(i) {
                return Err(ProtectError::refused(
                    "the key-switch request does not hold one ciphertext per participant in party order",
                ));
            }
            signed.verify(&self.setup.binding, self.setup.roster.key(i))?;
            self.setup
                .check_ciphertext(signed.party, &signed.ciphertext, key)?;
        }
        let own = &ciphertexts[self.index].ciphertext;
        if Some(own.digest()) != self.sent {
            return Err(ProtectError::refused(
                "the key-switch request does not hold the ciphertext this node sent",
            ));
        }
        Ok(Ciphertext::sum(ciphertexts.iter().map(|c| &c.ciphertext))?)
    }

    fn message(&self, message: HeNodeMessage) -> Result<Vec<serde_json::Value>, String> {
        serde_json::to_value(message)
            .map(|body| vec![body])
            .map_err(|e| format!("cannot serialize a protocol message: {e}"))
    }
}

fn encode(
    setup: &HeSetup,
    values: &[f64],
    noise_seed: &[u8; 32],
) -> Result<Vec<i64>, ProtectError> {
    let (mut counts, mut reals) = setup.layout.split(values)?;
    if let Some(plan) = &setup.noise {
        let noise = plan.node_share(noise_seed)?;
        for (count, n) in counts.iter_mut().zip(noise) {
            *count = count.saturating_add(n);
        }
    }
    let limbs = he_limbs(&setup.layout, &counts, &reals);
    counts.zeroize();
    reals.zeroize();
    Ok(limbs)
}

impl NodeSession for HeNode {
    fn start(&mut self) -> Result<Vec<serde_json::Value>, String> {
        self.expect(Phase::Created, "start")
            .map_err(|e| e.to_string())?;
        self.phase = Phase::ShareSent;
        self.message(HeNodeMessage::KeyShare {
            session: self.setup.session.clone(),
            share: self.party.public_key_share(),
        })
    }

    fn handle(&mut self, body: serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
        let message: HeHubMessage = serde_json::from_value(body).map_err(|e| {
            ProtectError::malformed(format!("not a threshold-HE hub message: {e}")).to_string()
        })?;
        let reply = match message {
            HeHubMessage::CollectiveKey { session, key } => self
                .setup
                .check_session(&session)
                .and_then(|()| self.on_key(key)),
            HeHubMessage::KeySwitchRequest {
                session,
                ciphertexts,
            } => self
                .setup
                .check_session(&session)
                .and_then(|()| self.on_request(ciphertexts)),
            HeHubMessage::Aborted { session, .. } => {
                self.setup
                    .check_session(&session)
                    .map_err(|e| e.to_string())?;
                self.phase = Phase::Aborted;
                return Ok(Vec::new());
            }
        };
        self.message(reply.map_err(|e| e.to_string())?)
    }
}
