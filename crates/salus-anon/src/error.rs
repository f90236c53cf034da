//! The crate's error type. Messages say what to do next and never quote patient values.

use salus_table::TableError;

/// Everything that can go wrong while anonymizing, assessing risk, attacking or pseudonymizing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnonError {
    /// A table could not be read, or a column is missing or has the wrong type.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The configuration is inconsistent or incomplete.
    #[error("configuration: {0}")]
    Config(String),
    /// A generalization hierarchy is malformed.
    #[error("hierarchy for `{column}`: {message}")]
    Hierarchy {
        /// The quasi-identifier the hierarchy belongs to.
        column: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Values of a quasi-identifier are absent from its hierarchy.
    #[error(
        "column `{column}`: {count} value(s) are not in its hierarchy (first at data row {first_row}); add them to the hierarchy file or use a rule-based hierarchy"
    )]
    ValueNotInHierarchy {
        /// The quasi-identifier.
        column: String,
        /// How many rows carry an unknown value.
        count: usize,
        /// 1-based data row (header excluded) of the first one.
        first_row: usize,
    },
    /// The quasi-identifiers need more key bits than the engine supports.
    #[error(
        "the quasi-identifiers need {bits} bits per record key (limit 128); use fewer quasi-identifiers or coarser hierarchies"
    )]
    TooManyQuasiIdentifiers {
        /// Bits needed.
        bits: u32,
    },
    /// The generalization lattice is too large to search exhaustively.
    #[error(
        "the generalization lattice has {nodes} transformations (limit {limit}); use fewer quasi-identifiers or hierarchies with fewer levels"
    )]
    LatticeTooLarge {
        /// Number of lattice nodes.
        nodes: u128,
        /// Supported maximum.
        limit: u128,
    },
    /// No transformation satisfies the privacy models within the suppression limit.
    #[error(
        "no transformation satisfies the privacy models within the suppression limit; raise the suppression limit, relax the models or add hierarchy levels"
    )]
    NoSolution,
    /// A parameter is out of its valid range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// An attack could not be run on the given tables.
    #[error("attack: {0}")]
    Attack(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = AnonError> = std::result::Result<T, E>;
