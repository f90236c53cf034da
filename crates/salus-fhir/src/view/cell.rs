//! One value of a view's output row, and the conversion of rows into a
//! [`salus_table::Table`] following the columns' declared FHIR types.

use salus_table::{Column, Table};
use serde::Serialize;

use crate::error::Result;
use crate::fhirpath::Item;

/// A value in a view's output. `Debug` hides the value (it may be patient data).
#[derive(Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// No value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal.
    Dec(f64),
    /// Text: strings, codes, dates and times as written in the resource.
    Str(String),
    /// A collection column (`collection: true`).
    List(Vec<Cell>),
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Cell::Null => "Null",
            Cell::Bool(_) => "Bool",
            Cell::Int(_) => "Int",
            Cell::Dec(_) => "Dec",
            Cell::Str(_) => "Str",
            Cell::List(_) => "List",
        };
        write!(f, "{kind}(..)")
    }
}

impl Cell {
    /// The cell of one FHIRPath item; `fhir_type` is the column's declared type.
    pub fn from_item(item: &Item<'_>, fhir_type: Option<&str>) -> Cell {
        if let Item::Node(n) = item {
            match n.json {
                serde_json::Value::String(s) => return Cell::Str(s.clone()),
                serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                    return Cell::Str(n.json.to_string());
                }
                _ => {}
            }
        }
        let cell = match item.primitive() {
            Item::Boolean(b) => Cell::Bool(b),
            Item::Integer(i) => Cell::Int(i),
            Item::Decimal(d) => Cell::Dec(d),
            Item::String(s) => Cell::Str(s.into_owned()),
            Item::Temporal(t) => Cell::Str(t.format()),
            Item::Quantity(v, unit) => Cell::Str(format!("{v} '{unit}'")),
            Item::Node(_) => Cell::Null,
        };
        match (cell, fhir_type) {
            (Cell::Int(i), Some("decimal")) => Cell::Dec(i as f64),
            (cell, _) => cell,
        }
    }

    /// The cell as JSON (what the SQL on FHIR test suite compares).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn number(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Dec(d) => Some(*d),
            Cell::Str(s) => s.trim().parse().ok(),
            Cell::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Dec(d) => Some(salus_table::format_number(*d)),
            Cell::Str(s) => Some(s.clone()),
            Cell::List(_) => Some(self.to_json().to_string()),
        }
    }
}

/// FHIR types whose columns become numeric table columns.
fn numeric_type(fhir_type: &str) -> bool {
    matches!(
        fhir_type,
        "integer" | "decimal" | "positiveInt" | "unsignedInt" | "integer64"
    )
}

/// Builds one table column from its cells: numeric for numeric FHIR types (or,
/// without a declared type, when every value is a number), text otherwise
/// (booleans as `true`/`false`, collections as JSON arrays).
pub fn table_column(
    name: &str,
    fhir_type: Option<&str>,
    collection: bool,
    cells: &[Cell],
) -> Column {
    let numeric = !collection
        && match fhir_type {
            Some(t) => numeric_type(t),
            None => {
                cells.iter().any(|c| !matches!(c, Cell::Null))
                    && cells
                        .iter()
                        .all(|c| matches!(c, Cell::Null | Cell::Int(_) | Cell::Dec(_)))
            }
        };
    if numeric {
        Column::numeric(name, cells.iter().map(Cell::number).collect())
    } else {
        Column::text(name, cells.iter().map(Cell::text).collect())
    }
}

/// A table from column-major cells.
pub fn build_table(columns: &[super::ColumnInfo], cells: &[Vec<Cell>]) -> Result<Table> {
    let cols = columns
        .iter()
        .zip(cells)
        .map(|(info, values)| {
            table_column(
                &info.name,
                info.fhir_type.as_deref(),
                info.collection,
                values,
            )
        })
        .collect();
    Ok(Table::new(cols)?)
}
