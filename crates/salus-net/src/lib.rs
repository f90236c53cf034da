//! Transport shared by hub, node and researcher clients.
//!
//! * [`tls`]: rustls configurations with the `ring` provider only (one TLS provider
//!   keeps the build light): the hub's server config that *requests* a client
//!   certificate (nodes authenticate with one; enrollment and researchers use tokens),
//!   and client configs that trust only the hub's CA.
//! * [`client`]: a typed JSON client for the hub API that turns error bodies into
//!   [`NetError::Api`] with the hub's message.
//!
//! Everything here moves bytes; what the bytes mean is defined in `salus-wire`.

pub mod client;
pub mod tls;

/// Transport errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// Certificates or keys could not be read.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// The hub answered with an error.
    #[error("hub refused ({status}): {message}")]
    Api {
        status: u16,
        code: Option<salus_wire::ErrorCode>,
        message: String,
    },
    /// The hub could not be reached or the connection broke.
    #[error("cannot reach the hub at {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The hub's answer was not what the protocol says.
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
    /// The hub's CA does not match the fingerprint the invite pinned.
    #[error(
        "the hub's CA fingerprint is {actual}, but the invite expects {expected}: refusing to enroll (wrong hub or a man in the middle)"
    )]
    FingerprintMismatch { expected: String, actual: String },
}

impl NetError {
    /// True for errors worth retrying later (network trouble, hub restarting).
    pub fn is_transient(&self) -> bool {
        match self {
            NetError::Unreachable { .. } => true,
            NetError::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
