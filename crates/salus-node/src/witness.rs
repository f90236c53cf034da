//! The node as a witness of the hub's audit log.
//!
//! On every poll the node tells the hub how far it has verified the log
//! (`witnessed=N`); when the hub has more, the poll response carries the latest
//! signed checkpoint and a consistency proof from N. The node checks it with
//! [`salus_audit::Witness`] (log signature, consistency with what it saw before),
//! persists the new state and posts its cosignature (`POST /v1/node/cosign`), made
//! with its enrolled Ed25519 identity key under the name `salus-node/<name>`.
//!
//! A checkpoint that proves the hub dropped, rewrote or forked history raises an
//! **alarm**, persisted in the node database with the evidence (the checkpoint the
//! node had cosigned and the one presented): the node refuses all work from that
//! hub until an operator has investigated and called [`clear_alarm`].

use serde::{Deserialize, Serialize};

use salus_audit::{Hash, NoteVerifier, Witness, WitnessSigner, WitnessState};
use salus_net::client::HubClient;
use salus_wire::{CheckpointOffer, Cosignature};

use crate::identity::Identity;
use crate::store::NodeStore;
use crate::{NodeError, now_ms};

/// Key-name prefix of node witnesses (the hub verifies cosignatures under the same name).
pub const WITNESS_PREFIX: &str = "salus-node/";

/// Evidence that the hub presented an inconsistent history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    /// What the witness found (e.g. `FORK: the log of 12 entries does not extend ...`).
    pub message: String,
    /// The checkpoint note the node had cosigned before.
    pub witnessed: Option<String>,
    /// The checkpoint note the hub presented.
    pub presented: String,
    /// When the alarm was raised (Unix milliseconds).
    pub raised_at: i64,
}

/// What the node persists (the `witness` table's JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    state: WitnessState,
    #[serde(default)]
    alarm: Option<Alarm>,
}

/// What happened to an offered checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Verified, cosigned and sent; the tree size.
    Cosigned(u64),
    /// Not cosigned, for a reason that is not evidence against the hub (malformed
    /// offer, no log key known, cosignature refused by the hub).
    Skipped(String),
    /// The hub's history is inconsistent: the alarm is raised (or was already).
    Alarm(Alarm),
}

async fn record(store: &NodeStore) -> Result<Option<Record>, NodeError> {
    store
        .witness_json()
        .await?
        .map(|j| {
            serde_json::from_str(&j).map_err(|e| NodeError::Corrupt(format!("witness state: {e}")))
        })
        .transpose()
}

async fn save(store: &NodeStore, record: &Record) -> Result<(), NodeError> {
    let json = serde_json::to_string(record).map_err(|e| NodeError::Corrupt(e.to_string()))?;
    store.put_witness_json(&json).await
}

/// The size of the log this node has verified (0 before the first checkpoint).
pub async fn witnessed_size(store: &NodeStore) -> Result<u64, NodeError> {
    Ok(record(store).await?.map_or(0, |r| r.state.size))
}

/// The raised alarm, if any.
pub async fn alarm(store: &NodeStore) -> Result<Option<Alarm>, NodeError> {
    Ok(record(store).await?.and_then(|r| r.alarm))
}

/// The state the witness resumes from (the last verified checkpoint).
pub async fn state(store: &NodeStore) -> Result<Option<WitnessState>, NodeError> {
    Ok(record(store).await?.map(|r| r.state))
}

/// Operator intervention after an alarm: clears it and returns it. With
/// `forget_history`, the node also forgets the checkpoint it had witnessed and
/// will accept the hub's current history as a fresh start (only after the hub's
/// operator has explained the divergence).
pub async fn clear_alarm(
    store: &NodeStore,
    forget_history: bool,
) -> Result<Option<Alarm>, NodeError> {
    let Some(mut rec) = record(store).await? else {
        return Ok(None);
    };
    let alarm = rec.alarm.take();
    if forget_history {
        store.delete_witness().await?;
    } else {
        save(store, &rec).await?;
    }
    Ok(alarm)
}

/// The witness name of a node.
pub fn witness_name(node_name: &str) -> String {
    format!("{WITNESS_PREFIX}{node_name}")
}

fn signer(identity: &Identity) -> Result<WitnessSigner, NodeError> {
    WitnessSigner::new(&witness_name(&identity.info.name), identity.signing_key()?)
        .map_err(|e| NodeError::Invalid(format!("witness key: {e}")))
}

/// Handles the checkpoint part of a poll response. Returns true when the node
/// must refuse all work from this hub (an alarm is raised).
pub async fn refuse_work(
    store: &NodeStore,
    identity: &Identity,
    client: &HubClient,
    offer: Option<&CheckpointOffer>,
) -> Result<bool, NodeError> {
    if let Some(a) = alarm(store).await? {
        tracing::error!(node = %identity.info.name, alarm = %a.message, "refusing work: the hub showed an inconsistent audit history; an operator must investigate");
        return Ok(true);
    }
    let Some(offer) = offer else { return Ok(false) };
    Ok(match observe(store, identity, client, offer).await? {
        Outcome::Alarm(_) => true,
        Outcome::Cosigned(_) => false,
        Outcome::Skipped(reason) => {
            tracing::warn!(node = %identity.info.name, %reason, "audit checkpoint not cosigned");
            false
        }
    })
}

/// Verifies an offered checkpoint against what this node witnessed before, and
/// cosigns it (state persisted before the cosignature is sent) or raises the alarm.
pub async fn observe(
    store: &NodeStore,
    identity: &Identity,
    client: &HubClient,
    offer: &CheckpointOffer,
) -> Result<Outcome, NodeError> {
    let previous = record(store).await?;
    if let Some(a) = previous.as_ref().and_then(|r| r.alarm.clone()) {
        return Ok(Outcome::Alarm(a));
    }
    let signer = signer(identity)?;
    let mut witness = match previous {
        Some(r) => {
            Witness::from_state(signer, r.state).map_err(|e| NodeError::Corrupt(e.to_string()))?
        }
        None if identity.info.log_verifier.is_empty() => {
            return Ok(Outcome::Skipped(
                "the hub gave no audit log key at enrollment; enroll again to witness its log"
                    .into(),
            ));
        }
        None => {
            let key = NoteVerifier::from_vkey(&identity.info.log_verifier)
                .map_err(|e| NodeError::Corrupt(format!("node.json log_verifier: {e}")))?;
            Witness::new(signer, key)
        }
    };
    if offer.from_size != witness.size() {
        return Ok(Outcome::Skipped(format!(
            "the hub's proof starts at size {}, this node witnessed {}",
            offer.from_size,
            witness.size()
        )));
    }
    let Some(proof) = offer
        .proof
        .iter()
        .map(|h| Hash::from_hex(h))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(Outcome::Skipped(
            "the consistency proof is not hex hashes".into(),
        ));
    };
    let before = witness.state().checkpoint.clone();
    let now = (now_ms() / 1000).max(0) as u64;
    match witness.observe(offer.note.as_bytes(), &proof, now) {
        Ok(cosig) => {
            let size = witness.size();
            save(
                store,
                &Record {
                    state: witness.state().clone(),
                    alarm: None,
                },
            )
            .await?;
            let body = Cosignature {
                tree_size: size,
                signature: cosig.to_line(),
            };
            match client
                .post::<_, serde_json::Value>("/node/cosign", &body)
                .await
            {
                Ok(_) => Ok(Outcome::Cosigned(size)),
                Err(e) if e.is_transient() => Err(e.into()),
                Err(e) => Ok(Outcome::Skipped(format!(
                    "the hub refused the cosignature: {e}"
                ))),
            }
        }
        Err(e) if e.is_fork_evidence() => {
            let alarm = Alarm {
                message: e.to_string(),
                witnessed: before,
                presented: offer.note.clone(),
                raised_at: now_ms(),
            };
            tracing::error!(
                node = %identity.info.name,
                alarm = %alarm.message,
                "AUDIT ALARM: the hub presented a history inconsistent with the one this node cosigned; \
                 refusing all work from it until an operator investigates (evidence kept in the node database)"
            );
            save(
                store,
                &Record {
                    state: witness.state().clone(),
                    alarm: Some(alarm.clone()),
                },
            )
            .await?;
            Ok(Outcome::Alarm(alarm))
        }
        Err(e) => Ok(Outcome::Skipped(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rcgen::{CertificateParams, KeyPair, PKCS_ED25519};
    use salus_audit::{AuditEvent, AuditLog};

    use super::*;
    use crate::NodeConfig;
    use crate::identity::NodeInfo;

    fn log(subjects: &[&str]) -> AuditLog {
        let mut log = AuditLog::new(
            "salus-hub/test",
            ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
        )
        .unwrap();
        for s in subjects {
            let event = AuditEvent::Other {
                action: "token.created".into(),
                subject: (*s).into(),
                detail: serde_json::Value::Null,
            };
            log.append(1_700_000_000, vec![("hub".into(), event)])
                .unwrap();
        }
        log
    }

    fn identity(log_verifier: String) -> Identity {
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        Identity {
            info: NodeInfo {
                hub_url: "https://127.0.0.1:9".into(),
                node_id: "n1".into(),
                name: "site-a".into(),
                organisation: "org".into(),
                log_verifier,
            },
            key_pem: key.serialize_pem(),
            cert_pem: String::new(),
            ca_pem: String::new(),
        }
    }

    fn client() -> HubClient {
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let ca = CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        HubClient::new(
            "https://127.0.0.1:9",
            &ca.pem(),
            salus_net::client::Credentials::Anonymous,
        )
        .unwrap()
    }

    fn offer(log: &AuditLog, from: u64) -> CheckpointOffer {
        CheckpointOffer {
            note: log.checkpoint().unwrap(),
            from_size: from,
            proof: log
                .consistency_proof(from, log.size())
                .unwrap()
                .hashes
                .iter()
                .map(Hash::to_hex)
                .collect(),
        }
    }

    /// The node witnessed `honest` (as if its cosignature had been sent).
    async fn witnessed(store: &NodeStore, id: &Identity, honest: &AuditLog) {
        let key = NoteVerifier::from_vkey(&id.info.log_verifier).unwrap();
        let mut w = Witness::new(signer(id).unwrap(), key);
        w.observe(honest.checkpoint().unwrap().as_bytes(), &[], 1)
            .unwrap();
        save(
            store,
            &Record {
                state: w.state().clone(),
                alarm: None,
            },
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_rewritten_history_raises_a_persistent_alarm_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(&NodeConfig::new(dir.path())).await.unwrap();
        let honest = log(&["a", "b"]);
        let id = identity(honest.log_key().to_vkey());
        let client = client();
        assert_eq!(witnessed_size(&store).await.unwrap(), 0);
        witnessed(&store, &id, &honest).await;
        assert_eq!(witnessed_size(&store).await.unwrap(), 2);

        // Same key, entry 0 rewritten, one more entry: the proof cannot extend size 2.
        let forged = log(&["x", "b", "c"]);
        let outcome = observe(&store, &id, &client, &offer(&forged, 2))
            .await
            .unwrap();
        let Outcome::Alarm(alarm) = outcome else {
            panic!("fork not detected: {outcome:?}")
        };
        assert!(alarm.message.contains("FORK"), "{}", alarm.message);
        assert_eq!(
            alarm.witnessed.as_deref(),
            Some(honest.checkpoint().unwrap().as_str())
        );
        assert_eq!(
            witnessed_size(&store).await.unwrap(),
            2,
            "the forged checkpoint is not adopted"
        );

        // Persisted: a fresh look at the database still refuses work, even with no offer.
        let reopened = NodeStore::open(&NodeConfig::new(dir.path())).await.unwrap();
        assert!(refuse_work(&reopened, &id, &client, None).await.unwrap());
        // Even an honest continuation is refused while the alarm stands.
        let honest3 = log(&["a", "b", "c"]);
        assert!(matches!(
            observe(&reopened, &id, &client, &offer(&honest3, 2))
                .await
                .unwrap(),
            Outcome::Alarm(_)
        ));

        assert_eq!(clear_alarm(&reopened, false).await.unwrap(), Some(alarm));
        assert!(!refuse_work(&reopened, &id, &client, None).await.unwrap());
        assert_eq!(witnessed_size(&reopened).await.unwrap(), 2);
        assert!(clear_alarm(&reopened, true).await.unwrap().is_none());
        assert_eq!(witnessed_size(&reopened).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_shrunk_log_is_fork_evidence_but_bad_offers_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(&NodeConfig::new(dir.path())).await.unwrap();
        let honest = log(&["a", "b", "c"]);
        let id = identity(honest.log_key().to_vkey());
        let client = client();
        witnessed(&store, &id, &honest).await;

        // A proof from the wrong size, garbage hashes, another log's key: skipped.
        let longer = log(&["a", "b", "c", "d"]);
        assert!(matches!(
            observe(&store, &id, &client, &offer(&longer, 1))
                .await
                .unwrap(),
            Outcome::Skipped(_)
        ));
        let mut garbage = offer(&longer, 3);
        garbage.proof = vec!["zz".into()];
        assert!(matches!(
            observe(&store, &id, &client, &garbage).await.unwrap(),
            Outcome::Skipped(_)
        ));
        let mut other = AuditLog::new(
            "salus-hub/test",
            ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        )
        .unwrap();
        other
            .append(
                1,
                vec![(
                    "hub".into(),
                    AuditEvent::Other {
                        action: "x".into(),
                        subject: "y".into(),
                        detail: serde_json::Value::Null,
                    },
                )],
            )
            .unwrap();
        // Signed by another key and smaller: the bad signature is found first, so
        // this is not taken as evidence against the real log.
        let mut foreign = offer(&other, 0);
        foreign.from_size = 3;
        assert!(matches!(
            observe(&store, &id, &client, &foreign).await.unwrap(),
            Outcome::Skipped(_)
        ));
        assert!(alarm(&store).await.unwrap().is_none());

        // The hub now shows a shorter log: history was removed.
        let shorter = log(&["a", "b"]);
        let shrunk = CheckpointOffer {
            note: shorter.checkpoint().unwrap(),
            from_size: 3,
            proof: Vec::new(),
        };
        assert!(matches!(
            observe(&store, &id, &client, &shrunk).await.unwrap(),
            Outcome::Alarm(_)
        ));
    }
}
