//! The hub's side of a threshold-HE session: collects key shares, publishes the
//! collective key, collects signed ciphertexts, asks every node to key-switch their sum,
//! and combines the shares into the sum under the researcher's key.

use std::collections::BTreeMap;

use salus_he::{
    Ciphertext, CollectivePublicKey, KeySwitchShare, PublicKeyShare, combine_key_switch,
};

use super::{HeHubMessage, HeNodeMessage, HeSetup, SignedCiphertext, party_number};
use crate::common::PhaseClock;
use crate::error::ProtectError;
use crate::researcher::EncryptedSum;
use crate::{EncryptedAggregate, HubSession, Outcome, SessionFailure, SessionParams};

/// What the hub is collecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    KeyShares,
    Ciphertexts,
    KeySwitch,
    Done,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::KeyShares => "public key shares",
            Phase::Ciphertexts => "encrypted contributions",
            Phase::KeySwitch => "key-switch shares",
            Phase::Done => "finished",
        }
    }
}

/// The hub's side of a threshold-HE session.
pub struct HeHub {
    setup: HeSetup,
    session_id: String,
    phase: Phase,
    clock: PhaseClock,
    key_shares: BTreeMap<usize, PublicKeyShare>,
    key: Option<CollectivePublicKey>,
    ciphertexts: BTreeMap<usize, SignedCiphertext>,
    sum: Option<Ciphertext>,
    switch_shares: BTreeMap<usize, KeySwitchShare>,
    outbox: Vec<(String, serde_json::Value)>,
    outcome: Option<Result<Outcome, SessionFailure>>,
}

impl std::fmt::Debug for HeHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeHub")
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl HeHub {
    /// Opens the hub's side of a session (needs `params.researcher_key`).
    pub fn new(params: &SessionParams) -> Result<Self, ProtectError> {
        Ok(Self {
            setup: HeSetup::new(params)?,
            session_id: params.session_id.clone(),
            phase: Phase::KeyShares,
            clock: PhaseClock::new(params.deadline_ms),
            key_shares: BTreeMap::new(),
            key: None,
            ciphertexts: BTreeMap::new(),
            sum: None,
            switch_shares: BTreeMap::new(),
            outbox: Vec::new(),
            outcome: None,
        })
    }

    /// Who has answered in the current phase.
    fn answered(&self, index: usize) -> bool {
        match self.phase {
            Phase::KeyShares => self.key_shares.contains_key(&index),
            Phase::Ciphertexts => self.ciphertexts.contains_key(&index),
            Phase::KeySwitch => self.switch_shares.contains_key(&index),
            Phase::Done => true,
        }
    }

    fn all_answered(&self) -> bool {
        (0..self.setup.roster.len()).all(|i| self.answered(i))
    }

    /// Fails the session (N-of-N: nobody may be missing) and tells every node.
    fn fail(&mut self, message: String) {
        let missing = self.setup.roster.ids_where(|i| !self.answered(i));
        self.phase = Phase::Done;
        self.sum = None;
        self.send_to_all(&HeHubMessage::Aborted {
            session: self.setup.session.clone(),
            reason: message.clone(),
        });
        self.outcome = Some(Err(SessionFailure {
            message: format!("threshold HE failed: {message}"),
            missing,
        }));
    }

    fn send_to_all(&mut self, message: &HeHubMessage) {
        // Serializing plain data structures cannot fail.
        let Ok(body) = serde_json::to_value(message) else {
            return;
        };
        for id in self.setup.roster.ids() {
            self.outbox.push((id.clone(), body.clone()));
        }
    }

    fn accept(&mut self, index: usize, message: HeNodeMessage) -> Result<(), ProtectError> {
        let party = party_number(index);
        match (self.phase, message) {
            (Phase::KeyShares, HeNodeMessage::KeyShare { session, share }) => {
                self.setup.check_session(&session)?;
                if share.party() != party
                    || share.verifying_key() != self.setup.roster.key(index).to_bytes()
                {
                    return Err(ProtectError::refused(format!(
                        "the key share of party {party} is not made with its party number and enrolled identity key"
                    )));
                }
                // Combining one share checks its signature and its CRS now, so a bad share
                // is refused to its sender instead of failing the ceremony later.
                CollectivePublicKey::combine([&share])?;
                self.key_shares.insert(index, share);
            }
            (Phase::Ciphertexts, HeNodeMessage::Ciphertext { session, signed }) => {
                self.setup.check_session(&session)?;
                let key = self
                    .key
                    .as_ref()
                    .ok_or_else(|| ProtectError::refused("no collective key yet"))?;
                if signed.party != party {
                    return Err(ProtectError::refused(format!(
                        "a ciphertext signed as party {} came from party {party}",
                        signed.party
                    )));
                }
                signed.verify(&self.setup.binding, self.setup.roster.key(index))?;
                self.setup
                    .check_ciphertext(party, &signed.ciphertext, key)?;
                self.ciphertexts.insert(index, signed);
            }
            (Phase::KeySwitch, HeNodeMessage::KeySwitchShare { session, share }) => {
                self.setup.check_session(&session)?;
                if share.party() != party || share.target() != self.setup.researcher.key_id() {
                    return Err(ProtectError::refused(format!(
                        "the key-switch share of party {party} is not for the researcher's key or names another party"
                    )));
                }
                self.switch_shares.insert(index, share);
            }
            (phase, _) => {
                return Err(ProtectError::refused(format!(
                    "message not expected now (the hub is collecting {})",
                    phase.name()
                )));
            }
        }
        Ok(())
    }

    /// Moves to the next phase once every participant has answered.
    fn close_phase(&mut self, now_ms: u64) {
        let step = match self.phase {
            Phase::KeyShares => self.publish_key(),
            Phase::Ciphertexts => self.request_key_switch(),
            Phase::KeySwitch => self.finish(),
            Phase::Done => return,
        };
        match step {
            Ok(()) => self.clock.next_phase(now_ms),
            Err(error) => self.fail(error.to_string()),
        }
    }

    fn publish_key(&mut self) -> Result<(), ProtectError> {
        let key = CollectivePublicKey::combine(self.key_shares.values())?;
        self.send_to_all(&HeHubMessage::CollectiveKey {
            session: self.setup.session.clone(),
            key: key.clone(),
        });
        self.key = Some(key);
        self.key_shares.clear();
        self.phase = Phase::Ciphertexts;
        Ok(())
    }

    fn request_key_switch(&mut self) -> Result<(), ProtectError> {
        let ordered: Vec<SignedCiphertext> = std::mem::take(&mut self.ciphertexts)
            .into_values()
            .collect();
        self.sum = Some(Ciphertext::sum(ordered.iter().map(|c| &c.ciphertext))?);
        self.send_to_all(&HeHubMessage::KeySwitchRequest {
            session: self.setup.session.clone(),
            ciphertexts: ordered,
        });
        self.phase = Phase::KeySwitch;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ProtectError> {
        let (Some(key), Some(sum)) = (&self.key, &self.sum) else {
            return Err(ProtectError::refused(
                "key-switch shares arrived before the sum existed",
            ));
        };
        let shares: Vec<KeySwitchShare> = self.switch_shares.values().cloned().collect();
        let switched = combine_key_switch(key, sum, &shares)?;
        let contributors = self.setup.roster.ids().to_vec();
        let noise = self
            .setup
            .noise
            .as_ref()
            .map(|plan| plan.record(contributors.len()));
        let blob = EncryptedSum::new(
            &self.session_id,
            self.setup.layout.layout().clone(),
            contributors.clone(),
            noise.clone(),
            switched,
        );
        self.phase = Phase::Done;
        self.outcome = Some(Ok(Outcome::Encrypted(EncryptedAggregate {
            ciphertext: blob.to_text()?,
            hub_saw: hub_saw(contributors.len(), noise.is_some()),
            contributors,
        })));
        Ok(())
    }

    fn advance(&mut self, now_ms: u64) {
        self.clock.observe(now_ms);
        if self.outcome.is_none() && self.clock.expired(now_ms) {
            let phase = self.phase;
            self.fail(format!(
                "not every node sent its {} in time (all nodes are needed); nothing was revealed",
                phase.name()
            ));
        }
    }
}

fn hub_saw(nodes: usize, noisy: bool) -> String {
    let mut text = format!(
        "public key shares and the collective public key, the contributions of {nodes} nodes encrypted \
         under that key (no single party can decrypt them), their homomorphic sum, and the nodes' \
         noise-flooded key-switch shares; it holds only the sum re-encrypted to the researcher's key, \
         which it cannot open"
    );
    if noisy {
        text.push_str("; the counts carry the nodes' differential-privacy noise");
    }
    text
}

impl HubSession for HeHub {
    fn receive(&mut self, from: &str, body: serde_json::Value, now_ms: u64) -> Result<(), String> {
        self.advance(now_ms);
        if self.outcome.is_some() {
            return Err("the threshold-HE session is over; the message was ignored".into());
        }
        let index = self.setup.roster.require(from).map_err(|e| e.to_string())?;
        if self.answered(index) {
            return Err(format!(
                "duplicate message from `{from}` (the hub is collecting {})",
                self.phase.name()
            ));
        }
        let message: HeNodeMessage = serde_json::from_value(body).map_err(|e| {
            ProtectError::malformed(format!("not a threshold-HE node message: {e}")).to_string()
        })?;
        self.accept(index, message).map_err(|e| e.to_string())?;
        if self.all_answered() {
            self.close_phase(now_ms);
        }
        Ok(())
    }

    fn take_outgoing(&mut self) -> Vec<(String, serde_json::Value)> {
        std::mem::take(&mut self.outbox)
    }

    fn tick(&mut self, now_ms: u64) {
        self.advance(now_ms);
    }

    fn outcome(&self) -> Option<Result<Outcome, SessionFailure>> {
        self.outcome.clone()
    }
}
