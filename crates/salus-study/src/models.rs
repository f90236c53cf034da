//! Multi-round and model-based analyses on the hub side: Kaplan-Meier on a public
//! grid, Cox (stratified by site, or with a pooled baseline on a public grid, both
//! with optional `(start, stop]` rows), logistic regression by federated
//! Newton-Raphson, and linear regression from summed cross-products.
//!
//! Every round's vector starts with a `rows` count segment
//! `[rows used, events or positive outcomes, rows dropped for missing values]` and then
//! the model's sums (see [`crate::local_models`] for what a node puts there). The state
//! keeps only summed values, so it can be serialized and a restarted hub resumes; the
//! Newton driver is rebuilt by replaying the summed terms of past rounds (it is
//! deterministic), which keeps the stored state free of solver internals.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use salus_core::schema::{ColumnType, DatasetSchema};
use salus_core::study::{AnalysisSpec, CoxMode, GridSpec, StudySpec, Ties};
use salus_stats::cox::{self, Ties as StatsTies};
use salus_stats::glm::{self, Family, OutcomeStats};
use salus_stats::{
    DesignSpec, FitFailure, FitSummary, NewtonDriver, NewtonTerms, NextStep, Term, TimeGrid,
};

use crate::disclosure::release_count;
use crate::layout::Layout;
use crate::plan::{Progress, Released, round_sig};
use crate::{Step, StudyError};

/// Most grid points a study may ask for (keeps vectors and the hub's work bounded).
pub const MAX_GRID_POINTS: usize = 2_000;

/// Hub-side state of a model analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ModelState {
    /// One round of grid counts per group.
    KaplanMeier {
        groups: Vec<String>,
        grid: Vec<f64>,
        rows: Option<[f64; 3]>,
        sum: Option<Vec<f64>>,
    },
    /// Cox or logistic regression by Newton-Raphson over rounds.
    Newton(NewtonState),
    /// Linear regression: one round of cross-products.
    Linear {
        names: Vec<String>,
        rows: Option<[f64; 3]>,
        sum: Option<Vec<f64>>,
    },
}

/// A Newton-Raphson fit in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewtonState {
    kind: NewtonKind,
    names: Vec<String>,
    /// Summed terms of every Newton round so far, in order.
    observed: Vec<NewtonTerms>,
    /// `[rows, events or positives, dropped]` of the latest round.
    rows: Option<[f64; 3]>,
    outcome: Option<Finished>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum NewtonKind {
    CoxStratified {
        ties: Ties,
    },
    /// `reference` is set once the means round is done.
    CoxGrid {
        ties: Ties,
        grid: Vec<f64>,
        strata: usize,
        reference: Option<Vec<f64>>,
    },
    Logistic,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Finished {
    Converged(FitSummary),
    Failed(FitFailure),
}

impl ModelState {
    pub(crate) fn new(
        spec: &StudySpec,
        schema: &DatasetSchema,
    ) -> Result<Option<Self>, StudyError> {
        let state = match &spec.analysis {
            AnalysisSpec::Descriptive { .. }
            | AnalysisSpec::Histogram { .. }
            | AnalysisSpec::Contingency { .. } => {
                return Ok(None);
            }
            AnalysisSpec::KaplanMeier {
                time,
                event,
                group,
                grid,
                ..
            } => {
                need_type(schema, time, ColumnType::Numeric, "the time")?;
                need_event(schema, event)?;
                let groups = match group {
                    Some(g) => categorical_levels(schema, g, "the group")?,
                    None => vec!["all".to_string()],
                };
                ModelState::KaplanMeier {
                    groups,
                    grid: grid_points(schema, time, grid)?,
                    rows: None,
                    sum: None,
                }
            }
            AnalysisSpec::Cox {
                time,
                event,
                covariates,
                start,
                strata,
                ties,
                mode,
                grid,
            } => {
                need_type(schema, time, ColumnType::Numeric, "the time")?;
                need_event(schema, event)?;
                if let Some(s) = start {
                    need_type(schema, s, ColumnType::Numeric, "the start time")?;
                }
                let names = design_names(schema, covariates)?;
                let kind = match mode {
                    CoxMode::StratifiedBySite => NewtonKind::CoxStratified { ties: *ties },
                    CoxMode::PooledGrid => {
                        let grid = grid.as_ref().ok_or_else(|| {
                            StudyError::Analysis(
                                "a pooled-grid Cox model needs a public time grid: add \
                                 `[analysis.grid]` with `step` (and optionally `max`)"
                                    .into(),
                            )
                        })?;
                        let strata = match strata {
                            Some(s) => categorical_levels(schema, s, "the strata")?.len(),
                            None => 1,
                        };
                        NewtonKind::CoxGrid {
                            ties: *ties,
                            grid: grid_points(schema, time, grid)?,
                            strata,
                            reference: None,
                        }
                    }
                };
                if let Some(s) = strata {
                    categorical_levels(schema, s, "the strata")?;
                }
                ModelState::Newton(NewtonState::new(kind, names))
            }
            AnalysisSpec::Logistic {
                outcome,
                covariates,
            } => {
                need_event(schema, outcome)?;
                let mut names = vec!["intercept".to_string()];
                names.extend(design_names(schema, covariates)?);
                ModelState::Newton(NewtonState::new(NewtonKind::Logistic, names))
            }
            AnalysisSpec::Linear {
                outcome,
                covariates,
            } => {
                need_type(schema, outcome, ColumnType::Numeric, "the outcome")?;
                let mut names = vec!["intercept".to_string()];
                names.extend(design_names(schema, covariates)?);
                ModelState::Linear {
                    names,
                    rows: None,
                    sum: None,
                }
            }
            AnalysisSpec::Synthetic { .. } => {
                return Err(StudyError::Analysis(
                    "federated synthetic data is produced with `salus synth` at each node in this \
                     version; submit a descriptive, histogram, contingency, kaplan-meier, cox, \
                     logistic or linear study"
                        .into(),
                ));
            }
        };
        Ok(Some(state))
    }

    pub(crate) fn next_request(
        &self,
        _spec: &StudySpec,
        _schema: &DatasetSchema,
    ) -> Option<(Step, Layout)> {
        let rows = Layout::default().counts("rows", 3);
        match self {
            ModelState::KaplanMeier {
                groups, grid, sum, ..
            } => sum
                .is_none()
                .then(|| (Step::Once, rows.counts("km", 2 * groups.len() * grid.len()))),
            ModelState::Linear { names, sum, .. } => sum.is_none().then(|| {
                (
                    Step::Once,
                    rows.reals("sums", salus_stats::linreg::sums_len(names.len())),
                )
            }),
            ModelState::Newton(state) => state.next_request(rows),
        }
    }

    /// See [`NewtonState::layout_for_step`]; one-round analyses have no steerable step.
    pub(crate) fn layout_for_step(&self, step: &Step) -> Option<Layout> {
        match self {
            ModelState::Newton(state) => {
                state.layout_for_step(Layout::default().counts("rows", 3), step)
            }
            _ => None,
        }
    }

    pub(crate) fn absorb(&mut self, sum: &[f64]) -> Result<Progress, StudyError> {
        let (head, body) = sum.split_at(3.min(sum.len()));
        let rows = [head[0], head[1], head[2]];
        match self {
            ModelState::KaplanMeier {
                rows: r, sum: s, ..
            }
            | ModelState::Linear {
                rows: r, sum: s, ..
            } => {
                *r = Some(rows);
                *s = Some(body.to_vec());
                Ok(Progress::Done)
            }
            ModelState::Newton(state) => state.absorb(rows, body),
        }
    }

    pub(crate) fn release(
        &self,
        spec: &StudySpec,
        _schema: &DatasetSchema,
        min: u64,
        out: &mut Released,
    ) -> Result<(), StudyError> {
        match self {
            ModelState::KaplanMeier {
                groups,
                grid,
                rows,
                sum,
            } => {
                let (Some(rows), Some(sum)) = (rows, sum) else {
                    return Err(not_run());
                };
                release_km(spec, groups, grid, *rows, sum, min, out)
            }
            ModelState::Linear { names, rows, sum } => {
                let (Some(rows), Some(sum)) = (rows, sum) else {
                    return Err(not_run());
                };
                release_linear(names, *rows, sum, min, out)
            }
            ModelState::Newton(state) => state.release(min, out),
        }
    }
}

impl NewtonState {
    fn new(kind: NewtonKind, names: Vec<String>) -> Self {
        NewtonState {
            kind,
            names,
            observed: Vec::new(),
            rows: None,
            outcome: None,
        }
    }

    /// The driver after replaying every observed round, with its next step.
    fn replay(&self) -> (NewtonDriver, Option<NextStep>) {
        let mut driver = NewtonDriver::new(self.names.len(), Default::default());
        let mut last = None;
        for terms in &self.observed {
            last = Some(driver.observe(terms));
        }
        (driver, last)
    }

    fn next_request(&self, rows: Layout) -> Option<(Step, Layout)> {
        if self.outcome.is_some() {
            return None;
        }
        let p = self.names.len();
        let beta = self.replay().0.current_beta().to_vec();
        match &self.kind {
            NewtonKind::CoxStratified { .. } | NewtonKind::Logistic => Some((
                Step::Newton { beta },
                rows.reals("terms", NewtonTerms::flat_len(p)),
            )),
            NewtonKind::CoxGrid {
                reference: None, ..
            } => Some((
                Step::Custom {
                    value: json!({"phase": "means"}),
                },
                rows.reals("x_sum", p),
            )),
            NewtonKind::CoxGrid {
                grid,
                strata,
                reference: Some(reference),
                ..
            } => {
                let len = cox::grid_sums_len(&TimeGrid::new(grid.clone()).ok()?, p, *strata);
                Some((
                    Step::Custom {
                        value: json!({"phase": "grid", "beta": beta, "reference": reference}),
                    },
                    rows.reals("grid", len),
                ))
            }
        }
    }

    /// The layout a node contribution has for `step`, when `step` is a well-formed step of
    /// this model (coefficient vectors of the model's length, finite values); `None`
    /// otherwise. Used to check rounds steered by a researcher under threshold HE, where
    /// the hub cannot compute the step itself.
    fn layout_for_step(&self, rows: Layout, step: &Step) -> Option<Layout> {
        let p = self.names.len();
        let coefficients = |v: &serde_json::Value| -> Option<()> {
            let a = v.as_array()?;
            (a.len() == p && a.iter().all(|x| x.as_f64().is_some_and(f64::is_finite))).then_some(())
        };
        match (&self.kind, step) {
            (NewtonKind::CoxStratified { .. } | NewtonKind::Logistic, Step::Newton { beta }) => {
                (beta.len() == p && beta.iter().all(|b| b.is_finite()))
                    .then(|| rows.reals("terms", NewtonTerms::flat_len(p)))
            }
            (NewtonKind::CoxGrid { grid, strata, .. }, Step::Custom { value }) => {
                match value.get("phase").and_then(|v| v.as_str())? {
                    "means" if value.as_object()?.len() == 1 => Some(rows.reals("x_sum", p)),
                    "grid" if value.as_object()?.len() == 3 => {
                        coefficients(value.get("beta")?)?;
                        coefficients(value.get("reference")?)?;
                        let len =
                            cox::grid_sums_len(&TimeGrid::new(grid.clone()).ok()?, p, *strata);
                        Some(rows.reals("grid", len))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn absorb(&mut self, rows: [f64; 3], body: &[f64]) -> Result<Progress, StudyError> {
        let p = self.names.len();
        self.rows = Some(rows);
        let terms = match &mut self.kind {
            NewtonKind::CoxGrid { reference, .. } if reference.is_none() => {
                let n = rows[0];
                if n < 1.0 {
                    return Err(StudyError::Analysis(
                        "no node has complete rows for this model; check the cohort and the columns".into(),
                    ));
                }
                *reference = Some(body.iter().map(|s| s / n).collect());
                return Ok(Progress::NextRound);
            }
            NewtonKind::CoxGrid { ties, grid, .. } => {
                let grid = TimeGrid::new(grid.clone()).map_err(stats_error)?;
                cox::grid_terms(body, &grid, p, stats_ties(*ties)).map_err(stats_error)?
            }
            NewtonKind::CoxStratified { .. } | NewtonKind::Logistic => {
                NewtonTerms::from_flat(body, p).map_err(stats_error)?
            }
        };
        self.observed.push(terms);
        match self.replay().1 {
            Some(NextStep::Evaluate(_)) => Ok(Progress::NextRound),
            Some(NextStep::Converged(fit)) => {
                self.outcome = Some(Finished::Converged(fit));
                Ok(Progress::Done)
            }
            Some(NextStep::Failed(failure)) => {
                self.outcome = Some(Finished::Failed(failure));
                Ok(Progress::Done)
            }
            None => Ok(Progress::NextRound),
        }
    }

    fn release(&self, min: u64, out: &mut Released) -> Result<(), StudyError> {
        let (Some(outcome), Some([n, positives, dropped])) = (&self.outcome, self.rows) else {
            return Err(not_run());
        };
        let (n_rows, positives) = (n.round() as usize, positives.round() as usize);
        let negatives = n_rows.saturating_sub(positives);
        let what = match self.kind {
            NewtonKind::Logistic => "outcome",
            _ => "event",
        };
        if (positives as u64) < min
            || (matches!(self.kind, NewtonKind::Logistic) && (negatives as u64) < min)
        {
            return Err(StudyError::Disclosure(format!(
                "the model has fewer than {min} {what}s (or non-{what}s) in total; its coefficients \
                 could reveal individual patients, so nothing is released. Widen the cohort."
            )));
        }
        let mut result = match &self.kind {
            NewtonKind::CoxStratified { ties } | NewtonKind::CoxGrid { ties, .. } => {
                let fit = match outcome {
                    Finished::Converged(s) => {
                        cox::summarize(&self.names, s, n_rows, positives, stats_ties(*ties))
                    }
                    Finished::Failed(f) => {
                        cox::summarize_failure(&self.names, f, n_rows, positives, stats_ties(*ties))
                            .map_err(stats_error)?
                    }
                };
                let mut v =
                    serde_json::to_value(&fit).map_err(|e| StudyError::Analysis(e.to_string()))?;
                strip(&mut v);
                v["mode"] = json!(match self.kind {
                    NewtonKind::CoxGrid { .. } => "pooled-grid",
                    _ => "stratified-by-site",
                });
                if let NewtonKind::CoxGrid { grid, .. } = &self.kind {
                    v["grid_points"] = json!(grid.len());
                    out.caveats.push(
                        "event times were rounded up to the public grid before fitting (pooled baseline); \
                         coefficients equal a pooled fit on the rounded times"
                            .into(),
                    );
                }
                v
            }
            NewtonKind::Logistic => {
                let stats = OutcomeStats {
                    n,
                    sum_y: positives as f64,
                    sum_y2: positives as f64,
                    intercept: true,
                };
                let fit = match outcome {
                    Finished::Converged(s) => {
                        glm::summarize(&self.names, s, Family::Logistic, stats)
                    }
                    Finished::Failed(f) => {
                        glm::summarize_failure(&self.names, f, Family::Logistic, stats)
                            .map_err(stats_error)?
                    }
                };
                let mut v =
                    serde_json::to_value(&fit).map_err(|e| StudyError::Analysis(e.to_string()))?;
                strip(&mut v);
                v
            }
        };
        result["dropped"] = json!(release_count(dropped, min));
        out.result = result;
        Ok(())
    }
}

/// Removes solver internals that add nothing for the researcher.
fn strip(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("covariance");
    }
}

fn not_run() -> StudyError {
    StudyError::Analysis("the study has not run yet".into())
}

pub(crate) fn stats_error(e: salus_stats::StatsError) -> StudyError {
    StudyError::Analysis(e.to_string())
}

pub(crate) fn stats_ties(t: Ties) -> StatsTies {
    match t {
        Ties::Efron => StatsTies::Efron,
        Ties::Breslow => StatsTies::Breslow,
    }
}

fn release_km(
    spec: &StudySpec,
    groups: &[String],
    grid: &[f64],
    rows: [f64; 3],
    sum: &[f64],
    min: u64,
    out: &mut Released,
) -> Result<(), StudyError> {
    let AnalysisSpec::KaplanMeier { at, group, .. } = &spec.analysis else {
        return Err(StudyError::Analysis("not a Kaplan-Meier study".into()));
    };
    let g = grid.len();
    let tgrid = TimeGrid::new(grid.to_vec()).map_err(stats_error)?;
    let cumulated: Vec<f64> = sum
        .chunks(2 * g)
        .flat_map(|block| at_risk_from_exits(block, g))
        .collect();
    let mut released = Vec::new();
    let mut cut = false;
    for (k, name) in groups.iter().enumerate() {
        let block = &cumulated[k * 2 * g..(k + 1) * 2 * g];
        let n = block[0].max(0.0).round() as u64;
        if n < min {
            out.suppressed_cells += 1;
            released
                .push(json!({"name": name, "n": release_count(n as f64, min), "suppressed": true}));
            continue;
        }
        let curve = salus_stats::km::from_grid_counts(block, &tgrid).map_err(stats_error)?;
        let keep: Vec<usize> = (0..curve.times.len())
            .filter(|&i| curve.at_risk[i] >= min as f64)
            .collect();
        cut |= keep.len() < curve.times.len();
        let last_time = keep.last().map(|&i| curve.times[i]);
        let pick = |v: &[f64]| keep.iter().map(|&i| round_sig(v[i])).collect::<Vec<_>>();
        let median = curve.median.filter(|m| last_time.is_some_and(|t| *m <= t));
        let at_values: serde_json::Map<String, Value> = at
            .iter()
            .map(|&t| {
                let value = last_time
                    .filter(|&last| t <= last)
                    .map(|_| round_sig(curve.survival_at(t)));
                (format_time(t), json!(value))
            })
            .collect();
        released.push(json!({
            "name": name,
            "n": curve.n,
            "events": curve.events,
            "median": median,
            "times": keep.iter().map(|&i| curve.times[i]).collect::<Vec<_>>(),
            "at_risk": pick(&curve.at_risk),
            "survival": pick(&curve.survival),
            "lower": pick(&curve.lower),
            "upper": pick(&curve.upper),
            "at": at_values,
        }));
    }
    if cut {
        out.caveats.push(format!(
            "curves stop where fewer than {min} patients remain at risk (disclosure control)"
        ));
    }
    let mut result = json!({
        "groups": released,
        "grid": {"points": g, "step": grid.get(1).map(|b| b - grid[0])},
        "dropped": release_count(rows[2], min),
    });
    if group.is_some() && groups.len() > 1 && out.suppressed_cells == 0 {
        let test = salus_stats::logrank::from_grid_counts(&cumulated, &tgrid, groups.len())
            .map_err(stats_error)?;
        result["logrank"] =
            json!({"statistic": round_sig(test.statistic), "df": test.df, "p": test.p});
    }
    out.result = result;
    Ok(())
}

/// Nodes send exits and events per grid point (each patient touches one exit cell, so
/// the sensitivity is small for DP); the at-risk counts are the reverse cumulative sum.
fn at_risk_from_exits(block: &[f64], g: usize) -> Vec<f64> {
    let mut out = block.to_vec();
    for k in (0..g.saturating_sub(1)).rev() {
        out[k] += out[k + 1];
    }
    out
}

fn format_time(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("{}", t as i64)
    } else {
        format!("{t}")
    }
}

fn release_linear(
    names: &[String],
    rows: [f64; 3],
    sum: &[f64],
    min: u64,
    out: &mut Released,
) -> Result<(), StudyError> {
    let n = rows[0].round() as u64;
    if n < min.max(names.len() as u64 + 1) {
        return Err(StudyError::Disclosure(format!(
            "the regression has {n} complete rows; at least {} are needed",
            min.max(names.len() as u64 + 1)
        )));
    }
    let fit = salus_stats::linreg::from_sums(sum, names).map_err(stats_error)?;
    let mut v = serde_json::to_value(&fit).map_err(|e| StudyError::Analysis(e.to_string()))?;
    strip(&mut v);
    v["dropped"] = json!(release_count(rows[2], min));
    out.result = v;
    Ok(())
}

/// The public grid points `0, step, 2 step, ..` up to `max` (or the time column's
/// declared upper bound).
pub(crate) fn grid_points(
    schema: &DatasetSchema,
    time: &str,
    grid: &GridSpec,
) -> Result<Vec<f64>, StudyError> {
    let max = match grid.max {
        Some(m) => m,
        None => schema.column(time)?.bounds.map(|b| b[1]).ok_or_else(|| {
            StudyError::Analysis(format!(
                "the grid needs a last point: set `max` in `[analysis.grid]` or declare `bounds` \
                 for `{time}` in the dataset schema"
            ))
        })?,
    };
    if !(grid.step > 0.0 && grid.step.is_finite() && max.is_finite() && max > 0.0) {
        return Err(StudyError::Analysis(
            "the grid needs a positive `step` and a positive `max`".into(),
        ));
    }
    let count = (max / grid.step).floor() as usize + 1;
    if count > MAX_GRID_POINTS {
        return Err(StudyError::Analysis(format!(
            "the grid would have {count} points; at most {MAX_GRID_POINTS} are allowed. Use a larger `step`."
        )));
    }
    Ok(TimeGrid::regular(0.0, grid.step, count)
        .map_err(stats_error)?
        .points()
        .to_vec())
}

/// The design terms of covariates, categorical ones with the schema's public levels
/// (the first is the reference).
pub(crate) fn design_spec(
    schema: &DatasetSchema,
    covariates: &[String],
    intercept: bool,
) -> Result<DesignSpec, StudyError> {
    let mut terms = Vec::new();
    for c in covariates {
        let col = schema.analysis_column(c)?;
        terms.push(match col.column_type {
            ColumnType::Numeric => Term::numeric(c.clone()),
            ColumnType::Categorical => Term::categorical_with_levels(
                c.clone(),
                categorical_levels(schema, c, "a covariate")?,
            ),
            _ => {
                return Err(StudyError::Analysis(format!(
                    "covariate `{c}` must be numeric or categorical"
                )));
            }
        });
    }
    let spec = DesignSpec::new(terms);
    Ok(if intercept {
        spec.with_intercept()
    } else {
        spec
    })
}

fn design_names(schema: &DatasetSchema, covariates: &[String]) -> Result<Vec<String>, StudyError> {
    if covariates.is_empty() {
        return Err(StudyError::Analysis(
            "the model needs at least one covariate".into(),
        ));
    }
    let mut names = Vec::new();
    for c in covariates {
        let col = schema.analysis_column(c)?;
        match col.column_type {
            ColumnType::Numeric => names.push(c.clone()),
            ColumnType::Categorical => {
                let levels = categorical_levels(schema, c, "a covariate")?;
                names.extend(levels.iter().skip(1).map(|l| format!("{c}[T.{l}]")));
            }
            _ => {
                return Err(StudyError::Analysis(format!(
                    "covariate `{c}` must be numeric or categorical"
                )));
            }
        }
    }
    Ok(names)
}

pub(crate) fn categorical_levels(
    schema: &DatasetSchema,
    column: &str,
    what: &str,
) -> Result<Vec<String>, StudyError> {
    let col = schema.analysis_column(column)?;
    if col.column_type != ColumnType::Categorical || col.levels.len() < 2 {
        return Err(StudyError::Analysis(format!(
            "{what} column `{column}` must be categorical with at least two `levels` declared in \
             the dataset schema (the levels are public so every node encodes them the same way)"
        )));
    }
    Ok(col.levels.clone())
}

fn need_type(
    schema: &DatasetSchema,
    column: &str,
    want: ColumnType,
    what: &str,
) -> Result<(), StudyError> {
    let col = schema.analysis_column(column)?;
    if col.column_type != want {
        return Err(StudyError::Analysis(format!(
            "{what} column `{column}` must be {want:?} but the schema declares it {:?}",
            col.column_type
        )));
    }
    Ok(())
}

/// An event (or binary outcome) spec: a column, or `COLUMN=VALUE`.
fn need_event(schema: &DatasetSchema, spec: &str) -> Result<(), StudyError> {
    let name = spec.rsplit_once('=').map_or(spec, |(n, _)| n);
    let name = if schema.columns.contains_key(spec) {
        spec
    } else {
        name
    };
    schema.analysis_column(name)?;
    Ok(())
}

pub(crate) fn parameter_count(spec: &StudySpec, schema: &DatasetSchema) -> usize {
    let expand = |covs: &[String]| -> usize {
        covs.iter()
            .map(|c| match schema.columns.get(c) {
                Some(col) if col.column_type == ColumnType::Categorical => {
                    col.levels.len().saturating_sub(1)
                }
                _ => 1,
            })
            .sum()
    };
    match &spec.analysis {
        AnalysisSpec::Cox { covariates, .. } => expand(covariates),
        AnalysisSpec::Logistic { covariates, .. } | AnalysisSpec::Linear { covariates, .. } => {
            expand(covariates) + 1
        }
        _ => 0,
    }
}
