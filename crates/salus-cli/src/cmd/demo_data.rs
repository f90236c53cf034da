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

/// The studies the demo runs, in order (the same files a researcher would submit).
const STUDIES: &[&str] = &[
    include_str!("../../../../examples/studies/01-descriptive.toml"),
    include_str!("../../../../examples/studies/03-contingency.toml"),
];

/// One demo site.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub organisation: String,
    pub file: PathBuf,
    pub rows: usize,
    pub policy: String,
}

/// Shares of the patients per site (unequal on purpose).
const SHARES: [(&str, &str, f64); 3] = [
    ("site-a", "Universitätsklinikum Freiburg", 0.45),
    ("site-b", "Hôpital Européen Georges-Pompidou", 0.33),
    ("site-c", "Ospedale San Raffaele", 0.22),
];

/// Splits GBSG2 into three site files under `dir`, adding synthetic pseudonyms.
pub fn split_gbsg2(dir: &Path) -> anyhow::Result<Vec<Site>> {
    let mut table = salus_table::read_csv(GBSG2_CSV.as_bytes(), &CsvOptions::default())?;
    let pids: Vec<Option<String>> = (1..=table.nrows()).map(|i| Some(format!("G{i:04}"))).collect();
    table.push_column(Column::text("pid", pids))?;
    let mut order: Vec<usize> = (0..table.nrows()).collect();
    // A fixed seed: the same split on every run, so reports are comparable.
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(20261122));
    let n = order.len();
    let mut start = 0;
    let mut sites = Vec::new();
    for (i, (name, org, share)) in SHARES.iter().enumerate() {
        let end = if i + 1 == SHARES.len() { n } else { start + (share * n as f64).round() as usize };
        let mut rows = order[start..end].to_vec();
        rows.sort_unstable();
        let part: Table = table.take_rows(&rows);
        let file = dir.join(format!("{name}-gbsg2.csv"));
        salus_table::write_csv_path(&part, &file, b',').with_context(|| format!("writing {}", file.display()))?;
        sites.push(Site {
            name: name.to_string(),
            organisation: org.to_string(),
            file,
            rows: rows.len(),
            policy: "min_cell_count = 5\nprivacy_budget_rho = 1.0\napproval = \"automatic\"\n".to_string(),
        });
        start = end;
    }
    Ok(sites)
}

/// The demo's study specs.
pub fn study_specs() -> anyhow::Result<Vec<StudySpec>> {
    STUDIES.iter().map(|t| super::demo::parse_spec(t)).collect()
}
