//! A federation on loopback: one hub and any number of nodes in this process, each
//! with its own data directory and SQLite database, talking over real TLS sockets.
//! `salus demo` and the end-to-end tests drive it; nothing here is a mock.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use salus_core::policy::NodePolicy;
use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;
use salus_hub::server::{self, RunningHub};
use salus_hub::{HubConfig, ca::Ca};
use salus_net::client::{Credentials, HubClient};
use salus_node::identity::Invite;
use salus_node::store::NodeStore;
use salus_node::worker::Worker;
use salus_node::{NodeConfig, NodeError, datasets};
use salus_protect::HubSessionFactory as SessionFactory;
use salus_protect::NodeSessionFactory;
use salus_wire::{StudyInfo, StudyResult, SubmitStudy};

/// A node running as a task.
pub struct NodeHandle {
    pub name: String,
    pub config: NodeConfig,
    stop: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<Result<(), NodeError>>>,
}

impl NodeHandle {
    /// True while the worker task runs.
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }
}

/// The federation.
pub struct Federation {
    pub dir: PathBuf,
    pub hub_config: HubConfig,
    pub hub: Option<RunningHub>,
    pub hub_addr: SocketAddr,
    pub nodes: Vec<NodeHandle>,
    pub researcher_token: String,
    /// The researcher's threshold-HE key pair `(secret, public)`: studies with
    /// `protection = "threshold-he"` are encrypted to it and opened here.
    pub researcher_keys: (String, String),
    hub_sessions: SessionFactory,
    node_sessions: NodeSessionFactory,
}

impl Federation {
    /// Starts a hub in `dir/hub` on a free loopback port and creates a researcher token.
    pub async fn start(
        dir: &Path,
        hub_sessions: SessionFactory,
        node_sessions: NodeSessionFactory,
        round_timeout_secs: u64,
    ) -> anyhow::Result<Federation> {
        let mut hub_config = HubConfig::new(dir.join("hub"));
        hub_config.round_timeout_secs = round_timeout_secs;
        let hub = server::start(
            &hub_config,
            "127.0.0.1:0".parse()?,
            &[],
            hub_sessions.clone(),
        )
        .await?;
        let hub_addr = hub.addr;
        let researcher_token = hub
            .coordinator
            .store()
            .create_token("alice", "University Research Lab", "researcher", 86400)
            .await?;
        Ok(Federation {
            dir: dir.to_path_buf(),
            hub_config,
            hub: Some(hub),
            hub_addr,
            nodes: Vec::new(),
            researcher_token,
            researcher_keys: salus_protect::ResearcherKeys::generate(&mut rand::rng())
                .map_err(|e| anyhow::anyhow!("creating the researcher key: {e}"))?,
            hub_sessions,
            node_sessions,
        })
    }

    /// The hub's URL.
    pub fn hub_url(&self) -> String {
        format!("https://{}", self.hub_addr)
    }

    /// The hub CA certificate (PEM).
    pub fn ca_pem(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(
            self.hub_config.data_dir.join("ca.pem"),
        )?)
    }

    /// A researcher client with the given token.
    pub fn client_with(&self, token: &str) -> anyhow::Result<HubClient> {
        Ok(HubClient::new(
            &self.hub_url(),
            &self.ca_pem()?,
            Credentials::Token(token),
        )?)
    }

    /// The default researcher's client.
    pub fn client(&self) -> anyhow::Result<HubClient> {
        self.client_with(&self.researcher_token)
    }

    /// Creates an invite as the hub operator would (`salus hub invite`).
    pub async fn invite(&self, organisation: &str) -> anyhow::Result<String> {
        let hub = self.hub.as_ref().context("the hub is stopped")?;
        let secret = hub
            .coordinator
            .store()
            .create_invite(organisation, 3600)
            .await?;
        let ca = Ca::load_or_create(&self.hub_config.data_dir, &[])?;
        Ok(Invite::format(&secret, ca.fingerprint()))
    }

    /// Enrolls a node, registers its datasets and policy, and starts its worker.
    /// Returns the time from nothing to an enrolled node.
    /// Records consent changes on a running node, as its steward would with
    /// `salus node consent import`: signed, chained receipts whose hashes the node
    /// reports to the hub's audit log. Returns the receipt hashes.
    pub async fn record_consent(
        &self,
        node: &str,
        records: &[salus_consent::ConsentRecord],
    ) -> anyhow::Result<Vec<String>> {
        let handle = self
            .nodes
            .iter()
            .find(|n| n.name == node)
            .with_context(|| format!("no node named `{node}`"))?;
        let identity = salus_node::identity::load(&handle.config)?;
        let key = identity.signing_key()?;
        let store = NodeStore::open(&handle.config).await?;
        let stored = salus_node::consent::record(
            &store,
            &identity.info.name,
            &key,
            records,
            salus_node::consent::now_seconds(),
        )
        .await?;
        Ok(stored.into_iter().map(|s| s.receipt_hash).collect())
    }

    pub async fn add_node(
        &mut self,
        name: &str,
        organisation: &str,
        datasets: &[(&str, &Path, &DatasetSchema)],
        policy: Option<&NodePolicy>,
    ) -> anyhow::Result<Duration> {
        let config = NodeConfig::new(self.dir.join(name));
        let token = self.invite(organisation).await?;
        let started = Instant::now();
        salus_node::identity::enroll(&config, &self.hub_url(), &token, name).await?;
        let enroll_time = started.elapsed();
        let store = NodeStore::open(&config).await?;
        for (ds, file, schema) in datasets {
            let delimiter = if file.extension().is_some_and(|e| e == "tsv") {
                b'\t'
            } else {
                b','
            };
            store
                .put_dataset(&datasets::register(ds, file, (*schema).clone(), delimiter)?)
                .await?;
        }
        if let Some(p) = policy {
            store.set_policy(p).await?;
        }
        let mut handle = NodeHandle {
            name: name.to_string(),
            config,
            stop: None,
            task: None,
        };
        self.spawn_worker(&mut handle).await?;
        self.nodes.push(handle);
        if let Some((first, ..)) = datasets.first() {
            self.wait_announced(name, first, Duration::from_secs(30))
                .await?;
        }
        Ok(enroll_time)
    }

    /// Waits until the hub's catalogue lists `node` as a holder of `dataset` (the
    /// worker announces its datasets on its first contact with the hub).
    async fn wait_announced(
        &self,
        node: &str,
        dataset: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let client = self.client()?;
        let deadline = Instant::now() + timeout;
        loop {
            let catalogue: Vec<salus_wire::CatalogueEntry> = client.get("/catalogue").await?;
            if catalogue
                .iter()
                .any(|e| e.name == dataset && e.nodes.iter().any(|n| n == node))
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("node `{node}` did not announce dataset `{dataset}` within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn spawn_worker(&self, handle: &mut NodeHandle) -> anyhow::Result<()> {
        let worker = Worker::new(&handle.config, self.node_sessions.clone()).await?;
        let (tx, rx) = watch::channel(false);
        handle.task = Some(tokio::spawn(worker.run(rx)));
        handle.stop = Some(tx);
        Ok(())
    }

    fn node_mut(&mut self, name: &str) -> anyhow::Result<&mut NodeHandle> {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .with_context(|| format!("no node `{name}`"))
    }

    /// Kills a node's worker abruptly (like a crashed process).
    pub async fn kill_node(&mut self, name: &str) -> anyhow::Result<()> {
        let node = self.node_mut(name)?;
        if let Some(t) = node.task.take() {
            t.abort();
            let _ = t.await;
        }
        node.stop = None;
        Ok(())
    }

    /// Starts a killed node again from its data directory.
    pub async fn restart_node(&mut self, name: &str) -> anyhow::Result<()> {
        let idx = self
            .nodes
            .iter()
            .position(|n| n.name == name)
            .with_context(|| format!("no node `{name}`"))?;
        let mut handle = std::mem::replace(
            &mut self.nodes[idx],
            NodeHandle {
                name: String::new(),
                config: NodeConfig::new(""),
                stop: None,
                task: None,
            },
        );
        let r = self.spawn_worker(&mut handle).await;
        self.nodes[idx] = handle;
        r
    }

    /// Stops the hub abruptly.
    pub async fn stop_hub(&mut self) {
        if let Some(h) = self.hub.take() {
            h.stop().await;
        }
    }

    /// Starts the hub again on the same address from its data directory.
    pub async fn restart_hub(&mut self) -> anyhow::Result<()> {
        let mut last = None;
        // The port may take a moment to be free again.
        for _ in 0..50 {
            match server::start(
                &self.hub_config,
                self.hub_addr,
                &[],
                self.hub_sessions.clone(),
            )
            .await
            {
                Ok(h) => {
                    self.hub = Some(h);
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        bail!(
            "could not restart the hub: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        )
    }

    /// Submits a study as the default researcher.
    pub async fn submit(&self, spec: &StudySpec) -> anyhow::Result<StudyInfo> {
        Ok(self
            .client()?
            .post(
                "/studies",
                &SubmitStudy {
                    spec: spec.clone(),
                    researcher_key: (spec.protection.as_str() == "threshold-he")
                        .then(|| self.researcher_keys.1.clone()),
                },
            )
            .await?)
    }

    /// Submits a study and waits for its result.
    pub async fn run_study(
        &self,
        spec: &StudySpec,
        timeout: Duration,
    ) -> anyhow::Result<(StudyInfo, StudyResult)> {
        let info = self.submit(spec).await?;
        let result = self.wait(&info.id, timeout).await?;
        Ok((info, result))
    }

    /// Waits until a study completes (its result) or fails (an error with the reason).
    pub async fn wait(&self, id: &str, timeout: Duration) -> anyhow::Result<StudyResult> {
        let client = self.client()?;
        wait_steering(&client, id, Some(&self.researcher_keys.0), timeout).await
    }

    /// Waits until a study reaches `status`, returning its info.
    pub async fn wait_status(
        &self,
        id: &str,
        status: &str,
        timeout: Duration,
    ) -> anyhow::Result<StudyInfo> {
        let client = self.client()?;
        let deadline = Instant::now() + timeout;
        loop {
            let info: StudyInfo = client.get(&format!("/studies/{id}")).await?;
            if info.status == status {
                return Ok(info);
            }
            if Instant::now() > deadline {
                bail!(
                    "study is {} (wanted {status}) after {timeout:?}: {:?}",
                    info.status,
                    info.error
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Stops everything.
    pub async fn shutdown(mut self) {
        for n in &mut self.nodes {
            if let Some(s) = n.stop.take() {
                let _ = s.send(true);
            }
            if let Some(t) = n.task.take() {
                let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
            }
        }
        self.stop_hub().await;
    }
}

/// Opens a threshold-HE result in place with the researcher's secret key: decrypts the
/// summed vector, replays the hub's study plan on it and applies the same disclosure
/// control the hub applies to secure-aggregation results (the minimum cell count from
/// the privacy record). Results that are not encrypted are left unchanged.
pub fn open_encrypted_result(
    researcher_secret: &str,
    result: &mut StudyResult,
) -> anyhow::Result<()> {
    if result.result.get("encrypted_sum").is_none() {
        return Ok(());
    }
    let (plan, _) = replay_encrypted_rounds(researcher_secret, result)?;
    let released = plan.release(result.privacy.min_cell_count)?;
    result.privacy.suppressed_cells = released.suppressed_cells;
    result.privacy.consent_excluded = released.consent_excluded;
    result.privacy.caveats.extend(released.caveats);
    result.privacy.caveats.push(
        "decrypted by the researcher's key; disclosure control was applied by the researcher's client".into(),
    );
    result.result = released.result;
    Ok(())
}

/// Decrypts every round's encrypted sum of a threshold-HE result (one for one-round
/// analyses, one per Newton round otherwise) and replays them on the study's data-free
/// plan: the plan after the last round, and that round's progress.
fn replay_encrypted_rounds(
    researcher_secret: &str,
    result: &StudyResult,
) -> anyhow::Result<(salus_study::plan::StudyPlan, salus_study::plan::Progress)> {
    let blobs: Vec<&str> = match result.result.get("encrypted_rounds") {
        Some(rounds) => rounds
            .as_array()
            .map(|a| a.iter().filter_map(|b| b.as_str()).collect())
            .unwrap_or_default(),
        None => result.result["encrypted_sum"]
            .as_str()
            .into_iter()
            .collect(),
    };
    anyhow::ensure!(!blobs.is_empty(), "the encrypted result holds no sum");
    let mut plan: salus_study::plan::StudyPlan =
        serde_json::from_value(result.result["plan"].clone()).map_err(|e| {
            anyhow::anyhow!("the encrypted result carries an unreadable study plan: {e}")
        })?;
    let mut progress = salus_study::plan::Progress::Done;
    for (round, blob) in blobs.iter().enumerate() {
        let sum = salus_protect::decrypt_encrypted_sum(researcher_secret, blob)
            .map_err(|e| anyhow::anyhow!("opening the encrypted sum of round {round}: {e}"))?;
        progress = plan.absorb(round as u32, &sum)?;
    }
    Ok((plan, progress))
}

/// The researcher's Newton step for a threshold-HE study that awaits them: decrypts the
/// sums so far and says what the hub should run next (`next: None` once the model is
/// complete). Nothing decrypted leaves the researcher's client; the hub only receives
/// the next coefficients.
pub fn steer_encrypted(
    researcher_secret: &str,
    result: &StudyResult,
) -> anyhow::Result<salus_wire::AdvanceStudy> {
    let round = result.result["round"].as_u64().unwrap_or(0) as u32;
    let (plan, progress) = replay_encrypted_rounds(researcher_secret, result)?;
    let next = match progress {
        salus_study::plan::Progress::NextRound => Some(plan.next_round().ok_or_else(|| {
            anyhow::anyhow!("the study plan asks for another round but has none")
        })?),
        salus_study::plan::Progress::Done => None,
    };
    Ok(salus_wire::AdvanceStudy { round, next })
}

/// Polls a study until it completes or fails; a threshold-HE study that awaits its
/// researcher is steered with `researcher_secret` (without it, an error says so).
pub async fn wait_steering(
    client: &HubClient,
    id: &str,
    researcher_secret: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<StudyResult> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(25);
    loop {
        let info: StudyInfo = client.get(&format!("/studies/{id}")).await?;
        match info.status.as_str() {
            "completed" => {
                let mut result: StudyResult = client.get(&format!("/studies/{id}/result")).await?;
                if let Some(secret) = researcher_secret {
                    open_encrypted_result(secret, &mut result)?;
                }
                return Ok(result);
            }
            "failed" => bail!("study {id} failed: {}", info.error.unwrap_or_default()),
            "awaiting-researcher" => {
                let Some(secret) = researcher_secret else {
                    bail!(
                        "study {id} is a threshold-HE model waiting for your next step: run `salus study result {id} --researcher-key FILE`"
                    );
                };
                let result: StudyResult = client.get(&format!("/studies/{id}/result")).await?;
                let step = steer_encrypted(secret, &result)?;
                let _: StudyInfo = client
                    .post(&format!("/studies/{id}/advance"), &step)
                    .await?;
                pause = Duration::from_millis(25);
            }
            s if Instant::now() > deadline => bail!("study {id} is still {s} after {timeout:?}"),
            _ => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}
