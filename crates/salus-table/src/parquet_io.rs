//! Parquet reading and writing with the `parquet` crate's record and column APIs
//! (no Arrow: Arrow would add minutes to every clean build for no gain here).
//!
//! Reading maps every physical type to our two column types: integers, floats,
//! booleans and decimals become numeric; strings, dates and timestamps become text
//! (dates as ISO 8601). Writing stores numeric columns as optional DOUBLE and text
//! columns as optional UTF-8 BYTE_ARRAY, one row group per table.

use std::path::Path;
use std::sync::Arc;

use parquet::basic::{ConvertedType, Repetition, Type as PhysicalType};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::types::Type;

use crate::csv_io::temporary_sibling;
use crate::{Column, ColumnData, Table, TableError};

fn pq(e: impl std::fmt::Display) -> TableError {
    TableError::Parquet(e.to_string())
}

/// Reads a Parquet file into a table (flat schemas only).
pub fn read_parquet_path(path: &Path) -> Result<Table, TableError> {
    let file = std::fs::File::open(path).map_err(|source| TableError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| TableError::Parquet(format!("{}: {e}", path.display())))?;
    let descr = reader.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<String> = descr
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); names.len()];
    for row in reader.get_row_iter(None).map_err(pq)? {
        let row = row.map_err(pq)?;
        for (i, (_, field)) in row.get_column_iter().enumerate() {
            if let Some(col) = cells.get_mut(i) {
                col.push(cell_of(field)?);
            }
        }
    }
    let columns = names
        .into_iter()
        .zip(cells)
        .map(|(name, col)| column_of(name, col))
        .collect();
    Table::new(columns)
}

#[derive(Clone)]
enum Cell {
    Missing,
    Num(f64),
    Text(String),
}

fn cell_of(field: &Field) -> Result<Cell, TableError> {
    Ok(match field {
        Field::Null => Cell::Missing,
        Field::Bool(b) => Cell::Num(f64::from(u8::from(*b))),
        Field::Byte(v) => Cell::Num(f64::from(*v)),
        Field::Short(v) => Cell::Num(f64::from(*v)),
        Field::Int(v) => Cell::Num(f64::from(*v)),
        Field::Long(v) => Cell::Num(*v as f64),
        Field::UByte(v) => Cell::Num(f64::from(*v)),
        Field::UShort(v) => Cell::Num(f64::from(*v)),
        Field::UInt(v) => Cell::Num(f64::from(*v)),
        Field::ULong(v) => Cell::Num(*v as f64),
        Field::Float(v) => Cell::Num(f64::from(*v)),
        Field::Double(v) => Cell::Num(*v),
        Field::Decimal(_) => Cell::Num(field.to_string().parse::<f64>().map_err(pq)?),
        Field::Str(s) => Cell::Text(s.clone()),
        Field::Bytes(b) => Cell::Text(String::from_utf8_lossy(b.data()).into_owned()),
        Field::Date(_) | Field::TimestampMillis(_) | Field::TimestampMicros(_) => {
            Cell::Text(field.to_string().trim_matches('"').to_string())
        }
        other => {
            return Err(TableError::Parquet(format!(
                "unsupported nested or special value ({}); flatten the file to plain columns",
                kind(other)
            )));
        }
    })
}

fn kind(field: &Field) -> &'static str {
    match field {
        Field::Group(_) => "group",
        Field::ListInternal(_) => "list",
        Field::MapInternal(_) => "map",
        _ => "other",
    }
}

fn column_of(name: String, cells: Vec<Cell>) -> Column {
    let any_text = cells.iter().any(|c| matches!(c, Cell::Text(_)));
    if any_text {
        let values = cells
            .into_iter()
            .map(|c| match c {
                Cell::Missing => None,
                Cell::Num(x) => Some(crate::format_number(x)),
                Cell::Text(s) => Some(s),
            })
            .collect();
        Column::text(name, values)
    } else {
        let values = cells
            .into_iter()
            .map(|c| match c {
                Cell::Num(x) => Some(x),
                _ => None,
            })
            .collect();
        Column::numeric(name, values)
    }
}

/// Writes a table as a Parquet file atomically (temporary file, then rename).
pub fn write_parquet_path(table: &Table, path: &Path) -> Result<(), TableError> {
    let io = |source| TableError::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = temporary_sibling(path);
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer =
        SerializedFileWriter::new(file, Arc::new(schema_of(table)?), props).map_err(pq)?;
    let mut group = writer.next_row_group().map_err(pq)?;
    let mut index = 0;
    while let Some(mut col_writer) = group.next_column().map_err(pq)? {
        let column = &table.columns()[index];
        write_column(col_writer.untyped(), column)?;
        col_writer.close().map_err(pq)?;
        index += 1;
    }
    group.close().map_err(pq)?;
    let file = writer.into_inner().map_err(pq)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn schema_of(table: &Table) -> Result<Type, TableError> {
    let fields = table
        .columns()
        .iter()
        .map(|c| {
            let builder = match c.data() {
                ColumnData::Numeric(_) => {
                    Type::primitive_type_builder(c.name(), PhysicalType::DOUBLE)
                }
                ColumnData::Text(_) => {
                    Type::primitive_type_builder(c.name(), PhysicalType::BYTE_ARRAY)
                        .with_converted_type(ConvertedType::UTF8)
                }
            };
            builder
                .with_repetition(Repetition::OPTIONAL)
                .build()
                .map(Arc::new)
                .map_err(pq)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
        .map_err(pq)
}

fn write_column(writer: &mut ColumnWriter<'_>, column: &Column) -> Result<(), TableError> {
    let defs: Vec<i16> = (0..column.len())
        .map(|r| i16::from(!column.is_missing(r)))
        .collect();
    match (writer, column.data()) {
        (ColumnWriter::DoubleColumnWriter(w), ColumnData::Numeric(v)) => {
            let values: Vec<f64> = v.iter().flatten().copied().collect();
            w.write_batch(&values, Some(&defs), None).map_err(pq)?;
        }
        (ColumnWriter::ByteArrayColumnWriter(w), ColumnData::Text(v)) => {
            let values: Vec<ByteArray> = v
                .iter()
                .flatten()
                .map(|s| ByteArray::from(s.as_str()))
                .collect();
            w.write_batch(&values, Some(&defs), None).map_err(pq)?;
        }
        _ => {
            return Err(TableError::Parquet(
                "column writer does not match the schema".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_types_and_missing_values() {
        let table = Table::new(vec![
            Column::numeric("age", vec![Some(70.0), None, Some(56.5)]),
            Column::text("stage", vec![Some("II".into()), Some("III".into()), None]),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet_path(&table, &path).unwrap();
        let back = read_parquet_path(&path).unwrap();
        assert_eq!(back, table);
    }

    #[test]
    fn a_csv_file_is_not_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.parquet");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let err = read_parquet_path(&path).unwrap_err();
        assert!(matches!(err, TableError::Parquet(_)), "{err}");
    }
}
