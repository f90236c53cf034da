//! Errors of table construction, access and file formats.

/// What can go wrong building, reading or querying a table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// A column name was asked for that the table does not have.
    #[error("unknown column `{name}`; the table has: {available}")]
    UnknownColumn { name: String, available: String },
    /// A numeric operation was asked of a text column (or the reverse).
    #[error(
        "column `{name}` is {actual}, but {expected} values are needed here; check the column or its type in the schema"
    )]
    WrongType {
        name: String,
        expected: &'static str,
        actual: &'static str,
    },
    /// Columns of different lengths were put in one table.
    #[error("column `{name}` has {len} rows but the table has {expected}")]
    LengthMismatch {
        name: String,
        len: usize,
        expected: usize,
    },
    /// Two columns share a name.
    #[error("column name `{0}` appears twice; rename one of them")]
    DuplicateColumn(String),
    /// The CSV input could not be parsed.
    #[error("CSV {location}: {message}")]
    Csv { location: String, message: String },
    /// The Parquet input could not be read or written.
    #[error("Parquet: {0}")]
    Parquet(String),
    /// File system error, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A feature this build does not have.
    #[error("{0}")]
    Unsupported(String),
    /// The input has no header or no columns.
    #[error("the input has no columns; a header line with column names is required")]
    Empty,
}
