//! SQL on FHIR v2 ViewDefinitions: load one from JSON, run it over resources,
//! get rows or a [`salus_table::Table`].
//!
//! ```
//! use salus_fhir::view::ViewDefinition;
//! let view = ViewDefinition::from_json(&serde_json::json!({
//!     "resource": "Patient",
//!     "select": [{"column": [
//!         {"name": "id", "path": "getResourceKey()"},
//!         {"name": "birth_date", "path": "birthDate", "type": "date"}
//!     ]}]
//! })).unwrap();
//! let patients = [serde_json::json!({"resourceType": "Patient", "id": "p1", "birthDate": "1970-06"})];
//! let rows = view.run(&patients).unwrap();
//! assert_eq!(rows.rows.len(), 1);
//! let table = rows.to_table().unwrap();
//! assert_eq!(table.text("birth_date").unwrap()[0].as_deref(), Some("1970-06"));
//! ```

mod cell;
mod definition;
mod runner;

use serde_json::Value;

pub use cell::{Cell, build_table, table_column};

use crate::error::{FhirError, Result};
use crate::fhirpath::{Environment, Temporal};
use definition::Compiled;

/// One output column of a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Declared FHIR type (`string`, `integer`, `date`...), if any.
    pub fhir_type: Option<String>,
    /// True when the column holds a list (`collection: true`).
    pub collection: bool,
}

/// A compiled, validated ViewDefinition.
#[derive(Debug, Clone)]
pub struct ViewDefinition {
    compiled: Compiled,
    json: Value,
    now: Option<Temporal>,
    unique_key: Option<usize>,
}

/// The rows a view produced, row-major, in the view's column order.
/// `Debug` shows only the shape.
#[derive(Clone, PartialEq)]
pub struct ViewRows {
    /// Output columns.
    pub columns: Vec<ColumnInfo>,
    /// Rows; each has one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl std::fmt::Debug for ViewRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ViewRows(<{} rows x {} columns>)",
            self.rows.len(),
            self.columns.len()
        )
    }
}

impl ViewRows {
    /// The rows as a table (numeric FHIR types become numeric columns).
    pub fn to_table(&self) -> Result<salus_table::Table> {
        let mut cols: Vec<Vec<Cell>> =
            vec![Vec::with_capacity(self.rows.len()); self.columns.len()];
        for row in &self.rows {
            for (c, cell) in cols.iter_mut().zip(row) {
                c.push(cell.clone());
            }
        }
        build_table(&self.columns, &cols)
    }
}

impl ViewDefinition {
    /// Loads and checks a ViewDefinition (JSON object).
    pub fn from_json(view: &Value) -> Result<ViewDefinition> {
        Ok(ViewDefinition {
            compiled: definition::compile(view)?,
            json: view.clone(),
            now: None,
            unique_key: None,
        })
    }

    /// Loads a ViewDefinition from JSON bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<ViewDefinition> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            FhirError::view(
                format!("line {} column {}", e.line(), e.column()),
                format!("not valid JSON: {e}"),
            )
        })?;
        ViewDefinition::from_json(&value)
    }

    /// Sets the reference time `now()`/`today()` use (the library never reads the clock).
    pub fn with_now(mut self, now: Temporal) -> Self {
        self.now = Some(now);
        self
    }

    /// Keeps only the first row for each value of `column` when importing
    /// (the built-in `patients` view keys on `patient_id`).
    pub fn with_unique_key(mut self, column: &str) -> Result<Self> {
        let index = self
            .columns()
            .iter()
            .position(|c| c.name == column)
            .ok_or_else(|| FhirError::view("select", format!("no column `{column}` to key on")))?;
        self.unique_key = Some(index);
        Ok(self)
    }

    /// The column rows are de-duplicated on, if any.
    pub fn unique_key(&self) -> Option<usize> {
        self.unique_key
    }

    /// The table name: the view's `name`, else the resource type in lower case.
    pub fn name(&self) -> String {
        self.compiled
            .name
            .clone()
            .unwrap_or_else(|| self.compiled.resource.to_ascii_lowercase())
    }

    /// The resource type the view reads.
    pub fn resource(&self) -> &str {
        &self.compiled.resource
    }

    /// The output columns, in order.
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.compiled.columns
    }

    /// The ViewDefinition's JSON as loaded.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Rows for one resource (none when it is of another type or fails a `where`).
    pub fn rows(&self, resource: &Value) -> Result<Vec<Vec<Cell>>> {
        let rt = resource.get("resourceType").and_then(Value::as_str);
        if rt != Some(self.compiled.resource.as_str()) {
            return Ok(Vec::new());
        }
        let mut env = Environment {
            constants: self.compiled.constants.clone(),
            now: self.now,
            ..Environment::default()
        };
        runner::resource_rows(&self.compiled, resource, &mut env)
    }

    /// Runs the view over `resources`; the first error stops the run.
    pub fn run<'r>(&self, resources: impl IntoIterator<Item = &'r Value>) -> Result<ViewRows> {
        let mut rows = Vec::new();
        for r in resources {
            rows.extend(self.rows(r)?);
        }
        Ok(ViewRows {
            columns: self.columns().to_vec(),
            rows,
        })
    }
}
