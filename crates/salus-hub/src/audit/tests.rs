//! Tests of the hub's audit log over a real SQLite database: staging in the
//! write transaction, restart, key pinning, offers and cosignatures.

#![allow(clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use salus_audit::{AuditExport, Hash, Witness, WitnessSigner, verify_export};
use sqlx::Row;

use super::*;
use crate::HubConfig;
use crate::server::open_store;

async fn open(dir: &Path) -> Store {
    open_store(&HubConfig::new(dir)).await.unwrap()
}

async fn add_node(store: &Store, name: &str, seed: [u8; 32]) -> NodeRecord {
    let key = hex::encode(SigningKey::from_bytes(&seed).verifying_key().as_bytes());
    sqlx::query(
        "INSERT INTO nodes (node_id, name, organisation, cert_fingerprint, identity_key, status, enrolled_at) \
         VALUES ($1, $1, 'org', $1, $2, 'active', 0)",
    )
    .bind(name)
    .bind(&key)
    .execute(store.pool())
    .await
    .unwrap();
    NodeRecord {
        node_id: name.into(),
        name: name.into(),
        organisation: "org".into(),
        identity_key: key,
        status: "active".into(),
        revoked_at: None,
        cosigned_size: 0,
    }
}

fn witness(store: &Store, name: &str, seed: [u8; 32]) -> Witness {
    let signer = WitnessSigner::new(
        &format!("{WITNESS_PREFIX}{name}"),
        SigningKey::from_bytes(&seed),
    )
    .unwrap();
    Witness::new(
        signer,
        NoteVerifier::from_vkey(&store.audit.verifier()).unwrap(),
    )
}

fn proof(offer: &CheckpointOffer) -> Vec<Hash> {
    offer
        .proof
        .iter()
        .map(|h| Hash::from_hex(h).unwrap())
        .collect()
}

#[tokio::test]
async fn each_commit_is_a_signed_batch_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    assert_eq!(store.audit.size(), 0);
    assert!(store.audit.latest().is_none());
    store
        .create_token("alice", "lab", "researcher", 60)
        .await
        .unwrap();
    store.create_invite("hospital", 60).await.unwrap();
    assert_eq!(store.audit.size(), 2);
    assert_eq!(store.audit.latest().unwrap().0, 2);
    let first = store.audit_export().await.unwrap();
    let report = verify_export(&first);
    assert!(report.valid, "{:?}", report.problems);
    assert_eq!((report.entries, report.checkpoints), (2, 2));
    let root = store.audit.lock().log.root();
    drop(store);

    let store = open(dir.path()).await;
    assert_eq!(store.audit.size(), 2);
    assert_eq!(store.audit.lock().log.root(), root);
    store.revoke_tokens("alice").await.unwrap();
    let export = store.audit_export().await.unwrap();
    let report = verify_export(&export);
    assert!(report.valid, "{:?}", report.problems);
    assert_eq!((report.entries, report.checkpoints), (3, 3));
    // History is untouched: the old export's entries are a prefix of the new one.
    let (a, b) = (
        AuditExport::from_json(&first).unwrap(),
        AuditExport::from_json(&export).unwrap(),
    );
    assert_eq!(a.entries[..], b.entries[..2]);
    assert_eq!(a.log_key, b.log_key);
}

#[test]
fn events_are_typed_where_they_map_and_hold_their_fields() {
    let e = AuditEvent::new(
        "study.approved",
        serde_json::json!({"study": "s1", "node": "site-a", "reason": null}),
    );
    let (actor, event) = e.to_log_event();
    assert_eq!(actor, "node:site-a");
    assert_eq!(
        event,
        salus_audit::AuditEvent::StudyApproved {
            study_id: "s1".into(),
            node_id: "site-a".into()
        }
    );
    let e = AuditEvent::new(
        "token.created",
        serde_json::json!({"name": "alice", "organisation": "lab", "scope": "admin"}),
    );
    let (actor, event) = e.to_log_event();
    assert_eq!(actor, "hub");
    let salus_audit::AuditEvent::Other {
        action,
        subject,
        detail,
    } = event
    else {
        panic!("token.created is not a typed event")
    };
    assert_eq!(
        (action.as_str(), subject.as_str()),
        ("token.created", "alice")
    );
    assert_eq!(detail["scope"], "admin");
}

#[tokio::test]
async fn edited_entries_and_a_replaced_key_stop_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .create_token("alice", "lab", "researcher", 60)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE audit_entries SET entry = replace(entry, 'alice', 'mallory') WHERE idx = 0",
    )
    .execute(store.pool())
    .await
    .unwrap();
    drop(store);
    let err = open_store(&HubConfig::new(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("audit entry 0"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()).await);
    std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
    let err = open_store(&HubConfig::new(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not the one this database was signed with"),
        "{err}"
    );
}

#[tokio::test]
async fn key_file_is_private_and_reloaded() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let a = AuditLog::load_or_create_key(dir.path()).unwrap();
    let mode = std::fs::metadata(dir.path().join(KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let b = AuditLog::load_or_create_key(dir.path()).unwrap();
    assert_eq!(a.verifier(), b.verifier());
    // Base64 key material may contain `+`, the field separator of the key format.
    for seed in [[0xfb; 32], [0xff; 32], [0x3e; 32]] {
        let signer = salus_audit::NoteSigner::new(
            "salus-hub/x",
            SigningKey::from_bytes(&seed),
            SignatureKind::Ed25519,
        )
        .unwrap();
        assert_eq!(seed_of(&signer.to_private_key_string()), Some(seed));
    }
    assert!(a.verifier().starts_with("salus-hub/"));
}

#[tokio::test]
async fn nodes_witness_offers_and_forged_cosignatures_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let node = add_node(&store, "site-a", [7; 32]).await;
    assert!(
        store.audit.offer(0, 0).unwrap().is_none(),
        "nothing to witness in an empty log"
    );
    store
        .create_token("alice", "lab", "researcher", 60)
        .await
        .unwrap();

    let mut w = witness(&store, "site-a", [7; 32]);
    let offer = store.audit.offer(0, 0).unwrap().unwrap();
    let cosig = w
        .observe(offer.note.as_bytes(), &proof(&offer), 100)
        .unwrap();
    let c = salus_wire::Cosignature {
        tree_size: w.size(),
        signature: cosig.to_line(),
    };
    store.accept_cosignature(&node, &c).await.unwrap();
    let cosigned: i64 = sqlx::query("SELECT cosigned_size FROM nodes WHERE node_id = 'site-a'")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get("cosigned_size")
        .unwrap();
    assert_eq!(cosigned as u64, w.size());
    assert!(
        store.audit.offer(w.size(), w.size()).unwrap().is_none(),
        "up to date"
    );

    // The next batch comes with a proof from the witnessed size.
    store.create_invite("hospital", 60).await.unwrap();
    let offer = store.audit.offer(w.size(), w.size()).unwrap().unwrap();
    assert_eq!(offer.from_size, 1);
    let cosig2 = w
        .observe(offer.note.as_bytes(), &proof(&offer), 101)
        .unwrap();

    // Another key, or a cosignature of another checkpoint, is refused.
    let mut impostor = witness(&store, "site-a", [8; 32]);
    let forged = impostor.observe(offer.note.as_bytes(), &[], 101).unwrap();
    let bad = salus_wire::Cosignature {
        tree_size: 2,
        signature: forged.to_line(),
    };
    assert!(matches!(
        store.accept_cosignature(&node, &bad).await,
        Err(HubError::Invalid(_))
    ));
    let wrong_size = salus_wire::Cosignature {
        tree_size: 1,
        signature: cosig2.to_line(),
    };
    assert!(matches!(
        store.accept_cosignature(&node, &wrong_size).await,
        Err(HubError::Invalid(_))
    ));
    let good = salus_wire::Cosignature {
        tree_size: 2,
        signature: cosig2.to_line(),
    };
    store.accept_cosignature(&node, &good).await.unwrap();

    let report = verify_export(&store.audit_export().await.unwrap());
    assert!(report.valid, "{:?}", report.problems);
    assert_eq!((report.witnesses, report.latest_cosignatures), (1, 1));

    // A witness that saw more than the log holds gets no proof (it detects the shrink).
    let offer = store.audit.offer(2, 5).unwrap().unwrap();
    assert!(offer.proof.is_empty());
}

#[tokio::test]
async fn a_stopped_hub_database_exports_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .create_token("alice", "lab", "researcher", 60)
        .await
        .unwrap();
    let live = store.audit_export().await.unwrap();
    drop(store);
    let db = dir.path().join("hub.db");
    let offline = export_database(&db.to_string_lossy()).await.unwrap();
    assert_eq!(live, offline);
    assert!(
        export_database(&dir.path().join("nope.db").to_string_lossy())
            .await
            .is_err()
    );
}

/// `salus hub invite` / `salus hub token` write to the database of a running hub from
/// another process: both writers must keep one consistent log.
#[tokio::test]
async fn a_second_writer_on_the_same_database_keeps_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = open(dir.path()).await;
    server.create_invite("Hospital A", 60).await.unwrap();
    // The offline CLI opens the same files while the server runs.
    let cli = open(dir.path()).await;
    cli.create_invite("Hospital B", 60).await.unwrap();
    cli.create_token("alice", "lab", "researcher", 60)
        .await
        .unwrap();
    // The server's next change lands after the CLI's entries, not on top of them.
    server.create_invite("Hospital C", 60).await.unwrap();
    cli.create_invite("Hospital D", 60).await.unwrap();
    server
        .create_token("bob", "lab", "researcher", 60)
        .await
        .unwrap();
    for store in [&server, &cli] {
        let report = verify_export(&store.audit_export().await.unwrap());
        assert!(report.valid, "{:?}", report.problems);
        assert_eq!(report.entries, 6);
    }
    assert_eq!(server.audit.lock().log.size(), 6);
}
