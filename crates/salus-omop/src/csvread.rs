//! Typed reading of one OMOP CSV table against its column specification.
//!
//! Headers match case-insensitively (Eunomia writes `PERSON_ID`, the CDM DDL
//! `person_id`). A missing required column stops the table; a missing optional
//! column reads as empty. A bad required value skips the row with an error
//! (`file:line:column`); a bad optional value is left empty with a warning.

use std::io::Read;

use crate::date::Date;
use crate::diagnostic::{Diagnostics, Severity};
use crate::error::OmopError;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An integer id or count (`10204.0` is accepted as 10204).
    Int,
    /// A real number.
    Float,
    /// A date or a datetime (only its date is kept).
    Date,
    /// Free text.
    Text,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Int => "an integer",
            Kind::Float => "a number",
            Kind::Date => "a date (YYYY-MM-DD)",
            Kind::Text => "text",
        }
    }
}

/// One column of a table specification.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

pub(crate) const fn req(name: &'static str, kind: Kind) -> Col {
    Col {
        name,
        kind,
        required: true,
    }
}

pub(crate) const fn opt(name: &'static str, kind: Kind) -> Col {
    Col {
        name,
        kind,
        required: false,
    }
}

/// A parsed cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Missing,
    Int(i64),
    Float(f64),
    Date(Date),
    Text(String),
}

/// One parsed row, read by column name.
pub(crate) struct Row<'r> {
    columns: &'static [Col],
    cells: &'r [Cell],
}

impl Row<'_> {
    fn cell(&self, name: &str) -> &Cell {
        match self.columns.iter().position(|c| c.name == name) {
            Some(i) => &self.cells[i],
            None => &Cell::Missing,
        }
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.cell(name) {
            Cell::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// A concept id: missing reads as 0 ("no matching concept"), the CDM convention.
    pub fn concept(&self, name: &str) -> i64 {
        self.int(name).unwrap_or(0)
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        match self.cell(name) {
            Cell::Float(v) => Some(*v),
            Cell::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    pub fn date(&self, name: &str) -> Option<Date> {
        match self.cell(name) {
            Cell::Date(d) => Some(*d),
            _ => None,
        }
    }

    pub fn text(&self, name: &str) -> Option<String> {
        match self.cell(name) {
            Cell::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

fn parse_cell(raw: &str, kind: Kind) -> Option<Cell> {
    match kind {
        Kind::Int => parse_int(raw).map(Cell::Int),
        Kind::Float => raw
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Cell::Float),
        Kind::Date => Date::parse(raw).map(Cell::Date),
        Kind::Text => Some(Cell::Text(raw.to_owned())),
    }
}

fn parse_int(raw: &str) -> Option<i64> {
    if let Ok(v) = raw.parse::<i64>() {
        return Some(v);
    }
    // Exports through floating point write ids as `10204.0`.
    let (whole, frac) = raw.split_once('.')?;
    if frac.bytes().all(|b| b == b'0') && !whole.is_empty() {
        whole.parse().ok()
    } else {
        None
    }
}

/// Reads a table, calling `build` on every row whose required cells are valid.
pub(crate) fn read_table<R: Read, T>(
    file: &str,
    reader: R,
    columns: &'static [Col],
    diags: &mut Diagnostics,
    mut build: impl FnMut(&Row<'_>) -> Option<T>,
) -> Result<Vec<T>, OmopError> {
    let csv_err = |e: csv::Error| OmopError::Csv {
        file: file.to_owned(),
        reason: describe_csv_error(&e),
    };
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header = rdr.byte_headers().map_err(csv_err)?.clone();
    let index = header_index(file, &header, columns)?;
    let mut out = Vec::new();
    let mut cells = vec![Cell::Missing; columns.len()];
    let mut record = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut record).map_err(csv_err)? {
        let line = record.position().map_or(0, |p| p.line());
        if read_cells(file, line, &record, columns, &index, &mut cells, diags) {
            let row = Row {
                columns,
                cells: &cells,
            };
            if let Some(item) = build(&row) {
                out.push(item);
            }
        }
    }
    Ok(out)
}

/// Maps each spec column to its position in the header.
fn header_index(
    file: &str,
    header: &csv::ByteRecord,
    columns: &'static [Col],
) -> Result<Vec<Option<usize>>, OmopError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    columns
        .iter()
        .map(|col| {
            let found = names.iter().position(|n| n == col.name);
            match (found, col.required) {
                (None, true) => Err(OmopError::MissingColumn {
                    file: file.to_owned(),
                    column: col.name,
                }),
                (found, _) => Ok(found),
            }
        })
        .collect()
}

/// Parses the cells of one record; false when a required cell is missing or bad.
fn read_cells(
    file: &str,
    line: u64,
    record: &csv::ByteRecord,
    columns: &'static [Col],
    index: &[Option<usize>],
    cells: &mut [Cell],
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    for (i, col) in columns.iter().enumerate() {
        cells[i] = Cell::Missing;
        let Some(pos) = index[i] else { continue };
        let raw = record.get(pos).map(String::from_utf8_lossy);
        let raw = raw.as_deref().map(str::trim).unwrap_or("");
        let location = format!("{file}:{line}:{}", pos + 1);
        if raw.is_empty() {
            if col.required {
                let message = format!("required column `{}` is empty; row skipped", col.name);
                diags.push(
                    &format!("{file}/{}/empty", col.name),
                    Severity::Error,
                    location,
                    message,
                );
                ok = false;
            }
            continue;
        }
        match parse_cell(raw, col.kind) {
            Some(cell) => cells[i] = cell,
            None if col.required => {
                let message = format!(
                    "column `{}` must be {}; row skipped",
                    col.name,
                    col.kind.expected()
                );
                diags.push(
                    &format!("{file}/{}/type", col.name),
                    Severity::Error,
                    location,
                    message,
                );
                ok = false;
            }
            None => {
                let message = format!(
                    "column `{}` should be {}; value left empty",
                    col.name,
                    col.kind.expected()
                );
                diags.push(
                    &format!("{file}/{}/type", col.name),
                    Severity::Warning,
                    location,
                    message,
                );
            }
        }
    }
    ok
}

/// The csv crate's error without the offending bytes.
fn describe_csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => format!("I/O error: {io}"),
        csv::ErrorKind::Utf8 { pos, .. } => match pos {
            Some(p) => format!("invalid UTF-8 at line {}", p.line()),
            None => "invalid UTF-8".to_owned(),
        },
        _ => match e.position() {
            Some(p) => format!("malformed CSV at line {}", p.line()),
            None => "malformed CSV".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Col] = &[
        req("id", Kind::Int),
        req("day", Kind::Date),
        opt("value", Kind::Float),
        opt("note", Kind::Text),
    ];

    type Rows = Vec<(i64, String, Option<f64>, Option<String>)>;

    fn read(csv: &str) -> (Rows, Vec<String>) {
        let mut diags = Diagnostics::default();
        let rows = read_table("t.csv", csv.as_bytes(), COLS, &mut diags, |r| {
            Some((
                r.int("id")?,
                r.date("day")?.to_string(),
                r.float("value"),
                r.text("note"),
            ))
        })
        .unwrap();
        (
            rows,
            diags.into_vec().iter().map(|d| d.to_string()).collect(),
        )
    }

    #[test]
    fn reads_typed_rows_with_any_header_case() {
        let (rows, diags) = read("ID,Day,VALUE\n1,2020-01-02,1.5\n2.0,20200103,\n");
        assert_eq!(
            rows,
            vec![
                (1, "2020-01-02".into(), Some(1.5), None),
                (2, "2020-01-03".into(), None, None)
            ]
        );
        assert!(diags.is_empty());
    }

    #[test]
    fn bad_cells_are_reported_with_positions() {
        let (rows, diags) =
            read("id,day,value,note\nx,2020-01-02,1,a\n3,,1,b\n4,2020-01-04,abc,c\n");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            diags,
            vec![
                "error: t.csv:2:1: column `id` must be an integer; row skipped",
                "error: t.csv:3:2: required column `day` is empty; row skipped",
                "warning: t.csv:4:3: column `value` should be a number; value left empty",
            ]
        );
    }

    #[test]
    fn missing_required_column_stops_the_table() {
        let mut diags = Diagnostics::default();
        let err = read_table(
            "t.csv",
            "id,value\n1,2\n".as_bytes(),
            COLS,
            &mut diags,
            |_| Some(()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`day`"), "{err}");
    }

    #[test]
    fn ints_accept_float_exports_only_when_whole() {
        assert_eq!(parse_int("10204.0"), Some(10204));
        assert_eq!(parse_int("10204.5"), None);
        assert_eq!(parse_int(".0"), None);
    }
}
