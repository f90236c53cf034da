//! The error type of the statistics crate.
//!
//! Messages name columns, covariates and counts, never patient values (the one
//! exception is a categorical *level* that a study's public level list lacks: the
//! level label is what the data steward needs to fix the list, and labels are
//! category names, not measurements).

/// Everything that can go wrong preparing data for, or fitting, a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// A column is missing from the table or has the wrong type.
    #[error(transparent)]
    Table(#[from] salus_table::TableError),
    /// Input arrays disagree in length or shape.
    #[error("{what}: expected {expected} values, got {actual}")]
    Shape {
        what: &'static str,
        expected: usize,
        actual: usize,
    },
    /// A value that must be finite (time, covariate, outcome) is NaN or infinite.
    #[error("{what} has a non-finite value at row {row}; remove or impute it before fitting")]
    NonFinite { what: String, row: usize },
    /// A binary column (event, outcome) holds something other than 0/1 or true/false.
    #[error(
        "column `{column}` must hold 0/1 or true/false (also yes/no); found another value at row {row}. Use `{column}=VALUE` to mark which value counts as 1"
    )]
    NotBinary { column: String, row: usize },
    /// A counting-process row has start >= stop.
    #[error(
        "row {row} has start >= stop; every (start, stop] interval must be non-empty (check the column order of --start and --time)"
    )]
    EmptyInterval { row: usize },
    /// A categorical level occurs in the data but not in the study's public level list.
    #[error(
        "column `{column}` has level `{level}` that is not in the study's level list ({known}); add it to the list or recode the data"
    )]
    UnknownLevel {
        column: String,
        level: String,
        known: String,
    },
    /// A categorical column has fewer than two levels, so it cannot be a covariate.
    #[error(
        "column `{column}` has {levels} level(s) after removing missing values; a categorical covariate needs at least two"
    )]
    TooFewLevels { column: String, levels: usize },
    /// The reference level asked for is not one of the levels.
    #[error("reference level `{level}` is not a level of column `{column}`")]
    UnknownReference { column: String, level: String },
    /// No rows are left after listwise deletion, or no events to fit.
    #[error("{0}")]
    NoData(String),
    /// The model matrix is (nearly) singular: one covariate is a combination of others.
    #[error("{0}")]
    Collinear(String),
    /// The likelihood is monotone in some coefficients (separation).
    #[error("{0}")]
    Separation(String),
    /// Newton-Raphson did not converge.
    #[error("{0}")]
    NotConverged(String),
    /// Summed statistics received from sites do not have the expected layout.
    #[error("{0}")]
    BadSums(String),
    /// An option value is outside its allowed range.
    #[error("{0}")]
    InvalidOption(String),
}

/// Result alias of this crate.
pub type Result<T, E = StatsError> = std::result::Result<T, E>;
