//! FHIR R4 import on the 12 official Consent examples (tests/data/PROVENANCE.txt),
//! checking the documented mapping and what each implies at compute time.

use std::path::Path;

use salus_consent::time::{parse_interval, parse_start};
use salus_consent::{
    ConsentPolicy, ConsentRecord, DataCategory, Decision, Purpose, Registry, import_consent,
    import_fhir,
};
use serde_json::{Value, json};

fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fhir-r4-consent")
        .join(format!("Consent-consent-example-{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn import(name: &str) -> (ConsentRecord, Vec<String>) {
    import_consent(&example(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn t(text: &str) -> i64 {
    parse_start(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Decision for one use under an opt-in node holding only this record.
fn decide(
    record: &ConsentRecord,
    purpose: Purpose,
    category: DataCategory,
    at: &str,
) -> (Decision, bool) {
    let mut registry = Registry::new(ConsentPolicy::opt_in());
    registry
        .add(record.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let eval = registry.evaluate(&record.patient, &purpose, &[category], t(at));
    (eval.decision, eval.decided_by.is_some())
}

const ALL: [&str; 12] = [
    "basic",
    "Emergency",
    "grantor",
    "notAuthor",
    "notOrg",
    "notThem",
    "notThis",
    "notTime",
    "Out",
    "pkb",
    "signature",
    "smartonfhir",
];

#[test]
fn every_official_example_imports() {
    for name in ALL {
        let (record, _) = import(name);
        assert_eq!(record.id, format!("Consent/consent-example-{name}"));
        assert_eq!(
            record.source,
            format!("fhir:Consent/consent-example-{name}")
        );
        record.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let bundle = json!({"resourceType": "Bundle", "entry": ALL.iter().map(|n| json!({"resource": example(n)})).collect::<Vec<_>>()});
    let out = import_fhir(&bundle);
    assert_eq!(out.records.len(), 12);
    // Every approximation is reported, with the resource named and no patient data.
    assert!(
        out.diagnostics
            .iter()
            .all(|d| d.starts_with("Consent/consent-example-"))
    );
    assert!(
        out.diagnostics
            .iter()
            .all(|d| !d.contains("f001") && !d.contains("Heuvel"))
    );
}

#[test]
fn basic_is_a_permit_for_a_period() {
    let (r, notes) = import("basic");
    assert_eq!(r.patient, "f001");
    assert_eq!(r.recorded_at, t("2016-05-11"));
    assert_eq!(r.provision.decision, Decision::Permit);
    assert_eq!(r.provision.period.start, Some(t("1964-01-01")));
    // The end date is inclusive in FHIR: the period runs to the end of 2016-01-01.
    assert_eq!(r.provision.period.end, Some(t("2016-01-02")));
    assert!(
        notes.is_empty() && r.provision.purposes.is_empty() && r.provision.categories.is_empty()
    );
    // Recorded after its period ended: it never speaks, the node default decides.
    assert_eq!(
        decide(&r, Purpose::Research, DataCategory::Labs, "2016-06-01"),
        (Decision::Deny, false)
    );
}

#[test]
fn opt_out_examples_deny_every_use() {
    for name in ["Out", "grantor", "notOrg", "pkb"] {
        let (r, notes) = import(name);
        assert_eq!(r.provision.decision, Decision::Deny, "{name}");
        assert!(
            r.provision.conditions.contains(&"actor".to_string()),
            "{name}"
        );
        assert!(
            !notes.is_empty(),
            "{name}: the actor approximation must be reported"
        );
        // The deny names specific actors; Salus applies it to every use.
        assert_eq!(
            decide(&r, Purpose::Research, DataCategory::Labs, "2020-01-01"),
            (Decision::Deny, true),
            "{name}"
        );
    }
    // pkb's nested permits are limited to security labels: they grant nothing.
    let (pkb, _) = import("pkb");
    assert_eq!(pkb.provision.exceptions.len(), 11);
    assert!(
        pkb.provision
            .exceptions
            .iter()
            .all(|e| e.decision == Decision::Permit && !e.conditions.is_empty())
    );
}

#[test]
fn permits_limited_to_unknown_conditions_grant_nothing() {
    for (name, condition) in [
        ("notAuthor", "actor"),
        ("notThem", "actor"),
        ("notThis", "data"),
    ] {
        let (r, _) = import(name);
        assert_eq!(r.provision.decision, Decision::Permit, "{name}");
        assert_eq!(
            r.provision.conditions,
            vec![condition.to_string()],
            "{name}"
        );
        assert_eq!(
            decide(&r, Purpose::Research, DataCategory::Labs, "2020-01-01"),
            (Decision::Deny, false)
        );
    }
}

#[test]
fn emergency_nested_deny_maps_to_treatment() {
    let (r, _) = import("Emergency");
    // Root has no type; its only exception is a deny, so the root is a permit.
    assert_eq!(r.provision.decision, Decision::Permit);
    assert_eq!(r.provision.purposes, vec![Purpose::Treatment]);
    assert_eq!(r.provision.exceptions[0].decision, Decision::Deny);
    assert_eq!(
        decide(&r, Purpose::Treatment, DataCategory::Labs, "2016-01-01"),
        (Decision::Deny, true)
    );
    // Research is outside the record's scope: the node default decides.
    assert_eq!(
        decide(&r, Purpose::Research, DataCategory::Labs, "2016-01-01"),
        (Decision::Deny, false)
    );
}

#[test]
fn smart_on_fhir_permits_medications_for_thirty_minutes() {
    let (r, notes) = import("smartonfhir");
    assert!(notes.is_empty());
    assert_eq!(r.provision.decision, Decision::Deny);
    assert_eq!(
        r.provision.exceptions[0].categories,
        vec![DataCategory::Medications]
    );
    let during = "2016-06-23T17:10:00+10:00";
    assert_eq!(
        decide(&r, Purpose::Research, DataCategory::Medications, during),
        (Decision::Permit, true)
    );
    assert_eq!(
        decide(&r, Purpose::Research, DataCategory::Labs, during),
        (Decision::Deny, true)
    );
    // After the period the record no longer speaks.
    assert_eq!(
        decide(
            &r,
            Purpose::Research,
            DataCategory::Medications,
            "2016-06-23T17:40:00+10:00"
        ),
        (Decision::Deny, false)
    );
}

#[test]
fn signature_example_denies_during_its_period() -> Result<(), salus_consent::ConsentError> {
    let (r, _) = import("signature");
    assert_eq!(r.patient, "72");
    assert_eq!(r.recorded_at, t("2016-05-26T00:41:10-04:00"));
    assert_eq!(r.provision.decision, Decision::Deny);
    assert_eq!(
        r.provision.period.end,
        Some(parse_interval("2016-10-10")?.1)
    );
    let child = &r.provision.exceptions[0];
    assert_eq!(
        child.categories,
        vec![DataCategory::Other("application/hl7-cda+xml".into())]
    );
    assert_eq!(
        decide(&r, Purpose::Treatment, DataCategory::Labs, "2016-06-01"),
        (Decision::Deny, true)
    );
    let mut opt_out = Registry::new(ConsentPolicy::opt_out());
    opt_out.add(r.clone())?;
    assert!(opt_out.is_permitted(
        "72",
        &Purpose::Research,
        &[DataCategory::Labs],
        t("2017-01-01")
    ));
    Ok(())
}

#[test]
fn research_scope_and_study_codes_are_understood() {
    let consent = json!({
        "resourceType": "Consent", "id": "r1", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]},
        "patient": {"reference": "Patient/ps-9"}, "dateTime": "2024-03-01",
        "provision": {"type": "permit", "provision": [
            {"type": "deny", "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "MolecularSequence"}]},
            {"type": "permit", "purpose": [{"system": "urn:salus:study", "code": "onco-2"}],
             "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "MolecularSequence"}]}
        ]}
    });
    let (r, notes) = import_consent(&consent).unwrap_or_else(|e| panic!("{e}"));
    assert!(notes.is_empty());
    assert_eq!(r.provision.purposes, vec![Purpose::Research]);
    let at = "2024-06-01";
    assert_eq!(
        decide(&r, Purpose::Study("cardio".into()), DataCategory::Labs, at),
        (Decision::Permit, true)
    );
    // Two applicable exceptions disagree on genomics for onco-2: deny wins.
    assert_eq!(
        decide(
            &r,
            Purpose::Study("onco-2".into()),
            DataCategory::Genomics,
            at
        ),
        (Decision::Deny, true)
    );
    assert_eq!(
        decide(&r, Purpose::Commercial, DataCategory::Labs, at),
        (Decision::Deny, false)
    );
}

#[test]
fn unusable_resources_are_reported_not_imported() {
    let base = example("smartonfhir");
    let mut inactive = base.clone();
    inactive["status"] = json!("inactive");
    let mut no_patient = base.clone();
    no_patient["patient"] = json!({"display": "someone"});
    let mut bad_date = base.clone();
    bad_date["dateTime"] = json!("23/06/2016");
    let mut undecidable = base.clone();
    undecidable["policyRule"] = json!({"coding": [{"code": "NOPP"}]});
    undecidable["provision"] = json!({"period": {"start": "2016"}});
    let out = import_fhir(
        &json!([inactive, no_patient, bad_date, undecidable, {"resourceType": "Patient"}, 42]),
    );
    assert!(out.records.is_empty());
    assert_eq!(out.diagnostics.len(), 5, "{:#?}", out.diagnostics);
    assert!(out.diagnostics[0].contains("only active consents"));
    assert!(out.diagnostics[3].contains("cannot tell permit from deny"));
}
