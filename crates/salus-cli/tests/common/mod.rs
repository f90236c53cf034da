//! Shared fixtures of the end-to-end tests: GBSG2 with synthetic pseudonyms, split
//! into site files, and a federation of real nodes over loopback TLS.
#![allow(dead_code, clippy::unwrap_used)] // each test binary uses a subset

use std::path::{Path, PathBuf};

use salus_cli::federation::Federation;
use salus_core::schema::DatasetSchema;
use salus_protect::NodeSessionFactory;
use salus_table::{CsvOptions, Table};

pub const SCHEMA: &str = include_str!("../../../../data/gbsg2/schema.toml");
pub const GBSG2: &str = include_str!("../../../../data/gbsg2/gbsg2.csv");

/// Three unequal sites (row ranges of GBSG2).
pub const SPLITS: [(&str, usize, usize); 3] = [
    ("site-a", 0, 300),
    ("site-b", 300, 520),
    ("site-c", 520, 686),
];

/// GBSG2 with a `pid` pseudonym column (`G0001`... in row order).
pub fn gbsg2() -> Table {
    let mut t = salus_table::read_csv(GBSG2.as_bytes(), &CsvOptions::default()).unwrap();
    let pids = (1..=t.nrows()).map(|i| Some(format!("G{i:04}"))).collect();
    t.push_column(salus_table::Column::text("pid", pids))
        .unwrap();
    t
}

/// Writes rows [from, to) of GBSG2 as `dir/name.csv`.
pub fn site_file(dir: &Path, name: &str, from: usize, to: usize) -> PathBuf {
    let t = gbsg2().take_rows(&(from..to).collect::<Vec<_>>());
    let path = dir.join(format!("{name}.csv"));
    salus_table::write_csv_path(&t, &path, b',').unwrap();
    path
}

/// A hub and the three [`SPLITS`] nodes with the product's protection sessions (or
/// `node_sessions` in their place) and the default node policy.
pub async fn federation(
    dir: &Path,
    node_sessions: Option<NodeSessionFactory>,
    round_timeout_secs: u64,
) -> Federation {
    let (hub, node) = salus_protect::product_factories();
    let mut fed = Federation::start(dir, hub, node_sessions.unwrap_or(node), round_timeout_secs)
        .await
        .unwrap();
    let schema = DatasetSchema::from_text(SCHEMA).unwrap();
    for (name, from, to) in SPLITS {
        let file = site_file(dir, name, from, to);
        fed.add_node(name, name, &[("gbsg2", &file, &schema)], None)
            .await
            .unwrap();
    }
    fed
}
