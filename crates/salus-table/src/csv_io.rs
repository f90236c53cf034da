//! CSV reading with type inference, and CSV writing.
//!
//! Every cell is read as text first; a column becomes numeric when every non-missing
//! cell parses as a number and none looks like a code with leading zeros (`"007"`,
//! postcodes), which must stay text. Options can force a column's type.

use std::io::{Read, Write};
use std::path::Path;

use crate::{Column, ColumnData, Table, TableError, format_number};

/// How to read a CSV file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Field delimiter (`b','` by default; ARX files use `b';'`).
    pub delimiter: u8,
    /// Cell values (after trimming) that mean "missing".
    pub missing: Vec<String>,
    /// Trim surrounding whitespace from every cell.
    pub trim: bool,
    /// Columns to keep as text even when every value is a number.
    pub text_columns: Vec<String>,
    /// Columns that must be numeric: a non-number in them is an error with its line.
    pub numeric_columns: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            missing: ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            trim: true,
            text_columns: Vec::new(),
            numeric_columns: Vec::new(),
        }
    }
}

impl CsvOptions {
    /// Default options with another delimiter.
    pub fn with_delimiter(delimiter: u8) -> Self {
        CsvOptions {
            delimiter,
            ..CsvOptions::default()
        }
    }
}

/// Reads a CSV file (header line required) into a table.
pub fn read_csv_path(path: &Path, options: &CsvOptions) -> Result<Table, TableError> {
    let file = std::fs::File::open(path).map_err(|source| TableError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_csv(std::io::BufReader::new(file), options).map_err(|e| match e {
        TableError::Csv { location, message } => TableError::Csv {
            location: format!("{} {location}", path.display()),
            message,
        },
        other => other,
    })
}

/// Reads CSV from any reader (header line required) into a table.
///
/// One pass stores each column's cells as raw bytes in one buffer (no allocation per
/// cell); columns are then typed and converted in parallel, each buffer freed as soon
/// as its column is built, so peak memory stays near the file size plus the result.
pub fn read_csv(reader: impl Read, options: &CsvOptions) -> Result<Table, TableError> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(TableError::Empty);
    }
    let missing: Vec<&[u8]> = options.missing.iter().map(|m| m.as_bytes()).collect();
    let mut raw: Vec<RawColumn> = headers.iter().map(|_| RawColumn::default()).collect();
    let mut record = csv::ByteRecord::new();
    while rdr
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(&e))?
    {
        for (col, field) in raw.iter_mut().zip(record.iter()) {
            let value = if options.trim {
                field.trim_ascii()
            } else {
                field
            };
            col.push(value, missing.contains(&value));
        }
    }
    let jobs: Vec<(String, RawColumn)> = headers.into_iter().zip(raw).collect();
    let columns = convert_parallel(jobs, options)?;
    Table::new(columns)
}

/// Bit marking a missing cell in [`RawColumn::ends`].
const MISSING: u64 = 1 << 63;

/// One column's cells as read: their bytes back to back and where each ends.
#[derive(Default)]
struct RawColumn {
    bytes: Vec<u8>,
    ends: Vec<u64>,
}

impl RawColumn {
    fn push(&mut self, value: &[u8], missing: bool) {
        if missing {
            self.ends.push(self.bytes.len() as u64 | MISSING);
        } else {
            self.bytes.extend_from_slice(value);
            self.ends.push(self.bytes.len() as u64);
        }
    }

    /// The cells in order (`None` for missing).
    fn cells(&self) -> impl Iterator<Item = Option<&[u8]>> {
        let mut start = 0usize;
        self.ends.iter().map(move |&e| {
            if e & MISSING != 0 {
                return None;
            }
            let end = e as usize;
            let cell = &self.bytes[start..end];
            start = end;
            Some(cell)
        })
    }
}

/// Types and converts columns on up to four threads (each column independently),
/// keeping the header order.
fn convert_parallel(
    jobs: Vec<(String, RawColumn)>,
    options: &CsvOptions,
) -> Result<Vec<Column>, TableError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
        .min(jobs.len());
    if threads <= 1 {
        return jobs
            .into_iter()
            .map(|(name, raw)| typed_column(name, raw, options))
            .collect();
    }
    let mut chunks: Vec<Vec<(usize, (String, RawColumn))>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (i, job) in jobs.into_iter().enumerate() {
        chunks[i % threads].push((i, job));
    }
    let mut converted: Vec<(usize, Result<Column, TableError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(i, (name, raw))| (i, typed_column(name, raw, options)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    converted.sort_by_key(|(i, _)| *i);
    converted.into_iter().map(|(_, column)| column).collect()
}

fn typed_column(name: String, raw: RawColumn, options: &CsvOptions) -> Result<Column, TableError> {
    if options.text_columns.contains(&name) {
        return text_column(name, &raw, options);
    }
    let must_be_numeric = options.numeric_columns.contains(&name);
    let mut numbers = Vec::with_capacity(raw.ends.len());
    for (row, cell) in raw.cells().enumerate() {
        let Some(bytes) = cell else {
            numbers.push(None);
            continue;
        };
        match std::str::from_utf8(bytes).ok().and_then(parse_number) {
            Some(x) => numbers.push(Some(x)),
            None if must_be_numeric => {
                return Err(TableError::Csv {
                    location: format!("line {}, column `{name}`", row + 2),
                    message: "expected a number; fix the value or mark it missing".into(),
                });
            }
            None => return text_column(name, &raw, options),
        }
    }
    Ok(Column::numeric(name, numbers))
}

fn text_column(name: String, raw: &RawColumn, options: &CsvOptions) -> Result<Column, TableError> {
    let mut values = Vec::with_capacity(raw.ends.len());
    for (row, cell) in raw.cells().enumerate() {
        let Some(bytes) = cell else {
            values.push(None);
            continue;
        };
        let text = std::str::from_utf8(bytes).map_err(|_| TableError::Csv {
            location: format!("line {}, column `{name}`", row + 2),
            message: "text is not valid UTF-8; re-encode the file as UTF-8".into(),
        })?;
        // Bytes were trimmed of ASCII blanks; trim Unicode blanks too, then re-check
        // the missing markers on the trimmed text.
        let text = if options.trim { text.trim() } else { text };
        let missing = options.missing.iter().any(|m| m == text);
        values.push((!missing).then(|| text.to_string()));
    }
    Ok(Column::text(name, values))
}

fn csv_error(e: &csv::Error) -> TableError {
    let location = e
        .position()
        .map(|p| format!("line {}", p.line()))
        .unwrap_or_else(|| "input".to_string());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "row has {len} fields but the header has {expected_len}; check the delimiter and quoting"
        ),
        csv::ErrorKind::Utf8 { .. } => {
            "text is not valid UTF-8; re-encode the file as UTF-8".to_string()
        }
        _ => e.to_string(),
    };
    TableError::Csv { location, message }
}

/// Parses a cell as a number unless it looks like a code (leading zeros, `+` signs,
/// hex, infinities), which stays text.
fn parse_number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let leading_zero_code =
        digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.");
    if leading_zero_code || s.starts_with('+') {
        return None;
    }
    if !digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Writes a table as CSV (header + rows; missing values as empty cells).
pub fn write_csv(table: &Table, writer: impl Write, delimiter: u8) -> Result<(), TableError> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(writer);
    let io = |e: csv::Error| TableError::Csv {
        location: "output".into(),
        message: e.to_string(),
    };
    w.write_record(table.names()).map_err(io)?;
    let mut row: Vec<String> = Vec::with_capacity(table.ncols());
    for r in 0..table.nrows() {
        row.clear();
        for c in table.columns() {
            row.push(match c.data() {
                ColumnData::Numeric(v) => v[r].map(format_number).unwrap_or_default(),
                ColumnData::Text(v) => v[r].clone().unwrap_or_default(),
            });
        }
        w.write_record(&row).map_err(io)?;
    }
    w.flush().map_err(|source| TableError::Io {
        path: "output".into(),
        source,
    })
}

/// Writes a table as a CSV file, atomically (temporary file then rename), so a crash
/// never leaves a half-written table behind.
pub fn write_csv_path(table: &Table, path: &Path, delimiter: u8) -> Result<(), TableError> {
    let io = |source| TableError::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = temporary_sibling(path);
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut buf = std::io::BufWriter::new(file);
    write_csv(table, &mut buf, delimiter)?;
    let file = buf.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

pub(crate) fn temporary_sibling(path: &Path) -> std::path::PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Table {
        read_csv(s.as_bytes(), &CsvOptions::default()).expect("valid csv")
    }

    #[test]
    fn infers_numeric_and_text() {
        let t = read("a,b,c\n1,x,2.5\n2,y,NA\n");
        assert_eq!(t.numeric("a").unwrap(), &[Some(1.0), Some(2.0)]);
        assert_eq!(t.text("b").unwrap()[1].as_deref(), Some("y"));
        assert_eq!(t.numeric("c").unwrap(), &[Some(2.5), None]);
    }

    #[test]
    fn a_column_that_turns_out_text_keeps_every_cell_as_written() {
        // Numbers first, text later: the earlier cells keep their exact spelling.
        let t = read("v,w\n1.50,1\n 2 ,2\nthree,3\n\u{a0}NA\u{a0},4\n\"q,uoted\",5\n");
        let v = t.text("v").unwrap();
        assert_eq!(
            v,
            &[
                Some("1.50".to_string()),
                Some("2".to_string()),
                Some("three".to_string()),
                None,
                Some("q,uoted".to_string())
            ]
        );
        assert_eq!(t.numeric("w").unwrap().len(), 5);
        // Wide input converted on several threads keeps the column order.
        let header: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        let row: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let wide = read(&format!("{}\n{}\n", header.join(","), row.join(",")));
        assert_eq!(wide.names()[39], "c39");
        assert_eq!(wide.numeric("c39").unwrap(), &[Some(39.0)]);
    }

    #[test]
    fn invalid_utf8_in_a_text_cell_names_its_line() {
        let err = read_csv(&b"a\nok\n\xff\xfe\n"[..], &CsvOptions::default()).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn codes_with_leading_zeros_stay_text() {
        let t = read("zip,n\n01234,0\n98765,0.5\n");
        assert_eq!(t.text("zip").unwrap()[0].as_deref(), Some("01234"));
        assert!(t.numeric("n").is_ok());
    }

    #[test]
    fn ragged_rows_are_an_error_with_a_line() {
        let err = read_csv("a,b\n1,2\n3\n".as_bytes(), &CsvOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("header has 2"), "{msg}");
    }

    #[test]
    fn forced_numeric_column_reports_the_bad_cell() {
        let opts = CsvOptions {
            numeric_columns: vec!["a".into()],
            ..CsvOptions::default()
        };
        let err = read_csv("a\n1\nabc\n".as_bytes(), &opts).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn semicolon_files_and_round_trip() {
        let opts = CsvOptions::with_delimiter(b';');
        let t = read_csv("sex;age\nMale;39\nFemale;\n".as_bytes(), &opts).unwrap();
        let mut out = Vec::new();
        write_csv(&t, &mut out, b';').unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "sex;age\nMale;39\nFemale;\n"
        );
    }

    #[test]
    fn quoted_numbers_are_numbers() {
        let t = read("\"start\",\"transplant\"\n0,\"0\"\n1,\"1\"\n");
        assert_eq!(t.numeric("transplant").unwrap(), &[Some(0.0), Some(1.0)]);
    }
}
