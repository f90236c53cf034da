//! End-to-end tests of the federation: a real hub and real nodes over TLS on
//! loopback, each with its own SQLite file. Bad input, faults and restarts.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use std::time::Duration;

mod common;

use common::{SCHEMA, SPLITS, gbsg2, site_file};
use salus_cli::federation::Federation;
use salus_core::policy::NodePolicy;
use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;
use salus_net::NetError;

fn spec(text: &str) -> StudySpec {
    StudySpec::from_toml(text).unwrap()
}

async fn federation(
    dir: &std::path::Path,
    policy: Option<&NodePolicy>,
    timeout: u64,
) -> Federation {
    // Logs of the hub and nodes appear with a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    let mut fed = Federation::start(
        dir,
        salus_cli_sessions::hub(),
        salus_cli_sessions::node(),
        timeout,
    )
    .await
    .unwrap();
    let schema = DatasetSchema::from_text(SCHEMA).unwrap();
    for (name, from, to) in SPLITS {
        let file = site_file(dir, name, from, to);
        fed.add_node(
            name,
            &format!("Org {name}"),
            &[("gbsg2", &file, &schema)],
            policy,
        )
        .await
        .unwrap();
    }
    fed
}

/// The protection sessions the product uses.
mod salus_cli_sessions {
    pub fn hub() -> salus_protect::HubSessionFactory {
        salus_protect::product_factories().0
    }
    pub fn node() -> salus_protect::NodeSessionFactory {
        salus_protect::product_factories().1
    }
}

const DESCRIPTIVE: &str = r#"
name = "baseline"
dataset = "gbsg2"
cohort = "age >= 40"
[analysis]
type = "descriptive"
columns = ["age", "horTh"]
"#;

/// Pooled reference: mean age and horTh counts of the whole table with age >= 40.
fn pooled_reference() -> (u64, f64, u64, u64) {
    let t = gbsg2();
    let ages = t.numeric("age").unwrap();
    let hor = t.text("horTh").unwrap();
    let rows: Vec<usize> = (0..t.nrows())
        .filter(|&i| ages[i].unwrap() >= 40.0)
        .collect();
    let n = rows.len() as u64;
    let mean = rows.iter().map(|&i| ages[i].unwrap()).sum::<f64>() / n as f64;
    let yes = rows
        .iter()
        .filter(|&&i| hor[i].as_deref() == Some("yes"))
        .count() as u64;
    (n, mean, n - yes, yes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_descriptives_equal_pooled_values() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 20).await;
    let (_, result) = fed
        .run_study(&spec(DESCRIPTIVE), Duration::from_secs(60))
        .await
        .unwrap();
    let (n, mean, no, yes) = pooled_reference();
    assert_eq!(result.status, "completed");
    assert_eq!(result.result["n"], n);
    let got = result.result["columns"]["age"]["mean"].as_f64().unwrap();
    assert!((got - mean).abs() < 1e-9, "{got} vs {mean}");
    assert_eq!(result.result["columns"]["horTh"]["levels"]["no"], no);
    assert_eq!(result.result["columns"]["horTh"]["levels"]["yes"], yes);
    assert_eq!(result.privacy.nodes, vec!["site-a", "site-b", "site-c"]);
    assert_eq!(result.privacy.min_cell_count, 5);
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_specs_and_credentials_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 20).await;
    let client = fed.client().unwrap();
    // Unknown dataset.
    let mut s = spec(DESCRIPTIVE);
    s.dataset = "nope".into();
    let err = fed.submit(&s).await.unwrap_err().to_string();
    assert!(
        err.contains("no node holds dataset `nope`") && err.contains("gbsg2"),
        "{err}"
    );
    // Unknown column.
    let s = spec(&DESCRIPTIVE.replace("\"age\", \"horTh\"", "\"bmi\""));
    let err = fed.submit(&s).await.unwrap_err().to_string();
    assert!(err.contains("bmi") && err.contains("age"), "{err}");
    // Identifier used as a variable.
    let s = spec(&DESCRIPTIVE.replace("age >= 40", "pid == 'G0001'"));
    let err = fed.submit(&s).await.unwrap_err().to_string();
    assert!(err.contains("identifier"), "{err}");
    // Malformed body: the server answers 4xx with a message, nothing is stored.
    let before: Vec<salus_wire::StudyInfo> = client.get("/studies").await.unwrap();
    let bad = serde_json::json!({"spec": {"name": "x", "dataset": "gbsg2", "analysis": {"type": "magic"}}});
    let err = client
        .post::<_, serde_json::Value>("/studies", &bad)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Api {
                status: 400..=499,
                ..
            }
        ),
        "{err}"
    );
    let after: Vec<salus_wire::StudyInfo> = client.get("/studies").await.unwrap();
    assert_eq!(before.len(), after.len());
    // Unknown and expired tokens.
    let stranger = fed.client_with("slt_not-a-token").unwrap();
    let err = stranger
        .get::<serde_json::Value>("/studies")
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Api { status: 401, .. }), "{err}");
    let hub = fed.hub.as_ref().unwrap();
    let expired = hub
        .coordinator
        .store()
        .create_token("bob", "x", "researcher", -1)
        .await
        .unwrap();
    let err = fed
        .client_with(&expired)
        .unwrap()
        .get::<serde_json::Value>("/studies")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_refusal_names_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let policy = NodePolicy::from_text("allowed_researchers = ['carol']").unwrap();
    let fed = federation(dir.path(), Some(&policy), 20).await;
    let info = fed.submit(&spec(DESCRIPTIVE)).await.unwrap();
    let err = fed
        .wait(&info.id, Duration::from_secs(30))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("allowed_researchers") && err.contains("alice"),
        "{err}"
    );
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_cohorts_are_refused_by_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 20).await;
    let info = fed
        .submit(&spec(&DESCRIPTIVE.replace("age >= 40", "age >= 79")))
        .await
        .unwrap();
    let err = fed
        .wait(&info.id, Duration::from_secs(30))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("min_cell_count"), "{err}");
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_nodes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut fed = federation(dir.path(), None, 20).await;
    fed.hub
        .as_ref()
        .unwrap()
        .coordinator
        .store()
        .revoke_node("site-c")
        .await
        .unwrap();
    // The revoked node's worker stops with a clear error at its next request.
    for _ in 0..200 {
        if !fed.nodes[2].is_running() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!fed.nodes[2].is_running(), "revoked node still running");
    // Studies now only involve the remaining nodes.
    let (_, result) = fed
        .run_study(&spec(DESCRIPTIVE), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(result.privacy.nodes, vec!["site-a", "site-b"]);
    fed.kill_node("site-c").await.unwrap();
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_disappears_fails_the_study_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut fed = federation(dir.path(), None, 2).await;
    fed.kill_node("site-b").await.unwrap();
    let info = fed.submit(&spec(DESCRIPTIVE)).await.unwrap();
    // site-b never decides: the study waits; bring it back and it completes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status: salus_wire::StudyInfo = fed
        .client()
        .unwrap()
        .get(&format!("/studies/{}", info.id))
        .await
        .unwrap();
    assert_eq!(status.status, "submitted");
    fed.restart_node("site-b").await.unwrap();
    let r = fed.wait(&info.id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(r.status, "completed");
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_restart_mid_study_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut fed = federation(dir.path(), None, 5).await;
    let info = fed.submit(&spec(DESCRIPTIVE)).await.unwrap();
    fed.stop_hub().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    fed.restart_hub().await.unwrap();
    let r = fed.wait(&info.id, Duration::from_secs(90)).await.unwrap();
    assert_eq!(r.status, "completed");
    let (n, ..) = pooled_reference();
    assert_eq!(r.result["n"], n, "nothing lost or counted twice");
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_node_policy_is_announced_logged_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 20).await;
    let store =
        salus_node::store::NodeStore::open(&salus_node::NodeConfig::new(dir.path().join("site-a")))
            .await
            .unwrap();
    let stricter = NodePolicy::from_text("min_cell_count = 7\n").unwrap();
    store.set_policy(&stricter).await.unwrap();
    // The study wakes the node's long poll; it announces the new policy first.
    let (_, result) = fed
        .run_study(&spec(DESCRIPTIVE), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        result.privacy.min_cell_count, 7,
        "the strictest node's minimum applies"
    );
    let export = salus_cli::audit_export::fetch_export(&fed.client().unwrap())
        .await
        .unwrap();
    let log: serde_json::Value = serde_json::from_slice(&export).unwrap();
    let hashes: std::collections::BTreeSet<String> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e["data"].as_str()?).ok())
        .filter(|d| d["event"]["action"] == "dataset.published" && d["actor"] == "node:site-a")
        .filter_map(|d| {
            d["event"]["detail"]["policy_sha256"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(hashes.len(), 2, "both policies are in the log: {hashes:?}");
    fed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_he_kaplan_meier_equals_its_secure_aggregation_twin() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 30).await;
    let sa = spec(include_str!(
        "../../../examples/studies/04-kaplan-meier.toml"
    ));
    let mut he = sa.clone();
    he.name = format!("{} (threshold HE)", sa.name);
    he.protection = salus_core::study::Protection::ThresholdHe;
    let (_, a) = fed.run_study(&sa, Duration::from_secs(120)).await.unwrap();
    let (_, b) = fed.run_study(&he, Duration::from_secs(120)).await.unwrap();
    assert_eq!(b.protection, "threshold-he");
    // Integer counts: the encrypted path gives exactly the same curves.
    assert_eq!(
        a.result["groups"].as_array().map(Vec::len),
        Some(2),
        "{}",
        a.result
    );
    assert_eq!(a.result["groups"], b.result["groups"]);
    assert_eq!(a.result["log_rank"], b.result["log_rank"]);
    fed.shutdown().await;
}

/// Threshold HE over several rounds: the researcher's client decrypts each round's sum,
/// takes the Newton step and steers the next round; the fits equal their
/// secure-aggregation twins (logistic regression, and Cox with a pooled baseline on a
/// public grid, whose first round is a different phase with its own layout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_he_newton_models_equal_their_secure_aggregation_twins() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 30).await;
    for text in [
        include_str!("../../../examples/studies/08-logistic.toml"),
        include_str!("../../../examples/studies/06-cox-pooled-grid.toml"),
    ] {
        let sa = spec(text);
        let mut he = sa.clone();
        he.name = format!("{} (threshold HE)", sa.name);
        he.protection = salus_core::study::Protection::ThresholdHe;
        let (_, a) = fed.run_study(&sa, Duration::from_secs(120)).await.unwrap();
        let (info, b) = fed.run_study(&he, Duration::from_secs(180)).await.unwrap();
        assert_eq!(b.protection, "threshold-he");
        assert_eq!(
            a.result["iterations"], b.result["iterations"],
            "{}",
            b.result
        );
        let (ca, cb) = (
            a.result["coefficients"].as_array().unwrap(),
            b.result["coefficients"].as_array().unwrap(),
        );
        assert_eq!(ca.len(), cb.len());
        assert!(ca.len() >= 5, "{}", a.result);
        for (x, y) in ca.iter().zip(cb) {
            assert_eq!(x["name"], y["name"]);
            for field in ["coef", "se"] {
                let (u, v) = (x[field].as_f64().unwrap(), y[field].as_f64().unwrap());
                assert!(
                    (u - v).abs() <= 1e-6 * u.abs().max(1e-3),
                    "{} {field}: {u} vs {v}",
                    x["name"]
                );
            }
        }
        // The hub kept every round's sum encrypted: one encrypted sum per Newton round.
        let raw: salus_wire::StudyResult = fed
            .client()
            .unwrap()
            .get(&format!("/studies/{}/result", info.id))
            .await
            .unwrap();
        let rounds = raw.result["encrypted_rounds"].as_array().unwrap();
        assert!(rounds.len() >= 3, "{} rounds", rounds.len());
        assert!(raw.result.get("coefficients").is_none());
        assert!(
            raw.privacy
                .caveats
                .iter()
                .any(|c| c.contains("steered by the researcher")),
            "{:?}",
            raw.privacy.caveats
        );
    }
    fed.shutdown().await;
}

/// The hub checks what a researcher steers: only a study awaiting its researcher, only
/// the round after the one held, only a step of the study's own analysis and layout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_refuses_malformed_steering_of_a_threshold_he_model() {
    let dir = tempfile::tempdir().unwrap();
    let fed = federation(dir.path(), None, 30).await;
    let mut he = spec(include_str!("../../../examples/studies/08-logistic.toml"));
    he.protection = salus_core::study::Protection::ThresholdHe;
    let info = fed.submit(&he).await.unwrap();
    fed.wait_status(&info.id, "awaiting-researcher", Duration::from_secs(120))
        .await
        .unwrap();
    let client = fed.client().unwrap();
    let path = format!("/studies/{}/result", info.id);
    let held: salus_wire::StudyResult = client.get(&path).await.unwrap();
    assert_eq!(held.status, "awaiting-researcher");
    assert!(held.result.get("coefficients").is_none());
    let plan: salus_study::plan::StudyPlan =
        serde_json::from_value(held.result["plan"].clone()).unwrap();
    let first = plan.next_round().unwrap();
    let salus_study::Step::Newton { beta } = &first.step else {
        panic!("logistic regression takes Newton steps: {:?}", first.step)
    };
    let p = beta.len();
    let advance = format!("/studies/{}/advance", info.id);
    let refuse = |mut request: salus_study::RoundRequest, round: u32| salus_wire::AdvanceStudy {
        round,
        next: Some({
            request.round = request.round.max(1);
            request
        }),
    };
    // A coefficient vector of the wrong length.
    let mut short = first.clone();
    short.step = salus_study::Step::Newton { beta: vec![0.1] };
    // A layout the analysis does not use.
    let mut wide = first.clone();
    wide.step = salus_study::Step::Newton { beta: vec![0.0; p] };
    wide.layout = wide.layout.reals("extra", 1);
    // Non-finite coefficients.
    let mut nan = first.clone();
    nan.step = salus_study::Step::Newton {
        beta: vec![f64::NAN; p],
    };
    for (what, body) in [
        ("short beta", refuse(short, 0)),
        ("extra layout", refuse(wide, 0)),
        ("NaN beta", refuse(nan, 0)),
        ("stale round", refuse(first.clone(), 3)),
    ] {
        let r: Result<salus_wire::StudyInfo, _> = client.post(&advance, &body).await;
        assert!(r.is_err(), "{what} was accepted");
    }
    // Still waiting; a correct step then completes the study.
    let still: salus_wire::StudyInfo = client.get(&format!("/studies/{}", info.id)).await.unwrap();
    assert_eq!(still.status, "awaiting-researcher");
    let result = fed.wait(&info.id, Duration::from_secs(120)).await.unwrap();
    assert!(
        result.result["coefficients"]
            .as_array()
            .is_some_and(|c| c.len() == p)
    );
    // A completed study cannot be steered any more.
    let again: Result<salus_wire::StudyInfo, _> = client
        .post(
            &advance,
            &salus_wire::AdvanceStudy {
                round: 0,
                next: None,
            },
        )
        .await;
    assert!(again.is_err());
    fed.shutdown().await;
}
