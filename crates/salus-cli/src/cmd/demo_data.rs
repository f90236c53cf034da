//! The demo's data: GBSG2 (shipped in `data/gbsg2/` with its provenance), split into
//! three unequal sites, and the study specs from `examples/studies/`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::SeedableRng;
use rand::seq::SliceRandom;

use salus_core::study::StudySpec;
use salus_table::{Column, CsvOptions, Table};

/// The GBSG2 file, embedded so the demo runs from any directory.
pub const GBSG2_CSV: &str = include_str!("../../../../data/gbsg2/gbsg2.csv");
/// Its schema as a data steward declares it.
pub const GBSG2_SCHEMA: &str = include_str!("../../../../data/gbsg2/schema.toml");

/// The Stanford heart transplant file ((start, stop] rows), for the time-dependent Cox study.
pub const HEART_CSV: &str = include_str!("../../../../data/stanford_heart/stanford_heart.csv");
/// Its schema.
pub const HEART_SCHEMA: &str = include_str!("../../../../data/stanford_heart/schema.toml");

/// The studies the demo runs, in order (the same files a researcher would submit).
const STUDIES: &[&str] = &[
    include_str!("../../../../examples/studies/01-descriptive.toml"),
    include_str!("../../../../examples/studies/02-histogram-dp.toml"),
    include_str!("../../../../examples/studies/03-contingency.toml"),
    include_str!("../../../../examples/studies/04-kaplan-meier.toml"),
    include_str!("../../../../examples/studies/05-cox-stratified.toml"),
    include_str!("../../../../examples/studies/06-cox-pooled-grid.toml"),
    include_str!("../../../../examples/studies/07-cox-time-dependent.toml"),
    include_str!("../../../../examples/studies/08-logistic.toml"),
    include_str!("../../../../examples/studies/09-descriptive-threshold-he.toml"),
    include_str!("../../../../examples/studies/10-logistic-threshold-he.toml"),
];

/// One demo site.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub organisation: String,
    /// `(dataset name, file, schema text)`.
    pub datasets: Vec<(String, PathBuf, &'static str)>,
    /// GBSG2 patients at this site.
    pub rows: usize,
    pub policy: String,
}

/// Shares of the patients per site (unequal on purpose).
const SHARES: [(&str, &str, f64); 3] = [
    ("site-a", "Universitätsklinikum Freiburg", 0.45),
    ("site-b", "Hôpital Européen Georges-Pompidou", 0.33),
    ("site-c", "Ospedale San Raffaele", 0.22),
];

/// Splits GBSG2 (by row, with synthetic pseudonyms) and the Stanford heart data (by
/// patient, keeping each patient's intervals together) into three site files under `dir`.
pub fn split_gbsg2(dir: &Path) -> anyhow::Result<Vec<Site>> {
    let mut table = salus_table::read_csv(GBSG2_CSV.as_bytes(), &CsvOptions::default())?;
    let pids: Vec<Option<String>> = (1..=table.nrows())
        .map(|i| Some(format!("G{i:04}")))
        .collect();
    table.push_column(Column::text("pid", pids))?;
    let gbsg2 = split_rows(
        &(0..table.nrows())
            .map(|i| i.to_string())
            .collect::<Vec<_>>(),
    );
    let heart = read_heart()?;
    let ids: Vec<String> = (0..heart.nrows())
        .map(|r| {
            heart
                .column("id")
                .ok()
                .and_then(|c| c.display(r))
                .map(|v| v.to_string())
                .unwrap_or_default()
        })
        .collect();
    let heart_parts = split_rows(&ids);
    let mut sites = Vec::new();
    for (i, (name, org, _)) in SHARES.iter().enumerate() {
        let gfile = dir.join(format!("{name}-gbsg2.csv"));
        let part = table.take_rows(&gbsg2[i]);
        salus_table::write_csv_path(&part, &gfile, b',')
            .with_context(|| format!("writing {}", gfile.display()))?;
        let hfile = dir.join(format!("{name}-stanford_heart.csv"));
        salus_table::write_csv_path(&heart.take_rows(&heart_parts[i]), &hfile, b',')
            .with_context(|| format!("writing {}", hfile.display()))?;
        sites.push(Site {
            name: name.to_string(),
            organisation: org.to_string(),
            datasets: vec![
                ("gbsg2".to_string(), gfile, GBSG2_SCHEMA),
                ("stanford_heart".to_string(), hfile, HEART_SCHEMA),
            ],
            rows: part.nrows(),
            policy: "min_cell_count = 5\nprivacy_budget_rho = 1.0\napproval = \"automatic\"\n"
                .to_string(),
        });
    }
    Ok(sites)
}

/// The demo's consent records for one site, as a FHIR R4 Bundle of `Consent`
/// resources the way a hospital's consent system would export them: patients whose
/// pseudonym number is a multiple of 11 objected to research use (opt-out), and those
/// at a multiple of 17 refused only the named Kaplan-Meier study. Public data sets carry
/// no consent, so these records are generated; they exercise the real import and
/// enforcement path. Returns `None` for sites without consent records.
pub fn consent_bundle(site: &Site, gbsg2_file: &Path) -> anyhow::Result<Option<serde_json::Value>> {
    if site.name != "site-a" {
        return Ok(None);
    }
    let table = salus_table::read_csv_path(gbsg2_file, &CsvOptions::default())
        .with_context(|| format!("reading {}", gbsg2_file.display()))?;
    let pids = table.column("pid")?;
    let mut entries = Vec::new();
    for r in 0..table.nrows() {
        let Some(pid) = pids.display(r) else { continue };
        let number: u32 = pid.trim_start_matches('G').parse().unwrap_or(1);
        let purpose = if number.is_multiple_of(11) {
            serde_json::json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HRESCH"})
        } else if number.is_multiple_of(17) {
            serde_json::json!({"system": salus_consent::fhir::STUDY_SYSTEM, "code": KM_STUDY_NAME})
        } else {
            continue;
        };
        entries.push(serde_json::json!({"resource": {
            "resourceType": "Consent",
            "id": format!("objection-{pid}"),
            "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "57016-8"}]}],
            "patient": {"reference": format!("Patient/{pid}")},
            "dateTime": "2024-03-01T09:00:00Z",
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT"}]},
            "provision": {"type": "deny", "purpose": [purpose]}
        }}));
    }
    Ok(Some(
        serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entries}),
    ))
}

/// The Kaplan-Meier study's name (some demo patients refused that study only).
const KM_STUDY_NAME: &str = "Recurrence-free survival by hormonal therapy";

fn read_heart() -> anyhow::Result<Table> {
    let schema = salus_core::schema::DatasetSchema::from_text(HEART_SCHEMA)?;
    let mut opts = CsvOptions::default();
    for (name, col) in &schema.columns {
        if col.column_type == salus_core::schema::ColumnType::Numeric {
            opts.numeric_columns.push(name.clone());
        } else {
            opts.text_columns.push(name.clone());
        }
    }
    Ok(salus_table::read_csv(HEART_CSV.as_bytes(), &opts)?)
}

/// Row indices per site: patients (rows sharing a key) are shuffled with a fixed seed,
/// so every run makes the same split, and dealt out by the site shares.
fn split_rows(keys: &[String]) -> Vec<Vec<usize>> {
    let mut patients: Vec<&String> = keys.iter().collect();
    patients.sort();
    patients.dedup();
    patients.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(20261122));
    let n = patients.len();
    let mut site_of = std::collections::HashMap::new();
    let mut start = 0;
    for (i, (_, _, share)) in SHARES.iter().enumerate() {
        let end = if i + 1 == SHARES.len() {
            n
        } else {
            start + (share * n as f64).round() as usize
        };
        for p in &patients[start..end] {
            site_of.insert(*p, i);
        }
        start = end;
    }
    let mut out = vec![Vec::new(); SHARES.len()];
    for (row, key) in keys.iter().enumerate() {
        out[site_of[key]].push(row);
    }
    out
}

/// The demo's study specs.
pub fn study_specs() -> anyhow::Result<Vec<StudySpec>> {
    STUDIES.iter().map(|t| super::demo::parse_spec(t)).collect()
}
