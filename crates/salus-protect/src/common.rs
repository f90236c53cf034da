//! Pieces both protocols share: the roster of participants with their parsed identity
//! keys, the session binding digest, the noise-free derivation of per-purpose seeds, and
//! the phase clock that turns the services' wall-clock deadline into per-phase timeouts.

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::ProtectError;
use crate::{Participant, SessionParams};

/// The participants in the order the hub gave them; participant `i` is protocol number
/// `i + 1` (a Shamir x-coordinate in secure aggregation, a party id in threshold HE).
#[derive(Debug, Clone)]
pub(crate) struct Roster {
    ids: Vec<String>,
    keys: Vec<VerifyingKey>,
}

impl Roster {
    /// Parses every participant's hex Ed25519 identity key; node ids must be unique.
    pub(crate) fn new(participants: &[Participant]) -> Result<Self, ProtectError> {
        if participants.is_empty() {
            return Err(ProtectError::invalid(
                "a session needs at least one participant",
            ));
        }
        let mut ids: Vec<String> = Vec::with_capacity(participants.len());
        let mut keys = Vec::with_capacity(participants.len());
        for p in participants {
            if ids.contains(&p.node_id) {
                return Err(ProtectError::invalid(format!(
                    "node `{}` is listed twice among the participants",
                    p.node_id
                )));
            }
            keys.push(parse_identity_key(p)?);
            ids.push(p.node_id.clone());
        }
        Ok(Self { ids, keys })
    }

    /// Number of participants.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The position of `node_id`, if it is a participant.
    pub(crate) fn index_of(&self, node_id: &str) -> Option<usize> {
        self.ids.iter().position(|id| id == node_id)
    }

    /// The position of `node_id`, or an error naming it.
    pub(crate) fn require(&self, node_id: &str) -> Result<usize, ProtectError> {
        self.index_of(node_id).ok_or_else(|| {
            ProtectError::refused(format!(
                "node `{node_id}` is not a participant of this session"
            ))
        })
    }

    /// The node id at `index`.
    pub(crate) fn id(&self, index: usize) -> &str {
        &self.ids[index]
    }

    /// All node ids in order.
    pub(crate) fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The enrolled identity key at `index`.
    pub(crate) fn key(&self, index: usize) -> &VerifyingKey {
        &self.keys[index]
    }

    /// All identity keys in order.
    pub(crate) fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// This node's signing key from its seed, checked against the enrolled key.
    pub(crate) fn signing_key(
        &self,
        index: usize,
        seed: &[u8; 32],
    ) -> Result<SigningKey, ProtectError> {
        let key = SigningKey::from_bytes(seed);
        if key.verifying_key() != self.keys[index] {
            return Err(ProtectError::invalid(format!(
                "this node's identity key is not the key enrolled for node `{}` in the study; \
                 re-enrol the node or check its identity file",
                self.ids[index]
            )));
        }
        Ok(key)
    }

    /// Node ids of the positions for which `keep` holds.
    pub(crate) fn ids_where(&self, mut keep: impl FnMut(usize) -> bool) -> Vec<String> {
        (0..self.len())
            .filter(|&i| keep(i))
            .map(|i| self.ids[i].clone())
            .collect()
    }
}

fn parse_identity_key(p: &Participant) -> Result<VerifyingKey, ProtectError> {
    let bad = |why: &str| {
        ProtectError::invalid(format!(
            "participant `{}` has an identity key that {why}; it must be the 64 hex characters of an Ed25519 public key",
            p.node_id
        ))
    };
    let bytes = hex::decode(p.identity_key.trim()).map_err(|_| bad("is not hex"))?;
    let array: [u8; 32] = bytes.try_into().map_err(|_| bad("is not 32 bytes long"))?;
    VerifyingKey::from_bytes(&array).map_err(|_| bad("is not a valid curve point"))
}

/// A digest of everything hub and nodes must agree on for one session (mode, session id,
/// participants and their keys, requested threshold, layout, DP parameters and, for
/// threshold HE, the researcher key). The hub's deadline is left out: nodes do not know it.
/// Every protocol message is bound to this digest, so a hub and a node that disagree on
/// any of it fail loudly instead of summing mismatched vectors.
pub(crate) fn session_binding(
    mode: &str,
    params: &SessionParams,
    with_researcher: bool,
) -> [u8; 32] {
    let mut hash = Sha256::new();
    let mut put = |part: &[u8]| {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    };
    put(b"salus-protect/v1/session-binding");
    put(mode.as_bytes());
    put(params.session_id.as_bytes());
    put(&(params.participants.len() as u64).to_be_bytes());
    for p in &params.participants {
        put(p.node_id.as_bytes());
        put(p.identity_key.trim().to_ascii_lowercase().as_bytes());
    }
    put(&(params.threshold as u64).to_be_bytes());
    // Derived serde output of plain structs: field order is fixed by the type, and floats
    // are printed by ryu, so both sides produce the same bytes.
    put(&serde_json::to_vec(&params.layout).unwrap_or_default());
    put(&serde_json::to_vec(&params.dp).unwrap_or_default());
    if with_researcher {
        put(params
            .researcher_key
            .as_deref()
            .unwrap_or("")
            .trim()
            .as_bytes());
    }
    hash.finalize().into()
}

/// A 32-byte seed for one purpose, derived from a caller's seed (domain separation).
pub(crate) fn derive_seed(label: &str, seed: &[u8; 32]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"salus-protect/v1/seed");
    hash.update((label.len() as u64).to_be_bytes());
    hash.update(label.as_bytes());
    hash.update(seed);
    hash.finalize().into()
}

/// The shortest phase timeout, used when the hub first hears of time after its deadline.
pub const MIN_PHASE_MS: u64 = 1_000;

/// Per-phase timeouts from the services' one deadline. The first phase ends at the
/// deadline itself; the length of that first window (deadline minus the first time the
/// session hears of) is then granted to every later phase, counted from when it starts.
/// A protocol session never reads a clock: times come from `receive` and `tick`.
#[derive(Debug, Clone)]
pub(crate) struct PhaseClock {
    first_deadline: u64,
    phase_ms: Option<u64>,
    deadline: u64,
}

impl PhaseClock {
    pub(crate) fn new(deadline_ms: u64) -> Self {
        Self {
            first_deadline: deadline_ms,
            phase_ms: None,
            deadline: deadline_ms,
        }
    }

    /// Records the first time the session hears of (fixes the phase length).
    pub(crate) fn observe(&mut self, now_ms: u64) {
        if self.phase_ms.is_none() {
            let window = self.first_deadline.saturating_sub(now_ms).max(MIN_PHASE_MS);
            self.phase_ms = Some(window);
        }
    }

    /// Whether the current phase's time is up.
    pub(crate) fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.deadline
    }

    /// A new phase starts at `now_ms`.
    pub(crate) fn next_phase(&mut self, now_ms: u64) {
        self.observe(now_ms);
        let window = self.phase_ms.unwrap_or(MIN_PHASE_MS);
        self.deadline = now_ms.saturating_add(window);
    }
}

/// Hex of a 32-byte digest.
pub(crate) fn hex32(bytes: &[u8; 32]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_clock_grants_the_first_window_to_every_phase() {
        let mut clock = PhaseClock::new(10_000);
        clock.observe(4_000);
        assert!(!clock.expired(9_999));
        assert!(clock.expired(10_000));
        clock.next_phase(12_000);
        assert!(!clock.expired(17_999));
        assert!(clock.expired(18_000));
        let mut late = PhaseClock::new(10_000);
        late.next_phase(50_000);
        assert!(!late.expired(50_000 + MIN_PHASE_MS - 1));
    }
}
