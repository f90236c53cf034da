//! The domain: which columns are modelled, and how each value maps to a cell (a category,
//! a numeric bin, a date bin, or "missing"). Encoding turns a table into cell codes; decoding
//! turns sampled codes back into a table with the input's column names and value domains.
//!
//! A domain is public metadata: it is stored in the model file and, for federated synthesis,
//! fixed by the study before any node counts. Categories read from the data (rather than a
//! schema) are treated as public, as in smartnoise-synth and Private-PGM; each attribute
//! records where its domain came from ([`DomainSource`]).

use std::collections::HashMap;

use rand::Rng;
use salus_table::{Column, ColumnData, Table, format_number};
use serde::{Deserialize, Serialize};

use crate::binning::{bin_of, format_date, parse_date, sample_in_bin};
use crate::error::{Result, SynthError, column_error};

/// How the values of one attribute map to cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttributeKind {
    /// Labels, one cell each. `numeric_labels` marks a numeric input column modelled as
    /// categories (its output stays numeric).
    Categorical {
        /// The labels, in cell order.
        categories: Vec<String>,
        /// The input column was numeric.
        #[serde(default)]
        numeric_labels: bool,
    },
    /// Numbers in bins `[e_i, e_{i+1})` (values outside are clamped into the end bins).
    Numeric {
        /// Bin edges, ascending, at least two.
        edges: Vec<f64>,
        /// Values are integers (sampled values stay integers).
        integer: bool,
    },
    /// ISO dates (`YYYY-MM-DD`) in bins of day numbers (days since 1970-01-01).
    Date {
        /// Bin edges in days, ascending, at least two.
        edges: Vec<i64>,
    },
}

/// Where an attribute's domain came from (recorded in the model for the privacy statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainSource {
    /// Given by the caller (schema, `--bounds`, the study): public.
    Public,
    /// Categories read from the data and treated as public metadata.
    Data,
    /// Bounds estimated with differential privacy (charged to the budget).
    DpEstimate,
}

/// One modelled column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Column name (same as in the input).
    pub name: String,
    /// Cell mapping.
    #[serde(flatten)]
    pub kind: AttributeKind,
    /// The last cell stands for "missing".
    pub missing: bool,
    /// Provenance of the domain.
    pub source: DomainSource,
}

impl Attribute {
    /// Number of value cells, not counting "missing".
    pub fn value_cells(&self) -> usize {
        match &self.kind {
            AttributeKind::Categorical { categories, .. } => categories.len(),
            AttributeKind::Numeric { edges, .. } => edges.len().saturating_sub(1),
            AttributeKind::Date { edges } => edges.len().saturating_sub(1),
        }
    }

    /// Number of cells, including "missing" when present.
    pub fn size(&self) -> usize {
        self.value_cells() + usize::from(self.missing)
    }

    /// The cell of the missing value, if the attribute has one.
    pub fn missing_cell(&self) -> Option<usize> {
        self.missing.then(|| self.value_cells())
    }

    /// A human label for cell `cell` (category, bin range, or "missing").
    pub fn cell_label(&self, cell: usize) -> String {
        if Some(cell) == self.missing_cell() {
            return "(missing)".to_string();
        }
        match &self.kind {
            AttributeKind::Categorical { categories, .. } => categories[cell].clone(),
            AttributeKind::Numeric { edges, .. } => {
                format!(
                    "[{}, {})",
                    format_number(edges[cell]),
                    format_number(edges[cell + 1])
                )
            }
            AttributeKind::Date { edges } => {
                format!(
                    "[{}, {})",
                    format_date(edges[cell]),
                    format_date(edges[cell + 1])
                )
            }
        }
    }

    /// The cell of one value given as text (for `--given`): a category, a number inside the
    /// bounds, or a date inside the bounds; empty text means "missing".
    pub fn cell_of_text(&self, text: &str) -> Result<usize> {
        let text = text.trim();
        let outside = |why: &str| SynthError::Condition {
            column: self.name.clone(),
            reason: format!("the value is {why}; use a value of the model's domain"),
        };
        if text.is_empty() {
            return self
                .missing_cell()
                .ok_or_else(|| outside("missing but the column has no missing values"));
        }
        match &self.kind {
            AttributeKind::Categorical {
                categories,
                numeric_labels,
            } => {
                let wanted = match (numeric_labels, text.parse::<f64>()) {
                    (true, Ok(x)) => format_number(x),
                    _ => text.to_string(),
                };
                categories
                    .iter()
                    .position(|c| *c == wanted)
                    .ok_or_else(|| outside("not one of the categories"))
            }
            AttributeKind::Numeric { edges, integer } => {
                let x: f64 = text.parse().map_err(|_| outside("not a number"))?;
                let (lo, hi) = (edges[0], edges[edges.len() - 1]);
                let inside = if *integer {
                    x >= lo && x < hi && x.fract() == 0.0
                } else {
                    x >= lo && x <= hi
                };
                if !inside {
                    return Err(outside("outside the column's bounds"));
                }
                Ok(bin_of(edges, x))
            }
            AttributeKind::Date { edges } => {
                let d = parse_date(text).ok_or_else(|| outside("not a YYYY-MM-DD date"))?;
                if d < edges[0] || d >= edges[edges.len() - 1] {
                    return Err(outside("outside the column's date bounds"));
                }
                Ok(date_bin(edges, d))
            }
        }
    }
}

fn date_bin(edges: &[i64], day: i64) -> usize {
    let bins = edges.len().saturating_sub(1).max(1);
    edges
        .partition_point(|&e| e <= day)
        .saturating_sub(1)
        .min(bins - 1)
}

/// The modelled columns, in output order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    attributes: Vec<Attribute>,
}

/// A table encoded as one cell code per row and attribute (column-major).
#[derive(Clone, PartialEq)]
pub struct Encoded {
    /// `codes[a][row]`: the cell of attribute `a` in `row`.
    pub codes: Vec<Vec<u32>>,
    /// Number of rows.
    pub rows: usize,
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Encoded(<{} rows x {} attributes>)",
            self.rows,
            self.codes.len()
        )
    }
}

impl Domain {
    /// A domain from attributes; names must be distinct and every attribute non-empty.
    pub fn new(attributes: Vec<Attribute>) -> Result<Self> {
        let mut seen = std::collections::HashSet::new();
        for a in &attributes {
            if !seen.insert(a.name.as_str()) {
                return Err(column_error(&a.name, "appears twice in the domain"));
            }
            if a.size() == 0 {
                return Err(column_error(
                    &a.name,
                    "has no cells; give categories or bounds",
                ));
            }
            let sorted = match &a.kind {
                AttributeKind::Numeric { edges, .. } => {
                    edges.len() >= 2
                        && edges.windows(2).all(|w| w[0] < w[1])
                        && edges.iter().all(|e| e.is_finite())
                }
                AttributeKind::Date { edges } => {
                    edges.len() >= 2 && edges.windows(2).all(|w| w[0] < w[1])
                }
                AttributeKind::Categorical { .. } => true,
            };
            if !sorted {
                return Err(column_error(
                    &a.name,
                    "bin edges must be finite and strictly increasing",
                ));
            }
        }
        Ok(Domain { attributes })
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// True when there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// Cells per attribute.
    pub fn sizes(&self) -> Vec<usize> {
        self.attributes.iter().map(Attribute::size).collect()
    }

    /// Index of an attribute by name.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.attributes
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| SynthError::UnknownColumn {
                name: name.to_string(),
                available: self.names().join(", "),
            })
    }

    /// Attribute names, in order.
    pub fn names(&self) -> Vec<String> {
        self.attributes.iter().map(|a| a.name.clone()).collect()
    }

    /// Encodes the domain's columns of `table` as cell codes. Numbers outside the bounds are
    /// clamped; unknown categories and unexpected missing values are errors (counted, never
    /// shown).
    pub fn encode(&self, table: &Table) -> Result<Encoded> {
        let codes = self
            .attributes
            .iter()
            .map(|a| {
                let column = table
                    .column(&a.name)
                    .map_err(|_| SynthError::UnknownColumn {
                        name: a.name.clone(),
                        available: table.names().join(", "),
                    })?;
                encode_column(a, column)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Encoded {
            codes,
            rows: table.nrows(),
        })
    }

    /// Decodes cell codes into a table: categories as labels, numeric bins as a uniform draw
    /// inside the bin (integers stay integers), date bins as a uniform day, missing as empty.
    pub fn decode<R: Rng + ?Sized>(&self, codes: &[Vec<u32>], rng: &mut R) -> Result<Table> {
        let columns = self
            .attributes
            .iter()
            .zip(codes)
            .map(|(a, c)| decode_column(a, c, rng))
            .collect();
        Ok(Table::new(columns)?)
    }
}

fn encode_column(attribute: &Attribute, column: &Column) -> Result<Vec<u32>> {
    let rows = column.len();
    let mut out = Vec::with_capacity(rows);
    let mut outside = 0usize;
    let mut unexpected_missing = 0usize;
    let missing_code = attribute.missing_cell().map(|c| c as u32);
    let lookup: HashMap<&str, u32> = match &attribute.kind {
        AttributeKind::Categorical { categories, .. } => categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect(),
        _ => HashMap::new(),
    };
    for row in 0..rows {
        if column.is_missing(row) {
            match missing_code {
                Some(code) => out.push(code),
                None => {
                    unexpected_missing += 1;
                    out.push(0);
                }
            }
            continue;
        }
        let code = match &attribute.kind {
            AttributeKind::Categorical { .. } => column
                .display(row)
                .and_then(|text| lookup.get(text.as_ref()).copied()),
            AttributeKind::Numeric { edges, .. } => {
                column.number(row).map(|x| bin_of(edges, x) as u32)
            }
            AttributeKind::Date { edges } => column
                .display(row)
                .and_then(|t| parse_date(&t))
                .map(|d| date_bin(edges, d) as u32),
        };
        match code {
            Some(code) => out.push(code),
            None => {
                outside += 1;
                out.push(0);
            }
        }
    }
    if unexpected_missing > 0 {
        return Err(SynthError::OutsideDomain {
            column: attribute.name.clone(),
            count: unexpected_missing,
            hint: " (missing values, but the domain has no missing category)".to_string(),
        });
    }
    if outside > 0 {
        return Err(SynthError::OutsideDomain {
            column: attribute.name.clone(),
            count: outside,
            hint: String::new(),
        });
    }
    Ok(out)
}

fn decode_column<R: Rng + ?Sized>(attribute: &Attribute, codes: &[u32], rng: &mut R) -> Column {
    let missing = attribute.missing_cell();
    let name = attribute.name.clone();
    let is_missing = |code: u32| Some(code as usize) == missing;
    match &attribute.kind {
        AttributeKind::Categorical {
            categories,
            numeric_labels,
        } => {
            let labels = codes
                .iter()
                .map(|&c| (!is_missing(c)).then(|| categories[c as usize].clone()));
            if *numeric_labels {
                Column::numeric(
                    name,
                    labels
                        .map(|l| l.and_then(|s| s.parse::<f64>().ok()))
                        .collect(),
                )
            } else {
                Column::text(name, labels.collect())
            }
        }
        AttributeKind::Numeric { edges, integer } => {
            let values = codes
                .iter()
                .map(|&c| (!is_missing(c)).then(|| sample_in_bin(edges, c as usize, *integer, rng)))
                .collect();
            Column::numeric(name, values)
        }
        AttributeKind::Date { edges } => {
            let values = codes
                .iter()
                .map(|&c| {
                    (!is_missing(c)).then(|| {
                        let (lo, hi) = (edges[c as usize], edges[c as usize + 1] - 1);
                        format_date(rng.random_range(lo..=hi.max(lo)))
                    })
                })
                .collect();
            Column::text(name, values)
        }
    }
}

/// The data of a column as text labels (numbers rendered shortest), for category discovery.
pub(crate) fn column_labels(column: &Column) -> Vec<Option<String>> {
    match column.data() {
        ColumnData::Text(v) => v.clone(),
        ColumnData::Numeric(v) => v.iter().map(|x| x.map(format_number)).collect(),
    }
}
