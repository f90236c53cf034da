//! The hub's side of a study: which rounds to run, how to combine their sums, and
//! what to release. Serializable, so a hub restart resumes from the last completed
//! round.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use salus_core::schema::{ColumnType, DatasetSchema};
use salus_core::study::{AnalysisSpec, StudySpec};

use crate::cohort::Filter;
use crate::disclosure::{release_count, suppress_group};
use crate::layout::Layout;
use crate::{RoundRequest, Step, StudyError, models};

/// Where a study stands after a round's sum was absorbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Another round is needed: call [`StudyPlan::next_round`].
    NextRound,
    /// The result is ready: call [`StudyPlan::release`].
    Done,
}

/// What is released to the researcher, after disclosure control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Released {
    /// The analysis result (shape depends on the analysis).
    pub result: Value,
    /// Total cohort size over the contributing nodes.
    pub n: u64,
    /// Patients excluded for lack of consent (`None` when suppressed).
    pub consent_excluded: Option<u64>,
    /// Cells hidden by disclosure control.
    pub suppressed_cells: usize,
    /// Approximations and caveats.
    pub caveats: Vec<String>,
}

/// The most rounds a researcher may steer under threshold HE (Newton-Raphson converges
/// in far fewer; the bound limits how many aggregates one study can ask for).
pub const MAX_STEERED_ROUNDS: u32 = 50;

/// The hub-side state of one study.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudyPlan {
    spec: StudySpec,
    schema: DatasetSchema,
    round: u32,
    /// (cohort n, consent-excluded) summed over nodes, from the first round.
    cohort: Option<[f64; 2]>,
    state: State,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum State {
    Waiting,
    OneShot { sum: Vec<f64> },
    Model(Box<models::ModelState>),
}

impl StudyPlan {
    /// Plans a study after checking it against the dataset's schema.
    pub fn new(spec: &StudySpec, schema: &DatasetSchema) -> Result<Self, StudyError> {
        spec.validate()?;
        Filter::parse(&spec.cohort)?.check_schema(schema)?;
        for c in spec.analysis.columns() {
            schema.analysis_column(c)?;
        }
        check_types(spec, schema)?;
        if spec.dp.is_some() {
            dp_sensitivity(spec, schema)?;
        }
        let state = match models::ModelState::new(spec, schema)? {
            Some(m) => State::Model(Box::new(m)),
            None => State::Waiting,
        };
        Ok(StudyPlan {
            spec: spec.clone(),
            schema: schema.clone(),
            round: 0,
            cohort: None,
            state,
        })
    }

    /// The study spec.
    pub fn spec(&self) -> &StudySpec {
        &self.spec
    }

    /// The dataset schema the study was planned against.
    pub fn schema(&self) -> &DatasetSchema {
        &self.schema
    }

    /// The current round number.
    pub fn round(&self) -> u32 {
        self.round
    }

    /// The request for the current round, or `None` when the study is done.
    pub fn next_round(&self) -> Option<RoundRequest> {
        let (step, body) = match &self.state {
            State::Waiting => (Step::Once, self.one_shot_layout()),
            State::OneShot { .. } => return None,
            State::Model(m) => m.next_request(&self.spec, &self.schema)?,
        };
        let mut layout = Layout::default().counts("cohort", 2);
        layout.segments.extend(body.segments);
        Some(RoundRequest {
            round: self.round,
            step,
            layout,
        })
    }

    /// Checks a round request that the researcher, not this plan, computed (threshold HE
    /// over several rounds: only the researcher can read the sums, so only they can take
    /// the Newton step). The request must be the round after `after`, at most
    /// [`MAX_STEERED_ROUNDS`], and a well-formed step of this analysis with exactly the
    /// layout that step needs. The step's values themselves cannot be checked.
    pub fn check_steered_request(
        &self,
        after: u32,
        request: &RoundRequest,
    ) -> Result<(), StudyError> {
        if request.round != after + 1 || request.round > MAX_STEERED_ROUNDS {
            return Err(StudyError::Analysis(format!(
                "the next round must be round {} (at most {MAX_STEERED_ROUNDS}); got round {}",
                after + 1,
                request.round
            )));
        }
        let body = match &self.state {
            State::Model(m) => m.layout_for_step(&request.step),
            _ => None,
        }
        .ok_or_else(|| {
            StudyError::Analysis("the requested step does not belong to this analysis".into())
        })?;
        let mut layout = Layout::default().counts("cohort", 2);
        layout.segments.extend(body.segments);
        if layout != request.layout {
            return Err(StudyError::Analysis(
                "the requested round has a layout this analysis does not use".into(),
            ));
        }
        Ok(())
    }

    /// Feeds the summed contributions of the current round.
    pub fn absorb(&mut self, round: u32, sum: &[f64]) -> Result<Progress, StudyError> {
        if round != self.round {
            return Err(StudyError::WrongRound {
                expected: self.round,
                got: round,
            });
        }
        let request = self
            .next_round()
            .ok_or_else(|| StudyError::Analysis("the study is already complete".into()))?;
        if sum.len() != request.layout.len() {
            return Err(StudyError::WrongLength {
                expected: request.layout.len(),
                got: sum.len(),
            });
        }
        if self.cohort.is_none() {
            self.cohort = Some([sum[0], sum[1]]);
        }
        let progress = match &mut self.state {
            State::Waiting => {
                self.state = State::OneShot {
                    sum: sum[2..].to_vec(),
                };
                Progress::Done
            }
            State::OneShot { .. } => Progress::Done,
            State::Model(m) => m.absorb(&sum[2..])?,
        };
        if progress == Progress::NextRound {
            self.round += 1;
        }
        Ok(progress)
    }

    /// True once the last round was absorbed.
    pub fn is_done(&self) -> bool {
        self.next_round().is_none()
    }

    /// The released result, after disclosure control with the given minimum cell count.
    pub fn release(&self, min_cell: u64) -> Result<Released, StudyError> {
        let [n, excluded] = self
            .cohort
            .ok_or_else(|| StudyError::Analysis("no round has completed yet".into()))?;
        let n = n.max(0.0).round() as u64;
        if n < min_cell {
            return Err(StudyError::Disclosure(format!(
                "the cohort has fewer than {min_cell} patients in total; nothing can be released"
            )));
        }
        let mut released = Released {
            result: Value::Null,
            n,
            consent_excluded: release_count(excluded, min_cell),
            suppressed_cells: 0,
            caveats: Vec::new(),
        };
        match &self.state {
            State::OneShot { sum } => self.release_one_shot(sum, min_cell, &mut released)?,
            State::Model(m) => m.release(&self.spec, &self.schema, min_cell, &mut released)?,
            State::Waiting => return Err(StudyError::Analysis("the study has not run yet".into())),
        }
        Ok(released)
    }

    fn one_shot_layout(&self) -> Layout {
        let mut layout = Layout::default();
        match &self.spec.analysis {
            AnalysisSpec::Descriptive { columns } => {
                for c in columns {
                    let col = &self.schema.columns[c];
                    if col.column_type == ColumnType::Categorical {
                        layout = layout.counts(&format!("{c}:levels"), col.levels.len() + 1);
                    } else {
                        layout = layout
                            .counts(&format!("{c}:n"), 2)
                            .reals(&format!("{c}:moments"), 2);
                    }
                }
            }
            AnalysisSpec::Histogram { edges, .. } => {
                layout = layout.counts("bins", edges.len() + 2)
            }
            AnalysisSpec::Contingency { rows, columns } => {
                let r = self.schema.columns[rows].levels.len();
                let c = self.schema.columns[columns].levels.len();
                layout = layout.counts("cells", r * c + 1);
            }
            _ => {}
        }
        layout
    }

    fn release_one_shot(
        &self,
        sum: &[f64],
        min: u64,
        out: &mut Released,
    ) -> Result<(), StudyError> {
        match &self.spec.analysis {
            AnalysisSpec::Descriptive { columns } => {
                let mut cols = serde_json::Map::new();
                let mut at = 0;
                for c in columns {
                    let col = &self.schema.columns[c];
                    if col.column_type == ColumnType::Categorical {
                        let k = col.levels.len();
                        let (cells, s) = suppress_group(&sum[at..at + k + 1], min);
                        out.suppressed_cells += s;
                        let levels: serde_json::Map<String, Value> = col
                            .levels
                            .iter()
                            .zip(&cells)
                            .map(|(l, v)| (l.clone(), count_json(*v)))
                            .collect();
                        cols.insert(
                            c.clone(),
                            json!({"levels": levels, "missing": count_json(cells[k])}),
                        );
                        at += k + 1;
                    } else {
                        let centre = crate::local::centre(&self.schema, c);
                        cols.insert(c.clone(), moments_json(&sum[at..at + 4], centre, min, out));
                        at += 4;
                    }
                }
                out.result = json!({"n": out.n, "columns": cols});
            }
            AnalysisSpec::Histogram { column, edges } => {
                let (cells, s) = suppress_group(sum, min);
                out.suppressed_cells += s;
                let bins = edges.len() - 1;
                out.result = json!({
                    "column": column,
                    "edges": edges,
                    "counts": cells[..bins].iter().map(|c| count_json(*c)).collect::<Vec<_>>(),
                    "below": count_json(cells[bins]),
                    "above": count_json(cells[bins + 1]),
                    "missing": count_json(cells[bins + 2]),
                });
            }
            AnalysisSpec::Contingency { rows, columns } => {
                let rl = &self.schema.columns[rows].levels;
                let cl = &self.schema.columns[columns].levels;
                let (cells, s) = suppress_group(sum, min);
                out.suppressed_cells += s;
                let table: Vec<Vec<Value>> = (0..rl.len())
                    .map(|i| {
                        (0..cl.len())
                            .map(|j| count_json(cells[i * cl.len() + j]))
                            .collect()
                    })
                    .collect();
                out.result = json!({
                    "rows": rows, "columns": columns,
                    "row_levels": rl, "column_levels": cl,
                    "counts": table,
                    "missing": count_json(cells[rl.len() * cl.len()]),
                });
            }
            _ => return Err(StudyError::Analysis("not a one-round analysis".into())),
        }
        Ok(())
    }
}

fn count_json(c: Option<f64>) -> Value {
    c.map_or(Value::Null, |v| json!(v as u64))
}

fn moments_json(v: &[f64], centre: f64, min: u64, out: &mut Released) -> Value {
    let (n, missing, s1, s2) = (v[0].round(), v[1].round(), v[2], v[3]);
    if n < min as f64 {
        out.suppressed_cells += 1;
        return json!({"count": null, "missing": release_count(missing, min), "mean": null, "variance": null, "sd": null});
    }
    let mean = centre + s1 / n;
    let variance = if n > 1.0 {
        ((s2 - s1 * s1 / n) / (n - 1.0)).max(0.0)
    } else {
        0.0
    };
    json!({
        "count": n as u64,
        "missing": release_count(missing, min),
        "mean": round_sig(mean),
        "variance": round_sig(variance),
        "sd": round_sig(variance.sqrt()),
    })
}

/// Rounds away the last bits of fixed-point encoding noise (12 significant digits).
pub(crate) fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 12 - x.abs().log10().ceil() as i32;
    let scale = 10f64.powi(digits.clamp(-300, 300));
    (x * scale).round() / scale
}

fn check_types(spec: &StudySpec, schema: &DatasetSchema) -> Result<(), StudyError> {
    let need = |name: &str, ty: ColumnType, why: &str| -> Result<(), StudyError> {
        let col = schema.analysis_column(name)?;
        if col.column_type != ty {
            return Err(StudyError::Analysis(format!(
                "column `{name}` is {:?} but {why} needs a {:?} column",
                col.column_type, ty
            )));
        }
        Ok(())
    };
    match &spec.analysis {
        AnalysisSpec::Histogram { column, .. } => need(column, ColumnType::Numeric, "a histogram"),
        AnalysisSpec::Contingency { rows, columns } => {
            need(rows, ColumnType::Categorical, "a contingency table")?;
            need(columns, ColumnType::Categorical, "a contingency table")
        }
        AnalysisSpec::Descriptive { columns } if columns.is_empty() => Ok(()),
        _ => Ok(()),
    }
}

/// Number of model parameters the analysis fits (0 for tables and descriptives), for
/// the node policy's parameters-per-row rule.
pub fn parameter_count(spec: &StudySpec, schema: &DatasetSchema) -> usize {
    models::parameter_count(spec, schema)
}

/// The L1 and L2 sensitivity of a round's count segments when one patient is added or
/// removed, for analyses whose whole vector is counts (the only part DP noise covers).
/// Analyses with real-valued sums (means, model terms) are refused under DP, because
/// their unnoised sums would void the guarantee.
pub fn dp_sensitivity(spec: &StudySpec, schema: &DatasetSchema) -> Result<(f64, f64), StudyError> {
    // Every patient moves the cohort count (or the consent-excluded count) by one.
    let touched = match &spec.analysis {
        AnalysisSpec::Histogram { .. } | AnalysisSpec::Contingency { .. } => 2.0,
        AnalysisSpec::KaplanMeier { .. } => 5.0, // cohort, rows-used/dropped, events, exit cell, event cell
        AnalysisSpec::Descriptive { columns } => {
            if let Some(c) = columns.iter().find(|c| {
                schema
                    .columns
                    .get(*c)
                    .is_none_or(|col| col.column_type != ColumnType::Categorical)
            }) {
                return Err(StudyError::Analysis(format!(
                    "differential privacy covers counts only, and `{c}` is not categorical (its mean and \
                     variance would be released without noise); use a histogram study for numeric columns"
                )));
            }
            1.0 + columns.len() as f64
        }
        other => {
            return Err(StudyError::Analysis(format!(
                "differential privacy is available for count analyses (descriptive on categorical \
                 columns, histogram, contingency, kaplan-meier), not for `{}`; remove `[dp]` or \
                 choose one of those",
                other.kind()
            )));
        }
    };
    Ok((touched, touched.sqrt()))
}
