//! FHIR R4 → OMOP CDM conversion for Patient, Encounter, Condition, Observation and
//! MedicationRequest, with standard vocabulary where the source has codes.
//!
//! * Patient → PERSON (person_id assigned 1, 2, ... in input order; Patient.id kept
//!   as person_source_value; gender → 8507/8532/8521/8551; birthDate → year, month,
//!   day) and, with `deceasedDateTime`, DEATH.
//! * Encounter → VISIT_OCCURRENCE (class IMP → 9201 inpatient, AMB → 9202
//!   outpatient, EMER → 9203 emergency, HH → 581476 home visit, else 0; Synthea's
//!   `inpatient`, `ambulatory`/`wellness`/`outpatient`, `emergency`/`urgentcare`
//!   likewise).
//! * Condition → CONDITION_OCCURRENCE (onset, else recordedDate; abatement end).
//! * Observation → MEASUREMENT when the mapped concept's domain is Measurement, or
//!   (unmapped) when it is laboratory/vital-signs or has a valueQuantity; else
//!   OBSERVATION. Each `component` becomes its own row.
//! * MedicationRequest → DRUG_EXPOSURE (authoredOn or the dosage bounds; end =
//!   bounds end, else start + supply days - 1, else start).
//!
//! Codes are mapped through CONCEPT (and `Maps to` in CONCEPT_RELATIONSHIP) when a
//! vocabulary is given: SNOMED, LOINC, RxNorm, ICD-10(-CM), ICD-9-CM, CVX, NDC, UCUM,
//! CPT4, ATC. Unmapped codes get concept_id 0 and keep the code as source value.
//! FHIR has no observation periods: each person gets one spanning their first to
//! last record (the ETL-Synthea convention).

mod clinical;
pub(crate) mod json;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::cdm::{Death, Event, ObservationPeriod, Person};
use crate::date::Date;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::import::Cdm;
use crate::vocab::Vocabulary;
use json::{date_of, first_date, reference_id, str_at};

pub use json::vocabulary_of;

/// The result of a conversion.
#[derive(Debug, Default)]
pub struct FhirConversion {
    /// The CDM built (its vocabulary is the one given).
    pub cdm: Cdm,
    /// Rows produced per OMOP table.
    pub counts: BTreeMap<String, usize>,
    /// Resources skipped or converted with loss.
    pub diagnostics: Vec<Diagnostic>,
}

/// State shared by the per-resource converters.
pub(crate) struct Converter<'v, 'r> {
    pub vocabulary: &'v Vocabulary,
    pub persons: HashMap<String, i64>,
    pub visits: HashMap<String, i64>,
    pub medications: HashMap<String, &'r Value>,
    pub cdm: Cdm,
    pub diags: Diagnostics,
    next_id: i64,
}

impl Converter<'_, '_> {
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// `Type/id` of a resource for diagnostics.
    pub fn label(resource: &Value) -> String {
        format!(
            "{}/{}",
            str_at(resource, "resourceType").unwrap_or("?"),
            str_at(resource, "id").unwrap_or("?")
        )
    }

    pub fn report(&mut self, kind: &str, severity: Severity, resource: &Value, message: &str) {
        self.diags
            .push(kind, severity, Self::label(resource), message.to_owned());
    }

    /// The person a resource's `subject` (or `patient`) points to.
    pub fn person_of(&mut self, resource: &Value) -> Option<i64> {
        let subject = resource.get("subject").or_else(|| resource.get("patient"));
        let found = subject
            .and_then(|s| reference_id(s, "Patient"))
            .and_then(|id| self.persons.get(id).copied());
        if found.is_none() {
            self.report(
                "subject",
                Severity::Error,
                resource,
                "subject is not a Patient of this input (or one that was skipped); skipped",
            );
        }
        found
    }

    pub fn visit_of(&self, resource: &Value) -> Option<i64> {
        let id = reference_id(resource.get("encounter")?, "Encounter")?;
        self.visits.get(id).copied()
    }
}

/// Converts resources (any order; Patients are taken first) with `vocabulary`.
pub fn fhir_to_omop(resources: &[Value], vocabulary: Vocabulary) -> FhirConversion {
    let mut medications = HashMap::new();
    for r in resources
        .iter()
        .filter(|r| str_at(r, "resourceType") == Some("Medication"))
    {
        if let Some(id) = str_at(r, "id") {
            medications.insert(id.to_owned(), r);
        }
    }
    let mut c = Converter {
        vocabulary: &vocabulary,
        persons: HashMap::new(),
        visits: HashMap::new(),
        medications,
        cdm: Cdm::default(),
        diags: Diagnostics::default(),
        next_id: 0,
    };
    if vocabulary.is_empty() {
        c.diags.add(Severity::Warning, "vocabulary", "no CONCEPT table given: every concept_id is 0 (source values are kept); pass the OMOP vocabulary to map codes");
    }
    let by_type = |t: &'static str| {
        resources
            .iter()
            .filter(move |r| str_at(r, "resourceType") == Some(t))
    };
    by_type("Patient").for_each(|r| patient(&mut c, r));
    by_type("Encounter").for_each(|r| encounter(&mut c, r));
    by_type("Condition").for_each(|r| clinical::condition(&mut c, r));
    by_type("Observation").for_each(|r| clinical::observation(&mut c, r));
    by_type("MedicationRequest").for_each(|r| clinical::medication_request(&mut c, r));
    report_unconverted(&mut c.diags, resources);
    let Converter { mut cdm, diags, .. } = c;
    derive_observation_periods(&mut cdm);
    let counts = counts(&cdm);
    let diagnostics = diags.into_vec();
    cdm.vocabulary = vocabulary;
    FhirConversion {
        cdm,
        counts,
        diagnostics,
    }
}

fn report_unconverted(diags: &mut Diagnostics, resources: &[Value]) {
    let mut other: BTreeMap<&str, usize> = BTreeMap::new();
    for r in resources {
        let t = str_at(r, "resourceType").unwrap_or("(no resourceType)");
        if !matches!(
            t,
            "Patient"
                | "Encounter"
                | "Condition"
                | "Observation"
                | "MedicationRequest"
                | "Medication"
        ) {
            *other.entry(t).or_insert(0) += 1;
        }
    }
    for (t, n) in other {
        diags.add(
            Severity::Info,
            t,
            format!("{n} resources of this type have no OMOP mapping here; not converted"),
        );
    }
}

fn gender_concept(gender: Option<&str>) -> i64 {
    match gender {
        Some("male") => 8507,
        Some("female") => 8532,
        Some("other") => 8521,
        Some("unknown") => 8551,
        _ => 0,
    }
}

fn patient(c: &mut Converter<'_, '_>, r: &Value) {
    let Some(id) = str_at(r, "id") else {
        c.report(
            "patient-id",
            Severity::Error,
            r,
            "Patient has no id, so nothing can refer to it; skipped",
        );
        return;
    };
    let birth = str_at(r, "birthDate");
    let Some(year) = birth
        .and_then(|b| b.get(..4))
        .and_then(|y| y.parse::<i32>().ok())
    else {
        c.report(
            "birth",
            Severity::Error,
            r,
            "birthDate is missing or invalid and OMOP requires year_of_birth; skipped",
        );
        return;
    };
    let full = birth.and_then(Date::parse);
    let month = birth.and_then(|b| b.get(5..7)).and_then(|m| m.parse().ok());
    let person_id = c.cdm.person.len() as i64 + 1;
    c.cdm.person.push(Person {
        person_id,
        gender_concept_id: gender_concept(str_at(r, "gender")),
        year_of_birth: year,
        month_of_birth: month,
        day_of_birth: full.map(|d| d.ymd().2),
        birth_datetime: full,
        race_concept_id: 0,
        ethnicity_concept_id: 0,
        person_source_value: Some(id.to_owned()),
    });
    c.persons.insert(id.to_owned(), person_id);
    if let Some(died) = str_at(r, "deceasedDateTime").and_then(date_of) {
        c.cdm.death.push(Death {
            person_id,
            date: died,
            cause_concept_id: None,
        });
    } else if r.get("deceasedBoolean") == Some(&Value::Bool(true)) {
        c.report(
            "deceased",
            Severity::Warning,
            r,
            "deceasedBoolean without a date: no DEATH row (OMOP needs death_date)",
        );
    }
}

fn encounter(c: &mut Converter<'_, '_>, r: &Value) {
    let Some(person) = c.person_of(r) else { return };
    let Some(start) = first_date(r, &["period.start"]) else {
        c.report(
            "encounter-date",
            Severity::Error,
            r,
            "Encounter has no period.start; skipped",
        );
        return;
    };
    let class = r.get("class").and_then(|k| str_at(k, "code"));
    let concept = match class {
        // v3 ActCode, then the words Synthea writes (mapped as ETL-Synthea does).
        Some("IMP" | "ACUTE" | "NONAC" | "inpatient") => 9201,
        Some("AMB" | "ambulatory" | "wellness" | "outpatient") => 9202,
        Some("EMER" | "emergency" | "urgentcare") => 9203,
        Some("HH") => 581476,
        _ => 0,
    };
    let id = c.next_id();
    if let Some(encounter_id) = str_at(r, "id") {
        c.visits.insert(encounter_id.to_owned(), id);
    }
    let end = first_date(r, &["period.end"])
        .filter(|e| *e >= start)
        .or(Some(start));
    c.cdm.visit_occurrence.push(Event {
        id,
        person_id: person,
        concept_id: concept,
        start,
        end,
        visit_occurrence_id: None,
        source_value: class.map(str::to_owned),
        source_concept_id: None,
    });
}

/// One observation period per person, from the first to the last date on record.
fn derive_observation_periods(cdm: &mut Cdm) {
    let mut span: BTreeMap<i64, (Date, Date)> = BTreeMap::new();
    let mut see = |p: i64, d: Date| {
        let e = span.entry(p).or_insert((d, d));
        e.0 = e.0.min(d);
        e.1 = e.1.max(d);
    };
    for e in cdm.visit_occurrence.iter().chain(&cdm.condition_occurrence) {
        see(e.person_id, e.start);
        if let Some(end) = e.end {
            see(e.person_id, end);
        }
    }
    for d in &cdm.drug_exposure {
        see(d.event.person_id, d.event.start);
        see(d.event.person_id, d.event.end.unwrap_or(d.event.start));
    }
    for m in cdm.measurement.iter().chain(&cdm.observation) {
        see(m.event.person_id, m.event.start);
    }
    for d in &cdm.death {
        see(d.person_id, d.date);
    }
    cdm.observation_period = span
        .into_iter()
        .map(|(person_id, (start, end))| ObservationPeriod {
            observation_period_id: person_id,
            person_id,
            start,
            end,
        })
        .collect();
}

fn counts(cdm: &Cdm) -> BTreeMap<String, usize> {
    [
        ("person", cdm.person.len()),
        ("observation_period", cdm.observation_period.len()),
        ("visit_occurrence", cdm.visit_occurrence.len()),
        ("condition_occurrence", cdm.condition_occurrence.len()),
        ("drug_exposure", cdm.drug_exposure.len()),
        ("measurement", cdm.measurement.len()),
        ("observation", cdm.observation.len()),
        ("death", cdm.death.len()),
    ]
    .into_iter()
    .map(|(t, n)| (t.to_owned(), n))
    .collect()
}
