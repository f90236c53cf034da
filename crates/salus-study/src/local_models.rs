//! Node-side contributions of model analyses. Each appends, after the cohort counts,
//! a `rows` segment `[rows used, events or positive outcomes, rows dropped]` and the
//! model's sums for the round: Kaplan-Meier exits and events per grid point and group,
//! Cox or logistic Newton terms at the hub's coefficients, Cox grid sums at a shared
//! reference point, covariate sums (for that reference), or linear cross-products.

use salus_core::schema::DatasetSchema;
use salus_core::study::{AnalysisSpec, StudySpec};
use salus_stats::TimeGrid;
use salus_stats::cox::{self, CoxSpec};
use salus_stats::glm::{self, Family};
use salus_table::Table;

use crate::local::Cohort;
use crate::models::{categorical_levels, design_spec, grid_points, stats_error, stats_ties};
use crate::{RoundRequest, Step, StudyError};

pub(crate) fn contribute(
    _spec: &StudySpec,
    schema: &DatasetSchema,
    analysis: &AnalysisSpec,
    round: &RoundRequest,
    cohort: &Cohort<'_>,
    out: &mut Vec<f64>,
) -> Result<(), StudyError> {
    let table = cohort.table();
    match analysis {
        AnalysisSpec::KaplanMeier {
            time,
            event,
            group,
            grid,
            ..
        } => kaplan_meier(schema, &table, time, event, group.as_deref(), grid, out),
        AnalysisSpec::Cox { .. } => cox_round(schema, &table, analysis, round, out),
        AnalysisSpec::Logistic {
            outcome,
            covariates,
        } => {
            let spec = design_spec(schema, covariates, true)?;
            let (design, y, dropped) =
                glm::read_table(&table, outcome, &spec, Family::Logistic).map_err(stats_error)?;
            let beta = newton_beta(round)?;
            let terms =
                glm::local_terms(&design, &y, &beta, Family::Logistic).map_err(stats_error)?;
            let positives = y.iter().filter(|&&v| v > 0.5).count();
            out.extend([y.len() as f64, positives as f64, dropped as f64]);
            out.extend(terms.to_flat());
            Ok(())
        }
        AnalysisSpec::Linear {
            outcome,
            covariates,
        } => {
            let spec = design_spec(schema, covariates, true)?;
            let (design, y, dropped) =
                glm::read_table(&table, outcome, &spec, Family::Gaussian).map_err(stats_error)?;
            out.extend([y.len() as f64, 0.0, dropped as f64]);
            out.extend(salus_stats::linreg::local_sums(&design, &y).map_err(stats_error)?);
            Ok(())
        }
        other => Err(StudyError::Analysis(format!(
            "analysis `{}` has no node-side computation in this version",
            other.kind()
        ))),
    }
}

fn newton_beta(round: &RoundRequest) -> Result<Vec<f64>, StudyError> {
    match &round.step {
        Step::Newton { beta } => Ok(beta.clone()),
        _ => Err(StudyError::Analysis(
            "this round should carry Newton coefficients".into(),
        )),
    }
}

fn kaplan_meier(
    schema: &DatasetSchema,
    table: &Table,
    time: &str,
    event: &str,
    group: Option<&str>,
    grid: &salus_core::study::GridSpec,
    out: &mut Vec<f64>,
) -> Result<(), StudyError> {
    let points = grid_points(schema, time, grid)?;
    let grid = TimeGrid::new(points).map_err(stats_error)?;
    let g = grid.len();
    let levels = match group {
        Some(c) => categorical_levels(schema, c, "the group")?,
        None => vec!["all".to_string()],
    };
    // Listwise deletion over time, event and group.
    let (event_col, _) = salus_stats::columns::binary_spec(table, event);
    let mut required = vec![table.column(time)?, table.column(event_col)?];
    if let Some(c) = group {
        required.push(table.column(c)?);
    }
    let rows: Vec<usize> = (0..table.nrows())
        .filter(|&r| {
            required
                .iter()
                .all(|c| c.display(r).is_some_and(|v| !v.trim().is_empty()))
        })
        .collect();
    let dropped = table.nrows() - rows.len();
    let times = salus_stats::columns::numeric_at(table, time, &rows).map_err(stats_error)?;
    let events = salus_stats::columns::binary_at(table, event, &rows).map_err(stats_error)?;
    let group_of: Vec<Option<usize>> = match group {
        Some(c) => {
            let col = table.column(c)?;
            rows.iter()
                .map(|&r| {
                    col.display(r)
                        .and_then(|v| levels.iter().position(|l| *l == v.trim()))
                })
                .collect()
        }
        None => vec![Some(0); rows.len()],
    };
    if let Some(i) = group_of.iter().position(Option::is_none) {
        return Err(StudyError::Data(format!(
            "row {} has a `{}` value that is not one of the schema's levels {:?}",
            rows[i] + 1,
            group.unwrap_or_default(),
            levels
        )));
    }
    let mut counts = vec![0.0; 2 * g * levels.len()];
    let mut n_events = 0usize;
    for (i, (&t, &e)) in times.iter().zip(&events).enumerate() {
        if !t.is_finite() {
            return Err(StudyError::Data(format!(
                "row {} has a time that is not a number",
                rows[i] + 1
            )));
        }
        let (k, event) = grid.round_exit(t, e);
        let base = group_of[i].unwrap_or(0) * 2 * g;
        counts[base + k] += 1.0;
        if event {
            counts[base + g + k] += 1.0;
            n_events += 1;
        }
    }
    out.extend([rows.len() as f64, n_events as f64, dropped as f64]);
    out.extend(counts);
    Ok(())
}

fn cox_round(
    schema: &DatasetSchema,
    table: &Table,
    analysis: &AnalysisSpec,
    round: &RoundRequest,
    out: &mut Vec<f64>,
) -> Result<(), StudyError> {
    let AnalysisSpec::Cox {
        time,
        event,
        covariates,
        start,
        strata,
        ties,
        grid,
        ..
    } = analysis
    else {
        return Err(StudyError::Analysis("not a Cox study".into()));
    };
    let spec = CoxSpec {
        time: time.clone(),
        event: event.clone(),
        start: start.clone(),
        strata: strata.clone(),
        strata_levels: match strata {
            Some(s) => Some(categorical_levels(schema, s, "the strata")?),
            None => None,
        },
        design: design_spec(schema, covariates, false)?,
    };
    let input = spec.read(table).map_err(stats_error)?;
    let data = input.data;
    let rows = [
        data.nrows() as f64,
        data.n_events() as f64,
        input.dropped as f64,
    ];
    match &round.step {
        Step::Newton { beta } => {
            out.extend(rows);
            out.extend(
                cox::local_terms(&data, beta, stats_ties(*ties))
                    .map_err(stats_error)?
                    .to_flat(),
            );
        }
        Step::Custom { value } if value["phase"] == "means" => {
            out.extend(rows);
            let n = data.nrows() as f64;
            out.extend(
                data.column_means()
                    .into_iter()
                    .map(|m| if n > 0.0 { m * n } else { 0.0 }),
            );
        }
        Step::Custom { value } if value["phase"] == "grid" => {
            let floats = |key: &str| -> Result<Vec<f64>, StudyError> {
                serde_json::from_value(value[key].clone())
                    .map_err(|_| StudyError::Analysis(format!("the grid round lacks `{key}`")))
            };
            let (beta, reference) = (floats("beta")?, floats("reference")?);
            let grid_spec = grid.as_ref().ok_or_else(|| {
                StudyError::Analysis("a pooled-grid Cox model needs a grid".into())
            })?;
            let tgrid =
                TimeGrid::new(grid_points(schema, time, grid_spec)?).map_err(stats_error)?;
            let data = data.with_reference(reference).map_err(stats_error)?;
            out.extend(rows);
            out.extend(cox::grid_local_sums(&data, &tgrid, &beta).map_err(stats_error)?);
        }
        _ => {
            return Err(StudyError::Analysis(
                "unexpected round for a Cox study".into(),
            ));
        }
    }
    Ok(())
}
