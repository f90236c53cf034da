//! Secure aggregation with a node stopped mid-protocol, end to end (real hub, real
//! nodes, TLS on loopback). The product's node sessions are wrapped so the test knows
//! the exact protocol point: a node stopped *after* its masked input reached the hub
//! is still counted (the survivors reveal its self mask), a node stopped *before* is
//! left out (the survivors reveal its pairwise mask keys). Either way the sum is exact.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{federation, gbsg2};
use salus_core::study::StudySpec;
use salus_node::NodeConfig;
use salus_protect::{NodeSession, NodeSessionFactory};
use tokio::sync::mpsc;

const VICTIM: &str = "site-c";

const STUDY: &str = r#"
name = "baseline with dropout"
dataset = "gbsg2"
cohort = "age >= 40"
threshold = 2
[analysis]
type = "descriptive"
columns = ["age"]
"#;

#[derive(Clone, Copy, PartialEq)]
enum StopAt {
    /// Swallow the masked input and stop: the hub never gets it.
    BeforeMaskedInput,
    /// Send the masked input, then stop answering.
    AfterMaskedInput,
}

/// Wraps a node session: once the victim reaches `stop`, it goes silent and tells
/// the test to kill its worker.
struct Tripwire {
    inner: Box<dyn NodeSession>,
    stop: StopAt,
    sent_masked: bool,
    dead: bool,
    tell: Mutex<Option<mpsc::UnboundedSender<()>>>,
}

impl Tripwire {
    fn pass(&mut self, out: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
        if self.dead {
            return Vec::new();
        }
        let masked = out.iter().any(|m| m["body"]["type"] == "masked-input");
        match (self.stop, masked) {
            (StopAt::BeforeMaskedInput, true) => {
                self.die();
                Vec::new()
            }
            (StopAt::AfterMaskedInput, true) => {
                self.sent_masked = true;
                out
            }
            _ => out,
        }
    }

    fn die(&mut self) {
        self.dead = true;
        if let Some(tx) = self.tell.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }
}

impl NodeSession for Tripwire {
    fn start(&mut self) -> Result<Vec<serde_json::Value>, String> {
        let out = self.inner.start()?;
        Ok(self.pass(out))
    }

    fn handle(&mut self, body: serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
        if self.stop == StopAt::AfterMaskedInput && self.sent_masked {
            // The hub moved on, so the masked input arrived: stop here.
            self.die();
        }
        if self.dead {
            return Ok(Vec::new());
        }
        let out = self.inner.handle(body)?;
        Ok(self.pass(out))
    }
}

fn tripwire_factory(
    victim_id: Arc<Mutex<String>>,
    stop: StopAt,
    tell: mpsc::UnboundedSender<()>,
) -> NodeSessionFactory {
    let product = salus_protect::product_factories().1;
    Arc::new(move |mode, params, values| {
        let inner = product(mode, params, values)?;
        if *victim_id.lock().unwrap() != params.node_id {
            return Ok(inner);
        }
        Ok(Box::new(Tripwire {
            inner,
            stop,
            sent_masked: false,
            dead: false,
            tell: Mutex::new(Some(tell.clone())),
        }))
    })
}

/// Pooled n and sum of age (age >= 40) over rows [from, to).
fn pooled(ranges: &[(usize, usize)]) -> (u64, f64) {
    let t = gbsg2();
    let ages = t.numeric("age").unwrap();
    let kept: Vec<f64> = ranges
        .iter()
        .flat_map(|&(a, b)| a..b)
        .filter_map(|i| ages[i].filter(|&a| a >= 40.0))
        .collect();
    (kept.len() as u64, kept.iter().sum())
}

async fn run(stop: StopAt) -> (u64, f64, salus_wire::StudyResult) {
    let dir = tempfile::tempdir().unwrap();
    let victim_id = Arc::new(Mutex::new(String::new()));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut fed = federation(
        dir.path(),
        Some(tripwire_factory(victim_id.clone(), stop, tx)),
        3,
    )
    .await;
    let identity = salus_node::identity::load(&NodeConfig::new(dir.path().join(VICTIM))).unwrap();
    *victim_id.lock().unwrap() = identity.info.node_id.clone();

    let info = fed
        .submit(&StudySpec::from_toml(STUDY).unwrap())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("the victim never reached the stopping point")
        .unwrap();
    fed.kill_node(VICTIM).await.unwrap();
    let result = fed.wait(&info.id, Duration::from_secs(90)).await.unwrap();
    fed.shutdown().await;
    assert_eq!(result.status, "completed", "{result:?}");
    let n = result.result["n"].as_u64().unwrap();
    let mean = result.result["columns"]["age"]["mean"].as_f64().unwrap();
    (n, mean, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_after_its_masked_input_is_still_counted() {
    let (n, mean, _) = run(StopAt::AfterMaskedInput).await;
    let (n_all, sum_all) = pooled(&[(0, 686)]);
    assert_eq!(n, n_all, "the stopped node's input is in the sum");
    assert!((mean - sum_all / n_all as f64).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_before_its_masked_input_is_left_out_exactly() {
    let (n, mean, result) = run(StopAt::BeforeMaskedInput).await;
    let (n_two, sum_two) = pooled(&[(0, 300), (300, 520)]);
    assert_eq!(n, n_two, "exactly the two surviving sites are counted");
    assert!((mean - sum_two / n_two as f64).abs() < 1e-9);
    assert!(
        result.privacy.dropped.iter().any(|d| d == VICTIM),
        "the privacy record names the dropped node: {:?}",
        result.privacy.dropped
    );
}
