//! The node's privacy ledger on a real SQLite file: concurrent DP studies can never
//! overspend a (dataset, researcher) budget, a charge is made once per study however
//! often it is retried, budgets are per pair, and everything survives a restart.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use salus_node::NodeConfig;
use salus_node::store::NodeStore;

const BUDGET: f64 = 1.0;
const RHO: f64 = 0.1;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_studies_never_overspend_and_the_ledger_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig::new(dir.path());
    let store = NodeStore::open(&config).await.unwrap();

    // 25 studies race for a budget that fits 10 of them.
    let mut tasks = Vec::new();
    for i in 0..25 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .charge_rho(&format!("study-{i}"), "gbsg2", "alice", RHO, BUDGET)
                .await
                .unwrap()
        }));
    }
    let mut granted = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if t.await.unwrap().is_ok() {
            granted.push(format!("study-{i}"));
        }
    }
    assert_eq!(
        granted.len(),
        10,
        "exactly the charges that fit are granted"
    );
    let spent = store.spent_rho("gbsg2", "alice").await.unwrap();
    assert!(spent <= BUDGET + 1e-9, "overspent: {spent}");
    assert!((spent - 1.0).abs() < 1e-9);

    // A retried charge of an already-charged study costs nothing more.
    let again = store
        .charge_rho(&granted[0], "gbsg2", "alice", RHO, BUDGET)
        .await
        .unwrap();
    assert!(again.is_ok(), "a granted study stays granted on retry");
    assert!((store.spent_rho("gbsg2", "alice").await.unwrap() - spent).abs() < 1e-12);

    // Another researcher, or another dataset, has its own budget.
    assert!(
        store
            .charge_rho("study-bob", "gbsg2", "bob", RHO, BUDGET)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        store
            .charge_rho("study-heart", "heart", "alice", RHO, BUDGET)
            .await
            .unwrap()
            .is_ok()
    );
    // Invalid charges are refused without touching the ledger.
    for bad in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        assert!(
            store
                .charge_rho("study-bad", "gbsg2", "carol", bad, BUDGET)
                .await
                .unwrap()
                .is_err()
        );
    }
    assert_eq!(store.spent_rho("gbsg2", "carol").await.unwrap(), 0.0);
    drop(store);

    // Restart: the same file, the same spend; the exhausted pair stays exhausted.
    let store = NodeStore::open(&config).await.unwrap();
    assert!((store.spent_rho("gbsg2", "alice").await.unwrap() - 1.0).abs() < 1e-9);
    assert!((store.spent_rho("gbsg2", "bob").await.unwrap() - RHO).abs() < 1e-12);
    let refused = store
        .charge_rho("study-late", "gbsg2", "alice", RHO, BUDGET)
        .await
        .unwrap();
    assert!(refused.is_err(), "a restart must not refill the budget");
}
