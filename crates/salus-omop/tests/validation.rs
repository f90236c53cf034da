//! Hostile and edge-case inputs: missing tables and columns, bad cells with their
//! positions, duplicates, orphans, and the cohort rules one by one.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure
#![allow(clippy::type_complexity)] // inline fixture tuples read best as written

use salus_omop::{
    CdmImport, CohortSpec, CsvInput, OmopError, analysis_tables, build_cohort, read_cdm,
};

const PERSON: &str = "person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth,race_concept_id,ethnicity_concept_id\n";
const PERIOD: &str = "observation_period_id,person_id,observation_period_start_date,observation_period_end_date,period_type_concept_id\n";
const CONDITION: &str = "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_type_concept_id\n";
const DEATH: &str = "person_id,death_date,death_type_concept_id\n";

fn import(tables: &[(&str, String)]) -> Result<CdmImport, OmopError> {
    read_cdm(tables.iter().map(|(t, text)| CsvInput {
        table: (*t).to_owned(),
        name: format!("{t}.csv"),
        reader: text.as_bytes(),
    }))
}

fn messages(import: &CdmImport) -> Vec<String> {
    import.diagnostics.iter().map(|d| d.to_string()).collect()
}

#[test]
fn person_table_is_required() {
    let err = import(&[("death", DEATH.to_owned())]).unwrap_err();
    assert!(
        matches!(err, OmopError::MissingTable { table: "person" }),
        "{err}"
    );
}

#[test]
fn missing_required_column_names_file_and_column() {
    let err = import(&[("person", "person_id,year_of_birth\n1,1950\n".to_owned())]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "person.csv: required column `gender_concept_id` is missing from the header; add it (OMOP CDM v5.3/5.4 names, any case)"
    );
}

#[test]
fn bad_cells_are_located_and_good_rows_kept() {
    let person = format!(
        "{PERSON}1,8507,1950,4,12,0,0\n2,8532,19x0,,,0,0\n3,8532,1960,13,,0,0\n4,8507,1970,,,0,0\n"
    );
    let imp = import(&[("person", person)]).unwrap();
    assert_eq!(imp.counts["person"], 3);
    assert_eq!(
        messages(&imp),
        ["error: person.csv:3:3: column `year_of_birth` must be an integer; row skipped"]
    );
    let patients = &analysis_tables(&imp.cdm).unwrap()["patients"];
    let births: Vec<_> = patients.text("birth_date").unwrap().to_vec();
    // Month 13 is not a month: the birth date falls back to the year.
    assert_eq!(
        births,
        [
            Some("1950-04-12".into()),
            Some("1960".into()),
            Some("1970".into())
        ]
    );
}

#[test]
fn duplicates_orphans_and_unknown_tables() {
    let person = format!("{PERSON}1,8507,1950,,,0,0\n1,8532,1951,,,0,0\n");
    let period = format!(
        "{PERIOD}1,1,2000-01-01,2001-01-01,0\n2,9,2000-01-01,2001-01-01,0\n3,1,2002-01-01,2001-01-01,0\n"
    );
    let imp = import(&[
        ("person", person),
        ("observation_period", period),
        ("note", "x\n".into()),
    ])
    .unwrap();
    assert_eq!(imp.counts["person"], 1);
    assert_eq!(imp.counts["observation_period"], 1);
    assert_eq!(
        messages(&imp),
        [
            "info: note.csv: not a table this import reads; ignored",
            "error: person: 1 rows repeat a person_id already seen; the later rows were skipped",
            "warning: observation_period: 1 rows refer to a person_id that is not in person; skipped",
            "error: observation_period: 1 periods end before they start; skipped",
        ]
    );
}

#[test]
fn repeated_problems_are_summarised() {
    let mut person = PERSON.to_owned();
    for i in 0..25 {
        person.push_str(&format!("{i},8507,bad,,,0,0\n"));
    }
    person.push_str("99,8507,1950,,,0,0\n");
    let imp = import(&[("person", person)]).unwrap();
    let msgs = messages(&imp);
    assert_eq!(msgs.len(), 11);
    assert_eq!(
        msgs[10],
        "error: person.csv: 15 more diagnostics like the ones above were not listed"
    );
    assert!(
        msgs[9].starts_with("error: person.csv:11:3:"),
        "{}",
        msgs[9]
    );
}

#[test]
fn measurement_values_units_and_deaths() {
    let measurement = "measurement_id,person_id,measurement_concept_id,measurement_date,measurement_type_concept_id,value_as_number,unit_concept_id,unit_source_value,range_low,range_high\n\
                       1,1,3004410,2020-01-02,44818702,6.1,8554,,4,5.6\n2,1,3004410,2020-02-02,44818702,5.2,0,%,,\n";
    let concept = "concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code\n\
                   8554,percent,Unit,UCUM,Unit,S,%\n3004410,Hemoglobin A1c,Measurement,LOINC,Lab Test,S,4548-4\n";
    let imp = import(&[
        ("person", format!("{PERSON}1,8507,1950,,,0,0\n")),
        ("measurement", measurement.to_owned()),
        ("concept", concept.to_owned()),
        ("death", format!("{DEATH}1,2021-03-04,0\n")),
    ])
    .unwrap();
    let t = analysis_tables(&imp.cdm).unwrap();
    let m = &t["measurements"];
    assert_eq!(m.numeric("value").unwrap(), [Some(6.1), Some(5.2)]);
    assert_eq!(
        m.text("unit").unwrap(),
        [Some("percent".to_owned()), Some("%".to_owned())]
    );
    assert_eq!(
        m.text("concept_name").unwrap()[0].as_deref(),
        Some("Hemoglobin A1c")
    );
    assert_eq!(m.numeric("range_high").unwrap()[0], Some(5.6));
    assert_eq!(
        t["patients"].text("death_date").unwrap()[0].as_deref(),
        Some("2021-03-04")
    );
    assert_eq!(t["deaths"].nrows(), 1);
}

/// One person per line of `(period start, period end, index, outcomes, death)`.
fn cohort_of(
    people: &[(&str, &str, &str, &[&str], Option<&str>)],
    spec: &str,
) -> Vec<(i64, i32, bool)> {
    let mut person = PERSON.to_owned();
    let mut period = PERIOD.to_owned();
    let mut condition = CONDITION.to_owned();
    let mut death = DEATH.to_owned();
    let mut id = 0;
    for (i, (start, end, index, outcomes, died)) in people.iter().enumerate() {
        let p = i + 1;
        person.push_str(&format!("{p},8532,1950,6,1,0,0\n"));
        period.push_str(&format!("{p},{p},{start},{end},0\n"));
        id += 1;
        condition.push_str(&format!("{id},{p},100,{index},0\n"));
        for o in *outcomes {
            id += 1;
            condition.push_str(&format!("{id},{p},200,{o},0\n"));
        }
        if let Some(d) = died {
            death.push_str(&format!("{p},{d},0\n"));
        }
    }
    let imp = import(&[
        ("person", person),
        ("observation_period", period),
        ("condition_occurrence", condition),
        ("death", death),
    ])
    .unwrap();
    let cohort = build_cohort(&imp.cdm, &CohortSpec::from_toml(spec).unwrap());
    cohort
        .rows
        .iter()
        .map(|r| (r.patient_id, r.time, r.event))
        .collect()
}

const BASIC: &str =
    "[index]\ncondition_concept_ids=[100]\n[outcome]\ncondition_concept_ids=[200]\n";

#[test]
fn cohort_rules_one_by_one() {
    let y = "2000-01-01";
    let end = "2000-12-31";
    let people: &[(&str, &str, &str, &[&str], Option<&str>)] = &[
        (y, end, "2000-03-01", &["2000-03-11"], None), // 1: event at 10
        (y, end, "2000-03-01", &[], None),             // 2: censored at period end (305)
        (y, end, "2000-03-01", &["2000-03-01"], None), // 3: outcome on index day: excluded
        (y, end, "2000-03-01", &["2000-02-01", "2000-04-01"], None), // 4: prior outcome: excluded
        (y, end, "2001-03-01", &[], None),             // 5: index outside observation
        (y, end, "2000-12-31", &[], None),             // 6: no time after index
        (y, end, "2000-03-01", &[], Some("2000-03-21")), // 7: censored at death (20)
        (y, end, "2000-03-01", &["2000-06-01"], Some("2000-05-01")), // 8: death before outcome: censored (61)
    ];
    assert_eq!(
        cohort_of(people, BASIC),
        [
            (1, 10, true),
            (2, 305, false),
            (7, 20, false),
            (8, 61, false)
        ]
    );
    let keep_prior = BASIC.replace("[200]", "[200]\nexclude_prior=false");
    assert_eq!(
        cohort_of(people, &keep_prior),
        [
            (1, 10, true),
            (2, 305, false),
            (3, 305, false),
            (4, 31, true),
            (7, 20, false),
            (8, 61, false)
        ]
    );
    let death_outcome = BASIC.replace("[200]", "[200]\ndeath=true");
    assert_eq!(
        cohort_of(people, &death_outcome),
        [(1, 10, true), (2, 305, false), (7, 20, true), (8, 61, true)]
    );
    let capped = format!("{BASIC}[follow_up]\nmax_days=15\n[washout]\nprior_observation_days=60\n");
    // Washout: 2000-01-01 to 2000-03-01 is exactly 60 days, so everyone qualifies.
    assert_eq!(
        cohort_of(people, &capped),
        [
            (1, 10, true),
            (2, 15, false),
            (7, 15, false),
            (8, 15, false)
        ]
    );
    let strict = capped.replace("=60", "=61");
    assert_eq!(cohort_of(people, &strict), []);
}
