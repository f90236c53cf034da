//! `salus consent`: a node's consent store on the command line. Import FHIR R4
//! Consent resources, record a grant or withdrawal with its signed receipt,
//! check or filter patients for a use, and verify receipts.
//!
//! The store is one JSON file: `{"format", "issuer", "registry", "chain"}`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rand::RngCore;
use salus_consent::{
    ChainState, ConsentPolicy, ConsentReceipt, ConsentRecord, DataCategory, Decision, Provision,
    Purpose, ReceiptIssuer, Registry, import_fhir, public_key_from_hex, signing_key_from_hex,
    verify_receipt, verify_receipt_chain,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const STORE_FORMAT: &str = "salus-consent-store/v1";

#[derive(Debug, clap::Subcommand)]
pub enum ConsentCommand {
    /// Import FHIR R4 Consent resources (JSON resource, Bundle, array, or NDJSON) into a store.
    Import {
        /// FHIR files.
        #[arg(long = "fhir", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Store to create or add to.
        #[arg(long)]
        out: PathBuf,
        /// Default when a patient has no applicable record (new stores only).
        #[arg(long, value_enum, default_value = "opt-in")]
        policy: PolicyArg,
        /// Node name written into receipts (new stores only).
        #[arg(long, default_value = "salus-node")]
        issuer: String,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
    /// Record a grant or withdrawal and write its signed receipt.
    Record {
        #[command(flatten)]
        store: StoreArg,
        /// File holding the node's Ed25519 secret key (hex), from `salus consent keygen`.
        #[arg(long)]
        key_file: PathBuf,
        /// Patient pseudonym.
        #[arg(long)]
        patient: String,
        /// permit or deny.
        #[arg(long, value_enum)]
        decision: DecisionArg,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Record id (default: derived from the time and the chain position).
        #[arg(long)]
        id: Option<String>,
        /// Where to write the receipt (give it to the patient; log its hash).
        #[arg(long)]
        receipt_out: PathBuf,
    },
    /// The effective decision for one patient and one use.
    Check {
        #[command(flatten)]
        store: StoreArg,
        /// Patient pseudonym.
        #[arg(long)]
        patient: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// How many of a list of patients (one pseudonym per line) may be used.
    Filter {
        #[command(flatten)]
        store: StoreArg,
        /// File with one patient pseudonym per line.
        #[arg(long)]
        patients: PathBuf,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Generate a node receipt key: writes the secret (hex) and prints the public key.
    Keygen {
        /// Secret key file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify receipts with the node's public key; several receipts are checked as a chain.
    ReceiptVerify {
        /// Receipt files, in chain order.
        #[arg(required = true)]
        receipts: Vec<PathBuf>,
        /// Node public key (64 hex digits).
        #[arg(long)]
        key: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PolicyArg {
    /// Use needs an explicit permit.
    OptIn,
    /// Use is allowed unless denied.
    OptOut,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DecisionArg {
    Permit,
    Deny,
}

#[derive(Debug, clap::Args)]
pub struct StoreArg {
    /// Consent store file.
    #[arg(long)]
    store: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ScopeArgs {
    /// Purpose: treatment, research, study:<id>, public_health, commercial, operations, other:<code>.
    #[arg(long = "purpose")]
    purposes: Vec<String>,
    /// Data category: demographics, diagnoses, labs, medications, procedures, encounters,
    /// genomics, imaging, other:<code> (repeat; none = all data).
    #[arg(long = "category")]
    categories: Vec<String>,
    /// Time: POSIX seconds or a FHIR date/dateTime (default: now).
    #[arg(long)]
    at: Option<String>,
}

impl ScopeArgs {
    fn purposes(&self) -> anyhow::Result<Vec<Purpose>> {
        self.purposes.iter().map(|p| Ok(p.parse()?)).collect()
    }

    fn purpose(&self) -> anyhow::Result<Purpose> {
        match self.purposes()?.as_slice() {
            [one] => Ok(one.clone()),
            _ => bail!("give exactly one --purpose for a check"),
        }
    }

    fn categories(&self) -> anyhow::Result<Vec<DataCategory>> {
        self.categories.iter().map(|c| Ok(c.parse()?)).collect()
    }

    fn at(&self) -> anyhow::Result<i64> {
        match &self.at {
            None => now(),
            Some(text) => match text.parse::<i64>() {
                Ok(seconds) => Ok(seconds),
                Err(_) => Ok(salus_consent::time::parse_start(text)?),
            },
        }
    }
}

fn now() -> anyhow::Result<i64> {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(i64::try_from(elapsed.as_secs())?)
}

#[derive(Serialize, Deserialize)]
struct Store {
    format: String,
    issuer: String,
    registry: Registry,
    chain: ChainState,
}

impl Store {
    fn load(path: &Path) -> anyhow::Result<Store> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let store: Store = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a consent store", path.display()))?;
        if store.format != STORE_FORMAT {
            bail!(
                "{} has format {:?}, expected {STORE_FORMAT}",
                path.display(),
                store.format
            );
        }
        Ok(store)
    }

    /// Writes via a temporary file and a rename, so a crash never leaves half a store.
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }
}

pub fn run(command: ConsentCommand) -> anyhow::Result<()> {
    match command {
        ConsentCommand::Import {
            files,
            out,
            policy,
            issuer,
            json,
        } => import(&files, &out, policy, &issuer, json),
        ConsentCommand::Record {
            store,
            key_file,
            patient,
            decision,
            scope,
            id,
            receipt_out,
        } => record(
            &store.store,
            &key_file,
            &patient,
            decision,
            &scope,
            id,
            &receipt_out,
        ),
        ConsentCommand::Check {
            store,
            patient,
            scope,
            json,
        } => check(&store.store, &patient, &scope, json),
        ConsentCommand::Filter {
            store,
            patients,
            scope,
            json,
        } => filter(&store.store, &patients, &scope, json),
        ConsentCommand::Keygen { out } => keygen(&out),
        ConsentCommand::ReceiptVerify {
            receipts,
            key,
            json,
        } => receipt_verify(&receipts, &key, json),
    }
}

pub fn read_fhir(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        return Ok(vec![value]);
    }
    // NDJSON: one resource per line.
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{} line {}: not JSON", path.display(), n + 1))
        })
        .collect()
}

fn import(
    files: &[PathBuf],
    out: &Path,
    policy: PolicyArg,
    issuer: &str,
    as_json: bool,
) -> anyhow::Result<()> {
    let mut store = if out.exists() {
        Store::load(out)?
    } else {
        let policy = match policy {
            PolicyArg::OptIn => ConsentPolicy::opt_in(),
            PolicyArg::OptOut => ConsentPolicy::opt_out(),
        };
        Store {
            format: STORE_FORMAT.into(),
            issuer: issuer.into(),
            registry: Registry::new(policy),
            chain: ChainState::default(),
        }
    };
    let (mut imported, mut diagnostics) = (0usize, Vec::new());
    for path in files {
        for value in read_fhir(path)? {
            let result = import_fhir(&value);
            diagnostics.extend(
                result
                    .diagnostics
                    .into_iter()
                    .map(|d| format!("{}: {d}", path.display())),
            );
            for record in result.records {
                match store.registry.add(record) {
                    Ok(()) => imported += 1,
                    Err(e) => diagnostics.push(format!("{}: {e}", path.display())),
                }
            }
        }
    }
    store.save(out)?;
    if as_json {
        let summary = json!({"imported": imported, "records": store.registry.len(), "diagnostics": diagnostics});
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "imported {imported} consent records into {} ({} in total)",
            out.display(),
            store.registry.len()
        );
        for d in &diagnostics {
            println!("  note: {d}");
        }
    }
    Ok(())
}

fn record(
    store_path: &Path,
    key_file: &Path,
    patient: &str,
    decision: DecisionArg,
    scope: &ScopeArgs,
    id: Option<String>,
    receipt_out: &Path,
) -> anyhow::Result<()> {
    let mut store = Store::load(store_path)?;
    let key_hex = std::fs::read_to_string(key_file)
        .with_context(|| format!("cannot read {}", key_file.display()))?;
    let key = signing_key_from_hex(&key_hex)?;
    let at = scope.at()?;
    let decision = match decision {
        DecisionArg::Permit => Decision::Permit,
        DecisionArg::Deny => Decision::Deny,
    };
    let provision = Provision::all(decision)
        .for_purposes(scope.purposes()?)
        .for_categories(scope.categories()?);
    let id = id.unwrap_or_else(|| format!("consent-{at}-{}", store.chain.next_sequence));
    let record = ConsentRecord::new(&id, patient, at, "salus-cli", provision);
    store.registry.add(record.clone())?;
    let mut issuer = ReceiptIssuer::new(&store.issuer, key, store.chain.clone());
    let receipt = issuer.issue(&record, at)?;
    store.chain = issuer.state().clone();
    std::fs::write(receipt_out, receipt.to_json()?)
        .with_context(|| format!("cannot write {}", receipt_out.display()))?;
    store.save(store_path)?;
    println!(
        "recorded {id}; receipt {} written to {}",
        hex_hash(&receipt)?,
        receipt_out.display()
    );
    println!(
        "log its hash in the audit log as a consent_changed event (receipt_sequence {})",
        receipt.body.sequence
    );
    Ok(())
}

fn hex_hash(receipt: &ConsentReceipt) -> anyhow::Result<String> {
    Ok(salus_audit::Hash(receipt.hash()?).to_hex())
}

fn check(store_path: &Path, patient: &str, scope: &ScopeArgs, as_json: bool) -> anyhow::Result<()> {
    let store = Store::load(store_path)?;
    let (purpose, categories, at) = (scope.purpose()?, scope.categories()?, scope.at()?);
    let eval = store.registry.evaluate(patient, &purpose, &categories, at);
    let decision = match eval.decision {
        Decision::Permit => "permit",
        Decision::Deny => "deny",
    };
    if as_json {
        let out = json!({
            "decision": decision, "purpose": purpose.to_string(),
            "categories": categories.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "at": at, "decided_by": eval.decided_by,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let by = eval
            .decided_by
            .unwrap_or_else(|| "the node's default policy".into());
        println!("{decision} (decided by {by})");
    }
    Ok(())
}

fn filter(
    store_path: &Path,
    patients_file: &Path,
    scope: &ScopeArgs,
    as_json: bool,
) -> anyhow::Result<()> {
    let store = Store::load(store_path)?;
    let text = std::fs::read_to_string(patients_file)
        .with_context(|| format!("cannot read {}", patients_file.display()))?;
    let patients: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let (purpose, categories, at) = (scope.purpose()?, scope.categories()?, scope.at()?);
    let outcome = store.registry.filter(&patients, &purpose, &categories, at);
    if as_json {
        let out = json!({"patients": patients.len(), "allowed": outcome.allowed().len(), "excluded": outcome.excluded()});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{} of {} patients may be used for {purpose}; {} excluded by consent",
            outcome.allowed().len(),
            patients.len(),
            outcome.excluded()
        );
    }
    Ok(())
}

fn keygen(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists; refusing to overwrite a key", out.display());
    }
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let hex_seed: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let key = signing_key_from_hex(&hex_seed)?;
    write_secret(out, &hex_seed)?;
    let public: String = key
        .verifying_key()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("{public}");
    Ok(())
}

/// Writes a secret file that must not exist yet, readable by its owner only.
#[cfg(unix)]
pub(crate) fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot create {}", path.display()))
}

fn receipt_verify(files: &[PathBuf], key: &str, as_json: bool) -> anyhow::Result<()> {
    let key = public_key_from_hex(key)?;
    let mut receipts = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let receipt =
            ConsentReceipt::from_json(&text).with_context(|| format!("{}", path.display()))?;
        verify_receipt(&receipt, &key)
            .with_context(|| format!("{} is not valid", path.display()))?;
        receipts.push(receipt);
    }
    if receipts.len() > 1 {
        verify_receipt_chain(&receipts, &key)
            .context("the receipts do not form an unbroken chain")?;
    }
    let hashes: Vec<String> = receipts
        .iter()
        .map(hex_hash)
        .collect::<anyhow::Result<_>>()?;
    if as_json {
        let out = json!({"valid": true, "receipts": receipts.len(), "hashes": hashes});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (path, hash) in files.iter().zip(&hashes) {
            println!("valid: {} (receipt hash {hash})", path.display());
        }
    }
    Ok(())
}
