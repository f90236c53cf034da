//! `salus hub ...`, `salus node ...`, `salus study ...`: the federated network.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use salus_core::policy::NodePolicy;
use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;
use salus_hub::{HubConfig, ca::Ca, server};
use salus_net::client::{Credentials, HubClient};
use salus_node::identity::Invite;
use salus_node::store::NodeStore;
use salus_node::{NodeConfig, datasets};
use salus_wire::{CatalogueEntry, StudyInfo, StudyResult, SubmitStudy};

use super::runtime;

#[derive(Debug, Args)]
pub struct HubDir {
    /// Directory of the hub's CA, keys and SQLite database.
    #[arg(long, env = "SALUS_HUB_DIR", default_value = "salus-hub")]
    data_dir: PathBuf,
    /// Database URL (default: SQLite file in the data directory; or postgres://...).
    #[arg(long, env = "SALUS_HUB_DB")]
    db: Option<String>,
}

impl HubDir {
    fn config(&self) -> HubConfig {
        let mut c = HubConfig::new(&self.data_dir);
        c.database_url = self.db.clone();
        c
    }
}

#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Run the hub's HTTPS API (creates the CA and database on first start).
    Serve {
        #[command(flatten)]
        dir: HubDir,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Extra DNS names or IPs for the hub's TLS certificate.
        #[arg(long)]
        hostname: Vec<String>,
        /// Seconds a node may stay silent in a round before it counts as dropped.
        #[arg(long, default_value_t = 30)]
        round_timeout: u64,
    },
    /// Create a one-time enrollment token for an organisation's node.
    Invite {
        #[command(flatten)]
        dir: HubDir,
        /// The organisation the node belongs to.
        #[arg(long)]
        org: String,
        /// Validity in hours.
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
        #[arg(long)]
        json: bool,
    },
    /// Create a scoped API token for a researcher or admin.
    Token {
        #[command(flatten)]
        dir: HubDir,
        /// The token holder's name (researcher policies refer to it).
        #[arg(long)]
        name: String,
        #[arg(long)]
        org: String,
        /// `researcher` or `admin`.
        #[arg(long, default_value = "researcher")]
        scope: String,
        #[arg(long, default_value_t = 30)]
        ttl_days: i64,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a node: its certificate is refused from now on.
    Revoke {
        #[command(flatten)]
        dir: HubDir,
        #[arg(long)]
        node: String,
    },
    /// List enrolled nodes.
    Nodes {
        #[command(flatten)]
        dir: HubDir,
        #[arg(long)]
        json: bool,
    },
}

pub fn run_hub(command: HubCommand) -> anyhow::Result<()> {
    runtime()?.block_on(hub(command))
}

async fn hub(command: HubCommand) -> anyhow::Result<()> {
    match command {
        HubCommand::Serve {
            dir,
            listen,
            hostname,
            round_timeout,
        } => {
            let mut config = dir.config();
            config.round_timeout_secs = round_timeout;
            let hub =
                server::start(&config, listen, &hostname, super::sessions::hub_sessions()).await?;
            eprintln!(
                "salus hub listening on {} (CA fingerprint {})",
                hub.url(),
                hub.ca.fingerprint()
            );
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            eprintln!("stopping");
            hub.stop().await;
            Ok(())
        }
        HubCommand::Invite {
            dir,
            org,
            ttl_hours,
            json,
        } => {
            let config = dir.config();
            let ca = Ca::load_or_create(&config.data_dir, &[])?;
            let store = server::open_store(&config).await?;
            let secret = store.create_invite(&org, ttl_hours * 3600).await?;
            let token = Invite::format(&secret, ca.fingerprint());
            print_value(
                json,
                &serde_json::json!({"token": token, "organisation": org, "expires_in_hours": ttl_hours}),
                &token,
            );
            Ok(())
        }
        HubCommand::Token {
            dir,
            name,
            org,
            scope,
            ttl_days,
            json,
        } => {
            let store = server::open_store(&dir.config()).await?;
            let token = store
                .create_token(&name, &org, &scope, ttl_days * 86400)
                .await?;
            print_value(
                json,
                &serde_json::json!({"token": token, "name": name, "scope": scope}),
                &token,
            );
            Ok(())
        }
        HubCommand::Revoke { dir, node } => {
            let store = server::open_store(&dir.config()).await?;
            store.revoke_node(&node).await?;
            eprintln!("node `{node}` revoked");
            Ok(())
        }
        HubCommand::Nodes { dir, json } => {
            let store = server::open_store(&dir.config()).await?;
            let nodes = store.list_nodes().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&nodes)?);
            } else {
                for n in nodes {
                    println!(
                        "{:<20} {:<24} {:<8} {}",
                        n.name, n.organisation, n.status, n.node_id
                    );
                }
            }
            Ok(())
        }
    }
}

#[derive(Debug, Args)]
pub struct NodeDir {
    /// Directory of the node's identity and database.
    #[arg(long, env = "SALUS_NODE_DIR", default_value = "salus-node")]
    data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Enroll this node with a hub using a one-time invite.
    Enroll {
        #[command(flatten)]
        dir: NodeDir,
        /// The hub's URL, e.g. https://hub.example.org:8443
        #[arg(long)]
        hub: String,
        /// The invite printed by `salus hub invite`.
        #[arg(long)]
        token: String,
        /// This node's name in the federation, e.g. site-a.
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Run the node: long-poll the hub and compute approved studies.
    Serve {
        #[command(flatten)]
        dir: NodeDir,
        /// Also serve the patients' consent API (HTTPS) on this address, for the
        /// hospital's patient portal, e.g. 10.0.0.5:9444. Its CA certificate (for the
        /// portal to pin) is written to DATA_DIR/patient-api/ca.pem.
        #[arg(long)]
        patient_api: Option<SocketAddr>,
        /// Extra DNS names or IPs for the patient API's certificate.
        #[arg(long)]
        patient_api_hostname: Vec<String>,
    },
    /// Manage datasets.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Set or show the node policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List the studies this node was offered.
    Studies {
        #[command(flatten)]
        dir: NodeDir,
        #[arg(long)]
        json: bool,
    },
    /// Approve a study waiting for the steward (manual approval).
    Approve {
        #[command(flatten)]
        dir: NodeDir,
        study: String,
    },
    /// Patient consent held by this node (enforced when each study's cohort is frozen).
    #[command(subcommand)]
    Consent(NodeConsentCommand),
    /// Clear the audit-log fork alarm after the hub operator explained the divergence.
    ClearAlarm {
        #[command(flatten)]
        dir: NodeDir,
        /// Also forget the last witnessed checkpoint and accept the hub's current history.
        #[arg(long)]
        forget_history: bool,
    },
    /// Refuse a study waiting for the steward.
    Refuse {
        #[command(flatten)]
        dir: NodeDir,
        study: String,
        #[arg(long, default_value = "refused by the data steward")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum NodeConsentCommand {
    /// Import FHIR R4 Consent resources (a resource, Bundle, array or NDJSON); each
    /// becomes a consent record with a signed receipt, its hash logged by the hub.
    Import {
        #[command(flatten)]
        dir: NodeDir,
        /// FHIR files.
        #[arg(long = "fhir", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Record a patient's withdrawal (deny) for a purpose, effective for every later study.
    Withdraw {
        #[command(flatten)]
        dir: NodeDir,
        /// Patient pseudonym (the dataset's `patient_key` value).
        #[arg(long)]
        patient: String,
        /// Purpose withdrawn: research (covers every study), study:<name>, commercial, ...
        #[arg(long, default_value = "research")]
        purpose: String,
        /// Where to write the signed receipt for the patient.
        #[arg(long)]
        receipt_out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Issue a patient's token for the consent API (`node serve --patient-api`); shown once.
    Token {
        #[command(flatten)]
        dir: NodeDir,
        /// Patient pseudonym (the dataset's `patient_key` value).
        #[arg(long)]
        patient: String,
        /// Days the token stays valid.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Summarise the consent records (counts and the receipt chain head; no pseudonyms).
    Status {
        #[command(flatten)]
        dir: NodeDir,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Register a CSV or Parquet file with its schema (validated row by row).
    Add {
        #[command(flatten)]
        dir: NodeDir,
        #[arg(long)]
        name: String,
        #[arg(long)]
        file: PathBuf,
        /// Schema file (TOML or JSON): column types, roles, levels, bounds.
        #[arg(long)]
        schema: PathBuf,
        #[arg(long, default_value = ",")]
        delimiter: char,
        #[arg(long)]
        json: bool,
    },
    /// List registered datasets.
    List {
        #[command(flatten)]
        dir: NodeDir,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Set the node policy from a TOML/JSON file.
    Set {
        #[command(flatten)]
        dir: NodeDir,
        #[arg(long)]
        file: PathBuf,
    },
    /// Print the policy in force.
    Show {
        #[command(flatten)]
        dir: NodeDir,
    },
}

pub fn run_node(command: NodeCommand) -> anyhow::Result<()> {
    runtime()?.block_on(node(command))
}

async fn node(command: NodeCommand) -> anyhow::Result<()> {
    match command {
        NodeCommand::Enroll {
            dir,
            hub,
            token,
            name,
            json,
        } => {
            let started = std::time::Instant::now();
            let id =
                salus_node::identity::enroll(&NodeConfig::new(&dir.data_dir), &hub, &token, &name)
                    .await?;
            let secs = started.elapsed().as_secs_f64();
            let v = serde_json::json!({"node_id": id.info.node_id, "name": id.info.name, "organisation": id.info.organisation, "seconds": secs});
            print_value(
                json,
                &v,
                &format!(
                    "enrolled `{}` ({}) in {secs:.2} s",
                    id.info.name, id.info.organisation
                ),
            );
            Ok(())
        }
        NodeCommand::Consent(c) => node_consent(c).await,
        NodeCommand::ClearAlarm {
            dir,
            forget_history,
        } => {
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            match salus_node::witness::clear_alarm(&store, forget_history).await? {
                Some(alarm) => println!("cleared the audit-log alarm: {alarm:?}"),
                None => println!("no audit-log alarm was raised on this node"),
            }
            Ok(())
        }
        NodeCommand::Serve {
            dir,
            patient_api,
            patient_api_hostname,
        } => {
            let config = NodeConfig::new(&dir.data_dir);
            let worker =
                salus_node::worker::Worker::new(&config, super::sessions::node_sessions()).await?;
            let _patient_api = match patient_api {
                Some(addr) => {
                    let ca_dir = dir.data_dir.join("patient-api");
                    let ca = Ca::load_or_create(&ca_dir, &patient_api_hostname)?;
                    let (chain, key) = ca.server_identity();
                    let api = salus_node::patient_api::start(&config, addr, chain, key).await?;
                    eprintln!(
                        "patient consent API on https://{} (portal trusts {})",
                        api.addr,
                        ca_dir.join("ca.pem").display()
                    );
                    Some(api)
                }
                None => None,
            };
            let (tx, rx) = tokio::sync::watch::channel(false);
            let task = tokio::spawn(worker.run(rx));
            eprintln!("salus node running (Ctrl-C to stop)");
            tokio::select! {
                r = tokio::signal::ctrl_c() => { r.context("waiting for Ctrl-C")?; let _ = tx.send(true); }
                r = task => { r??; return Ok(()); }
            }
            Ok(())
        }
        NodeCommand::Dataset(DatasetCommand::Add {
            dir,
            name,
            file,
            schema,
            delimiter,
            json,
        }) => {
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            let text = std::fs::read_to_string(&schema)
                .with_context(|| format!("reading {}", schema.display()))?;
            let schema = DatasetSchema::from_text(&text)?;
            let delim =
                u8::try_from(delimiter).context("the delimiter must be one ASCII character")?;
            let record = datasets::register(&name, &file, schema, delim)?;
            store.put_dataset(&record).await?;
            let v =
                serde_json::json!({"dataset": name, "rows": record.rows, "sha256": record.sha256});
            print_value(
                json,
                &v,
                &format!(
                    "registered `{name}`: {} rows (announced to the hub when the node serves)",
                    record.rows
                ),
            );
            Ok(())
        }
        NodeCommand::Dataset(DatasetCommand::List { dir, json }) => {
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            let list: Vec<_> = store
                .datasets()
                .await?
                .into_iter()
                .map(|d| serde_json::json!({"name": d.name, "rows": d.rows, "path": d.path, "sha256": d.sha256}))
                .collect();
            print_value(
                json,
                &serde_json::Value::Array(list.clone()),
                &list
                    .iter()
                    .map(|d| d["name"].to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            Ok(())
        }
        NodeCommand::Policy(PolicyCommand::Set { dir, file }) => {
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            store.set_policy(&NodePolicy::from_text(&text)?).await?;
            eprintln!("policy set");
            Ok(())
        }
        NodeCommand::Policy(PolicyCommand::Show { dir }) => {
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            println!("{}", toml::to_string_pretty(&store.policy().await?)?);
            Ok(())
        }
        NodeCommand::Studies { dir, json } => {
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            let list: Vec<_> = store
                .studies()
                .await?
                .into_iter()
                .map(|s| serde_json::json!({"study": s.study_id, "name": s.spec.name, "analysis": s.spec.analysis.kind(), "researcher": s.researcher, "state": s.state, "reason": s.reason}))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for s in &list {
                    println!(
                        "{}  {:<10} {:<14} {} ({})",
                        s["study"].as_str().unwrap_or(""),
                        s["state"].as_str().unwrap_or(""),
                        s["analysis"].as_str().unwrap_or(""),
                        s["name"].as_str().unwrap_or(""),
                        s["researcher"].as_str().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
        NodeCommand::Approve { dir, study } => {
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            salus_node::worker::approve_study(&store, &study).await?;
            eprintln!("approved; the running node sends the decision on its next poll");
            Ok(())
        }
        NodeCommand::Refuse { dir, study, reason } => {
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            store.decide(&study, false, Some(&reason)).await?;
            eprintln!("refused; the running node sends the decision on its next poll");
            Ok(())
        }
    }
}

#[derive(Debug, Args)]
pub struct HubAccess {
    /// The hub's URL.
    #[arg(long, env = "SALUS_HUB", default_value = "https://127.0.0.1:8443")]
    hub: String,
    /// Your API token.
    #[arg(long, env = "SALUS_TOKEN", hide_env_values = true)]
    token: String,
    /// The hub's CA certificate (PEM), e.g. copied from the hub's data directory.
    #[arg(long, env = "SALUS_HUB_CA")]
    ca: PathBuf,
}

impl HubAccess {
    fn client(&self) -> anyhow::Result<HubClient> {
        let ca = std::fs::read_to_string(&self.ca)
            .with_context(|| format!("reading the hub CA {}", self.ca.display()))?;
        Ok(HubClient::new(
            &self.hub,
            &ca,
            Credentials::Token(&self.token),
        )?)
    }
}

#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// Submit a study spec (TOML or JSON).
    Submit {
        #[command(flatten)]
        access: HubAccess,
        spec: PathBuf,
        /// Wait until the study completes or fails, then print its result.
        #[arg(long)]
        wait: bool,
        /// Your key file from `salus study keygen` (needed for threshold-he studies:
        /// the result is encrypted to its public half and opened with its secret half).
        #[arg(long)]
        researcher_key: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Create a researcher key pair for threshold-HE studies (keep the file secret).
    Keygen {
        /// File to write (created with owner-only permissions; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show a study's status.
    Status {
        #[command(flatten)]
        access: HubAccess,
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Show a completed study's result and privacy record.
    Result {
        #[command(flatten)]
        access: HubAccess,
        id: String,
        /// Your key file, to open a threshold-HE result.
        #[arg(long)]
        researcher_key: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// List your studies.
    List {
        #[command(flatten)]
        access: HubAccess,
        #[arg(long)]
        json: bool,
    },
    /// List the datasets of the federation (schemas and holders, never rows).
    Catalogue {
        #[command(flatten)]
        access: HubAccess,
        #[arg(long)]
        json: bool,
    },
}

pub fn run_study(command: StudyCommand) -> anyhow::Result<()> {
    runtime()?.block_on(study(command))
}

async fn study(command: StudyCommand) -> anyhow::Result<()> {
    match command {
        StudyCommand::Submit {
            access,
            spec,
            wait,
            researcher_key,
            json,
        } => {
            let text = std::fs::read_to_string(&spec)
                .with_context(|| format!("reading {}", spec.display()))?;
            let spec = StudySpec::from_toml(&text)?;
            let keys = researcher_key
                .as_deref()
                .map(read_researcher_key)
                .transpose()?;
            if spec.protection.as_str() == "threshold-he" && keys.is_none() {
                bail!(
                    "a threshold-he study is encrypted to the researcher's key: create one with `salus study keygen --out my.key` and pass `--researcher-key my.key`"
                );
            }
            let client = access.client()?;
            let info: StudyInfo = client
                .post(
                    "/studies",
                    &SubmitStudy {
                        spec,
                        researcher_key: keys.as_ref().map(|k| k.public.clone()),
                    },
                )
                .await?;
            if !wait {
                print_value(
                    json,
                    &serde_json::to_value(&info)?,
                    &format!("submitted study {} ({})", info.id, info.status),
                );
                return Ok(());
            }
            let result = salus_cli::federation::wait_steering(
                &client,
                &info.id,
                keys.as_ref().map(|k| k.secret.as_str()),
                Duration::from_secs(600),
            )
            .await?;
            print_result(json, &result)
        }
        StudyCommand::Keygen { out } => {
            let (secret, public) = salus_protect::ResearcherKeys::generate(&mut rand::rng())
                .map_err(|e| anyhow::anyhow!("generating the key: {e}"))?;
            let key_id = salus_protect::ResearcherKeys::key_id(&public)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let text = serde_json::to_string_pretty(&ResearcherKeyFile {
                format: "salus-researcher-key/v1".into(),
                key_id: key_id.clone(),
                public,
                secret,
            })?;
            super::consent::write_secret(&out, &text)?;
            println!("wrote researcher key {key_id} to {}", out.display());
            Ok(())
        }
        StudyCommand::Status { access, id, json } => {
            let info: StudyInfo = access.client()?.get(&format!("/studies/{id}")).await?;
            print_value(json, &serde_json::to_value(&info)?, &status_line(&info));
            Ok(())
        }
        StudyCommand::Result {
            access,
            id,
            researcher_key,
            json,
        } => {
            let client = access.client()?;
            let mut r: StudyResult = client.get(&format!("/studies/{id}/result")).await?;
            if r.result.get("encrypted_sum").is_some() {
                let Some(path) = &researcher_key else {
                    bail!(
                        "this result is encrypted to your key: pass `--researcher-key FILE` (the file from `salus study keygen`)"
                    );
                };
                let keys = read_researcher_key(path)?;
                if r.status == "awaiting-researcher" {
                    // A model fitted over several rounds: take the Newton steps until done.
                    r = salus_cli::federation::wait_steering(
                        &client,
                        &id,
                        Some(&keys.secret),
                        Duration::from_secs(600),
                    )
                    .await?;
                } else {
                    salus_cli::federation::open_encrypted_result(&keys.secret, &mut r)?;
                }
            }
            print_result(json, &r)
        }
        StudyCommand::List { access, json } => {
            let list: Vec<StudyInfo> = access.client()?.get("/studies").await?;
            let text = list.iter().map(status_line).collect::<Vec<_>>().join("\n");
            print_value(json, &serde_json::to_value(&list)?, &text);
            Ok(())
        }
        StudyCommand::Catalogue { access, json } => {
            let list: Vec<CatalogueEntry> = access.client()?.get("/catalogue").await?;
            let text = list
                .iter()
                .map(|c| {
                    format!(
                        "{:<20} {} columns, held by {}",
                        c.name,
                        c.schema.columns.len(),
                        c.nodes.join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print_value(json, &serde_json::to_value(&list)?, &text);
            Ok(())
        }
    }
}

fn status_line(info: &StudyInfo) -> String {
    let mut s = format!(
        "{}  {:<10} {:<14} {}",
        info.id, info.status, info.analysis, info.name
    );
    if let Some(e) = &info.error {
        s.push_str(&format!("\n    error: {e}"));
    }
    s
}

fn print_result(json: bool, r: &StudyResult) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
    } else {
        println!("study {} ({}, {})", r.id, r.analysis, r.protection);
        println!("{}", serde_json::to_string_pretty(&r.result)?);
        println!(
            "privacy: hub saw {}; nodes {}",
            r.privacy.hub_saw,
            r.privacy.nodes.join(", ")
        );
    }
    Ok(())
}

/// Prints JSON with `--json`, else the human text.
pub fn print_value(json: bool, value: &serde_json::Value, text: &str) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{text}");
    }
}

/// The node's receipt signer: its identity key and name (the node must be enrolled).
fn consent_signer(config: &NodeConfig) -> anyhow::Result<(String, ed25519_dalek::SigningKey)> {
    let identity = salus_node::identity::load(config)
        .context("consent receipts are signed with the node identity: enroll the node first")?;
    let key = identity.signing_key()?;
    Ok((identity.info.name, key))
}

async fn node_consent(command: NodeConsentCommand) -> anyhow::Result<()> {
    use salus_node::consent;
    match command {
        NodeConsentCommand::Import { dir, files, json } => {
            let config = NodeConfig::new(&dir.data_dir);
            let (issuer, key) = consent_signer(&config)?;
            let mut records = Vec::new();
            let mut diagnostics = Vec::new();
            for f in &files {
                for value in super::consent::read_fhir(f)? {
                    let import = salus_consent::import_fhir(&value);
                    records.extend(import.records);
                    diagnostics.extend(
                        import
                            .diagnostics
                            .into_iter()
                            .map(|d| format!("{}: {d}", f.display())),
                    );
                }
            }
            if records.is_empty() {
                bail!(
                    "no usable Consent resources in {} file(s): {}",
                    files.len(),
                    diagnostics.join("; ")
                );
            }
            let store = NodeStore::open(&config).await?;
            let stored =
                consent::record(&store, &issuer, &key, &records, consent::now_seconds()).await?;
            let v = serde_json::json!({
                "imported": stored.len(),
                "already_stored": records.len() - stored.len(),
                "receipts": stored.iter().map(|s| serde_json::json!({"record": s.record.id, "sequence": s.receipt.body.sequence, "sha256": s.receipt_hash})).collect::<Vec<_>>(),
                "diagnostics": diagnostics,
            });
            print_value(
                json,
                &v,
                &format!(
                    "imported {} consent record(s) with signed receipts ({} already stored, {} note(s)); the node reports their hashes to the hub's audit log",
                    stored.len(),
                    records.len() - stored.len(),
                    diagnostics.len()
                ),
            );
            Ok(())
        }
        NodeConsentCommand::Withdraw {
            dir,
            patient,
            purpose,
            receipt_out,
            json,
        } => {
            let config = NodeConfig::new(&dir.data_dir);
            let (issuer, key) = consent_signer(&config)?;
            let purpose: salus_consent::Purpose = purpose
                .parse()
                .map_err(|e| anyhow::anyhow!("--purpose: {e}"))?;
            let now = consent::now_seconds();
            let record = salus_consent::ConsentRecord::new(
                &consent::fresh_record_id("withdrawal"),
                &patient,
                now,
                "node-cli",
                salus_consent::Provision::all(salus_consent::Decision::Deny)
                    .for_purposes(vec![purpose]),
            );
            let store = NodeStore::open(&config).await?;
            let stored = consent::record(&store, &issuer, &key, &[record], now).await?;
            let s = &stored[0];
            if let Some(path) = &receipt_out {
                std::fs::write(path, s.receipt.to_json()?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let v = serde_json::json!({"record": s.record.id, "sequence": s.receipt.body.sequence, "sha256": s.receipt_hash});
            print_value(
                json,
                &v,
                &format!(
                    "withdrawal recorded (receipt {} sha256 {}); every study frozen from now on excludes this patient",
                    s.receipt.body.sequence, s.receipt_hash
                ),
            );
            Ok(())
        }
        NodeConsentCommand::Token { dir, patient, days } => {
            if days < 1 {
                bail!("--days must be 1 or more");
            }
            let store = NodeStore::open(&NodeConfig::new(&dir.data_dir)).await?;
            let token =
                salus_node::patient_api::issue_token(&store, &patient, days * 86_400).await?;
            println!("{token}");
            eprintln!(
                "give this token to the patient (it is shown once, valid {days} days); it can only read and change this patient's consent"
            );
            Ok(())
        }
        NodeConsentCommand::Status { dir, json } => {
            let config = NodeConfig::new(&dir.data_dir);
            let store = NodeStore::open(&config).await?;
            let policy = store.policy().await?;
            let records = consent::records(&store).await?;
            let patients: std::collections::BTreeSet<&str> =
                records.iter().map(|r| r.patient.as_str()).collect();
            let pending = consent::unreported(&store).await?;
            let v = serde_json::json!({
                "default": policy.consent_default,
                "records": records.len(),
                "patients": patients.len(),
                "receipts_not_yet_logged": pending.len(),
            });
            print_value(
                json,
                &v,
                &format!(
                    "{} consent record(s) for {} patient(s); default {:?}; {} receipt hash(es) not yet in the hub's audit log",
                    records.len(),
                    patients.len(),
                    policy.consent_default,
                    pending.len()
                ),
            );
            Ok(())
        }
    }
}

/// A researcher's threshold-HE key pair on disk.
#[derive(serde::Serialize, serde::Deserialize)]
struct ResearcherKeyFile {
    format: String,
    key_id: String,
    public: String,
    secret: String,
}

fn read_researcher_key(path: &std::path::Path) -> anyhow::Result<ResearcherKeyFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the researcher key {}", path.display()))?;
    let keys: ResearcherKeyFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a researcher key file (create one with `salus study keygen`)",
            path.display()
        )
    })?;
    let public = salus_protect::ResearcherKeys::public_from_secret(&keys.secret)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if public != keys.public {
        bail!(
            "{}: the public key does not belong to the secret key; the file is damaged",
            path.display()
        );
    }
    Ok(keys)
}
