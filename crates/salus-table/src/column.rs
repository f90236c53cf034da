//! A named column of numeric or text values, each possibly missing.

use std::borrow::Cow;

/// The values of one column. Missing values are `None` in both variants.
#[derive(Clone, PartialEq)]
pub enum ColumnData {
    /// Real numbers (integers are stored exactly up to 2^53).
    Numeric(Vec<Option<f64>>),
    /// Free text or category labels.
    Text(Vec<Option<String>>),
}

// Patient-level values never appear in Debug output: only shape and type.
impl std::fmt::Debug for ColumnData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnData::Numeric(v) => write!(f, "Numeric(<{} values>)", v.len()),
            ColumnData::Text(v) => write!(f, "Text(<{} values>)", v.len()),
        }
    }
}

impl ColumnData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Text(v) => v.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// "numeric" or "text", for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ColumnData::Numeric(_) => "numeric",
            ColumnData::Text(_) => "text",
        }
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    name: String,
    data: ColumnData,
}

impl Column {
    /// A numeric column.
    pub fn numeric(name: impl Into<String>, values: Vec<Option<f64>>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Numeric(values),
        }
    }

    /// A text column.
    pub fn text(name: impl Into<String>, values: Vec<Option<String>>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Text(values),
        }
    }

    /// A column from its parts.
    pub fn new(name: impl Into<String>, data: ColumnData) -> Self {
        Column {
            name: name.into(),
            data,
        }
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column's values.
    pub fn data(&self) -> &ColumnData {
        &self.data
    }

    /// Consumes the column, returning its values.
    pub fn into_data(self) -> ColumnData {
        self.data
    }

    /// Renames the column.
    pub fn rename(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The numeric values, if this is a numeric column.
    pub fn as_numeric(&self) -> Option<&[Option<f64>]> {
        match &self.data {
            ColumnData::Numeric(v) => Some(v),
            ColumnData::Text(_) => None,
        }
    }

    /// The text values, if this is a text column.
    pub fn as_text(&self) -> Option<&[Option<String>]> {
        match &self.data {
            ColumnData::Text(v) => Some(v),
            ColumnData::Numeric(_) => None,
        }
    }

    /// True when row `row` is missing (or out of range).
    pub fn is_missing(&self, row: usize) -> bool {
        match &self.data {
            ColumnData::Numeric(v) => v.get(row).is_none_or(Option::is_none),
            ColumnData::Text(v) => v.get(row).is_none_or(Option::is_none),
        }
    }

    /// The value of row `row` rendered as text: numbers in their shortest exact form
    /// (`70`, not `70.0`), `None` when missing. This is how categorical consumers
    /// (hierarchies, contingency tables, synthesis) see any column.
    pub fn display(&self, row: usize) -> Option<Cow<'_, str>> {
        match &self.data {
            ColumnData::Numeric(v) => v
                .get(row)
                .copied()
                .flatten()
                .map(|x| Cow::Owned(format_number(x))),
            ColumnData::Text(v) => v.get(row).and_then(|s| s.as_deref()).map(Cow::Borrowed),
        }
    }

    /// The value of row `row` as a number: numeric columns directly, text columns when
    /// the text parses as a number. `None` when missing or not a number.
    pub fn number(&self, row: usize) -> Option<f64> {
        match &self.data {
            ColumnData::Numeric(v) => v.get(row).copied().flatten(),
            ColumnData::Text(v) => v
                .get(row)
                .and_then(|s| s.as_deref())
                .and_then(|s| s.trim().parse::<f64>().ok()),
        }
    }

    /// The rows selected by `indices`, in that order.
    pub fn take(&self, indices: &[usize]) -> Column {
        let data = match &self.data {
            ColumnData::Numeric(v) => ColumnData::Numeric(indices.iter().map(|&i| v[i]).collect()),
            ColumnData::Text(v) => {
                ColumnData::Text(indices.iter().map(|&i| v[i].clone()).collect())
            }
        };
        Column {
            name: self.name.clone(),
            data,
        }
    }

    /// Converts to a text column (numbers rendered with [`format_number`]).
    pub fn to_text(&self) -> Column {
        match &self.data {
            ColumnData::Text(_) => self.clone(),
            ColumnData::Numeric(v) => Column::text(
                self.name.clone(),
                v.iter().map(|x| x.map(format_number)).collect(),
            ),
        }
    }
}

/// Renders a number in its shortest round-tripping form, without a trailing `.0`
/// for integers (so `70.0` prints as `70`, matching how it was written in the source).
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
