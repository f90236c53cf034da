//! Property tests: parsers never panic on arbitrary input, views preserve row
//! counts, imports de-duplicate patients whatever the order, and diagnostics
//! never carry patient values.

use proptest::prelude::*;
use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::fhirpath::{Environment, FhirPath, Temporal};
use salus_fhir::import::{ImportOptions, Importer};
use salus_fhir::{Located, ViewDefinition};
use serde_json::{Value, json};

fn patient(id: &str, given: &[String]) -> Value {
    json!({"resourceType": "Patient", "id": id, "name": [{"given": given}], "gender": "female"})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fhirpath_compile_never_panics(src in "\\PC{0,60}") {
        let _ = FhirPath::compile(&src);
    }

    #[test]
    fn fhirpath_on_operator_soup_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("name"), Just("given"), Just("."), Just("("), Just(")"), Just("["), Just("]"),
                Just("1"), Just("2.5"), Just("'x'"), Just("+"), Just("-"), Just("*"), Just("/"),
                Just("and"), Just("or"), Just("="), Just("<"), Just("|"), Just("first()"),
                Just("where("), Just("exists()"), Just("@2020-01"), Just("$this"), Just("%resource"),
                Just("iif("), Just(","), Just("ofType(string)"), Just("{}"), Just("lowBoundary()"),
            ],
            0..25,
        )
    ) {
        let src = parts.concat();
        if let Ok(path) = FhirPath::compile(&src) {
            let r = patient("p", &["A".into(), "B".into()]);
            let _ = path.evaluate(&r, &Environment::default());
        }
    }

    #[test]
    fn reader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let out = salus_fhir::reader::read_json(&bytes, "fuzz.json");
        prop_assert!(out.resources.len() + out.diagnostics.len() <= bytes.len() + 1);
        let mut n = 0;
        let lines = salus_fhir::reader::read_ndjson(&bytes[..], "fuzz.ndjson", |_| n += 1)
            .expect("in-memory read");
        prop_assert!(lines as usize <= bytes.iter().filter(|&&b| b == b'\n').count() + 1);
    }

    #[test]
    fn for_each_yields_one_row_per_item(names in proptest::collection::vec(proptest::collection::vec("[a-z]{1,5}", 0..4), 0..8)) {
        let view = ViewDefinition::from_json(&json!({
            "resource": "Patient",
            "select": [{"column": [{"name": "id", "path": "id"}]},
                       {"forEach": "name.given", "column": [{"name": "g", "path": "$this"}]}]
        })).expect("view");
        let resources: Vec<Value> = names.iter().enumerate().map(|(i, g)| patient(&format!("p{i}"), g)).collect();
        let rows = view.run(&resources).expect("run");
        prop_assert_eq!(rows.rows.len(), names.iter().map(Vec::len).sum::<usize>());
    }

    #[test]
    fn patients_are_listed_once_whatever_the_order(ids in proptest::collection::vec(0u8..6, 1..30)) {
        let views = builtin_views(&BuiltinOptions::default()).expect("views");
        let mut imp = Importer::new(views, ImportOptions::default());
        for (i, id) in ids.iter().enumerate() {
            imp.push(Located::new(format!("line {i}"), patient(&format!("p{id}"), &[])));
        }
        let out = imp.finish().expect("finish");
        let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
        prop_assert_eq!(out.tables["patients"].nrows(), distinct.len());
        prop_assert_eq!(out.resources["Patient"], ids.len() as u64);
    }

    #[test]
    fn dates_round_trip(y in 1i32..9999, m in 1u8..=12, d in 1u8..=28, h in 0u8..24, mi in 0u8..60) {
        let date = format!("{y:04}-{m:02}-{d:02}");
        let t = Temporal::parse_date(&date).expect("valid date");
        prop_assert_eq!(t.format(), date.clone());
        let dt = format!("{date}T{h:02}:{mi:02}:00+01:00");
        let t = Temporal::parse_datetime(&dt).expect("valid dateTime");
        prop_assert_eq!(t.format(), dt);
        prop_assert!(t.low_boundary().compare(&t.high_boundary()) != Some(std::cmp::Ordering::Greater));
    }
}

/// Diagnostics name places and types, never values: fill every string of a
/// malformed resource with a marker and look for it in the diagnostics.
#[test]
fn diagnostics_never_contain_patient_values() {
    let secret = "ZZSECRETZZ";
    let bad = json!({
        "resourceType": "Observation", "id": "o1",
        "status": secret, "code": {"coding": [{"code": 7, "system": secret}], "text": secret},
        "subject": {"reference": 12},
        "effectiveDateTime": secret,
        "valueQuantity": {"value": secret, "unit": secret},
        "component": secret,
        "unknownThing": secret,
        "modifierExtension": [{"url": secret}]
    });
    let mut doc = serde_json::to_string(&bad).expect("json");
    let mut imp = Importer::new(
        builtin_views(&BuiltinOptions::default()).expect("views"),
        ImportOptions::default(),
    );
    imp.push(Located::new("x.json", bad));
    imp.read_json(doc.as_bytes(), "doc.json");
    doc.insert_str(10, secret);
    imp.read_json(doc.as_bytes(), "broken.json");
    imp.read_ndjson(
        format!("{{\"resourceType\": \"Patient\", \"gender\": {secret}}}\n").as_bytes(),
        "p.ndjson",
    )
    .expect("read");
    let out = imp.finish().expect("finish");
    assert!(out.diagnostics.len() >= 8, "{:?}", out.diagnostics);
    for d in &out.diagnostics {
        assert!(
            !d.message.contains(secret) && !d.location.contains(secret),
            "{d}"
        );
    }
    let debug = format!("{out:?}");
    assert!(!debug.contains(secret));
}

#[test]
fn deeply_nested_json_is_a_diagnostic() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let out = salus_fhir::reader::read_json(deep.as_bytes(), "deep.json");
    assert_eq!(out.diagnostics.len(), 1);
    assert!(out.resources.is_empty());
}
