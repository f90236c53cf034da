//! Building a [`Domain`] from a table and optional per-column specifications (a schema).
//!
//! - Text columns become categorical (or dates when every value is `YYYY-MM-DD`); their
//!   categories come from the schema or, failing that, from the data (treated as public).
//! - Numeric columns are binned between public bounds from the schema, or bounds estimated
//!   with the discrete Gaussian (see [`crate::binning`]), charged to the accountant as
//!   `bounds:<column>`. Integer columns keep integer bins.
//! - A column with missing values gets a "missing" cell.

use rand::{CryptoRng, Rng};
use salus_table::{Column, ColumnData, Table};
use serde::{Deserialize, Serialize};

use crate::accountant::{Accountant, PLAN_SAFETY};
use crate::binning::{dp_date_bounds, dp_numeric_bounds, integer_edges, parse_date, real_edges};
use crate::domain::{Attribute, AttributeKind, Domain, DomainSource, column_labels};
use crate::error::{Result, SynthError, column_error};

/// The kind a column should be modelled as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindHint {
    /// One cell per label.
    Categorical,
    /// Binned numbers.
    Numeric,
    /// Binned ISO dates.
    Date,
}

/// What the caller knows publicly about one column (one entry of a schema file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// Force a kind (else inferred from the data type).
    #[serde(default)]
    pub kind: Option<KindHint>,
    /// The public list of categories.
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    /// Public bounds `[lower, upper]` as text (numbers or `YYYY-MM-DD` dates).
    #[serde(default)]
    pub bounds: Option<(String, String)>,
    /// Number of bins for this column.
    #[serde(default)]
    pub bins: Option<usize>,
    /// Whether values are integers.
    #[serde(default)]
    pub integer: Option<bool>,
    /// Whether the column can be missing.
    #[serde(default)]
    pub missing: Option<bool>,
}

/// Options for [`infer_domain`].
#[derive(Debug, Clone, PartialEq)]
pub struct DomainOptions {
    /// Columns to model, in order (default: all columns of the table).
    pub columns: Option<Vec<String>>,
    /// Public knowledge per column.
    pub specs: Vec<ColumnSpec>,
    /// Bins for numeric and date columns that are not modelled one cell per integer.
    pub bins: usize,
    /// Integer ranges up to this many values get one bin per integer.
    pub max_unit_bins: usize,
    /// Refuse data-derived categorical columns with more distinct values (identifiers,
    /// free text): their category list would itself disclose records.
    pub max_categories: usize,
}

impl Default for DomainOptions {
    fn default() -> Self {
        DomainOptions {
            columns: None,
            specs: Vec::new(),
            bins: 32,
            max_unit_bins: 100,
            max_categories: 500,
        }
    }
}

/// Builds the domain of `table`. Columns needing DP bounds share `bounds_rho` equally; it is
/// charged to `accountant` only if at least one column needs it.
pub fn infer_domain<R: Rng + CryptoRng + ?Sized>(
    table: &Table,
    options: &DomainOptions,
    accountant: &mut Accountant,
    bounds_rho: f64,
    rng: &mut R,
) -> Result<Domain> {
    let names: Vec<String> = match &options.columns {
        Some(c) => c.clone(),
        None => table.names().iter().map(|s| s.to_string()).collect(),
    };
    for spec in &options.specs {
        check_column(table, &spec.name)?;
    }
    let plans = names
        .iter()
        .map(|name| {
            let column = check_column(table, name)?;
            let spec = options
                .specs
                .iter()
                .find(|s| s.name == *name)
                .cloned()
                .unwrap_or_default();
            Ok((column, spec))
        })
        .collect::<Result<Vec<_>>>()?;
    let needing = plans.iter().filter(|(c, s)| needs_dp_bounds(c, s)).count();
    let sigma = if needing > 0 {
        let share = bounds_rho * PLAN_SAFETY / needing as f64;
        if share.is_nan() || share <= 0.0 {
            return Err(SynthError::Privacy(
                "no budget left to estimate numeric bounds privately; give --bounds".to_string(),
            ));
        }
        salus_dp::zcdp::sigma_for_rho(1.0, share)
    } else {
        f64::INFINITY
    };
    let mut attributes = Vec::with_capacity(plans.len());
    for (column, spec) in plans {
        let mut context = Context {
            options,
            accountant: &mut *accountant,
            sigma,
            rng: &mut *rng,
        };
        attributes.push(build_attribute(column, &spec, &mut context)?);
    }
    Domain::new(attributes)
}

struct Context<'a, R: ?Sized> {
    options: &'a DomainOptions,
    accountant: &'a mut Accountant,
    sigma: f64,
    rng: &'a mut R,
}

fn check_column<'t>(table: &'t Table, name: &str) -> Result<&'t Column> {
    table.column(name).map_err(|_| SynthError::UnknownColumn {
        name: name.to_string(),
        available: table.names().join(", "),
    })
}

fn kind_of(column: &Column, spec: &ColumnSpec) -> KindHint {
    if let Some(kind) = spec.kind {
        return kind;
    }
    if spec.categories.is_some() {
        return KindHint::Categorical;
    }
    match column.data() {
        ColumnData::Numeric(_) => KindHint::Numeric,
        ColumnData::Text(values) => {
            let mut present = values.iter().flatten().peekable();
            if present.peek().is_some() && present.all(|v| parse_date(v).is_some()) {
                KindHint::Date
            } else {
                KindHint::Categorical
            }
        }
    }
}

fn needs_dp_bounds(column: &Column, spec: &ColumnSpec) -> bool {
    matches!(kind_of(column, spec), KindHint::Numeric | KindHint::Date) && spec.bounds.is_none()
}

fn has_missing(column: &Column, spec: &ColumnSpec) -> bool {
    spec.missing
        .unwrap_or_else(|| (0..column.len()).any(|r| column.is_missing(r)))
}

fn build_attribute<R: Rng + CryptoRng + ?Sized>(
    column: &Column,
    spec: &ColumnSpec,
    context: &mut Context<'_, R>,
) -> Result<Attribute> {
    let name = column.name().to_string();
    let missing = has_missing(column, spec);
    let (kind, source) = match kind_of(column, spec) {
        KindHint::Categorical => categorical(column, spec, context.options)?,
        KindHint::Numeric => numeric(column, spec, context)?,
        KindHint::Date => date(column, spec, context)?,
    };
    Ok(Attribute {
        name,
        kind,
        missing,
        source,
    })
}

fn categorical(
    column: &Column,
    spec: &ColumnSpec,
    options: &DomainOptions,
) -> Result<(AttributeKind, DomainSource)> {
    let numeric_labels = matches!(column.data(), ColumnData::Numeric(_));
    if let Some(categories) = &spec.categories {
        return Ok((
            AttributeKind::Categorical {
                categories: categories.clone(),
                numeric_labels,
            },
            DomainSource::Public,
        ));
    }
    let mut labels: Vec<String> = column_labels(column).into_iter().flatten().collect();
    if numeric_labels {
        labels.sort_by(|a, b| {
            let (x, y) = (
                a.parse::<f64>().unwrap_or(f64::NAN),
                b.parse::<f64>().unwrap_or(f64::NAN),
            );
            x.total_cmp(&y)
        });
    } else {
        labels.sort();
    }
    labels.dedup();
    if labels.len() > options.max_categories {
        return Err(column_error(
            column.name(),
            format!(
                "has {} distinct values, more than the {} allowed for categories read from the data \
                 (an identifier or free text?); leave it out with --columns, bin it as numeric, or \
                 list its public categories in a schema",
                labels.len(),
                options.max_categories
            ),
        ));
    }
    Ok((
        AttributeKind::Categorical {
            categories: labels,
            numeric_labels,
        },
        DomainSource::Data,
    ))
}

fn numeric<R: Rng + CryptoRng + ?Sized>(
    column: &Column,
    spec: &ColumnSpec,
    context: &mut Context<'_, R>,
) -> Result<(AttributeKind, DomainSource)> {
    let mut values = Vec::with_capacity(column.len());
    for row in 0..column.len() {
        if column.is_missing(row) {
            continue;
        }
        let x = column
            .number(row)
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                column_error(
                    column.name(),
                    "is modelled as numeric but holds text; mark it categorical",
                )
            })?;
        values.push(x);
    }
    let integer = spec
        .integer
        .unwrap_or_else(|| values.iter().all(|x| x.fract() == 0.0));
    let bins = spec.bins.unwrap_or(context.options.bins).max(1);
    let (lower, upper, source) = match &spec.bounds {
        Some((lo, hi)) => {
            let parse = |t: &str| {
                t.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        column_error(
                            column.name(),
                            "bounds must be two numbers, e.g. --bounds age=17:90",
                        )
                    })
            };
            let (lo, hi) = (parse(lo)?, parse(hi)?);
            if lo > hi {
                return Err(column_error(
                    column.name(),
                    "the lower bound is above the upper bound",
                ));
            }
            // Public upper bounds are inclusive; for integers the edge after the last value.
            (
                lo,
                if integer { hi.floor() + 1.0 } else { hi },
                DomainSource::Public,
            )
        }
        None => {
            context
                .accountant
                .charge(format!("bounds:{}", column.name()), rho_of(context.sigma))?;
            let (lo, hi) = dp_numeric_bounds(&values, context.sigma, context.rng)?
                .ok_or_else(|| no_bounds(column.name()))?;
            (lo, hi, DomainSource::DpEstimate)
        }
    };
    let edges = if integer {
        let (lo, hi) = (
            lower.ceil() as i64,
            (upper.ceil() as i64 - 1).max(lower.ceil() as i64),
        );
        integer_edges(lo, hi, bins, context.options.max_unit_bins)
            .into_iter()
            .map(|e| e as f64)
            .collect()
    } else {
        real_edges(lower, upper, bins)
    };
    Ok((AttributeKind::Numeric { edges, integer }, source))
}

fn date<R: Rng + CryptoRng + ?Sized>(
    column: &Column,
    spec: &ColumnSpec,
    context: &mut Context<'_, R>,
) -> Result<(AttributeKind, DomainSource)> {
    let mut days = Vec::with_capacity(column.len());
    for row in 0..column.len() {
        if let Some(text) = column.display(row) {
            days.push(parse_date(&text).ok_or_else(|| {
                column_error(
                    column.name(),
                    "is modelled as a date but has a value that is not YYYY-MM-DD",
                )
            })?);
        }
    }
    let (lower, upper, source) = match &spec.bounds {
        Some((lo, hi)) => {
            let parse = |t: &str| {
                parse_date(t).ok_or_else(|| {
                    column_error(
                        column.name(),
                        "date bounds must be YYYY-MM-DD, e.g. 2000-01-01:2020-12-31",
                    )
                })
            };
            let (lo, hi) = (parse(lo)?, parse(hi)?);
            if lo > hi {
                return Err(column_error(
                    column.name(),
                    "the lower bound is after the upper bound",
                ));
            }
            (lo, hi, DomainSource::Public)
        }
        None => {
            context
                .accountant
                .charge(format!("bounds:{}", column.name()), rho_of(context.sigma))?;
            let (lo, hi) = dp_date_bounds(&days, context.sigma, context.rng)?
                .ok_or_else(|| no_bounds(column.name()))?;
            (lo, hi, DomainSource::DpEstimate)
        }
    };
    let bins = spec.bins.unwrap_or(context.options.bins).max(1);
    let edges = integer_edges(lower, upper, bins, context.options.max_unit_bins);
    Ok((AttributeKind::Date { edges }, source))
}

fn rho_of(sigma: f64) -> f64 {
    salus_dp::zcdp::rho_discrete_gaussian(1.0, sigma)
}

fn no_bounds(column: &str) -> SynthError {
    column_error(
        column,
        "too few rows to estimate its bounds privately with this budget; give public bounds, \
         e.g. --bounds age=0:120",
    )
}
