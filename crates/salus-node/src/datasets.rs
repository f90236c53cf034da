//! Registering and loading datasets. A dataset is a CSV or Parquet file that stays
//! where the steward keeps it; the node records its path, schema and checksum, and
//! refuses to compute on it if the file changed since registration.

use std::path::Path;

use sha2::{Digest, Sha256};

use salus_core::schema::{ColumnRole, ColumnType, DatasetSchema};
use salus_table::{CsvOptions, Table};

use crate::NodeError;
use crate::store::DatasetRecord;

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> Result<String, NodeError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| NodeError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| NodeError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// CSV options implied by a schema: categorical, text and date columns stay text,
/// numeric columns must parse as numbers.
pub fn csv_options(schema: &DatasetSchema, delimiter: u8) -> CsvOptions {
    let mut opts = CsvOptions::with_delimiter(delimiter);
    for (name, col) in &schema.columns {
        match col.column_type {
            ColumnType::Numeric => opts.numeric_columns.push(name.clone()),
            _ => opts.text_columns.push(name.clone()),
        }
    }
    opts
}

/// Reads a dataset file with its schema's types.
pub fn read(path: &Path, schema: &DatasetSchema, delimiter: u8) -> Result<Table, NodeError> {
    Ok(salus_table::read_table_path(
        path,
        &csv_options(schema, delimiter),
    )?)
}

/// Checks a table against its schema: columns present, levels and bounds respected.
/// Errors name the column and row, never the value.
pub fn validate(table: &Table, schema: &DatasetSchema) -> Result<(), NodeError> {
    for (name, col) in &schema.columns {
        let data = table.column(name).map_err(|e| {
            NodeError::Invalid(format!(
                "the schema declares `{name}` but the file lacks it ({e})"
            ))
        })?;
        for row in 0..table.nrows() {
            if data.is_missing(row) {
                continue;
            }
            let line = row + 2;
            match col.column_type {
                ColumnType::Categorical => {
                    let v = data.display(row).unwrap_or_default();
                    if !col.levels.iter().any(|l| l == v.as_ref()) {
                        return Err(NodeError::Invalid(format!(
                            "column `{name}`, row {line}: a value outside the declared levels; add it to `levels` or fix the data"
                        )));
                    }
                }
                ColumnType::Numeric => {
                    if let (Some([lo, hi]), Some(x)) = (col.bounds, data.number(row))
                        && !(lo..=hi).contains(&x)
                    {
                        return Err(NodeError::Invalid(format!(
                            "column `{name}`, row {line}: a value outside the declared bounds [{lo}, {hi}]"
                        )));
                    }
                }
                ColumnType::Text | ColumnType::Date => {}
            }
        }
    }
    if let Some(key) = &schema.patient_key
        && schema.columns.get(key).map(|c| c.role) != Some(ColumnRole::Identifier)
    {
        return Err(NodeError::Invalid(format!(
            "patient_key `{key}` must be an identifier column"
        )));
    }
    Ok(())
}

/// Validates a file against a schema and builds its registration record.
pub fn register(
    name: &str,
    path: &Path,
    schema: DatasetSchema,
    delimiter: u8,
) -> Result<DatasetRecord, NodeError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(NodeError::Invalid(
            "dataset names are letters, digits, `-`, `_` or `.`".into(),
        ));
    }
    schema.validate()?;
    for c in &schema.categories {
        c.parse::<salus_consent::DataCategory>().map_err(|e| {
            NodeError::Invalid(format!(
                "schema category `{c}`: {e}; use demographics, diagnoses, labs, medications, procedures, encounters, genomics, imaging or other:<code>"
            ))
        })?;
    }
    let path = std::fs::canonicalize(path).map_err(|e| NodeError::io(path, e))?;
    let table = read(&path, &schema, delimiter)?;
    validate(&table, &schema)?;
    Ok(DatasetRecord {
        name: name.to_string(),
        path: path.display().to_string(),
        sha256: file_sha256(&path)?,
        rows: table.nrows() as i64,
        schema,
        delimiter,
    })
}

/// Loads a registered dataset, refusing if the file changed since registration.
pub fn load(record: &DatasetRecord) -> Result<Table, NodeError> {
    let path = Path::new(&record.path);
    let sum = file_sha256(path)?;
    if sum != record.sha256 {
        return Err(NodeError::Invalid(format!(
            "dataset `{}` changed on disk since it was registered; re-register it with `salus node dataset add`",
            record.name
        )));
    }
    read(path, &record.schema, record.delimiter)
}
