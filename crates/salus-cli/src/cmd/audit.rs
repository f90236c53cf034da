//! `salus audit`: export the hub's log (from a running hub or a stopped hub's
//! database), verify an export offline, print an inclusion proof for one entry.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use salus_audit::{
    AuditExport, Checkpoint, Hash, LogEntry, MerkleTree, NoteVerifier, SignedNote, VerifyOptions,
    VerifyReport, leaf_hash, verify_export_with, verify_inclusion,
};
use salus_net::client::{Credentials, HubClient};
use serde_json::json;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check a whole export offline: every entry, root, signature, cosignature and
    /// the consistency between checkpoints. Exits 1 when anything is wrong.
    Verify {
        /// Export file written by `salus audit export` (or `salus demo`).
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Pin the log key (`origin+id+base64`) instead of trusting the file.
        #[arg(long)]
        log_key: Option<String>,
        /// Pin a witness key (repeat for each); default: the witnesses listed in the file.
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
        /// Valid witness cosignatures required on the latest checkpoint.
        #[arg(long, default_value_t = 0)]
        min_witnesses: usize,
    },
    /// Print the inclusion proof of one entry against the latest signed checkpoint.
    Prove {
        /// Entry index (0-based).
        #[arg(long)]
        entry: u64,
        /// Export file.
        #[arg(long)]
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export the hub's log, checkpoints and cosignatures to a file.
    Export {
        /// Running hub to export from.
        #[arg(long, required_unless_present = "db", conflicts_with = "db")]
        hub: Option<String>,
        /// Database of a stopped hub (SQLite file, or a postgres:// URL); opened read-only.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Your API token (researcher or admin), for `--hub`.
        #[arg(long, env = "SALUS_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The hub's CA certificate (PEM), for `--hub`.
        #[arg(long, env = "SALUS_HUB_CA")]
        ca: Option<PathBuf>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify {
            file,
            json,
            log_key,
            witness_keys,
            min_witnesses,
        } => {
            let options = VerifyOptions {
                log_key,
                witness_keys,
                min_witnesses,
            };
            verify(&file, json, &options)
        }
        AuditCommand::Prove { entry, file, json } => {
            prove(entry, &file, json).map(|()| ExitCode::SUCCESS)
        }
        AuditCommand::Export {
            hub,
            db,
            token,
            ca,
            out,
        } => export(hub, db, token, ca, &out).map(|()| ExitCode::SUCCESS),
    }
}

fn export(
    hub: Option<String>,
    db: Option<PathBuf>,
    token: Option<String>,
    ca: Option<PathBuf>,
    out: &Path,
) -> anyhow::Result<()> {
    let bytes = super::runtime()?.block_on(async {
        match (hub, db) {
            (_, Some(db)) => salus_cli::audit_export::export_database(&db).await,
            (Some(url), None) => {
                let token = token
                    .context("--hub needs --token (or SALUS_TOKEN): a researcher or admin token")?;
                let ca =
                    ca.context("--hub needs --ca (or SALUS_HUB_CA): the hub's CA certificate")?;
                let ca_pem = std::fs::read_to_string(&ca)
                    .with_context(|| format!("reading the hub CA {}", ca.display()))?;
                let client = HubClient::new(&url, &ca_pem, Credentials::Token(&token))?;
                salus_cli::audit_export::fetch_export(&client).await
            }
            (None, None) => {
                bail!("give --hub URL (a running hub) or --db PATH (a stopped hub's database)")
            }
        }
    })?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    let report = verify_export_with(&bytes, &VerifyOptions::default());
    eprintln!(
        "wrote {} ({} entries, {} checkpoints, {} witnesses); check it with `salus audit verify {}`",
        out.display(),
        report.entries,
        report.checkpoints,
        report.witnesses,
        out.display()
    );
    Ok(())
}

fn verify(file: &PathBuf, as_json: bool, options: &VerifyOptions) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let report = verify_export_with(&bytes, options);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_summary(report: &VerifyReport) {
    let verdict = if report.valid { "VALID" } else { "INVALID" };
    println!(
        "audit log {verdict}: {} entries, {} checkpoints (latest size {}, {} cosignatures), {} witnesses",
        report.entries,
        report.checkpoints,
        report.latest_size,
        report.latest_cosignatures,
        report.witnesses
    );
    for problem in &report.problems {
        println!("  problem: {problem}");
    }
    for warning in &report.warnings {
        println!("  warning: {warning}");
    }
}

/// The latest checkpoint in the export whose log signature verifies.
fn latest_checkpoint(export: &AuditExport) -> anyhow::Result<(Checkpoint, String)> {
    let log_key =
        NoteVerifier::from_vkey(&export.log_key).context("the export's log key is unreadable")?;
    for exported in export.checkpoints.iter().rev() {
        let Ok(note) = SignedNote::parse(exported.note.as_bytes()) else {
            continue;
        };
        if log_key.verify_note(&note).is_ok()
            && let Ok(checkpoint) = Checkpoint::parse_body(&note.text)
        {
            return Ok((checkpoint, exported.note.clone()));
        }
    }
    bail!(
        "the export has no checkpoint validly signed by its log key; run `salus audit verify` for details"
    )
}

fn prove(index: u64, file: &PathBuf, as_json: bool) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let export = AuditExport::from_json(&bytes)?;
    let (checkpoint, note) = latest_checkpoint(&export)?;
    if index >= checkpoint.size {
        bail!(
            "entry {index} is not covered by the latest checkpoint (size {}); the export has {} entries",
            checkpoint.size,
            export.entries.len()
        );
    }
    let tree = MerkleTree::from_leaf_hashes(
        export
            .entries
            .iter()
            .map(|e| leaf_hash(e.data.as_bytes()))
            .collect(),
    );
    let hashes = tree.inclusion_proof(index, checkpoint.size).context(
        "the export holds fewer entries than its latest checkpoint; run `salus audit verify`",
    )?;
    let entry = &export.entries[index as usize];
    let leaf = leaf_hash(entry.data.as_bytes());
    if verify_inclusion(index, checkpoint.size, &leaf, &hashes, &checkpoint.root).is_err() {
        bail!(
            "entry {index} does not match the signed checkpoint: the export was altered; run `salus audit verify`"
        );
    }
    let decoded = LogEntry::decode(entry.data.as_bytes()).ok();
    if as_json {
        let out = json!({
            "leaf_index": index,
            "tree_size": checkpoint.size,
            "root": checkpoint.root.to_hex(),
            "root_base64": checkpoint.root.to_base64(),
            "leaf_hash": leaf.to_hex(),
            "hashes": hashes.iter().map(Hash::to_hex).collect::<Vec<_>>(),
            "entry": decoded,
            "checkpoint": note,
            "verified": true,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "inclusion proof of entry {index} in the log of {} entries",
            checkpoint.size
        );
        println!("  origin:    {}", checkpoint.origin);
        println!(
            "  root:      {} ({})",
            checkpoint.root.to_base64(),
            checkpoint.root.to_hex()
        );
        println!("  leaf hash: {}", leaf.to_hex());
        for (level, h) in hashes.iter().enumerate() {
            println!("  path[{level:2}]:  {}", h.to_hex());
        }
        if let Some(e) = decoded {
            println!(
                "  entry:     {} at {} by {}",
                e.event.kind(),
                e.time,
                e.actor
            );
        }
        println!("  verified against the signed checkpoint: yes");
    }
    Ok(())
}
