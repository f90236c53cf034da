//! FHIR → OMOP on a real Synthea bundle (tests/data/fhir/PROVENANCE.txt) with the
//! Eunomia vocabulary (the same Synthea code lists): mapped concepts, the derived
//! observation period, a CSV round trip through the importer, and a cohort.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use std::fs::File;
use std::path::PathBuf;

use salus_omop::{
    CohortSpec, CsvInput, Vocabulary, analysis_tables, build_cohort, cdm_tables, fhir_to_omop,
    read_cdm,
};
use serde_json::Value;

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn resources() -> Vec<Value> {
    let text = std::fs::read_to_string(data(
        "fhir/Luna60_McCullough561_6662f0ca-b617-4e02-8f55-7275e9f49aa0.json",
    ))
    .unwrap();
    let bundle: Value = serde_json::from_str(&text).unwrap();
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect()
}

fn vocabulary() -> Vocabulary {
    let inputs = ["person", "concept", "concept_ancestor"].map(|t| CsvInput {
        table: t.to_owned(),
        name: format!("{t}.csv"),
        reader: File::open(data(&format!("eunomia/{t}.csv"))).unwrap(),
    });
    read_cdm(inputs).unwrap().cdm.vocabulary
}

#[test]
fn converts_with_standard_concepts() {
    let conv = fhir_to_omop(&resources(), vocabulary());
    let counts: Vec<(&str, usize)> = conv.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        counts,
        [
            ("condition_occurrence", 8),
            ("death", 0),
            ("drug_exposure", 6),
            ("measurement", 96),
            ("observation", 16),
            ("observation_period", 1),
            ("person", 1),
            ("visit_occurrence", 23),
        ]
    );
    let person = &conv.cdm.person[0];
    assert_eq!(
        (
            person.gender_concept_id,
            person.year_of_birth,
            person.month_of_birth,
            person.day_of_birth
        ),
        (8532, 2008, Some(11), Some(6))
    );
    assert_eq!(
        person.person_source_value.as_deref(),
        Some("356a0ab8-5592-4ec5-8c3a-9a4d0857b793")
    );
    let conditions: Vec<(i64, String)> = conv
        .cdm
        .condition_occurrence
        .iter()
        .map(|c| (c.concept_id, c.start.to_string()))
        .collect();
    assert_eq!(
        conditions[0],
        (40481087, "2009-08-09".to_owned()),
        "SNOMED 444814009 viral sinusitis"
    );
    assert_eq!(
        conditions[6],
        (260139, "2014-08-09".to_owned()),
        "SNOMED 10509002 acute bronchitis"
    );
    assert_eq!(
        conv.cdm.condition_occurrence[0].source_value.as_deref(),
        Some("444814009")
    );
    assert_eq!(
        conv.cdm.condition_occurrence[0]
            .end
            .map(|d| d.to_string())
            .as_deref(),
        Some("2009-08-23")
    );
    let drugs: Vec<i64> = conv
        .cdm
        .drug_exposure
        .iter()
        .map(|d| d.event.concept_id)
        .collect();
    assert_eq!(
        drugs,
        [19019979, 19075001, 0, 19019979, 1127433, 0],
        "RxNorm codes in CONCEPT map; others are 0"
    );
    assert_eq!(
        conv.cdm.drug_exposure[5].event.source_value.as_deref(),
        Some("2618839")
    );
    let visits = &conv.cdm.visit_occurrence;
    assert_eq!(visits.iter().filter(|v| v.concept_id == 9202).count(), 22);
    assert_eq!(visits.iter().filter(|v| v.concept_id == 9203).count(), 1);
    assert!(
        conv.cdm
            .condition_occurrence
            .iter()
            .all(|c| c.visit_occurrence_id.is_some())
    );
    let period = &conv.cdm.observation_period[0];
    // First and last dated record (encounters, conditions, observations, drugs).
    assert_eq!(
        (period.start.to_string(), period.end.to_string()),
        ("2009-07-16".into(), "2018-09-20".into())
    );
    let messages: Vec<String> = conv.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("MedicationRequest/") && m.contains("concept_id 0")),
        "{messages:?}"
    );
    assert!(
        messages.contains(
            &"info: Claim: 27 resources of this type have no OMOP mapping here; not converted"
                .to_owned()
        )
    );
}

#[test]
fn written_tables_read_back_identically() {
    let conv = fhir_to_omop(&resources(), vocabulary());
    let tables = cdm_tables(&conv.cdm).unwrap();
    let mut buffers = Vec::new();
    for (name, table) in &tables {
        let mut bytes = Vec::new();
        salus_table::write_csv(table, &mut bytes, b',').unwrap();
        buffers.push((name.clone(), bytes));
    }
    let back = read_cdm(buffers.iter().map(|(name, bytes)| CsvInput {
        table: name.clone(),
        name: format!("{name}.csv"),
        reader: bytes.as_slice(),
    }))
    .unwrap();
    assert!(back.diagnostics.is_empty(), "{:?}", back.diagnostics);
    let mut reread = back.cdm;
    reread.vocabulary = conv.cdm.vocabulary.clone();
    let a = analysis_tables(&conv.cdm).unwrap();
    let b = analysis_tables(&reread).unwrap();
    for (name, table) in &a {
        assert_eq!(table, &b[name], "{name}");
    }
}

#[test]
fn cohort_on_converted_data() {
    let conv = fhir_to_omop(&resources(), vocabulary());
    let spec = "[index]\ncondition_concept_ids = [40481087]\n[outcome]\ncondition_concept_ids = [260139]\n";
    let cohort = build_cohort(&conv.cdm, &CohortSpec::from_toml(spec).unwrap());
    assert_eq!(cohort.rows.len(), 1);
    let row = &cohort.rows[0];
    assert_eq!(row.index_date.to_string(), "2009-08-09");
    assert_eq!(
        (row.time, row.event, row.age, row.sex.as_deref()),
        (1826, true, 0, Some("female"))
    );
}
