//! The node: runs beside a hospital's data and only ever calls out to the hub.
//!
//! * [`identity`]: enrollment (Ed25519 key, CSR, the hub CA pinned by the invite) and
//!   the files that hold the node's identity.
//! * [`store`]: the node's SQLite database: datasets (by path and checksum), policy,
//!   studies and their frozen cohorts, the privacy ledger, consent records, witness state.
//! * [`datasets`]: registering a CSV/Parquet file with a schema, validated row by row.
//! * [`consent`]: patients' consent records with signed, chained receipts, and the
//!   compute-time check that drops rows whose consent does not cover a study.
//! * [`patient_api`]: the optional HTTPS consent API for the hospital's patient portal.
//! * [`witness`]: the node witnesses the hub's audit log (cosigns consistent
//!   checkpoints, raises a persisted alarm on a forked history).
//! * [`worker`]: the long-poll loop that approves or refuses studies by policy,
//!   computes contributions and runs the node's side of the protection protocol.
//!
//! Invariant: nothing that leaves this crate over the network contains patient rows:
//! only decisions, protocol messages of the protection layer, cosignatures and the
//! hashes of consent receipts.

pub mod consent;
pub mod datasets;
pub mod identity;
pub mod patient_api;
pub mod store;
pub mod witness;
pub mod worker;

use std::path::{Path, PathBuf};

/// Node errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Net(#[from] salus_net::NetError),
    #[error("{0}")]
    Table(#[from] salus_table::TableError),
    #[error("{0}")]
    Core(#[from] salus_core::CoreError),
    #[error("{0}")]
    Study(#[from] salus_study::StudyError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error(
        "this node is not enrolled yet: run `salus node enroll --hub URL --token T --name NAME --data-dir {0}`"
    )]
    NotEnrolled(String),
    #[error("stored state is corrupt: {0}")]
    Corrupt(String),
}

impl NodeError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        NodeError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Where the node keeps its identity and database.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub data_dir: PathBuf,
}

impl NodeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        NodeConfig {
            data_dir: data_dir.into(),
        }
    }

    /// The SQLite URL of the node database.
    pub fn database_url(&self) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("node.db").display()
        )
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
