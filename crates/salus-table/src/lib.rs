//! In-memory typed tables with CSV and Parquet reading and writing: the unit of data every local computation works on.
