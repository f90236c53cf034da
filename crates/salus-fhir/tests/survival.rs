//! The survival view builder on a small hand-checked cohort, imported from FHIR
//! resources through the built-in views.

use salus_fhir::Located;
use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::import::{ImportOptions, Importer};
use salus_fhir::survival::{EventSpec, SurvivalSpec, TimeUnit, survival_table};
use serde_json::{Value, json};

fn patient(id: &str, birth: &str, death: Option<&str>) -> Value {
    let mut p =
        json!({"resourceType": "Patient", "id": id, "gender": "female", "birthDate": birth});
    if let Some(d) = death {
        p["deceasedDateTime"] = json!(d);
    }
    p
}

fn condition(id: &str, patient: &str, code: &str, onset: &str) -> Value {
    json!({"resourceType": "Condition", "id": id, "subject": {"reference": format!("Patient/{patient}")},
           "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
           "onsetDateTime": onset})
}

fn tables() -> std::collections::BTreeMap<String, salus_table::Table> {
    let resources = vec![
        patient("p1", "1950-06-15", None),
        condition("c1", "p1", "IDX", "2010-01-01T10:00:00+01:00"),
        condition("c2", "p1", "OUT", "2010-04-11"),
        patient("p2", "1960-01-01", None),
        condition("c3", "p2", "IDX", "2010-01-01"),
        patient("p3", "1970-01-01", Some("2010-03-02T08:00:00Z")),
        condition("c4", "p3", "IDX", "2010-01-01"),
        patient("p4", "1980-01-01", None),
        condition("c5", "p4", "OUT", "2009-05-01"),
        condition("c6", "p4", "IDX", "2010-01-01"),
        patient("p5", "1980-01-01", None),
        patient("p6", "1980-01-01", None),
        condition("c7", "p6", "IDX", "2012-01-01"),
        // A second, later index event does not move p1's index date.
        condition("c8", "p1", "IDX", "2010-02-01"),
    ];
    let mut imp = Importer::new(
        builtin_views(&BuiltinOptions::default()).expect("views"),
        ImportOptions::default(),
    );
    for (i, r) in resources.into_iter().enumerate() {
        imp.push(Located::new(format!("r{i}"), r));
    }
    imp.finish().expect("finish").tables
}

fn spec(outcome: EventSpec) -> SurvivalSpec {
    SurvivalSpec {
        index: EventSpec::Condition {
            codes: vec!["IDX".into()],
            system: None,
        },
        outcome,
        censor_date: "2011-01-01".into(),
        time_unit: TimeUnit::Days,
        exclude_prior_outcome: true,
    }
}

fn row_of(t: &salus_table::Table, id: &str) -> Option<(f64, f64)> {
    let ids = t.text("patient_id").expect("ids");
    let i = ids.iter().position(|p| p.as_deref() == Some(id))?;
    Some((
        t.numeric("time").expect("time")[i]?,
        t.numeric("event").expect("event")[i]?,
    ))
}

#[test]
fn condition_outcome_with_censoring_at_death() {
    let tables = tables();
    let outcome = EventSpec::Condition {
        codes: vec!["OUT".into()],
        system: Some("http://snomed.info/sct".into()),
    };
    let (t, report) = survival_table(&tables, &spec(outcome)).expect("survival");
    assert_eq!(row_of(&t, "p1"), Some((100.0, 1.0)));
    assert_eq!(row_of(&t, "p2"), Some((365.0, 0.0)));
    assert_eq!(row_of(&t, "p3"), Some((60.0, 0.0)), "censored at death");
    assert_eq!(row_of(&t, "p4"), None, "outcome before index");
    assert_eq!(row_of(&t, "p5"), None, "no index event");
    assert_eq!(row_of(&t, "p6"), None, "index after the censoring date");
    assert_eq!(report.with_index, 4);
    assert_eq!(report.excluded_prior_outcome, 1);
    assert_eq!((report.cohort, report.events), (3, 1));
    let ids = t.text("patient_id").expect("ids");
    let p1 = ids
        .iter()
        .position(|p| p.as_deref() == Some("p1"))
        .expect("p1");
    assert_eq!(t.numeric("age_at_index").expect("age")[p1], Some(59.0));
    assert_eq!(t.text("sex").expect("sex")[p1].as_deref(), Some("female"));
    assert_eq!(
        t.text("index_date").expect("index")[p1].as_deref(),
        Some("2010-01-01")
    );
}

#[test]
fn death_outcome_and_years() {
    let tables = tables();
    let mut s = spec(EventSpec::Death);
    s.time_unit = TimeUnit::Years;
    let (t, report) = survival_table(&tables, &s).expect("survival");
    assert_eq!(row_of(&t, "p3"), Some((60.0 / 365.25, 1.0)));
    assert_eq!(row_of(&t, "p1"), Some((365.0 / 365.25, 0.0)));
    assert_eq!(report.events, 1);
}

#[test]
fn bad_specs_are_errors() {
    let tables = tables();
    let mut s = spec(EventSpec::Death);
    s.censor_date = "soon".into();
    assert!(survival_table(&tables, &s).is_err());
    let mut s = spec(EventSpec::Death);
    s.index = EventSpec::Death;
    assert!(survival_table(&tables, &s).is_err());
    assert!(survival_table(&Default::default(), &spec(EventSpec::Death)).is_err());
}

#[test]
fn spec_reads_from_json() {
    let s: SurvivalSpec = serde_json::from_str(
        r#"{"index": {"kind": "condition", "codes": ["44054006"]},
            "outcome": {"kind": "observation", "codes": ["4548-4"], "min": 7.0},
            "censor_date": "2020-12-31"}"#,
    )
    .expect("spec");
    assert_eq!(s.time_unit, TimeUnit::Days);
    assert!(s.exclude_prior_outcome);
}
