//! The table: equally long, uniquely named columns.

use crate::{Column, ColumnData, TableError};

/// A rectangular table of named, typed columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    columns: Vec<Column>,
    nrows: usize,
}

impl Table {
    /// Builds a table; all columns must have the same length and distinct names.
    pub fn new(columns: Vec<Column>) -> Result<Self, TableError> {
        let nrows = columns.first().map_or(0, Column::len);
        let mut seen = std::collections::HashSet::new();
        for c in &columns {
            if c.len() != nrows {
                return Err(TableError::LengthMismatch {
                    name: c.name().to_string(),
                    len: c.len(),
                    expected: nrows,
                });
            }
            if !seen.insert(c.name().to_string()) {
                return Err(TableError::DuplicateColumn(c.name().to_string()));
            }
        }
        Ok(Table { columns, nrows })
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.columns.len()
    }

    /// All columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Consumes the table, returning its columns.
    pub fn into_columns(self) -> Vec<Column> {
        self.columns
    }

    /// Column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(Column::name).collect()
    }

    /// Position of a column by name.
    pub fn column_index(&self, name: &str) -> Result<usize, TableError> {
        self.columns
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| self.unknown(name))
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Result<&Column, TableError> {
        self.column_index(name).map(|i| &self.columns[i])
    }

    /// True when the table has a column with this name.
    pub fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name() == name)
    }

    /// The values of a numeric column.
    pub fn numeric(&self, name: &str) -> Result<&[Option<f64>], TableError> {
        let c = self.column(name)?;
        c.as_numeric().ok_or(TableError::WrongType {
            name: name.to_string(),
            expected: "numeric",
            actual: "text",
        })
    }

    /// The values of a text column.
    pub fn text(&self, name: &str) -> Result<&[Option<String>], TableError> {
        let c = self.column(name)?;
        c.as_text().ok_or(TableError::WrongType {
            name: name.to_string(),
            expected: "text",
            actual: "numeric",
        })
    }

    /// The rows where `keep` is true (`keep` must have one entry per row).
    pub fn filter_rows(&self, keep: &[bool]) -> Table {
        let idx: Vec<usize> = keep
            .iter()
            .enumerate()
            .filter_map(|(i, &k)| k.then_some(i))
            .collect();
        self.take_rows(&idx)
    }

    /// The rows at `indices`, in that order (indices may repeat).
    pub fn take_rows(&self, indices: &[usize]) -> Table {
        Table {
            columns: self.columns.iter().map(|c| c.take(indices)).collect(),
            nrows: indices.len(),
        }
    }

    /// A table of the named columns, in the given order.
    pub fn select(&self, names: &[&str]) -> Result<Table, TableError> {
        let columns = names
            .iter()
            .map(|n| self.column(n).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        Table::new(columns)
    }

    /// Adds a column at the end (same length, new name).
    pub fn push_column(&mut self, column: Column) -> Result<(), TableError> {
        if !self.columns.is_empty() && column.len() != self.nrows {
            return Err(TableError::LengthMismatch {
                name: column.name().to_string(),
                len: column.len(),
                expected: self.nrows,
            });
        }
        if self.has_column(column.name()) {
            return Err(TableError::DuplicateColumn(column.name().to_string()));
        }
        if self.columns.is_empty() {
            self.nrows = column.len();
        }
        self.columns.push(column);
        Ok(())
    }

    /// Replaces the column of the same name (or appends it when absent).
    pub fn set_column(&mut self, column: Column) -> Result<(), TableError> {
        match self.columns.iter().position(|c| c.name() == column.name()) {
            Some(i) => {
                if column.len() != self.nrows {
                    return Err(TableError::LengthMismatch {
                        name: column.name().to_string(),
                        len: column.len(),
                        expected: self.nrows,
                    });
                }
                self.columns[i] = column;
                Ok(())
            }
            None => self.push_column(column),
        }
    }

    /// Removes a column by name and returns it.
    pub fn remove_column(&mut self, name: &str) -> Result<Column, TableError> {
        let i = self.column_index(name)?;
        Ok(self.columns.remove(i))
    }

    /// Appends the rows of `other`, which must have the same column names and types.
    pub fn append(&mut self, other: &Table) -> Result<(), TableError> {
        if self.columns.is_empty() {
            *self = other.clone();
            return Ok(());
        }
        for c in &mut self.columns {
            let o = other.column(c.name())?;
            let merged = match (c.data(), o.data()) {
                (ColumnData::Numeric(a), ColumnData::Numeric(b)) => {
                    ColumnData::Numeric(a.iter().chain(b).copied().collect())
                }
                (ColumnData::Text(a), ColumnData::Text(b)) => {
                    ColumnData::Text(a.iter().chain(b).cloned().collect())
                }
                // Mixed types: fall back to text so nothing is lost.
                _ => ColumnData::Text(text_values(c).into_iter().chain(text_values(o)).collect()),
            };
            *c = Column::new(c.name().to_string(), merged);
        }
        self.nrows += other.nrows;
        Ok(())
    }

    fn unknown(&self, name: &str) -> TableError {
        TableError::UnknownColumn {
            name: name.to_string(),
            available: self.names().join(", "),
        }
    }
}

fn text_values(c: &Column) -> Vec<Option<String>> {
    (0..c.len())
        .map(|i| c.display(i).map(|v| v.into_owned()))
        .collect()
}
