//! Cox model input: covariates, (start, stop] intervals or plain follow-up times,
//! event flags and strata, with the sort orders the risk-set sweep needs.

use salus_table::Table;
use serde::{Deserialize, Serialize};

use crate::columns::{binary_at, binary_spec, level_codes, numeric_at};
use crate::design::{CategoricalLevels, Design, DesignSpec};
use crate::error::{Result, StatsError};

/// The observations of one Cox model at one site.
///
/// Each row is at risk on `(start, stop]` (with `start = -inf` when no start times
/// are given) and has an event at `stop` when `event` is true. Rows of one subject
/// with time-dependent covariates are several rows with adjacent intervals; left
/// truncation is a start time after 0.
#[derive(Clone)]
pub struct CoxData {
    names: Vec<String>,
    p: usize,
    x: Vec<f64>,
    start: Option<Vec<f64>>,
    stop: Vec<f64>,
    event: Vec<bool>,
    strata: Vec<u32>,
    n_strata: usize,
    reference: Vec<f64>,
    prepared: Prepared,
}

/// Derived data: sort orders and per-stratum centring.
#[derive(Clone, Default)]
pub(crate) struct Prepared {
    /// Row indices sorted by (stratum, stop descending).
    pub(crate) by_stop: Vec<usize>,
    /// Row indices sorted by (stratum, start descending); empty without start times.
    pub(crate) by_start: Vec<usize>,
    /// `n_strata x p` centring constants (exact value for constant columns, else mean).
    pub(crate) center: Vec<f64>,
}

// Patient-level values never appear in Debug output.
impl std::fmt::Debug for CoxData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoxData")
            .field("rows", &self.nrows())
            .field("names", &self.names)
            .field("counting_process", &self.start.is_some())
            .field("n_strata", &self.n_strata)
            .finish_non_exhaustive()
    }
}

impl CoxData {
    /// Right-censored data: `x` is `n x p` row-major, one stop time and event flag per row.
    pub fn new(names: Vec<String>, x: Vec<f64>, stop: Vec<f64>, event: Vec<bool>) -> Result<Self> {
        let p = names.len();
        let n = stop.len();
        check_len("covariate values (rows x covariates)", n * p, x.len())?;
        check_len("event flags", n, event.len())?;
        check_finite("covariate", &x)?;
        check_finite("stop time", &stop)?;
        let mut data = CoxData {
            names,
            p,
            x,
            start: None,
            stop,
            event,
            strata: vec![0; n],
            n_strata: 1,
            reference: vec![0.0; p],
            prepared: Prepared::default(),
        };
        data.prepare();
        Ok(data)
    }

    /// Right-censored data from a design matrix.
    pub fn from_design(design: &Design, stop: Vec<f64>, event: Vec<bool>) -> Result<Self> {
        Self::new(
            design.names().to_vec(),
            design.matrix().to_vec(),
            stop,
            event,
        )
    }

    /// Adds start times: each row becomes the interval `(start, stop]`.
    pub fn with_start(mut self, start: Vec<f64>) -> Result<Self> {
        check_len("start times", self.nrows(), start.len())?;
        check_finite("start time", &start)?;
        if let Some(row) = (0..start.len()).find(|&i| start[i] >= self.stop[i]) {
            return Err(StatsError::EmptyInterval { row });
        }
        self.start = Some(start);
        self.prepare();
        Ok(self)
    }

    /// Adds strata: `codes[i] < n_strata` is the stratum of row `i`. Each stratum has
    /// its own baseline hazard. `n_strata` is public in federated studies (the length
    /// of the study's stratum level list), so a site may lack some strata.
    pub fn with_strata(mut self, codes: Vec<u32>, n_strata: usize) -> Result<Self> {
        check_len("stratum codes", self.nrows(), codes.len())?;
        if let Some(row) = codes.iter().position(|&c| c as usize >= n_strata) {
            return Err(StatsError::InvalidOption(format!(
                "row {row} has a stratum code outside 0..{n_strata}"
            )));
        }
        self.strata = codes;
        self.n_strata = n_strata.max(1);
        self.prepare();
        Ok(self)
    }

    /// Sets the public reference point (covariate values subtracted before `exp(x b)`)
    /// used by the grid sums. All sites of a study must use the same one; a value
    /// near the covariate means keeps `exp` in range. Local fits do not depend on it.
    pub fn with_reference(mut self, reference: Vec<f64>) -> Result<Self> {
        check_len("reference point", self.p, reference.len())?;
        check_finite("reference point", &reference)?;
        self.reference = reference;
        Ok(self)
    }

    /// Covariate names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of rows (intervals).
    pub fn nrows(&self) -> usize {
        self.stop.len()
    }

    /// Number of covariates.
    pub fn ncols(&self) -> usize {
        self.p
    }

    /// Number of events.
    pub fn n_events(&self) -> usize {
        self.event.iter().filter(|&&e| e).count()
    }

    /// Number of strata (public count).
    pub fn n_strata(&self) -> usize {
        self.n_strata
    }

    /// True when rows are (start, stop] intervals.
    pub fn is_counting_process(&self) -> bool {
        self.start.is_some()
    }

    /// The reference point of the grid sums.
    pub fn reference(&self) -> &[f64] {
        &self.reference
    }

    /// Column means over all rows (the point lifelines and R report baselines at).
    pub fn column_means(&self) -> Vec<f64> {
        let n = self.nrows().max(1) as f64;
        let mut means = vec![0.0; self.p];
        for i in 0..self.nrows() {
            for (m, v) in means.iter_mut().zip(self.row(i)) {
                *m += v;
            }
        }
        means.iter_mut().for_each(|m| *m /= n);
        means
    }

    /// The rows selected by `indices` (e.g. one site's share of a pooled table).
    pub fn take_rows(&self, indices: &[usize]) -> CoxData {
        let mut x = Vec::with_capacity(indices.len() * self.p);
        for &i in indices {
            x.extend_from_slice(self.row(i));
        }
        let pick = |v: &[f64]| indices.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let mut data = CoxData {
            names: self.names.clone(),
            p: self.p,
            x,
            start: self.start.as_deref().map(pick),
            stop: pick(&self.stop),
            event: indices.iter().map(|&i| self.event[i]).collect(),
            strata: indices.iter().map(|&i| self.strata[i]).collect(),
            n_strata: self.n_strata,
            reference: self.reference.clone(),
            prepared: Prepared::default(),
        };
        data.prepare();
        data
    }

    pub(crate) fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.p..(i + 1) * self.p]
    }
    pub(crate) fn start(&self) -> Option<&[f64]> {
        self.start.as_deref()
    }
    pub(crate) fn stop(&self) -> &[f64] {
        &self.stop
    }
    pub(crate) fn event(&self) -> &[bool] {
        &self.event
    }
    pub(crate) fn strata(&self) -> &[u32] {
        &self.strata
    }
    pub(crate) fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// Rebuilds the data with new times and events (same covariates and strata).
    pub(crate) fn with_times(
        &self,
        keep: &[usize],
        start: Option<Vec<f64>>,
        stop: Vec<f64>,
        event: Vec<bool>,
    ) -> CoxData {
        let mut data = self.take_rows(keep);
        data.start = start;
        data.stop = stop;
        data.event = event;
        data.prepare();
        data
    }

    fn prepare(&mut self) {
        let n = self.nrows();
        let stop = &self.stop;
        let strata = &self.strata;
        let mut by_stop: Vec<usize> = (0..n).collect();
        by_stop.sort_by(|&a, &b| strata[a].cmp(&strata[b]).then(stop[b].total_cmp(&stop[a])));
        let by_start = match &self.start {
            Some(start) => {
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|&a, &b| {
                    strata[a]
                        .cmp(&strata[b])
                        .then(start[b].total_cmp(&start[a]))
                });
                order
            }
            None => Vec::new(),
        };
        let center = self.centers();
        self.prepared = Prepared {
            by_stop,
            by_start,
            center,
        };
    }

    /// Per-stratum centring: the mean, or the exact value of a column that is constant
    /// within the stratum (so that it contributes exactly zero information).
    fn centers(&self) -> Vec<f64> {
        let (p, s) = (self.p, self.n_strata);
        let mut sum = vec![0.0; s * p];
        let mut min = vec![f64::INFINITY; s * p];
        let mut max = vec![f64::NEG_INFINITY; s * p];
        let mut count = vec![0usize; s];
        for i in 0..self.nrows() {
            let k = self.strata[i] as usize;
            count[k] += 1;
            for (j, &v) in self.row(i).iter().enumerate() {
                sum[k * p + j] += v;
                min[k * p + j] = min[k * p + j].min(v);
                max[k * p + j] = max[k * p + j].max(v);
            }
        }
        (0..s * p)
            .map(|idx| {
                let c = count[idx / p];
                if c == 0 {
                    0.0
                } else if min[idx] == max[idx] {
                    min[idx]
                } else {
                    sum[idx] / c as f64
                }
            })
            .collect()
    }
}

fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(StatsError::Shape {
            what,
            expected,
            actual,
        })
    }
}

fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(StatsError::NonFinite {
            what: what.to_string(),
            row: i,
        }),
        None => Ok(()),
    }
}

/// Which table columns make a Cox model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CoxSpec {
    /// Stop (or follow-up) time column.
    pub time: String,
    /// Event column: 0/1, true/false, or `COLUMN=VALUE`.
    pub event: String,
    /// Start time column for (start, stop] rows.
    pub start: Option<String>,
    /// Stratum column.
    pub strata: Option<String>,
    /// Public stratum level list (federated studies); `None` takes the sorted levels.
    pub strata_levels: Option<Vec<String>>,
    /// Covariates (no intercept: the baseline hazard absorbs it).
    pub design: DesignSpec,
}

/// A Cox model's data read from a table, with what was dropped.
#[derive(Debug, Clone)]
pub struct CoxInput {
    /// The model data.
    pub data: CoxData,
    /// Rows dropped for a missing value in a used column.
    pub dropped: usize,
    /// Stratum labels (index = stratum code); one empty label without strata.
    pub strata_levels: Vec<String>,
    /// Levels of the categorical covariates (reference first).
    pub levels: Vec<CategoricalLevels>,
}

impl CoxSpec {
    /// Reads the model's columns from `table` with listwise deletion.
    pub fn read(&self, table: &Table) -> Result<CoxInput> {
        let (event_column, _) = binary_spec(table, &self.event);
        let mut required = vec![self.time.as_str(), event_column];
        required.extend(self.start.as_deref());
        required.extend(self.strata.as_deref());
        let mut spec = self.design.clone();
        spec.intercept = false;
        let (design, dropped) = Design::build(table, &spec, &required)?;
        let rows = design.source_rows();
        let stop = numeric_at(table, &self.time, rows)?;
        let event = binary_at(table, &self.event, rows)?;
        let mut data = CoxData::from_design(&design, stop, event)?;
        if let Some(start) = &self.start {
            data = data.with_start(numeric_at(table, start, rows)?)?;
        }
        let mut strata_levels = vec![String::new()];
        if let Some(strata) = &self.strata {
            let (codes, levels) = level_codes(table, strata, rows, self.strata_levels.as_deref())?;
            let count = levels.len();
            data = data.with_strata(codes, count)?;
            strata_levels = levels;
        }
        Ok(CoxInput {
            data,
            dropped,
            strata_levels,
            levels: design.levels().to_vec(),
        })
    }
}
