//! In-memory typed tables: the unit of data every local computation in Salus works on.
//!
//! A [`Table`] is a list of equally long named [`Column`]s. A column is either numeric
//! (`f64`, with missing values) or text (with missing values); that is all the analyses,
//! anonymization and synthesis need, and it keeps every consumer simple. Tables are read
//! from CSV (with type inference and configurable missing-value tokens) and, with the
//! default `parquet` feature, from Parquet files.
//!
//! ```
//! use salus_table::{read_csv, CsvOptions};
//!
//! let csv = "age,sex,stage\n70,F,II\n56,M,\n61,F,III\n";
//! let table = read_csv(csv.as_bytes(), &CsvOptions::default()).unwrap();
//! assert_eq!(table.nrows(), 3);
//! assert_eq!(table.numeric("age").unwrap()[1], Some(56.0));
//! assert_eq!(table.text("stage").unwrap()[1], None); // empty cell = missing
//! assert_eq!(table.column("age").unwrap().display(0).as_deref(), Some("70"));
//! ```

mod column;
mod csv_io;
mod error;
#[cfg(feature = "parquet")]
mod parquet_io;
mod table;

pub use column::{Column, ColumnData, format_number};
pub use csv_io::{CsvOptions, read_csv, read_csv_path, write_csv, write_csv_path};
pub use error::TableError;
#[cfg(feature = "parquet")]
pub use parquet_io::{read_parquet_path, write_parquet_path};
pub use table::Table;

/// Reads a table from a path, choosing the format from the extension
/// (`.parquet`/`.pq` → Parquet, anything else → CSV with `options`).
pub fn read_table_path(path: &std::path::Path, options: &CsvOptions) -> Result<Table, TableError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("parquet") | Some("pq") => {
            #[cfg(feature = "parquet")]
            {
                read_parquet_path(path)
            }
            #[cfg(not(feature = "parquet"))]
            {
                Err(TableError::Unsupported(
                    "this build has no Parquet support; rebuild with the `parquet` feature".into(),
                ))
            }
        }
        _ => read_csv_path(path, options),
    }
}

/// Writes a table to a path, choosing the format from the extension like [`read_table_path`].
pub fn write_table_path(table: &Table, path: &std::path::Path) -> Result<(), TableError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("parquet") | Some("pq") => {
            #[cfg(feature = "parquet")]
            {
                write_parquet_path(table, path)
            }
            #[cfg(not(feature = "parquet"))]
            {
                Err(TableError::Unsupported(
                    "this build has no Parquet support; rebuild with the `parquet` feature".into(),
                ))
            }
        }
        _ => write_csv_path(table, path, b','),
    }
}
