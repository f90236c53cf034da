//! The node's consent store on a real SQLite file: receipts chain across calls and
//! restarts, re-importing the same records is harmless, a conflicting record is
//! refused, and the registry built from the store enforces withdrawals.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use ed25519_dalek::SigningKey;
use salus_consent::{ConsentRecord, Decision, Provision, Purpose, verify_receipt_chain};
use salus_core::policy::ConsentDefault;
use salus_node::NodeConfig;
use salus_node::consent;
use salus_node::store::NodeStore;

fn deny(id: &str, patient: &str, at: i64) -> ConsentRecord {
    ConsentRecord::new(
        id,
        patient,
        at,
        "test",
        Provision::all(Decision::Deny).for_purposes(vec![Purpose::Research]),
    )
}

#[tokio::test]
async fn receipts_chain_reimports_are_idempotent_and_conflicts_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig::new(dir.path());
    let key = SigningKey::from_bytes(&[7; 32]);
    let store = NodeStore::open(&config).await.unwrap();
    let first = vec![deny("c-1", "p1", 100), deny("c-2", "p2", 100)];
    let stored = consent::record(&store, "site-a", &key, &first, 100)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    // The same export again: nothing new, no receipt issued.
    let again = consent::record(&store, "site-a", &key, &first, 200)
        .await
        .unwrap();
    assert!(again.is_empty());
    // Same id, other content: refused, and nothing of the batch is stored.
    let conflict = vec![deny("c-3", "p3", 300), deny("c-1", "p9", 300)];
    let err = consent::record(&store, "site-a", &key, &conflict, 300)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("c-1"), "{err}");
    assert_eq!(consent::records(&store).await.unwrap().len(), 2);
    drop(store);

    // After a restart the chain continues where it stopped.
    let store = NodeStore::open(&config).await.unwrap();
    let later = consent::record(&store, "site-a", &key, &[deny("c-4", "p4", 400)], 400)
        .await
        .unwrap();
    assert_eq!(later[0].receipt.body.sequence, 2);
    let chain: Vec<_> = stored
        .iter()
        .chain(later.iter())
        .map(|s| s.receipt.clone())
        .collect();
    verify_receipt_chain(&chain, &key.verifying_key()).unwrap();
    assert_eq!(consent::unreported(&store).await.unwrap().len(), 3);

    // The registry built from the store excludes the withdrawn patients only.
    let registry = consent::registry(
        consent::records(&store).await.unwrap(),
        ConsentDefault::OptOut,
    )
    .unwrap();
    let study = Purpose::Study("any".into());
    assert!(!registry.is_permitted("p1", &study, &[], 500));
    assert!(registry.is_permitted("p5", &study, &[], 500));
}
