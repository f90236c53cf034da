//! End-to-end tests of the witnessed audit log: a real hub and real nodes over TLS
//! on loopback. After a study the export verifies, with the nodes' cosignatures;
//! each class of tampering is named; the log survives a hub restart; a hub that
//! rewrites its history is caught by the nodes, which then refuse its work.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use salus_audit::{AuditExport, leaf_hash};
use salus_cli::audit_export::{export_database, fetch_export, verify_bytes};
use salus_cli::federation::Federation;
use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;
use salus_node::store::NodeStore;
use salus_table::{CsvOptions, Table};
use serde_json::Value;

const SCHEMA: &str = include_str!("../../../data/gbsg2/schema.toml");
const GBSG2: &str = include_str!("../../../data/gbsg2/gbsg2.csv");

const DESCRIPTIVE: &str = r#"
name = "baseline"
dataset = "gbsg2"
cohort = "age >= 40"
[analysis]
type = "descriptive"
columns = ["age", "horTh"]
"#;

const SPLITS: [(&str, usize, usize); 2] = [("site-a", 0, 340), ("site-b", 340, 686)];

fn site_file(dir: &Path, name: &str, from: usize, to: usize) -> PathBuf {
    let mut t: Table = salus_table::read_csv(GBSG2.as_bytes(), &CsvOptions::default()).unwrap();
    let pids = (1..=t.nrows()).map(|i| Some(format!("G{i:04}"))).collect();
    t.push_column(salus_table::Column::text("pid", pids))
        .unwrap();
    let t = t.take_rows(&(from..to).collect::<Vec<_>>());
    let path = dir.join(format!("{name}.csv"));
    salus_table::write_csv_path(&t, &path, b',').unwrap();
    path
}

async fn federation(dir: &Path) -> Federation {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    let (hub, node) = salus_protect::product_factories();
    let mut fed = Federation::start(dir, hub, node, 10).await.unwrap();
    let schema = DatasetSchema::from_text(SCHEMA).unwrap();
    for (name, from, to) in SPLITS {
        let file = site_file(dir, name, from, to);
        fed.add_node(
            name,
            &format!("Org {name}"),
            &[("gbsg2", &file, &schema)],
            None,
        )
        .await
        .unwrap();
    }
    // Nodes announce their datasets when their worker starts: wait for both.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let catalogue: Vec<salus_wire::CatalogueEntry> =
            fed.client().unwrap().get("/catalogue").await.unwrap();
        if catalogue.iter().any(|c| c.nodes.len() == SPLITS.len()) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fed
}

fn spec() -> StudySpec {
    StudySpec::from_toml(DESCRIPTIVE).unwrap()
}

/// Exports until the latest checkpoint carries at least one valid cosignature
/// (nodes cosign on their next poll).
async fn cosigned_export(fed: &Federation) -> (Vec<u8>, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let bytes = fetch_export(&fed.client().unwrap()).await.unwrap();
        let report = verify_bytes(&bytes);
        if report["latest_cosignatures"].as_u64().unwrap_or(0) > 0 || Instant::now() > deadline {
            return (bytes, report);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn problems(report: &Value) -> String {
    report["problems"].to_string()
}

fn edit(bytes: &[u8], change: impl FnOnce(&mut AuditExport)) -> Vec<u8> {
    let mut export = AuditExport::from_json(bytes).unwrap();
    change(&mut export);
    export.to_json().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_study_leaves_a_witnessed_log_and_every_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path()).await;
    fed.run_study(&spec(), Duration::from_secs(90))
        .await
        .unwrap();
    let (bytes, report) = cosigned_export(&fed).await;
    assert_eq!(report["valid"], true, "{}", problems(&report));
    assert!(report["entries"].as_u64().unwrap() > 0);
    assert!(report["checkpoints"].as_u64().unwrap() > 0);
    assert!(report["witnesses"].as_u64().unwrap() >= 1, "{report}");
    let export = AuditExport::from_json(&bytes).unwrap();
    assert_eq!(
        export.witnesses.len(),
        2,
        "every enrolled node is a listed witness"
    );
    let kinds: Vec<Value> = export
        .entries
        .iter()
        .map(|e| serde_json::from_str::<Value>(&e.data).unwrap()["event"].clone())
        .collect();
    assert!(
        kinds.iter().any(|e| e["kind"] == "result_released"),
        "the release is logged"
    );
    assert!(
        kinds.iter().any(|e| e["action"] == "node.enrolled"),
        "enrollments are logged"
    );

    // A flipped byte in an entry.
    let flipped = edit(&bytes, |e| {
        e.entries[1].data = e.entries[1].data.replacen("\"v\":1", "\"v\":1 ", 1)
    });
    let r = verify_bytes(&flipped);
    assert_eq!(r["valid"], false);
    assert!(problems(&r).contains("entry 1"), "{}", problems(&r));

    // A rewritten checkpoint signature.
    let forged = edit(&bytes, |e| {
        let note = &mut e.checkpoints[0].note;
        let at = note.find("\n\u{2014} ").unwrap() + 30;
        let c = if note.as_bytes()[at] == b'A' {
            "B"
        } else {
            "A"
        };
        note.replace_range(at..at + 1, c);
    });
    let r = verify_bytes(&forged);
    assert_eq!(r["valid"], false);
    assert!(problems(&r).contains("checkpoint"), "{}", problems(&r));

    // A dropped entry.
    let dropped = edit(&bytes, |e| {
        e.entries.remove(2);
    });
    let r = verify_bytes(&dropped);
    assert_eq!(r["valid"], false);
    assert!(problems(&r).contains("entr"), "{}", problems(&r));

    // Only token holders may export.
    let anonymous = salus_net::client::HubClient::new(
        &fed.hub_url(),
        &fed.ca_pem().unwrap(),
        salus_net::client::Credentials::Anonymous,
    )
    .unwrap();
    assert!(fetch_export(&anonymous).await.is_err());
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_survives_a_hub_restart_and_exports_offline() {
    let dir = tempfile::tempdir().unwrap();
    let mut fed = federation(dir.path()).await;
    fed.run_study(&spec(), Duration::from_secs(90))
        .await
        .unwrap();
    let (before, report) = cosigned_export(&fed).await;
    assert_eq!(report["valid"], true, "{}", problems(&report));

    fed.stop_hub().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    fed.restart_hub().await.unwrap();
    fed.run_study(&spec(), Duration::from_secs(90))
        .await
        .unwrap();
    let (after, report) = cosigned_export(&fed).await;
    assert_eq!(report["valid"], true, "{}", problems(&report));
    let (a, b) = (
        AuditExport::from_json(&before).unwrap(),
        AuditExport::from_json(&after).unwrap(),
    );
    assert!(
        b.entries.len() > a.entries.len(),
        "the tree continues after the restart"
    );
    assert_eq!(
        a.entries[..],
        b.entries[..a.entries.len()],
        "history is unchanged"
    );
    assert!(report["witnesses"].as_u64().unwrap() >= 1);
    assert!(report["latest_size"].as_u64().unwrap() > a.entries.len() as u64);

    // `salus audit export` from the running hub, then from the stopped hub's database.
    let bin = env!("CARGO_BIN_EXE_salus");
    let token = fed.researcher_token.clone();
    let ca = fed.hub_config.data_dir.join("ca.pem");
    let online = dir.path().join("online.json");
    let status = std::process::Command::new(bin)
        .args([
            "audit",
            "export",
            "--hub",
            &fed.hub_url(),
            "--token",
            &token,
            "--ca",
        ])
        .arg(&ca)
        .arg("--out")
        .arg(&online)
        .status()
        .unwrap();
    assert!(status.success());
    fed.shutdown().await;
    let db = dir.path().join("hub").join("hub.db");
    let offline = export_database(&db).await.unwrap();
    let report = verify_bytes(&offline);
    assert_eq!(report["valid"], true, "{}", problems(&report));
    assert!(report["entries"].as_u64().unwrap() >= b.entries.len() as u64);
    let file = dir.path().join("offline.json");
    let status = std::process::Command::new(bin)
        .args(["audit", "export", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    for f in [&online, &file] {
        let out = std::process::Command::new(bin)
            .args(["audit", "verify", "--json"])
            .arg(f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_rewrites_history_is_caught_by_its_witnesses() {
    let dir = tempfile::tempdir().unwrap();
    let mut fed = federation(dir.path()).await;
    fed.run_study(&spec(), Duration::from_secs(90))
        .await
        .unwrap();
    let (_, report) = cosigned_export(&fed).await;
    assert_eq!(report["valid"], true, "{}", problems(&report));
    let stores: Vec<NodeStore> = {
        let mut v = Vec::new();
        for n in &fed.nodes {
            v.push(NodeStore::open(&n.config).await.unwrap());
        }
        v
    };
    // Both nodes have witnessed something before the forgery.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut all = true;
        for s in &stores {
            all &= salus_node::witness::witnessed_size(s).await.unwrap() > 0;
        }
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The operator rewrites the first entry (and its leaf hash, so the hub starts).
    fed.stop_hub().await;
    let store = salus_hub::server::open_store(&fed.hub_config)
        .await
        .unwrap();
    let entry = r#"{"v":1,"index":0,"time":0,"actor":"hub","event":{"kind":"other","action":"nothing.happened","subject":"","detail":null}}"#;
    sqlx::query("UPDATE audit_entries SET entry = $1, leaf_hash = $2 WHERE idx = 0")
        .bind(entry)
        .bind(leaf_hash(entry.as_bytes()).to_hex())
        .execute(store.pool())
        .await
        .unwrap();
    store.pool().close().await;
    drop(store);
    fed.restart_hub().await.unwrap();

    // New work brings a new checkpoint; its proof cannot extend what the nodes saw.
    let info = fed.submit(&spec()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut alarms = Vec::new();
    while Instant::now() < deadline {
        alarms.clear();
        for s in &stores {
            if let Some(a) = salus_node::witness::alarm(s).await.unwrap() {
                alarms.push(a);
            }
        }
        if alarms.len() == stores.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(alarms.len(), stores.len(), "every node raised the alarm");
    for a in &alarms {
        assert!(a.message.contains("FORK"), "{}", a.message);
        assert!(
            a.witnessed.is_some(),
            "the cosigned checkpoint is kept as evidence"
        );
    }

    // No node cosigned the forged history, nor works for this hub any more.
    let bytes = fetch_export(&fed.client().unwrap()).await.unwrap();
    let report = verify_bytes(&bytes);
    assert_eq!(
        report["valid"], false,
        "the rewritten entry no longer matches the signed checkpoints"
    );
    assert_eq!(report["latest_cosignatures"], 0, "{report}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status: salus_wire::StudyInfo = fed
        .client()
        .unwrap()
        .get(&format!("/studies/{}", info.id))
        .await
        .unwrap();
    assert_eq!(
        status.status, "submitted",
        "nodes refuse the study of a forked hub"
    );
    assert!(
        status.nodes.iter().all(|n| n.state == "offered"),
        "{:?}",
        status.nodes
    );

    // The alarm is persisted until an operator clears it.
    for n in &fed.nodes {
        let store = NodeStore::open(&n.config).await.unwrap();
        assert!(salus_node::witness::alarm(&store).await.unwrap().is_some());
    }
    fed.shutdown().await;
}
