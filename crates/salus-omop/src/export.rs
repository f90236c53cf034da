//! Writing a [`Cdm`] back as OMOP CDM tables (lower-case CDM column names), e.g.
//! the result of a FHIR → OMOP conversion. Type concepts, which the typed rows do
//! not keep, are written as the EHR-derived defaults of ETL-Synthea.

use std::collections::BTreeMap;

use salus_table::{Column, Table, TableError};

use crate::Measurement;
use crate::cdm::Event;
use crate::date::Date;
use crate::import::Cdm;

/// `Condition` "EHR encounter diagnosis".
const CONDITION_TYPE: f64 = 32020.0;
/// `Drug` "Prescription written".
const DRUG_TYPE: f64 = 38000177.0;
/// `Meas Type` "Lab result".
const MEASUREMENT_TYPE: f64 = 44818702.0;
/// `Observation Type` "Observation recorded from EHR".
const OBSERVATION_TYPE: f64 = 38000280.0;
/// `Visit Type` "Visit derived from EHR record".
const VISIT_TYPE: f64 = 44818518.0;
/// `Obs Period Type` "Period covering healthcare encounters".
const PERIOD_TYPE: f64 = 44814724.0;
/// `Death Type` "EHR record patient status Deceased".
const DEATH_TYPE: f64 = 38003569.0;

fn ids(name: &str, values: impl Iterator<Item = i64>) -> Column {
    Column::numeric(name, values.map(|v| Some(v as f64)).collect())
}

fn opt_ids(name: &str, values: impl Iterator<Item = Option<i64>>) -> Column {
    Column::numeric(name, values.map(|v| v.map(|x| x as f64)).collect())
}

fn constant(name: &str, value: f64, n: usize) -> Column {
    Column::numeric(name, vec![Some(value); n])
}

fn dates(name: &str, values: impl Iterator<Item = Option<Date>>) -> Column {
    Column::text(name, values.map(|d| d.map(|d| d.to_string())).collect())
}

fn texts(name: &str, values: impl Iterator<Item = Option<String>>) -> Column {
    Column::text(name, values.collect())
}

/// The CDM tables (person, observation_period, visit_occurrence,
/// condition_occurrence, drug_exposure, measurement, observation, death).
pub fn cdm_tables(cdm: &Cdm) -> Result<BTreeMap<String, Table>, TableError> {
    let mut out = BTreeMap::new();
    let p = &cdm.person;
    out.insert(
        "person".into(),
        Table::new(vec![
            ids("person_id", p.iter().map(|r| r.person_id)),
            ids("gender_concept_id", p.iter().map(|r| r.gender_concept_id)),
            ids(
                "year_of_birth",
                p.iter().map(|r| i64::from(r.year_of_birth)),
            ),
            opt_ids(
                "month_of_birth",
                p.iter().map(|r| r.month_of_birth.map(i64::from)),
            ),
            opt_ids(
                "day_of_birth",
                p.iter().map(|r| r.day_of_birth.map(i64::from)),
            ),
            dates("birth_datetime", p.iter().map(|r| r.birth_datetime)),
            ids("race_concept_id", p.iter().map(|r| r.race_concept_id)),
            ids(
                "ethnicity_concept_id",
                p.iter().map(|r| r.ethnicity_concept_id),
            ),
            texts(
                "person_source_value",
                p.iter().map(|r| r.person_source_value.clone()),
            ),
        ])?,
    );
    let o = &cdm.observation_period;
    out.insert(
        "observation_period".into(),
        Table::new(vec![
            ids(
                "observation_period_id",
                o.iter().map(|r| r.observation_period_id),
            ),
            ids("person_id", o.iter().map(|r| r.person_id)),
            dates(
                "observation_period_start_date",
                o.iter().map(|r| Some(r.start)),
            ),
            dates("observation_period_end_date", o.iter().map(|r| Some(r.end))),
            constant("period_type_concept_id", PERIOD_TYPE, o.len()),
        ])?,
    );
    out.insert(
        "visit_occurrence".into(),
        events(
            &cdm.visit_occurrence.iter().collect::<Vec<_>>(),
            "visit",
            VISIT_TYPE,
        )?,
    );
    out.insert(
        "condition_occurrence".into(),
        events(
            &cdm.condition_occurrence.iter().collect::<Vec<_>>(),
            "condition",
            CONDITION_TYPE,
        )?,
    );
    out.insert("drug_exposure".into(), drugs(cdm)?);
    out.insert(
        "measurement".into(),
        measurements(&cdm.measurement, "measurement", MEASUREMENT_TYPE)?,
    );
    out.insert(
        "observation".into(),
        measurements(&cdm.observation, "observation", OBSERVATION_TYPE)?,
    );
    let d = &cdm.death;
    out.insert(
        "death".into(),
        Table::new(vec![
            ids("person_id", d.iter().map(|r| r.person_id)),
            dates("death_date", d.iter().map(|r| Some(r.date))),
            constant("death_type_concept_id", DEATH_TYPE, d.len()),
            opt_ids("cause_concept_id", d.iter().map(|r| r.cause_concept_id)),
        ])?,
    );
    Ok(out)
}

/// visit_occurrence / condition_occurrence with CDM column names.
fn events(rows: &[&Event], prefix: &str, type_concept: f64) -> Result<Table, TableError> {
    let (id, start, end) = match prefix {
        "visit" => ("visit_occurrence_id", "visit_start_date", "visit_end_date"),
        _ => (
            "condition_occurrence_id",
            "condition_start_date",
            "condition_end_date",
        ),
    };
    let mut cols = vec![
        ids(id, rows.iter().map(|r| r.id)),
        ids("person_id", rows.iter().map(|r| r.person_id)),
        ids(
            &format!("{prefix}_concept_id"),
            rows.iter().map(|r| r.concept_id),
        ),
        dates(start, rows.iter().map(|r| Some(r.start))),
        dates(end, rows.iter().map(|r| r.end)),
        constant(
            &format!("{prefix}_type_concept_id"),
            type_concept,
            rows.len(),
        ),
    ];
    if prefix != "visit" {
        cols.push(opt_ids(
            "visit_occurrence_id",
            rows.iter().map(|r| r.visit_occurrence_id),
        ));
    }
    cols.push(texts(
        &format!("{prefix}_source_value"),
        rows.iter().map(|r| r.source_value.clone()),
    ));
    cols.push(opt_ids(
        &format!("{prefix}_source_concept_id"),
        rows.iter().map(|r| r.source_concept_id),
    ));
    Table::new(cols)
}

fn drugs(cdm: &Cdm) -> Result<Table, TableError> {
    let d = &cdm.drug_exposure;
    Table::new(vec![
        ids("drug_exposure_id", d.iter().map(|r| r.event.id)),
        ids("person_id", d.iter().map(|r| r.event.person_id)),
        ids("drug_concept_id", d.iter().map(|r| r.event.concept_id)),
        dates(
            "drug_exposure_start_date",
            d.iter().map(|r| Some(r.event.start)),
        ),
        dates(
            "drug_exposure_end_date",
            d.iter().map(|r| Some(r.event.end.unwrap_or(r.event.start))),
        ),
        constant("drug_type_concept_id", DRUG_TYPE, d.len()),
        Column::numeric("quantity", d.iter().map(|r| r.quantity).collect()),
        opt_ids("days_supply", d.iter().map(|r| r.days_supply)),
        opt_ids(
            "visit_occurrence_id",
            d.iter().map(|r| r.event.visit_occurrence_id),
        ),
        texts(
            "drug_source_value",
            d.iter().map(|r| r.event.source_value.clone()),
        ),
        opt_ids(
            "drug_source_concept_id",
            d.iter().map(|r| r.event.source_concept_id),
        ),
    ])
}

fn measurements(
    rows: &[Measurement],
    prefix: &str,
    type_concept: f64,
) -> Result<Table, TableError> {
    let m = rows;
    let mut cols = vec![
        ids(&format!("{prefix}_id"), m.iter().map(|r| r.event.id)),
        ids("person_id", m.iter().map(|r| r.event.person_id)),
        ids(
            &format!("{prefix}_concept_id"),
            m.iter().map(|r| r.event.concept_id),
        ),
        dates(
            &format!("{prefix}_date"),
            m.iter().map(|r| Some(r.event.start)),
        ),
        constant(&format!("{prefix}_type_concept_id"), type_concept, m.len()),
        Column::numeric(
            "value_as_number",
            m.iter().map(|r| r.value_as_number).collect(),
        ),
        opt_ids(
            "value_as_concept_id",
            m.iter().map(|r| r.value_as_concept_id),
        ),
        opt_ids("unit_concept_id", m.iter().map(|r| r.unit_concept_id)),
        opt_ids(
            "visit_occurrence_id",
            m.iter().map(|r| r.event.visit_occurrence_id),
        ),
        texts(
            &format!("{prefix}_source_value"),
            m.iter().map(|r| r.event.source_value.clone()),
        ),
        opt_ids(
            &format!("{prefix}_source_concept_id"),
            m.iter().map(|r| r.event.source_concept_id),
        ),
        texts(
            "unit_source_value",
            m.iter().map(|r| r.unit_source_value.clone()),
        ),
    ];
    if prefix == "measurement" {
        cols.push(Column::numeric(
            "range_low",
            m.iter().map(|r| r.range_low).collect(),
        ));
        cols.push(Column::numeric(
            "range_high",
            m.iter().map(|r| r.range_high).collect(),
        ));
    } else {
        cols.push(texts(
            "value_as_string",
            m.iter().map(|r| r.value_as_string.clone()),
        ));
    }
    Table::new(cols)
}
