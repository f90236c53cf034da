//! The node's side: a witness that remembers the last checkpoint it verified and
//! cosigns a new one only if it is signed by the log and extends the old one.
//!
//! Sans-I/O: the node fetches the checkpoint and a consistency proof from
//! [`Witness::size`] to the new size, calls [`Witness::observe`] with the current
//! time, persists [`Witness::state`], and sends the cosignature back. Any error
//! means the node must refuse to contribute; [`WitnessError::is_fork_evidence`]
//! tells when the steward must be warned that the hub shows a forked history.

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::cosignature::{Cosignature, WitnessSigner};
use crate::hash::{Hash, empty_root};
use crate::note::{NoteVerifier, SignedNote};
use crate::proof::verify_consistency;

/// What a witness persists between polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    /// The log's verifier key (`origin+id+key`).
    pub log_key: String,
    /// Size of the last verified checkpoint (0 before the first).
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// Its note text as received (evidence if the hub later forks).
    pub checkpoint: Option<String>,
    /// Timestamp of the last cosignature (cosignature times never go backwards).
    pub last_cosigned_at: u64,
}

/// Why a witness refused a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The checkpoint could not be parsed.
    #[error("malformed checkpoint from the hub: {0}")]
    Malformed(String),
    /// The checkpoint is for another log.
    #[error("checkpoint is for log {found:?}, this node witnesses {expected:?}")]
    WrongLog {
        /// Origin this witness follows.
        expected: String,
        /// Origin presented.
        found: String,
    },
    /// The log signature does not verify.
    #[error("checkpoint signature does not verify with the log key: refusing to cosign")]
    BadSignature,
    /// The tree is smaller than one already seen: history was dropped.
    #[error("the hub's log shrank from {previous} to {presented} entries: history was removed")]
    TreeShrank {
        /// Size already witnessed.
        previous: u64,
        /// Size presented.
        presented: u64,
    },
    /// Same size, different root: the hub shows two histories (a fork).
    #[error("FORK: two different logs of {size} entries (root {seen} then {presented})")]
    SameSizeDifferentRoot {
        /// The size.
        size: u64,
        /// Root already witnessed (hex).
        seen: String,
        /// Root presented (hex).
        presented: String,
    },
    /// The consistency proof fails: the new tree does not extend the old one.
    #[error(
        "FORK: the log of {new_size} entries does not extend the one of {old_size} entries the node saw"
    )]
    Inconsistent {
        /// Size already witnessed.
        old_size: u64,
        /// Size presented.
        new_size: u64,
    },
    /// The stored witness state is unusable.
    #[error("witness state is invalid: {0}")]
    BadState(String),
}

impl WitnessError {
    /// True when the error proves the hub rewrote or forked history (as opposed
    /// to a malformed or badly signed message).
    pub fn is_fork_evidence(&self) -> bool {
        matches!(
            self,
            WitnessError::TreeShrank { .. }
                | WitnessError::SameSizeDifferentRoot { .. }
                | WitnessError::Inconsistent { .. }
        )
    }
}

/// A node witnessing one log.
#[derive(Debug)]
pub struct Witness {
    signer: WitnessSigner,
    log_key: NoteVerifier,
    state: WitnessState,
}

impl Witness {
    /// A witness that has seen nothing yet.
    pub fn new(signer: WitnessSigner, log_key: NoteVerifier) -> Witness {
        let state = WitnessState {
            log_key: log_key.to_vkey(),
            size: 0,
            root: empty_root(),
            checkpoint: None,
            last_cosigned_at: 0,
        };
        Witness {
            signer,
            log_key,
            state,
        }
    }

    /// A witness resumed from persisted state.
    pub fn from_state(signer: WitnessSigner, state: WitnessState) -> Result<Witness, WitnessError> {
        let log_key = NoteVerifier::from_vkey(&state.log_key)
            .map_err(|e| WitnessError::BadState(e.to_string()))?;
        Ok(Witness {
            signer,
            log_key,
            state,
        })
    }

    /// The state to persist after each successful observation.
    pub fn state(&self) -> &WitnessState {
        &self.state
    }

    /// The size the next consistency proof must start from.
    pub fn size(&self) -> u64 {
        self.state.size
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.log_key.name()
    }

    /// Checks a new checkpoint against the last one and cosigns it.
    ///
    /// `consistency_proof` proves the new tree extends the tree of [`Witness::size`]
    /// entries (empty when that size is 0 or equal to the new size). On error the
    /// state is unchanged.
    pub fn observe(
        &mut self,
        checkpoint_note: &[u8],
        consistency_proof: &[Hash],
        now: u64,
    ) -> Result<Cosignature, WitnessError> {
        let checkpoint = self.open(checkpoint_note)?;
        self.check_extends(&checkpoint, consistency_proof)?;
        let timestamp = now.max(self.state.last_cosigned_at);
        let cosignature = self
            .signer
            .cosign(&checkpoint.body(), timestamp)
            .map_err(|e| WitnessError::Malformed(e.to_string()))?;
        self.state.size = checkpoint.size;
        self.state.root = checkpoint.root;
        self.state.checkpoint = Some(String::from_utf8_lossy(checkpoint_note).into_owned());
        self.state.last_cosigned_at = timestamp;
        Ok(cosignature)
    }

    fn open(&self, note: &[u8]) -> Result<Checkpoint, WitnessError> {
        let parsed = SignedNote::parse(note).map_err(|e| WitnessError::Malformed(e.to_string()))?;
        let checkpoint = Checkpoint::parse_body(&parsed.text)
            .map_err(|e| WitnessError::Malformed(e.to_string()))?;
        if checkpoint.origin != self.origin() {
            return Err(WitnessError::WrongLog {
                expected: self.origin().to_owned(),
                found: checkpoint.origin,
            });
        }
        self.log_key
            .verify_note(&parsed)
            .map_err(|_| WitnessError::BadSignature)?;
        Ok(checkpoint)
    }

    fn check_extends(&self, new: &Checkpoint, proof: &[Hash]) -> Result<(), WitnessError> {
        let (old_size, old_root) = (self.state.size, self.state.root);
        if new.size < old_size {
            return Err(WitnessError::TreeShrank {
                previous: old_size,
                presented: new.size,
            });
        }
        if new.size == old_size {
            return if new.root == old_root {
                Ok(())
            } else {
                Err(WitnessError::SameSizeDifferentRoot {
                    size: new.size,
                    seen: old_root.to_hex(),
                    presented: new.root.to_hex(),
                })
            };
        }
        if old_size == 0 {
            // Every tree extends the empty tree.
            return Ok(());
        }
        verify_consistency(old_size, new.size, proof, &old_root, &new.root).map_err(|_| {
            WitnessError::Inconsistent {
                old_size,
                new_size: new.size,
            }
        })
    }
}
