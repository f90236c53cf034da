//! The hub: coordinates studies between nodes, never sees patient rows.
//!
//! * [`ca`]: the hub's own certificate authority; nodes enroll with a one-time invite
//!   and from then on authenticate with mutual TLS; revocation is checked on every
//!   request.
//! * [`store`]: all state in a real database through sqlx (SQLite file by default,
//!   PostgreSQL with `postgres://` URLs; one code path, one migration set).
//! * [`api`]: the HTTPS API (axum over rustls), thin handlers.
//! * [`coordinator`]: runs studies round by round, drives the protection protocol
//!   (secure aggregation / threshold HE) and persists each completed round so a
//!   restart resumes without losing or double-counting anything.
//! * [`audit`]: every security-relevant change appends to the tamper-evident log in
//!   the same transaction.

pub mod api;
pub mod audit;
pub mod ca;
pub mod coordinator;
pub mod server;
pub mod store;

use std::path::{Path, PathBuf};

/// Hub errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("certificate authority: {0}")]
    Ca(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Net(#[from] salus_net::NetError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Gone(String),
    #[error("stored state is corrupt: {0}")]
    Corrupt(String),
}

impl HubError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        HubError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Where the hub keeps its files and database.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Directory for the CA, keys and (by default) the SQLite database.
    pub data_dir: PathBuf,
    /// Database URL; default `sqlite://<data_dir>/hub.db`.
    pub database_url: Option<String>,
    /// Seconds a node may stay silent in a round before it counts as dropped.
    pub round_timeout_secs: u64,
}

impl HubConfig {
    /// A configuration with defaults for everything but the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        HubConfig {
            data_dir: data_dir.into(),
            database_url: None,
            round_timeout_secs: 30,
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("hub.db").display()
            )
        })
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A random identifier (128 bits, hex).
pub fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// SHA-256 of a secret, hex: tokens are stored only as hashes.
pub fn hash_secret(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}
