//! Segment maps on hand-built messages covering what the samples do not: AL1,
//! DG1, RXA/RXR (VXU), RXO (pharmacy orders), OBX value types (SN, CWE, TX, DT,
//! TM), NTE, death, ADT^A08 updates, and missing identifiers.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use salus_hl7::{Message, ResourceSet, Severity, map_message, map_messages, parse};
use serde_json::{Value, json};

/// A segment with values at the given field numbers (1-based), empty elsewhere.
fn seg(id: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut out = vec![String::new(); last + 1];
    out[0] = id.to_owned();
    for (n, v) in fields {
        out[*n] = (*v).to_owned();
    }
    out.join("|")
}

fn msh(kind: &str, control: &str, version: &str) -> String {
    format!("MSH|^~\\&|APP|HOSP|||20240102080000||{kind}|{control}|P|{version}")
}

fn map(segments: &[String]) -> (Vec<Value>, Vec<String>) {
    let text = segments.join("\r");
    let msg = Message::parse(&text).unwrap();
    let mapping = map_message(&msg, 1);
    let diags = mapping
        .diagnostics
        .iter()
        .map(|d| format!("{} {}: {}", d.severity, d.location, d.message))
        .collect();
    (
        mapping.resources.into_iter().map(|r| r.resource).collect(),
        diags,
    )
}

fn one<'a>(all: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = all.iter().filter(|r| r["resourceType"] == kind).collect();
    assert_eq!(found.len(), 1, "{kind}");
    found[0]
}

fn pid() -> String {
    seg(
        "PID",
        &[
            (1, "1"),
            (3, "MRN42^^^HOSP^MR~999-99-9999^^^SSA^SS"),
            (5, "Smith^John^A^III^Dr^^L"),
            (7, "19700304"),
            (8, "M"),
            (11, "1 Main St^^Springfield^IL^62701^USA^H"),
            (13, "^PRN^PH^^1^217^5550100"),
            (16, "M"),
            (29, "20240201"),
        ],
    )
}

#[test]
fn admission_with_allergy_and_diagnosis() {
    let (all, diags) = map(&[
        msh("ADT^A01^ADT_A01", "ADT001", "2.5"),
        seg("EVN", &[(1, "A01")]),
        pid(),
        seg(
            "PV1",
            &[
                (1, "1"),
                (2, "I"),
                (3, "4W^401^A^HOSP"),
                (7, "1234^House^Gregory^^^Dr"),
                (17, "1234^House^Gregory^^^Dr"),
                (19, "V77^^^HOSP"),
                (44, "20240102073000"),
                (45, "20240110120000"),
            ],
        ),
        seg(
            "AL1",
            &[
                (1, "1"),
                (2, "DA"),
                (3, "70618^Penicillin^RXNORM"),
                (4, "SV"),
                (5, "Hives~Rash"),
                (6, "20100101"),
            ],
        ),
        seg(
            "DG1",
            &[
                (1, "1"),
                (3, "I21.4^Non-ST elevation myocardial infarction^I10"),
                (5, "20240102"),
                (6, "A"),
            ],
        ),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    let p = one(&all, "Patient");
    assert_eq!(
        p["name"][0],
        json!({"use": "official", "family": "Smith", "given": ["John", "A"], "prefix": ["Dr"], "suffix": ["III"]})
    );
    assert_eq!(
        (&p["birthDate"], &p["gender"], &p["deceasedDateTime"]),
        (&json!("1970-03-04"), &json!("male"), &json!("2024-02-01"))
    );
    assert_eq!(p["identifier"].as_array().unwrap().len(), 2);
    assert_eq!(
        p["telecom"][0],
        json!({"system": "phone", "value": "+1 (217) 5550100", "use": "home"})
    );
    let e = one(&all, "Encounter");
    assert_eq!(
        (&e["status"], &e["class"]["code"]),
        (&json!("finished"), &json!("IMP"))
    );
    assert_eq!(
        e["period"],
        json!({"start": "2024-01-02T07:30:00", "end": "2024-01-10T12:00:00"})
    );
    assert_eq!(e["participant"].as_array().unwrap().len(), 2);
    assert_eq!(e["identifier"][0]["value"], "V77");
    let a = one(&all, "AllergyIntolerance");
    assert_eq!(
        (&a["category"], &a["criticality"]),
        (&json!(["medication"]), &json!("high"))
    );
    assert_eq!(
        a["code"]["coding"][0]["system"],
        "http://www.nlm.nih.gov/research/umls/rxnorm"
    );
    assert_eq!(
        a["reaction"][0]["manifestation"],
        json!([{"text": "Hives"}, {"text": "Rash"}])
    );
    assert_eq!(
        a["patient"]["reference"],
        format!("Patient/{}", p["id"].as_str().unwrap())
    );
    let c = one(&all, "Condition");
    assert_eq!(
        c["code"]["coding"][0],
        json!({"system": "http://hl7.org/fhir/sid/icd-10", "code": "I21.4", "display": "Non-ST elevation myocardial infarction"})
    );
    assert_eq!(c["onsetDateTime"], "2024-01-02");
    assert_eq!(
        c["encounter"]["reference"],
        format!("Encounter/{}", e["id"].as_str().unwrap())
    );
}

#[test]
fn a08_updates_the_same_patient_and_encounter() {
    let admit = [
        msh("ADT^A01", "M1", "2.5"),
        pid(),
        seg("PV1", &[(2, "I"), (19, "V77^^^HOSP")]),
    ]
    .join("\r");
    let moved = seg(
        "PID",
        &[
            (3, "MRN42^^^HOSP^MR"),
            (5, "Smith^John"),
            (11, "9 New Rd^^Boston^MA"),
        ],
    );
    let update = [
        msh("ADT^A08", "M2", "2.5"),
        moved,
        seg("PV1", &[(2, "I"), (19, "V77^^^HOSP"), (45, "20240110")]),
    ]
    .join("\r");
    let text = format!("{admit}\r{update}\r");
    let parsed = parse(&text);
    let (set, _) = map_messages(&parsed.messages);
    let counts = set.counts();
    assert_eq!((counts["Patient"], counts["Encounter"]), (1, 1));
    let resources: Vec<&Value> = set.resources().iter().map(|r| &r.resource).collect();
    let p = resources
        .iter()
        .find(|r| r["resourceType"] == "Patient")
        .unwrap();
    assert_eq!(p["address"][0]["city"], "Boston", "the later message wins");
    assert_eq!(
        p["birthDate"], "1970-03-04",
        "elements the update did not send are kept"
    );
    assert_eq!(
        p["identifier"].as_array().unwrap().len(),
        2,
        "identifiers are united"
    );
    let e = resources
        .iter()
        .find(|r| r["resourceType"] == "Encounter")
        .unwrap();
    assert_eq!(e["status"], "finished");
    let mut again = ResourceSet::default();
    again.extend(map_messages(&parsed.messages).0.into_resources());
    again.extend(map_messages(&parsed.messages).0.into_resources());
    assert_eq!(
        again.resources().len(),
        set.resources().len(),
        "reading twice adds nothing"
    );
}

#[test]
fn vaccination_record() {
    let (all, diags) = map(&[
        msh("VXU^V04^VXU_V04", "VXU001", "2.5.1"),
        seg(
            "PID",
            &[
                (3, "PAT123^^^CLINIC^MR"),
                (5, "Kid^Amy"),
                (7, "20200115"),
                (8, "F"),
            ],
        ),
        seg("ORC", &[(1, "RE"), (3, "IZ-783274^CLINIC")]),
        seg(
            "RXA",
            &[
                (1, "0"),
                (2, "1"),
                (3, "20240105"),
                (5, "08^HepB pediatric^CVX"),
                (6, "0.5"),
                (7, "mL^milliliter^UCUM"),
                (15, "LOT123"),
                (16, "20250101"),
                (17, "MSD^Merck^MVX"),
                (20, "CP"),
                (21, "A"),
            ],
        ),
        seg(
            "RXR",
            &[(1, "IM^Intramuscular^HL70162"), (2, "LA^Left arm^HL70163")],
        ),
    ]);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].starts_with("info message 1, segment 1 (MSH), MSH-9: message type VXU^V04"));
    let i = one(&all, "Immunization");
    assert_eq!(i["status"], "completed");
    assert_eq!(
        i["vaccineCode"]["coding"][0],
        json!({"system": "http://hl7.org/fhir/sid/cvx", "code": "08", "display": "HepB pediatric"})
    );
    assert_eq!(i["occurrenceDateTime"], "2024-01-05");
    assert_eq!(
        i["doseQuantity"],
        json!({"value": 0.5, "unit": "milliliter", "system": "http://unitsofmeasure.org", "code": "mL"})
    );
    assert_eq!(
        (&i["lotNumber"], &i["expirationDate"]),
        (&json!("LOT123"), &json!("2025-01-01"))
    );
    assert_eq!(i["manufacturer"]["display"], "Merck");
    assert_eq!(i["route"]["coding"][0]["code"], "IM");
    assert_eq!(
        i["site"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v2-0163"
    );
}

#[test]
fn pharmacy_order() {
    let (all, diags) = map(&[
        msh("ORM^O01", "ORM9", "2.4"),
        seg("PID", &[(3, "MRN42^^^HOSP^MR"), (5, "Smith^John")]),
        seg(
            "ORC",
            &[
                (1, "NW"),
                (2, "PLC100^HOSP"),
                (9, "20240103090000"),
                (12, "1234^House^Gregory"),
            ],
        ),
        seg(
            "RXO",
            &[
                (1, "197361^Amlodipine 5 MG Oral Tablet^RXNORM"),
                (2, "5"),
                (4, "mg^milligram^UCUM"),
                (11, "30"),
                (12, "TAB^tablet"),
                (13, "2"),
            ],
        ),
        seg("RXR", &[(1, "PO^Oral^HL70162")]),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    let m = one(&all, "MedicationRequest");
    assert_eq!(
        (&m["status"], &m["intent"]),
        (&json!("active"), &json!("order"))
    );
    assert_eq!(
        m["medicationCodeableConcept"]["coding"][0]["code"],
        "197361"
    );
    assert_eq!(m["authoredOn"], "2024-01-03T09:00:00");
    assert_eq!(m["requester"]["display"], "Gregory House");
    let dose = &m["dosageInstruction"][0];
    assert_eq!(
        dose["doseAndRate"][0]["doseQuantity"],
        json!({"value": 5, "unit": "milligram", "system": "http://unitsofmeasure.org", "code": "mg"})
    );
    assert_eq!(dose["route"]["coding"][0]["code"], "PO");
    assert_eq!(
        m["dispenseRequest"],
        json!({"quantity": {"value": 30, "unit": "tablet"}, "numberOfRepeatsAllowed": 2})
    );
    assert_eq!(m["identifier"][0]["value"], "PLC100");
}

#[test]
fn observation_value_types() {
    let (all, diags) = map(&[
        msh("ORU^R01", "ORU7", "2.5"),
        seg("PID", &[(3, "MRN42^^^HOSP^MR")]),
        seg(
            "OBR",
            &[
                (1, "1"),
                (4, "24323-8^Metabolic panel^LN"),
                (7, "20240104080000"),
                (25, "F"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "1"),
                (2, "SN"),
                (3, "2160-0^Creatinine^LN"),
                (5, "<^0.5"),
                (6, "mg/dL^^UCUM"),
                (7, "0.6-1.2"),
                (8, "L"),
                (11, "F"),
                (14, "20240104101500+0100"),
            ],
        ),
        seg(
            "OBX",
            &[(1, "2"), (2, "SN"), (3, "X^Titer^L"), (5, "^1^:^128")],
        ),
        seg(
            "OBX",
            &[
                (1, "3"),
                (2, "SN"),
                (3, "Y^Range^L"),
                (5, "^10^-^20"),
                (6, "mmol/L"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "4"),
                (2, "CWE"),
                (3, "Z^Culture^L"),
                (5, "3092008^Staphylococcus aureus^SCT"),
                (11, "C"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "5"),
                (2, "TX"),
                (3, "N^Narrative^L"),
                (5, "line 1~line 2"),
                (11, "P"),
            ],
        ),
        seg("NTE", &[(1, "1"), (3, "a note")]),
        seg(
            "OBX",
            &[(1, "6"), (2, "DT"), (3, "D^Date^L"), (5, "20240101")],
        ),
        seg("OBX", &[(1, "7"), (2, "TM"), (3, "T^Time^L"), (5, "0930")]),
        seg(
            "OBX",
            &[(1, "8"), (2, "NM"), (3, "W^Weight^L"), (5, "heavy")],
        ),
    ]);
    assert_eq!(
        diags,
        [
            "warning message 1, segment 12 (OBX), OBX-5: OBX-5 does not hold a valid NM value (declared in OBX-2); kept as valueString"
        ]
    );
    let obs: Vec<&Value> = all
        .iter()
        .filter(|r| r["resourceType"] == "Observation")
        .collect();
    assert_eq!(
        obs[0]["valueQuantity"],
        json!({"value": 0.5, "comparator": "<", "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"})
    );
    assert_eq!(obs[0]["effectiveDateTime"], "2024-01-04T10:15:00+01:00");
    assert_eq!(obs[0]["referenceRange"][0]["low"]["value"], 0.6);
    assert_eq!(
        obs[1]["valueRatio"],
        json!({"numerator": {"value": 1}, "denominator": {"value": 128}})
    );
    assert_eq!(
        obs[2]["valueRange"]["high"],
        json!({"value": 20, "unit": "mmol/L"})
    );
    assert_eq!(
        obs[3]["valueCodeableConcept"]["coding"][0]["system"],
        "http://snomed.info/sct"
    );
    assert_eq!(obs[3]["status"], "corrected");
    assert_eq!(
        (&obs[4]["valueString"], &obs[4]["status"]),
        (&json!("line 1\nline 2"), &json!("preliminary"))
    );
    assert_eq!(obs[4]["note"], json!([{"text": "a note"}]));
    assert_eq!(obs[5]["valueDateTime"], "2024-01-01");
    assert_eq!(
        obs[5]["effectiveDateTime"], "2024-01-04T08:00:00",
        "OBR-7 when OBX-14 is empty"
    );
    assert_eq!(obs[6]["valueTime"], "09:30:00");
    assert_eq!(obs[7]["valueString"], "heavy");
    let report = one(&all, "DiagnosticReport");
    assert_eq!(
        (
            &report["status"],
            report["result"].as_array().unwrap().len()
        ),
        (&json!("final"), 8)
    );
}

#[test]
fn missing_identity_and_patient() {
    let (all, diags) = map(&[
        msh("ORU^R01", "X1", "2.5"),
        seg("OBX", &[(1, "1"), (2, "ST"), (3, "A^B^L"), (5, "x")]),
        seg("PID", &[(5, "Nobody")]),
    ]);
    assert_eq!(
        diags,
        [
            "warning message 1, segment 2 (OBX): no PID before this OBX segment: the resource has no patient",
            "warning message 1, segment 3 (PID), PID-3: no patient identifier in PID-3 (or PID-2/PID-4): the patient cannot be matched across messages",
        ]
    );
    assert!(one(&all, "Observation").get("subject").is_none());
    assert_eq!(all.len(), 2);
    assert!(diags.iter().all(|d| !d.contains("Nobody")));
    let sev: Vec<Severity> = map_message(&Message::parse(&msh("ACK", "A", "2.5")).unwrap(), 1)
        .diagnostics
        .iter()
        .map(|d| d.severity)
        .collect();
    assert_eq!(sev, [Severity::Info]);
}
