//! The analysis tables built from a [`Cdm`]: one row per person in `patients`, one
//! row per event in `conditions`, `drugs`, `measurements`, `observations`,
//! `procedures`, `visits`, and `deaths` and `observation_periods`.
//!
//! Every table has `patient_id` (= PERSON_ID). Dates are ISO text (`YYYY-MM-DD`);
//! ids and values are numeric; concept names come from CONCEPT when it was given.
//! Source values of clinical codes are kept (they are codes, not identities);
//! PERSON_SOURCE_VALUE is not, because it is often a hospital identifier.

use std::collections::{BTreeMap, HashMap};

use salus_table::{Column, Table, TableError};

use crate::cdm::{Event, Person};
use crate::date::Date;
use crate::import::Cdm;
use crate::vocab::Vocabulary;

/// Builds every analysis table, by name.
pub fn analysis_tables(cdm: &Cdm) -> Result<BTreeMap<String, Table>, TableError> {
    let mut out = BTreeMap::new();
    out.insert("patients".to_owned(), patients(cdm)?);
    out.insert("observation_periods".to_owned(), observation_periods(cdm)?);
    let v = &cdm.vocabulary;
    let conditions: Vec<&Event> = cdm.condition_occurrence.iter().collect();
    out.insert(
        "conditions".to_owned(),
        events(&conditions, v, "condition_id", true)?,
    );
    let procedures: Vec<&Event> = cdm.procedure_occurrence.iter().collect();
    out.insert(
        "procedures".to_owned(),
        events(&procedures, v, "procedure_id", false)?,
    );
    let visits: Vec<&Event> = cdm.visit_occurrence.iter().collect();
    out.insert("visits".to_owned(), events(&visits, v, "visit_id", true)?);
    out.insert("drugs".to_owned(), drugs(cdm)?);
    out.insert(
        "measurements".to_owned(),
        measurements(&cdm.measurement, v, "measurement_id")?,
    );
    out.insert(
        "observations".to_owned(),
        measurements(&cdm.observation, v, "observation_id")?,
    );
    out.insert("deaths".to_owned(), deaths(cdm)?);
    Ok(out)
}

/// The sex of a gender concept: `male`, `female`, `other`, `unknown` (FHIR
/// AdministrativeGender words, as the FHIR `patients` view uses), else the
/// lower-cased concept name, else missing.
pub fn sex_of(gender_concept_id: i64, vocabulary: &Vocabulary) -> Option<String> {
    match gender_concept_id {
        8507 => Some("male".into()),
        8532 => Some("female".into()),
        8521 => Some("other".into()),
        8551 | 8570 => Some("unknown".into()),
        0 => None,
        id => vocabulary.name(id).map(str::to_lowercase),
    }
}

fn num(name: &str, values: impl Iterator<Item = Option<f64>>) -> Column {
    Column::numeric(name, values.collect())
}

fn text(name: &str, values: impl Iterator<Item = Option<String>>) -> Column {
    Column::text(name, values.collect())
}

fn date(d: Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn concept_name(v: &Vocabulary, id: i64) -> Option<String> {
    (id != 0).then(|| v.name(id).map(str::to_owned)).flatten()
}

/// `patients`: patient_id, birth_date, sex, year_of_birth, gender_concept_id,
/// race_concept_id, race, ethnicity_concept_id, death_date.
pub fn patients(cdm: &Cdm) -> Result<Table, TableError> {
    let v = &cdm.vocabulary;
    let deaths: HashMap<i64, Date> = cdm.death.iter().map(|d| (d.person_id, d.date)).collect();
    let p = &cdm.person;
    Table::new(vec![
        num("patient_id", p.iter().map(|p| Some(p.person_id as f64))),
        text("birth_date", p.iter().map(|p| Some(p.birth_date_text()))),
        text("sex", p.iter().map(|p| sex_of(p.gender_concept_id, v))),
        num(
            "year_of_birth",
            p.iter().map(|p| Some(f64::from(p.year_of_birth))),
        ),
        num(
            "gender_concept_id",
            p.iter().map(|p| Some(p.gender_concept_id as f64)),
        ),
        num(
            "race_concept_id",
            p.iter().map(|p| Some(p.race_concept_id as f64)),
        ),
        text("race", p.iter().map(|p| concept_name(v, p.race_concept_id))),
        num(
            "ethnicity_concept_id",
            p.iter().map(|p| Some(p.ethnicity_concept_id as f64)),
        ),
        text(
            "death_date",
            p.iter()
                .map(|p: &Person| date(deaths.get(&p.person_id).copied())),
        ),
    ])
}

fn observation_periods(cdm: &Cdm) -> Result<Table, TableError> {
    let o = &cdm.observation_period;
    Table::new(vec![
        num("patient_id", o.iter().map(|r| Some(r.person_id as f64))),
        text("start_date", o.iter().map(|r| date(Some(r.start)))),
        text("end_date", o.iter().map(|r| date(Some(r.end)))),
    ])
}

/// patient_id, `<id_name>`, concept_id, concept_name, start_date, [end_date],
/// visit_id, source_value.
fn events(
    rows: &[&Event],
    v: &Vocabulary,
    id_name: &str,
    with_end: bool,
) -> Result<Table, TableError> {
    let mut cols = vec![
        num("patient_id", rows.iter().map(|r| Some(r.person_id as f64))),
        num(id_name, rows.iter().map(|r| Some(r.id as f64))),
        num("concept_id", rows.iter().map(|r| Some(r.concept_id as f64))),
        text(
            "concept_name",
            rows.iter().map(|r| concept_name(v, r.concept_id)),
        ),
        text("start_date", rows.iter().map(|r| date(Some(r.start)))),
    ];
    if with_end {
        cols.push(text("end_date", rows.iter().map(|r| date(r.end))));
    }
    if id_name != "visit_id" {
        cols.push(num(
            "visit_id",
            rows.iter().map(|r| r.visit_occurrence_id.map(|v| v as f64)),
        ));
    }
    cols.push(text(
        "source_value",
        rows.iter().map(|r| r.source_value.clone()),
    ));
    Table::new(cols)
}

fn drugs(cdm: &Cdm) -> Result<Table, TableError> {
    let v = &cdm.vocabulary;
    let d = &cdm.drug_exposure;
    Table::new(vec![
        num(
            "patient_id",
            d.iter().map(|r| Some(r.event.person_id as f64)),
        ),
        num("drug_id", d.iter().map(|r| Some(r.event.id as f64))),
        num(
            "concept_id",
            d.iter().map(|r| Some(r.event.concept_id as f64)),
        ),
        text(
            "concept_name",
            d.iter().map(|r| concept_name(v, r.event.concept_id)),
        ),
        text("start_date", d.iter().map(|r| date(Some(r.event.start)))),
        text("end_date", d.iter().map(|r| date(r.event.end))),
        num("quantity", d.iter().map(|r| r.quantity)),
        num(
            "days_supply",
            d.iter().map(|r| r.days_supply.map(|x| x as f64)),
        ),
        num(
            "visit_id",
            d.iter()
                .map(|r| r.event.visit_occurrence_id.map(|x| x as f64)),
        ),
        text(
            "source_value",
            d.iter().map(|r| r.event.source_value.clone()),
        ),
    ])
}

fn measurements(
    rows: &[crate::Measurement],
    v: &Vocabulary,
    id_name: &str,
) -> Result<Table, TableError> {
    let m = rows;
    let unit = |r: &crate::Measurement| {
        r.unit_source_value
            .clone()
            .or_else(|| r.unit_concept_id.and_then(|u| v.name(u).map(str::to_owned)))
    };
    Table::new(vec![
        num(
            "patient_id",
            m.iter().map(|r| Some(r.event.person_id as f64)),
        ),
        num(id_name, m.iter().map(|r| Some(r.event.id as f64))),
        num(
            "concept_id",
            m.iter().map(|r| Some(r.event.concept_id as f64)),
        ),
        text(
            "concept_name",
            m.iter().map(|r| concept_name(v, r.event.concept_id)),
        ),
        text("date", m.iter().map(|r| date(Some(r.event.start)))),
        num("value", m.iter().map(|r| r.value_as_number)),
        text("value_text", m.iter().map(|r| r.value_as_string.clone())),
        num(
            "value_concept_id",
            m.iter().map(|r| r.value_as_concept_id.map(|x| x as f64)),
        ),
        text("unit", m.iter().map(unit)),
        num("range_low", m.iter().map(|r| r.range_low)),
        num("range_high", m.iter().map(|r| r.range_high)),
        num(
            "visit_id",
            m.iter()
                .map(|r| r.event.visit_occurrence_id.map(|x| x as f64)),
        ),
        text(
            "source_value",
            m.iter().map(|r| r.event.source_value.clone()),
        ),
    ])
}

fn deaths(cdm: &Cdm) -> Result<Table, TableError> {
    let v = &cdm.vocabulary;
    let d = &cdm.death;
    Table::new(vec![
        num("patient_id", d.iter().map(|r| Some(r.person_id as f64))),
        text("death_date", d.iter().map(|r| date(Some(r.date)))),
        num(
            "cause_concept_id",
            d.iter().map(|r| r.cause_concept_id.map(|x| x as f64)),
        ),
        text(
            "cause",
            d.iter()
                .map(|r| r.cause_concept_id.and_then(|c| concept_name(v, c))),
        ),
    ])
}
