//! `salus demo`: the main job. Starts a hub and three nodes on loopback (real TLS,
//! separate SQLite files), splits a real public data set shipped with the project
//! into three unequal sites, enrolls the nodes, runs every study the project can
//! run, and writes `report.json` and a self-contained `report.html`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use salus_cli::federation::Federation;
use salus_core::policy::NodePolicy;
use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;

use super::demo_data::{self, Site};
use super::demo_report;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write report.json, report.html and audit.log.
    #[arg(long, default_value = "salus-demo")]
    out: PathBuf,
    /// Keep the federation's working files (hub and node databases) in OUT/federation.
    #[arg(long)]
    keep: bool,
    /// Print the report JSON on stdout instead of the human summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    super::runtime()?.block_on(demo(args))
}

/// Progress lines go to stderr so `--json` output stays clean.
fn say(msg: &str) {
    eprintln!("{msg}");
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let work = args.out.join("federation");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;

    say(
        "salus demo: hub + 3 nodes on loopback, real TLS, GBSG2 breast cancer data split into 3 sites",
    );
    let sites = demo_data::split_gbsg2(&work)?;

    let mut fed = Federation::start(
        &work,
        super::sessions::hub_sessions(),
        super::sessions::node_sessions(),
        30,
    )
    .await?;
    say(&format!("[1/4] hub listening on {}", fed.hub_url()));
    let mut enroll_secs = Vec::new();
    let mut consent_summary = Vec::new();
    for site in &sites {
        let policy = NodePolicy::from_text(&site.policy)?;
        let schemas = site
            .datasets
            .iter()
            .map(|(_, _, text)| DatasetSchema::from_text(text))
            .collect::<Result<Vec<_>, _>>()?;
        let datasets: Vec<(&str, &Path, &DatasetSchema)> = site
            .datasets
            .iter()
            .zip(&schemas)
            .map(|((name, file, _), schema)| (name.as_str(), file.as_path(), schema))
            .collect();
        let t = fed
            .add_node(&site.name, &site.organisation, &datasets, Some(&policy))
            .await?;
        enroll_secs.push(t.as_secs_f64());
        let gbsg2_file = site
            .datasets
            .iter()
            .find(|(name, ..)| name == "gbsg2")
            .map(|(_, file, _)| file.clone());
        if let Some(file) = gbsg2_file
            && let Some(bundle) = demo_data::consent_bundle(site, &file)?
        {
            let path = work.join(format!("{}-consent.json", site.name));
            std::fs::write(&path, serde_json::to_vec_pretty(&bundle)?)
                .with_context(|| format!("writing {}", path.display()))?;
            let import = salus_consent::import_fhir(&bundle);
            let receipts = fed.record_consent(&site.name, &import.records).await?;
            consent_summary.push(serde_json::json!({
                "node": site.name,
                "fhir_bundle": path.display().to_string(),
                "records": receipts.len(),
                "diagnostics": import.diagnostics,
            }));
            say(&format!(
                "[2/4] {}: imported {} FHIR Consent objections (signed receipts, hashes in the audit log)",
                site.name,
                receipts.len()
            ));
        }
        say(&format!(
            "[2/4] enrolled {} ({}, {} patients) in {:.0} ms",
            site.name,
            site.organisation,
            site.rows,
            t.as_secs_f64() * 1000.0
        ));
    }

    let mut studies = Vec::new();
    let specs = demo_data::study_specs()?;
    for (i, spec) in specs.iter().enumerate() {
        let t = Instant::now();
        let outcome = fed.run_study(spec, Duration::from_secs(120)).await;
        let secs = t.elapsed().as_secs_f64();
        match outcome {
            Ok((info, result)) => {
                say(&format!(
                    "[3/4] study {}/{}: {} ({}) completed in {:.2} s",
                    i + 1,
                    specs.len(),
                    spec.name,
                    spec.analysis.kind(),
                    secs
                ));
                studies.push(serde_json::json!({
                    "id": info.id,
                    "name": spec.name,
                    "analysis": result.analysis,
                    "status": result.status,
                    "protection": result.protection,
                    "result": result.result,
                    "privacy": result.privacy,
                    "seconds": secs,
                }));
            }
            Err(e) => {
                say(&format!(
                    "[3/4] study {}/{}: {} FAILED: {e:#}",
                    i + 1,
                    specs.len(),
                    spec.name
                ));
                studies.push(serde_json::json!({
                    "name": spec.name, "analysis": spec.analysis.kind(), "status": "failed",
                    "protection": spec.protection.as_str(), "error": format!("{e:#}"), "seconds": secs,
                }));
            }
        }
    }
    let audit_bytes = salus_cli::audit_export::fetch_export(&fed.client()?).await?;
    fed.shutdown().await;
    let audit_path = args.out.join("audit.log");
    std::fs::write(&audit_path, &audit_bytes)
        .with_context(|| format!("writing {}", audit_path.display()))?;
    let audit = salus_cli::audit_export::verify_bytes(&audit_bytes);
    say(&format!(
        "[4/4] audit log: {} entries, {} checkpoints, {} witnesses, valid: {}",
        audit["entries"], audit["checkpoints"], audit["witnesses"], audit["valid"]
    ));

    let report = serde_json::json!({
        "sites": sites.len(),
        "dataset": dataset_json(&sites),
        "enrollment_seconds": enroll_secs,
        "consent": consent_summary,
        "studies": studies,
        "audit": audit,
        "total_seconds": started.elapsed().as_secs_f64(),
    });
    write_reports(&args.out, &report)?;
    if !args.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    say(&format!(
        "[4/4] wrote {}/report.json, report.html and audit.log in {:.1} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    ));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", demo_report::summary(&report));
    }
    let failed = report["studies"].as_array().map_or(0, |s| {
        s.iter().filter(|s| s["status"] != "completed").count()
    });
    if failed > 0 {
        anyhow::bail!("{failed} demo studies did not complete; see the report");
    }
    Ok(())
}

fn dataset_json(sites: &[Site]) -> serde_json::Value {
    serde_json::json!({
        "name": "gbsg2",
        "description": "German Breast Cancer Study Group 2 (Schumacher et al. 1994), 686 patients; from lifelines 0.30.3 (MIT)",
        "rows": sites.iter().map(|s| s.rows).sum::<usize>(),
        "sites": sites.iter().map(|s| serde_json::json!({"name": s.name, "organisation": s.organisation, "rows": s.rows})).collect::<Vec<_>>(),
    })
}

fn write_reports(out: &Path, report: &serde_json::Value) -> anyhow::Result<()> {
    let json_path = out.join("report.json");
    let tmp = out.join("report.json.partial");
    std::fs::write(&tmp, serde_json::to_string_pretty(report)?)?;
    std::fs::rename(&tmp, &json_path)?;
    let html = demo_report::html(report);
    let tmp = out.join("report.html.partial");
    std::fs::write(&tmp, html)?;
    std::fs::rename(&tmp, out.join("report.html"))?;
    Ok(())
}

/// The study specs are plain TOML, the same a researcher would submit.
pub(crate) fn parse_spec(text: &str) -> anyhow::Result<StudySpec> {
    Ok(StudySpec::from_toml(text)?)
}
