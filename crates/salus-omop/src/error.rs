//! The error type of this crate: failures that stop an import or a cohort.
//!
//! Problems with single rows are not errors but [`crate::Diagnostic`]s.

/// Why an OMOP import, a cohort or a conversion could not be done at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OmopError {
    /// A table the operation needs was not given.
    #[error("the OMOP table `{table}` is required; put {table}.csv in the input directory")]
    MissingTable {
        /// The CDM table name.
        table: &'static str,
    },
    /// A table lacks a required column.
    #[error(
        "{file}: required column `{column}` is missing from the header; add it (OMOP CDM v5.3/5.4 names, any case)"
    )]
    MissingColumn {
        /// The file (or table) name.
        file: String,
        /// The CDM column name.
        column: &'static str,
    },
    /// The CSV itself could not be read (I/O or broken quoting).
    #[error("{file}: cannot read the CSV: {reason}")]
    Csv {
        /// The file (or table) name.
        file: String,
        /// What the CSV reader reported (positions, not values).
        reason: String,
    },
    /// A cohort definition is not valid.
    #[error("cohort definition: {0}")]
    Cohort(String),
    /// Building an output table failed.
    #[error("output table: {0}")]
    Table(#[from] salus_table::TableError),
}
