//! The survival view builder: from the built-in tables to `patient_id, time,
//! event` for time-to-event analysis (Kaplan-Meier, Cox).
//!
//! * **Cohort entry (index)**: the first event of the index kind (e.g. a condition
//!   in a code set) on or before the censoring date. Patients without one are not
//!   in the cohort.
//! * **Outcome**: the first outcome event (a condition, an observation (optionally
//!   with a value threshold), a procedure, a medication, or death) on or after
//!   the index date. Patients whose outcome happened *before* the index date are
//!   excluded by default (prevalent cases).
//! * **End of follow-up**: the censoring date, or death when death is not the
//!   outcome and comes first.
//! * `time` = days (or years of 365.25 days) from index to outcome (`event` = 1)
//!   or to the end of follow-up (`event` = 0). Dates are calendar dates as written
//!   (time of day and zone ignored); partial dates count from their first day.
//! * Covariates from `patients`: `age_at_index` (completed years), `sex`, and
//!   `race`/`ethnicity` when present.

use std::collections::BTreeMap;

use salus_table::{Column, Table};
use serde::{Deserialize, Serialize};

use crate::error::{FhirError, Result};
use crate::fhirpath::Temporal;

/// What counts as an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EventSpec {
    /// A condition (table `conditions`, date `onset`, else `recorded_date`).
    Condition {
        codes: Vec<String>,
        #[serde(default)]
        system: Option<String>,
    },
    /// An observation (table `observations`, date `effective`), optionally only
    /// when its value is at least `min` / at most `max`.
    Observation {
        codes: Vec<String>,
        #[serde(default)]
        system: Option<String>,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    /// A procedure (table `procedures`, date `performed_start`).
    Procedure {
        codes: Vec<String>,
        #[serde(default)]
        system: Option<String>,
    },
    /// A medication request (table `medications`, date `authored_on`).
    Medication {
        codes: Vec<String>,
        #[serde(default)]
        system: Option<String>,
    },
    /// Death (table `patients`, `deceased_date`). Only as an outcome.
    Death,
}

/// Unit of the `time` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    #[default]
    Days,
    /// Days / 365.25.
    Years,
}

/// A survival view: index event, outcome event, censoring date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurvivalSpec {
    /// Cohort entry.
    pub index: EventSpec,
    /// The event of interest.
    pub outcome: EventSpec,
    /// Administrative end of follow-up, `YYYY-MM-DD`.
    pub censor_date: String,
    /// Unit of `time` (days by default).
    #[serde(default)]
    pub time_unit: TimeUnit,
    /// Drop patients whose outcome came before their index date (default true).
    #[serde(default = "yes")]
    pub exclude_prior_outcome: bool,
}

fn yes() -> bool {
    true
}

/// How the cohort was formed (counts only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SurvivalReport {
    /// Patients with an index event.
    pub with_index: usize,
    /// Excluded: outcome before index.
    pub excluded_prior_outcome: usize,
    /// Excluded: index after the end of follow-up.
    pub excluded_no_follow_up: usize,
    /// Rows in the result.
    pub cohort: usize,
    /// Rows with `event` = 1.
    pub events: usize,
}

/// Builds the survival table from the built-in tables (by name: `patients`,
/// `conditions`, `observations`, `procedures`, `medications`).
pub fn survival_table(
    tables: &BTreeMap<String, Table>,
    spec: &SurvivalSpec,
) -> Result<(Table, SurvivalReport)> {
    if spec.index == EventSpec::Death {
        return Err(FhirError::Survival(
            "death cannot be the index event".into(),
        ));
    }
    let censor = day(&spec.censor_date)
        .ok_or_else(|| FhirError::Survival("censor_date must be a date YYYY-MM-DD".into()))?;
    let patients = table(tables, "patients")?;
    let index = first_dates(tables, &spec.index, |d| d <= censor)?;
    let outcomes = event_dates(tables, &spec.outcome)?;
    let deaths = death_dates(patients)?;
    let mut report = SurvivalReport {
        with_index: index.len(),
        ..SurvivalReport::default()
    };
    let mut rows: Vec<(String, i64, i64, bool)> = Vec::new();
    for (patient, start) in &index {
        let theirs = outcomes.get(patient).map(Vec::as_slice).unwrap_or(&[]);
        if spec.exclude_prior_outcome && theirs.iter().any(|d| d < start) {
            report.excluded_prior_outcome += 1;
            continue;
        }
        let outcome = theirs.iter().filter(|d| *d >= start).min().copied();
        let mut end = censor;
        if spec.outcome != EventSpec::Death
            && let Some(death) = deaths.get(patient)
        {
            end = end.min(*death);
        }
        if end < *start {
            report.excluded_no_follow_up += 1;
            continue;
        }
        match outcome.filter(|d| *d <= end) {
            Some(d) => rows.push((patient.clone(), *start, d, true)),
            None => rows.push((patient.clone(), *start, end, false)),
        }
    }
    report.cohort = rows.len();
    report.events = rows.iter().filter(|r| r.3).count();
    Ok((build(patients, &rows, spec.time_unit)?, report))
}

fn table<'t>(tables: &'t BTreeMap<String, Table>, name: &str) -> Result<&'t Table> {
    tables.get(name).ok_or_else(|| {
        FhirError::Survival(format!(
            "table `{name}` is missing; import with the built-in views"
        ))
    })
}

/// Days since 1970-01-01 of the date part of a date or dateTime.
fn day(text: &str) -> Option<i64> {
    let t = Temporal::parse_datetime(text).or_else(|| Temporal::parse_date(text))?;
    Some(t.low_boundary().epoch_days())
}

fn text_col<'t>(t: &'t Table, name: &str) -> Result<Vec<Option<&'t str>>> {
    let c = t
        .column(name)
        .map_err(|e| FhirError::Survival(e.to_string()))?;
    Ok((0..c.len())
        .map(|i| c.as_text().and_then(|v| v[i].as_deref()))
        .collect())
}

/// Where an event kind lives: table, date columns (first non-empty wins).
fn source(spec: &EventSpec) -> (&'static str, &'static [&'static str]) {
    match spec {
        EventSpec::Condition { .. } => ("conditions", &["onset", "recorded_date"]),
        EventSpec::Observation { .. } => ("observations", &["effective", "issued"]),
        EventSpec::Procedure { .. } => ("procedures", &["performed_start"]),
        EventSpec::Medication { .. } => ("medications", &["authored_on"]),
        EventSpec::Death => ("patients", &["deceased_date"]),
    }
}

/// All event dates per patient.
fn event_dates(
    tables: &BTreeMap<String, Table>,
    spec: &EventSpec,
) -> Result<BTreeMap<String, Vec<i64>>> {
    if *spec == EventSpec::Death {
        let deaths = death_dates(table(tables, "patients")?)?;
        return Ok(deaths.into_iter().map(|(p, d)| (p, vec![d])).collect());
    }
    let (name, date_columns) = source(spec);
    let t = table(tables, name)?;
    let patients = text_col(t, "patient_id")?;
    let codes = text_col(t, "code")?;
    let systems = text_col(t, "system")?;
    let dates: Vec<Vec<Option<&str>>> = date_columns
        .iter()
        .map(|c| text_col(t, c))
        .collect::<Result<_>>()?;
    let values = match spec {
        EventSpec::Observation { .. } => t
            .column("value")
            .ok()
            .map(|c| (0..c.len()).map(|i| c.number(i)).collect::<Vec<_>>()),
        _ => None,
    };
    let (wanted, system) = match spec {
        EventSpec::Condition { codes, system }
        | EventSpec::Observation { codes, system, .. }
        | EventSpec::Procedure { codes, system }
        | EventSpec::Medication { codes, system } => (codes, system),
        EventSpec::Death => return Ok(BTreeMap::new()),
    };
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in 0..t.nrows() {
        let code_ok = codes[row].is_some_and(|c| wanted.iter().any(|w| w == c));
        let system_ok = system.as_deref().is_none_or(|s| systems[row] == Some(s));
        let value_ok = match (spec, &values) {
            (EventSpec::Observation { min, max, .. }, Some(v)) => {
                let x = v[row];
                min.is_none_or(|m| x.is_some_and(|x| x >= m))
                    && max.is_none_or(|m| x.is_some_and(|x| x <= m))
            }
            _ => true,
        };
        let date = dates.iter().find_map(|col| col[row]).and_then(day);
        if let (true, true, true, Some(p), Some(d)) =
            (code_ok, system_ok, value_ok, patients[row], date)
        {
            out.entry(p.to_string()).or_default().push(d);
        }
    }
    Ok(out)
}

/// The first qualifying date per patient.
fn first_dates(
    tables: &BTreeMap<String, Table>,
    spec: &EventSpec,
    keep: impl Fn(i64) -> bool,
) -> Result<BTreeMap<String, i64>> {
    Ok(event_dates(tables, spec)?
        .into_iter()
        .filter_map(|(p, ds)| ds.into_iter().filter(|d| keep(*d)).min().map(|d| (p, d)))
        .collect())
}

fn death_dates(patients: &Table) -> Result<BTreeMap<String, i64>> {
    let ids = text_col(patients, "patient_id")?;
    let dates = text_col(patients, "deceased_date")?;
    Ok(ids
        .iter()
        .zip(&dates)
        .filter_map(|(p, d)| Some((p.as_ref()?.to_string(), day(d.as_ref()?)?)))
        .collect())
}

fn iso(days: i64) -> String {
    let (y, m, d) = crate::fhirpath::temporal::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn build(patients: &Table, rows: &[(String, i64, i64, bool)], unit: TimeUnit) -> Result<Table> {
    let ids = text_col(patients, "patient_id")?;
    let births = text_col(patients, "birth_date")?;
    let by_id: BTreeMap<&str, usize> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((*p.as_ref()?, i)))
        .collect();
    let covariate = |name: &str| -> Option<Vec<Option<&str>>> {
        patients
            .has_column(name)
            .then(|| text_col(patients, name).ok())
            .flatten()
    };
    let scale = match unit {
        TimeUnit::Days => 1.0,
        TimeUnit::Years => 365.25,
    };
    let mut cols = vec![
        Column::text(
            "patient_id",
            rows.iter().map(|r| Some(r.0.clone())).collect(),
        ),
        Column::text("index_date", rows.iter().map(|r| Some(iso(r.1))).collect()),
        Column::text("end_date", rows.iter().map(|r| Some(iso(r.2))).collect()),
        Column::numeric(
            "time",
            rows.iter()
                .map(|r| Some((r.2 - r.1) as f64 / scale))
                .collect(),
        ),
        Column::numeric(
            "event",
            rows.iter()
                .map(|r| Some(f64::from(u8::from(r.3))))
                .collect(),
        ),
        Column::numeric(
            "age_at_index",
            rows.iter()
                .map(|r| {
                    let birth = by_id
                        .get(r.0.as_str())
                        .and_then(|&i| births[i])
                        .and_then(day)?;
                    Some(completed_years(birth, r.1) as f64)
                })
                .collect(),
        ),
    ];
    for name in ["sex", "race", "ethnicity"] {
        if let Some(values) = covariate(name) {
            cols.push(Column::text(
                name,
                rows.iter()
                    .map(|r| {
                        by_id
                            .get(r.0.as_str())
                            .and_then(|&i| values[i])
                            .map(str::to_string)
                    })
                    .collect(),
            ));
        }
    }
    Ok(Table::new(cols)?)
}

fn completed_years(birth: i64, at: i64) -> i64 {
    let (by, bm, bd) = crate::fhirpath::temporal::civil_from_days(birth);
    let (ay, am, ad) = crate::fhirpath::temporal::civil_from_days(at);
    i64::from(ay - by) - i64::from((am, ad) < (bm, bd))
}
