//! Consent enforced at compute time, end to end: a real hub and three nodes on
//! loopback TLS. A withdrawal between two runs of the same study changes the second
//! run's input by exactly the withdrawn patients, survives a node restart, and each
//! change's signed receipt hash lands in the hub's audit log.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

mod common;

use std::time::Duration;

use common::{federation, gbsg2};
use salus_cli::federation::Federation;
use salus_consent::{ConsentRecord, Decision, Provision, Purpose};
use salus_core::study::StudySpec;

const DESCRIPTIVE: &str = r#"
name = "baseline"
dataset = "gbsg2"
cohort = "age >= 40"
[analysis]
type = "descriptive"
columns = ["age"]
"#;

/// Pooled n and mean age of the cohort (age >= 40) without the `excluded` rows.
fn pooled(excluded: &[usize]) -> (u64, f64) {
    let t = gbsg2();
    let ages = t.numeric("age").unwrap();
    let kept: Vec<f64> = (0..t.nrows())
        .filter(|i| !excluded.contains(i))
        .filter_map(|i| ages[i].filter(|&a| a >= 40.0))
        .collect();
    (
        kept.len() as u64,
        kept.iter().sum::<f64>() / kept.len() as f64,
    )
}

fn withdrawal(row: usize) -> ConsentRecord {
    ConsentRecord::new(
        &format!("withdrawal-{row}"),
        &format!("G{:04}", row + 1),
        salus_node::consent::now_seconds(),
        "test",
        Provision::all(Decision::Deny).for_purposes(vec![Purpose::Research]),
    )
}

async fn run(fed: &Federation) -> (u64, f64, Option<u64>) {
    let spec = StudySpec::from_toml(DESCRIPTIVE).unwrap();
    let (_, r) = fed.run_study(&spec, Duration::from_secs(60)).await.unwrap();
    assert_eq!(r.status, "completed");
    (
        r.result["n"].as_u64().unwrap(),
        r.result["columns"]["age"]["mean"].as_f64().unwrap(),
        r.privacy.consent_excluded,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_changes_the_next_run_by_exactly_the_withdrawn_patients() {
    let dir = tempfile::tempdir().unwrap();
    let mut fed = federation(dir.path(), None, 20).await;

    let (n0, mean0) = pooled(&[]);
    let (n, mean, _) = run(&fed).await;
    assert_eq!(n, n0);
    assert!((mean - mean0).abs() < 1e-9);

    // Seven site-a patients in the cohort withdraw research consent (7 >= the
    // minimum cell count, so the differencing check lets the second run through).
    let table = gbsg2();
    let ages = table.numeric("age").unwrap();
    let withdrawn: Vec<usize> = (0..300)
        .filter(|&i| ages[i].is_some_and(|a| a >= 40.0))
        .step_by(13)
        .take(7)
        .collect();
    assert_eq!(withdrawn.len(), 7);
    // One patient outside the cohort withdraws too: not counted as excluded.
    let outside = (0..300)
        .find(|&i| ages[i].is_some_and(|a| a < 40.0))
        .unwrap();
    let mut records: Vec<ConsentRecord> = withdrawn.iter().map(|&i| withdrawal(i)).collect();
    records.push(withdrawal(outside));
    let receipts = fed.record_consent("site-a", &records).await.unwrap();
    assert_eq!(receipts.len(), 8);

    let (n1, mean1) = pooled(&withdrawn);
    let (n, mean, excluded) = run(&fed).await;
    assert_eq!(n, n1);
    assert_eq!(n, n0 - 7);
    assert!((mean - mean1).abs() < 1e-9, "{mean} vs {mean1}");
    assert_eq!(excluded, Some(7));

    // The consent state lives in the node's database: a restart keeps it.
    fed.restart_node("site-a").await.unwrap();
    let (n, _, excluded) = run(&fed).await;
    assert_eq!((n, excluded), (n1, Some(7)));

    // Every receipt's hash is in the hub's audit log, and the log verifies.
    let export = salus_cli::audit_export::fetch_export(&fed.client().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(export.clone()).unwrap();
    for hash in &receipts {
        assert!(text.contains(hash.as_str()), "receipt {hash} not logged");
    }
    let verdict = salus_cli::audit_export::verify_bytes(&export);
    assert_eq!(verdict["valid"], true, "{verdict}");

    // A patient holding a receipt can get its inclusion proof from the hub and check it
    // against a checkpoint signed by the pinned log key.
    let log: serde_json::Value = serde_json::from_slice(&export).unwrap();
    let entries = log["entries"].as_array().unwrap();
    let index = entries
        .iter()
        .position(|e| e["data"].as_str().unwrap().contains(receipts[3].as_str()))
        .unwrap();
    let client = fed.client().unwrap();
    let proof: serde_json::Value = client
        .get(&format!("/audit/proof?entry={index}"))
        .await
        .unwrap();
    let log_key = client.get_text("/audit/key").await.unwrap();
    let verifier = salus_audit::NoteVerifier::from_vkey(log_key.trim()).unwrap();
    let checkpoint =
        salus_audit::open_checkpoint(proof["checkpoint"].as_str().unwrap().as_bytes(), &verifier)
            .unwrap();
    let leaf = salus_audit::leaf_hash(entries[index]["data"].as_str().unwrap().as_bytes());
    assert_eq!(proof["leaf_hash"], leaf.to_hex());
    let hashes: Vec<salus_audit::Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| salus_audit::Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    let cp = checkpoint.checkpoint();
    salus_audit::verify_inclusion(index as u64, cp.size, &leaf, &hashes, &cp.root).unwrap();
    // A proof for a leaf the tree does not hold is refused, not invented.
    let err = client
        .get::<serde_json::Value>("/audit/proof?entry=1000000")
        .await
        .unwrap_err();
    assert!(
        matches!(err, salus_net::NetError::Api { status: 404, .. }),
        "{err}"
    );
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_study_limited_consent_excludes_only_from_that_study() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 20).await;
    let table = gbsg2();
    let ages = table.numeric("age").unwrap();
    let refused: Vec<usize> = (300..520)
        .filter(|&i| ages[i].is_some_and(|a| a >= 40.0))
        .take(6)
        .collect();
    let records: Vec<ConsentRecord> = refused
        .iter()
        .map(|&i| {
            ConsentRecord::new(
                &format!("refuse-other-{i}"),
                &format!("G{:04}", i + 1),
                salus_node::consent::now_seconds(),
                "test",
                Provision::all(Decision::Deny)
                    .for_purposes(vec![Purpose::Study("another study".into())]),
            )
        })
        .collect();
    fed.record_consent("site-b", &records).await.unwrap();
    // Refusing another study leaves this one untouched.
    let (n, _, _) = run(&fed).await;
    assert_eq!(n, pooled(&[]).0);
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_withdraws_through_the_consent_api_with_a_signed_receipt() {
    use salus_net::NetError;
    use salus_net::client::{Credentials, HubClient};

    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 20).await;
    let node_dir = dir.path().join("site-a");
    let config = salus_node::NodeConfig::new(&node_dir);
    let ca = salus_hub::ca::Ca::load_or_create(&node_dir.join("patient-api"), &[]).unwrap();
    let (chain, key) = ca.server_identity();
    let api = salus_node::patient_api::start(&config, "127.0.0.1:0".parse().unwrap(), chain, key)
        .await
        .unwrap();
    let url = format!("https://{}", api.addr);

    // Row 0 (G0001, age 70) is in the cohort.
    let store = salus_node::store::NodeStore::open(&config).await.unwrap();
    let token = salus_node::patient_api::issue_token(&store, "G0001", 3600)
        .await
        .unwrap();
    let expired = salus_node::patient_api::issue_token(&store, "G0002", -1)
        .await
        .unwrap();
    let patient = HubClient::new(&url, ca.cert_pem(), Credentials::Token(&token)).unwrap();

    let before: serde_json::Value = patient.get("/patient/consent").await.unwrap();
    assert_eq!(before["patient"], "G0001");
    assert_eq!(
        before["research"], "permit",
        "opt-out node: permitted by default"
    );

    // Bad requests and strangers are refused with a reason.
    let err = patient
        .post::<_, serde_json::Value>(
            "/patient/consent",
            &serde_json::json!({"decision": "maybe", "purposes": ["research"]}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Api { status: 400, .. }), "{err}");
    for bad in ["spt_not-a-token", expired.as_str()] {
        let stranger = HubClient::new(&url, ca.cert_pem(), Credentials::Token(bad)).unwrap();
        let err = stranger
            .get::<serde_json::Value>("/patient/consent")
            .await
            .unwrap_err();
        assert!(matches!(err, NetError::Api { status: 401, .. }), "{err}");
    }

    let answer: serde_json::Value = patient
        .post(
            "/patient/consent",
            &serde_json::json!({"decision": "deny", "purposes": ["research"]}),
        )
        .await
        .unwrap();
    // The receipt is signed by the node's identity key and names this patient.
    let receipt: salus_consent::ConsentReceipt =
        serde_json::from_value(answer["receipt"].clone()).unwrap();
    let identity = salus_node::identity::load(&config).unwrap();
    let node_key = identity.signing_key().unwrap().verifying_key();
    let hash = salus_consent::verify_receipt(&receipt, &node_key).unwrap();
    assert_eq!(hex::encode(hash), answer["sha256"].as_str().unwrap());
    assert_eq!(receipt.body.record.patient, "G0001");
    let after: serde_json::Value = patient.get("/patient/consent").await.unwrap();
    assert_eq!(after["research"], "deny");

    // The next study leaves the patient out.
    let (n, _, _) = run(&fed).await;
    assert_eq!(n, pooled(&[0]).0);
    api.stop().await;
    fed.shutdown().await;
}
