//! Every sample in tests/data (see PROVENANCE.txt): message counts and structural
//! diagnostics of the parser, then the FHIR resources and tables of the mapping,
//! with selected values checked against the message text.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use std::path::PathBuf;

use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::import::{ImportOptions, ImportOutput};
use salus_hl7::{Hl7Input, Message, Severity, decode, import_hl7, map_messages, parse};
use serde_json::{Value, json};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

/// (messages, diagnostics as "severity segment N (ID)") of one file.
fn structure(name: &str) -> (usize, Vec<String>) {
    let bytes = read(name);
    let (text, note) = decode(&bytes);
    assert!(note.is_none(), "{name} is UTF-8");
    let parsed = parse(&text);
    let diags = parsed
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.severity, d.location))
        .collect();
    (parsed.messages.len(), diags)
}

#[test]
fn python_hl7_batches_and_files() {
    let cases: &[(&str, usize, &[&str])] = &[
        ("sample_batch.hl7", 1, &[]),
        ("sample_batch1.hl7", 2, &[]),
        ("sample_batch2.hl7", 2, &[]),
        ("sample_batch3.hl7", 1, &["warning segment 1 (BHS)"]),
        ("sample_batch4.hl7", 1, &["warning segment 7 (BTS)"]),
        ("sample_file.hl7", 1, &[]),
        ("sample_file1.hl7", 3, &[]),
        ("sample_file2.hl7", 2, &[]),
        ("sample_file3.hl7", 1, &["warning segment 1 (FHS)"]),
        ("sample_file4.hl7", 1, &["warning segment 9 (FTS)"]),
        ("sample_file5.hl7", 1, &["warning segment 2 (BHS)"]),
        ("sample_file6.hl7", 1, &["warning segment 8 (BTS)"]),
        ("sample_hl7.hl7", 1, &[]),
        ("sample_msh.hl7", 1, &[]),
        ("rep_sample_hl7.hl7", 1, &[]),
    ];
    for (file, messages, diags) in cases {
        let got = structure(&format!("python-hl7/{file}"));
        assert_eq!(
            got,
            (*messages, diags.iter().map(|s| s.to_string()).collect()),
            "{file}"
        );
    }
}

#[test]
fn malformed_inputs_keep_good_messages_and_say_where() {
    let cases: &[(&str, usize, &[&str])] = &[
        (
            "sample_bad_batch.hl7",
            0,
            &["error segment 2 (EVN)", "warning segment 7 (BTS), BTS-1"],
        ),
        (
            "sample_bad_batch1.hl7",
            1,
            &[
                "error segment 4 (BHS)",
                "error segment 5 (PID)",
                "warning segment 9 (BTS), BTS-1",
            ],
        ),
        (
            "sample_bad_file.hl7",
            0,
            &["error segment 3 (EVN)", "warning segment 8 (BTS), BTS-1"],
        ),
        (
            "sample_bad_file1.hl7",
            1,
            &[
                "error segment 5 (BHS)",
                "error segment 6 (PID)",
                "warning segment 10 (BTS), BTS-1",
                "warning segment 11 (FTS), FTS-1",
            ],
        ),
        (
            "sample_bad_file2.hl7",
            1,
            &["error segment 5 (FHS)", "error segment 6 (PID)"],
        ),
        (
            "sample_bad_file3.hl7",
            0,
            &["error segment 2 (EVN)", "warning segment 7 (FTS), FTS-1"],
        ),
    ];
    for (file, messages, diags) in cases {
        let got = structure(&format!("python-hl7/{file}"));
        assert_eq!(
            got,
            (*messages, diags.iter().map(|s| s.to_string()).collect()),
            "{file}"
        );
    }
    let bytes = read("python-hl7/sample_bad_batch1.hl7");
    let parsed = parse(std::str::from_utf8(&bytes).unwrap());
    assert_eq!(
        parsed.diagnostics[1].message,
        "segments 5-8 (PID, PD1, NK1, PV1) belong to no message (no MSH before them); skipped"
    );
    assert_eq!(
        parsed.messages[0].control_id().as_deref(),
        Some("12334456778890")
    );
}

#[test]
fn repetitions_components_and_subcomponents() {
    let bytes = read("python-hl7/rep_sample_hl7.hl7");
    let msg = Message::parse(std::str::from_utf8(&bytes).unwrap()).unwrap();
    assert_eq!(msg.get("PID-1").as_deref(), Some("Field1"));
    assert_eq!(msg.get("PID-2-2").as_deref(), Some("Component2"));
    assert_eq!(msg.get("PID-3-2").as_deref(), Some("Sub-Component1"));
    assert_eq!(msg.get("PID-3-2-2").as_deref(), Some("Sub-Component2"));
    assert_eq!(msg.get("PID-3-3").as_deref(), Some("Component3"));
    assert_eq!(msg.get("PID-4[2]").as_deref(), Some("Repeat2"));
    assert_eq!(msg.get("PID-4[3]"), None);
    assert_eq!(msg.get("MSH-1").as_deref(), Some("|"));
    assert_eq!(msg.get("MSH-2").as_deref(), Some("^~\\&"));
    assert_eq!(msg.get("MSH-9-2").as_deref(), Some("R01"));
    assert_eq!(msg.version().as_deref(), Some("2.4"));
}

#[test]
fn line_feed_files_read_like_carriage_return_files() {
    let lf = read("simple-hl7/adt.hl7");
    assert!(lf.contains(&b'\n') && !lf.contains(&b'\r'));
    let text = String::from_utf8(lf).unwrap();
    let msg = Message::parse(&text).unwrap();
    assert_eq!(msg.segments().len(), 4);
    let cr = text.replace('\n', "\r");
    let crlf = text.replace('\n', "\r\n");
    let mllp = format!("\u{0b}{cr}\u{1c}\r");
    for other in [cr, crlf, mllp] {
        let m = Message::parse(&other).unwrap();
        assert_eq!(m.get("PID-5-1").as_deref(), Some("DOE"));
        assert_eq!(m.get("PV1-44").as_deref(), Some("199912271408"));
        assert_eq!(m.segments().len(), 4);
    }
}

fn resources(file: &str) -> (Vec<Value>, Vec<String>) {
    let bytes = read(file);
    let text = String::from_utf8(bytes).unwrap();
    let parsed = parse(&text);
    let (set, diags) = map_messages(&parsed.messages);
    let diags = diags
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| format!("{} {}", d.severity, d.location))
        .collect();
    (
        set.into_resources()
            .into_iter()
            .map(|r| r.resource)
            .collect(),
        diags,
    )
}

fn of_type<'a>(all: &'a [Value], kind: &str) -> Vec<&'a Value> {
    all.iter().filter(|r| r["resourceType"] == kind).collect()
}

#[test]
fn oru_glucose_example_from_the_standard() {
    let (all, diags) = resources("python-hl7/sample_hl7.hl7");
    assert_eq!(
        diags,
        [
            "warning message 1, segment 2 (PID), PID-7",
            "warning message 1, segment 5 (OBX), OBX-2"
        ]
    );
    let patient = of_type(&all, "Patient")[0];
    assert_eq!(patient["name"][0]["family"], "EVERYWOMAN");
    assert_eq!(patient["name"][0]["given"], json!(["EVE", "E"]));
    assert_eq!(patient["gender"], "female");
    assert!(
        patient.get("birthDate").is_none(),
        "196203520 is not a date"
    );
    let obs = of_type(&all, "Observation");
    assert_eq!(obs.len(), 2);
    assert_eq!(obs[0]["code"]["coding"][0]["code"], "1554-5");
    assert_eq!(
        obs[0]["valueQuantity"],
        json!({"value": 182, "unit": "mg/dl"})
    );
    assert_eq!(obs[0]["referenceRange"][0]["low"]["value"], 70);
    assert_eq!(obs[0]["interpretation"][0]["coding"][0]["code"], "H");
    assert_eq!(obs[0]["effectiveDateTime"], "2002-02-15T07:30:00");
    let report = of_type(&all, "DiagnosticReport")[0];
    assert_eq!(report["result"].as_array().unwrap().len(), 2);
    assert_eq!(report["subject"], obs[0]["subject"]);
}

#[test]
fn adt_with_diagnosis_and_insurance() {
    let (all, diags) = resources("python-hl7/sample_msh.hl7");
    assert!(diags.is_empty(), "{diags:?}");
    let patient = of_type(&all, "Patient")[0];
    assert_eq!(patient["name"][0]["family"], "RUFUSS");
    assert_eq!(
        (&patient["birthDate"], &patient["gender"]),
        (&json!("1952-11-29"), &json!("female"))
    );
    assert_eq!(patient["identifier"][0]["value"], "2148790");
    let condition = of_type(&all, "Condition")[0];
    assert_eq!(
        condition["code"]["coding"][0],
        json!({"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": "440.21", "display": "ATHEROSCLEROSIS W/INT CLAUDCTN"})
    );
    let encounter = of_type(&all, "Encounter")[0];
    assert_eq!(encounter["class"]["code"], "IMP");
    assert_eq!(encounter["period"]["start"], "2014-02-10T22:53:00");
    assert_eq!(
        condition["encounter"]["reference"],
        format!("Encounter/{}", encounter["id"].as_str().unwrap())
    );
}

#[test]
fn lab_and_vaccine_reports() {
    let (all, diags) = resources("simple-hl7/oru.hl7");
    assert!(diags.is_empty(), "{diags:?}");
    let obs = of_type(&all, "Observation");
    assert_eq!(obs.len(), 5);
    assert_eq!(obs[0]["code"]["text"], "HDL Cholesterol (CAD)");
    assert_eq!(
        obs[0]["valueQuantity"],
        json!({"value": 62, "unit": "mg/dL"})
    );
    assert_eq!(obs[3]["referenceRange"][0]["high"]["value"], 100);

    let (all, diags) = resources("simple-hl7/oru-imm.hl7");
    assert_eq!(of_type(&all, "DiagnosticReport").len(), 8);
    assert_eq!(of_type(&all, "Observation").len(), 43);
    // The sample has a shifted OBX (empty OBX-3 x4), a bad number (`01I`) and a bad date.
    assert_eq!(
        diags
            .iter()
            .filter(|d| d.starts_with("error") && d.ends_with("OBX-3"))
            .count(),
        4
    );
    assert!(diags.contains(&"warning message 1, segment 23 (OBX), OBX-5".to_owned()));
    let age = of_type(&all, "Observation")[0];
    assert_eq!(
        age["code"]["coding"][0],
        json!({"system": "http://loinc.org", "code": "21612-7", "display": "Reported Patient Age"})
    );
    assert_eq!(age["valueQuantity"], json!({"value": 5, "unit": "month"}));
    let patient = of_type(&all, "Patient")[0];
    assert_eq!(patient["name"][0]["suffix"], json!(["JR"]));

    let (all, _) = resources("simple-hl7/orm.hl7");
    let order = of_type(&all, "ServiceRequest")[0];
    assert_eq!(
        (&order["status"], &order["intent"]),
        (&json!("active"), &json!("order"))
    );
    assert_eq!(order["code"]["coding"][0]["display"], "Urinalysis");
}

fn import_files(files: &[&str]) -> ImportOutput {
    let bytes: Vec<(String, Vec<u8>)> = files.iter().map(|f| (f.to_string(), read(f))).collect();
    let views = builtin_views(&BuiltinOptions {
        reference_date: Some("2024-01-01".into()),
    })
    .unwrap();
    let inputs = bytes.iter().map(|(n, b)| Hl7Input { name: n, bytes: b });
    import_hl7(inputs, views, ImportOptions::default()).unwrap()
}

fn all_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["python-hl7", "simple-hl7"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(dir);
        for entry in std::fs::read_dir(path).unwrap() {
            files.push(format!(
                "{dir}/{}",
                entry.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    files.sort();
    files
}

#[test]
fn every_file_through_the_fhir_views() {
    let files = all_files();
    assert_eq!(files.len(), 26);
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = import_files(&names);
    let counts: Vec<(&str, u64)> = out
        .resources
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        counts,
        [
            ("Condition", 1),
            ("DiagnosticReport", 10),
            ("Encounter", 5),
            ("Observation", 50),
            ("Patient", 8),
            ("ServiceRequest", 1)
        ]
    );
    let rows = out.table_rows();
    assert_eq!(
        (
            rows["patients"],
            rows["observations"],
            rows["encounters"],
            rows["conditions"]
        ),
        (8, 50, 5, 1)
    );
    // The mapped resources pass salus-fhir's R4 checks: no warning comes from them.
    assert!(out.diagnostics.iter().all(|d| d.location.contains(".hl7")
        || d.location.contains(".txt")
        || d.location.starts_with('(')));
    let errors = out.count(salus_fhir::Severity::Error);
    // 6 runs of orphan segments, 3 nested BHS/FHS, 3 inputs without any message,
    // 4 OBX without an observation identifier.
    assert_eq!(errors, 6 + 3 + 3 + 4);

    // Patient ids are hashes of PID-3: find John Doe's row through his resource.
    let (adt, _) = resources("simple-hl7/adt.hl7");
    let doe_id = of_type(&adt, "Patient")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patients = &out.tables["patients"];
    let ids = patients.text("patient_id").unwrap();
    let doe = ids
        .iter()
        .position(|p| p.as_deref() == Some(doe_id.as_str()))
        .unwrap();
    assert_eq!(
        patients.text("birth_date").unwrap()[doe].as_deref(),
        Some("1948-02-03")
    );
    assert_eq!(patients.text("sex").unwrap()[doe].as_deref(), Some("male"));
    assert_eq!(patients.numeric("age").unwrap()[doe], Some(75.0));
    let observations = &out.tables["observations"];
    let hdl = observations
        .text("code")
        .unwrap()
        .iter()
        .position(|c| c.as_deref() == Some("JHDL"))
        .unwrap();
    assert_eq!(observations.numeric("value").unwrap()[hdl], Some(62.0));
    assert_eq!(
        observations.text("unit").unwrap()[hdl].as_deref(),
        Some("mg/dL")
    );
}

#[test]
fn the_same_patient_across_messages_is_one_row() {
    let out = import_files(&[
        "python-hl7/sample_file1.hl7",
        "simple-hl7/adt.hl7",
        "simple-hl7/adt.txt",
    ]);
    assert_eq!(
        out.resources["Patient"], 2,
        "three ABCHS messages, two copies of adt"
    );
    assert_eq!(out.tables["patients"].nrows(), 2);
    assert_eq!(out.resources["Encounter"], 3, "two ABCHS control ids + adt");
    assert!(
        out.diagnostics
            .iter()
            .any(|d| d.message.contains("administrative sex is not a code"))
    );
}
