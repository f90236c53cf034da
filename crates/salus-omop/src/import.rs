//! Reading a set of OMOP CDM CSV tables into a [`Cdm`], with diagnostics.
//!
//! Input is a list of readers named by table, so the library never touches the file
//! system; the CLI opens `CSV_DIR/<table>.csv`. PERSON is required; every other
//! table is optional. Rows that refer to a person missing from PERSON are dropped
//! (one warning per table with the count), because no analysis can use them.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use crate::cdm::{self, DrugExposure, Event, ObservationPeriod, Person};
use crate::csvread::read_table;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::vocab::{self, Concept, ConceptAncestor, ConceptRelationship, Vocabulary};
use crate::{Death, Measurement, OmopError};

/// The CDM tables this crate reads, by their CDM names.
pub const TABLES: [&str; 12] = [
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "procedure_occurrence",
    "observation",
    "death",
    "concept",
    "concept_ancestor",
    "concept_relationship",
];

/// One CSV to read: which CDM table it holds, a name for diagnostics, the bytes.
pub struct CsvInput<R> {
    /// The CDM table name (`person`, `drug_exposure`, ...; any case).
    pub table: String,
    /// Shown in diagnostics, e.g. `person.csv`.
    pub name: String,
    /// The CSV text.
    pub reader: R,
}

impl<R> std::fmt::Debug for CsvInput<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvInput")
            .field("table", &self.table)
            .field("name", &self.name)
            .finish()
    }
}

/// The typed content of an OMOP CDM instance.
#[derive(Debug, Default, Clone)]
pub struct Cdm {
    /// PERSON.
    pub person: Vec<Person>,
    /// OBSERVATION_PERIOD.
    pub observation_period: Vec<ObservationPeriod>,
    /// VISIT_OCCURRENCE.
    pub visit_occurrence: Vec<Event>,
    /// CONDITION_OCCURRENCE.
    pub condition_occurrence: Vec<Event>,
    /// DRUG_EXPOSURE.
    pub drug_exposure: Vec<DrugExposure>,
    /// MEASUREMENT.
    pub measurement: Vec<Measurement>,
    /// PROCEDURE_OCCURRENCE.
    pub procedure_occurrence: Vec<Event>,
    /// OBSERVATION.
    pub observation: Vec<Measurement>,
    /// DEATH.
    pub death: Vec<Death>,
    /// Look-ups over CONCEPT, CONCEPT_ANCESTOR and CONCEPT_RELATIONSHIP.
    pub vocabulary: Vocabulary,
}

/// A CDM and what was found while reading it.
#[derive(Debug, Default)]
pub struct CdmImport {
    /// The data.
    pub cdm: Cdm,
    /// Rows read per table (only tables that were given).
    pub counts: BTreeMap<String, usize>,
    /// Problems found.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads the given tables. Fails only when PERSON is absent or a table lacks a
/// required column or is not CSV at all; bad rows become diagnostics.
pub fn read_cdm<R: Read>(
    inputs: impl IntoIterator<Item = CsvInput<R>>,
) -> Result<CdmImport, OmopError> {
    let mut diags = Diagnostics::default();
    let mut cdm = Cdm::default();
    let mut counts = BTreeMap::new();
    let mut concepts: Vec<Concept> = Vec::new();
    let mut ancestors: Vec<ConceptAncestor> = Vec::new();
    let mut relationships: Vec<ConceptRelationship> = Vec::new();
    let mut have_person = false;
    for input in inputs {
        let table = input.table.to_ascii_lowercase();
        let (name, r, d) = (input.name.as_str(), input.reader, &mut diags);
        let n = match table.as_str() {
            "person" => {
                have_person = true;
                extend(
                    &mut cdm.person,
                    read_table(name, r, cdm::PERSON, d, Person::from_row)?,
                )
            }
            "observation_period" => extend(
                &mut cdm.observation_period,
                read_table(
                    name,
                    r,
                    cdm::OBSERVATION_PERIOD,
                    d,
                    ObservationPeriod::from_row,
                )?,
            ),
            "visit_occurrence" => extend(
                &mut cdm.visit_occurrence,
                read_table(name, r, cdm::VISIT_OCCURRENCE, d, |row| {
                    Event::from_row(row, &cdm::VISIT_COLUMNS)
                })?,
            ),
            "condition_occurrence" => extend(
                &mut cdm.condition_occurrence,
                read_table(name, r, cdm::CONDITION_OCCURRENCE, d, |row| {
                    Event::from_row(row, &cdm::CONDITION_COLUMNS)
                })?,
            ),
            "drug_exposure" => extend(
                &mut cdm.drug_exposure,
                read_table(name, r, cdm::DRUG_EXPOSURE, d, DrugExposure::from_row)?,
            ),
            "measurement" => extend(
                &mut cdm.measurement,
                read_table(name, r, cdm::MEASUREMENT, d, |row| {
                    Measurement::from_row(row, &cdm::MEASUREMENT_COLUMNS)
                })?,
            ),
            "procedure_occurrence" => extend(
                &mut cdm.procedure_occurrence,
                read_table(name, r, cdm::PROCEDURE_OCCURRENCE, d, |row| {
                    Event::from_row(row, &cdm::PROCEDURE_COLUMNS)
                })?,
            ),
            "observation" => extend(
                &mut cdm.observation,
                read_table(name, r, cdm::OBSERVATION, d, |row| {
                    Measurement::from_row(row, &cdm::OBSERVATION_COLUMNS)
                })?,
            ),
            "death" => extend(
                &mut cdm.death,
                read_table(name, r, cdm::DEATH, d, Death::from_row)?,
            ),
            "concept" => extend(
                &mut concepts,
                read_table(name, r, vocab::CONCEPT, d, Concept::from_row)?,
            ),
            "concept_ancestor" => extend(
                &mut ancestors,
                read_table(
                    name,
                    r,
                    vocab::CONCEPT_ANCESTOR,
                    d,
                    ConceptAncestor::from_row,
                )?,
            ),
            "concept_relationship" => extend(
                &mut relationships,
                read_table(
                    name,
                    r,
                    vocab::CONCEPT_RELATIONSHIP,
                    d,
                    ConceptRelationship::from_row,
                )?,
            ),
            _ => {
                d.add(
                    Severity::Info,
                    name,
                    "not a table this import reads; ignored",
                );
                continue;
            }
        };
        *counts.entry(table).or_insert(0) += n;
    }
    if !have_person {
        return Err(OmopError::MissingTable { table: "person" });
    }
    cdm.vocabulary = Vocabulary::new(&concepts, &ancestors, &relationships);
    check_persons(&mut cdm, &mut diags);
    check_periods(&mut cdm, &mut diags);
    recount(&cdm, &mut counts);
    Ok(CdmImport {
        cdm,
        counts,
        diagnostics: diags.into_vec(),
    })
}

/// Reads only the vocabulary tables (`concept`, `concept_ancestor`,
/// `concept_relationship`; other inputs are ignored), e.g. to map FHIR codes.
pub fn read_vocabulary<R: Read>(
    inputs: impl IntoIterator<Item = CsvInput<R>>,
) -> Result<(Vocabulary, Vec<Diagnostic>), OmopError> {
    let mut diags = Diagnostics::default();
    let (mut concepts, mut ancestors, mut relationships) = (Vec::new(), Vec::new(), Vec::new());
    for input in inputs {
        let (name, r, d) = (input.name.as_str(), input.reader, &mut diags);
        match input.table.to_ascii_lowercase().as_str() {
            "concept" => {
                concepts.extend(read_table(name, r, vocab::CONCEPT, d, Concept::from_row)?)
            }
            "concept_ancestor" => ancestors.extend(read_table(
                name,
                r,
                vocab::CONCEPT_ANCESTOR,
                d,
                ConceptAncestor::from_row,
            )?),
            "concept_relationship" => relationships.extend(read_table(
                name,
                r,
                vocab::CONCEPT_RELATIONSHIP,
                d,
                ConceptRelationship::from_row,
            )?),
            _ => {}
        }
    }
    if concepts.is_empty() {
        return Err(OmopError::MissingTable { table: "concept" });
    }
    Ok((
        Vocabulary::new(&concepts, &ancestors, &relationships),
        diags.into_vec(),
    ))
}

fn extend<T>(into: &mut Vec<T>, rows: Vec<T>) -> usize {
    let n = rows.len();
    into.extend(rows);
    n
}

/// Drops duplicate persons and rows that point to no person.
fn check_persons(cdm: &mut Cdm, diags: &mut Diagnostics) {
    let mut ids = HashSet::with_capacity(cdm.person.len());
    let before = cdm.person.len();
    cdm.person.retain(|p| ids.insert(p.person_id));
    if cdm.person.len() < before {
        diags.add(
            Severity::Error,
            "person",
            format!(
                "{} rows repeat a person_id already seen; the later rows were skipped",
                before - cdm.person.len()
            ),
        );
    }
    let mut drop = |table: &str, removed: usize| {
        if removed > 0 {
            diags.add(
                Severity::Warning,
                table,
                format!("{removed} rows refer to a person_id that is not in person; skipped"),
            );
        }
    };
    drop(
        "observation_period",
        retain(&mut cdm.observation_period, |r| ids.contains(&r.person_id)),
    );
    drop(
        "visit_occurrence",
        retain(&mut cdm.visit_occurrence, |r| ids.contains(&r.person_id)),
    );
    drop(
        "condition_occurrence",
        retain(&mut cdm.condition_occurrence, |r| {
            ids.contains(&r.person_id)
        }),
    );
    drop(
        "drug_exposure",
        retain(&mut cdm.drug_exposure, |r| ids.contains(&r.event.person_id)),
    );
    drop(
        "measurement",
        retain(&mut cdm.measurement, |r| ids.contains(&r.event.person_id)),
    );
    drop(
        "procedure_occurrence",
        retain(&mut cdm.procedure_occurrence, |r| {
            ids.contains(&r.person_id)
        }),
    );
    drop(
        "observation",
        retain(&mut cdm.observation, |r| ids.contains(&r.event.person_id)),
    );
    drop(
        "death",
        retain(&mut cdm.death, |r| ids.contains(&r.person_id)),
    );
}

/// Counts what was kept of the clinical tables (vocabulary tables keep rows read).
fn recount(cdm: &Cdm, counts: &mut BTreeMap<String, usize>) {
    let kept = [
        ("person", cdm.person.len()),
        ("observation_period", cdm.observation_period.len()),
        ("visit_occurrence", cdm.visit_occurrence.len()),
        ("condition_occurrence", cdm.condition_occurrence.len()),
        ("drug_exposure", cdm.drug_exposure.len()),
        ("measurement", cdm.measurement.len()),
        ("procedure_occurrence", cdm.procedure_occurrence.len()),
        ("observation", cdm.observation.len()),
        ("death", cdm.death.len()),
    ];
    for (table, n) in kept {
        if let Some(c) = counts.get_mut(table) {
            *c = n;
        }
    }
}

fn retain<T>(rows: &mut Vec<T>, keep: impl Fn(&T) -> bool) -> usize {
    let before = rows.len();
    rows.retain(keep);
    before - rows.len()
}

/// Observation periods that end before they start cannot define follow-up.
fn check_periods(cdm: &mut Cdm, diags: &mut Diagnostics) {
    let bad = retain(&mut cdm.observation_period, |p| p.start <= p.end);
    if bad > 0 {
        diags.add(
            Severity::Error,
            "observation_period",
            format!("{bad} periods end before they start; skipped"),
        );
    }
}
