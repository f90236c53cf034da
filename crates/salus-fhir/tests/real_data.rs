//! Imports of real public FHIR R4 data (tests/data/fhir-r4, see its PROVENANCE.txt):
//! two Synthea transaction bundles and the HL7 specification examples. Expected
//! values were read from the JSON files independently (Python `json` module).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::import::{ImportOptions, ImportOutput, Importer};
use salus_fhir::{Located, Severity};
use salus_table::Table;

const JOHNNIE: &str = "ea877536-55b1-4ec8-a12b-e95594214c01";
const LUNA: &str = "356a0ab8-5592-4ec5-8c3a-9a4d0857b793";

fn data(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fhir-r4")
        .join(sub)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("data dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn importer() -> Importer {
    let options = BuiltinOptions {
        reference_date: Some("2020-01-01".into()),
    };
    Importer::new(
        builtin_views(&options).expect("builtin views"),
        ImportOptions::default(),
    )
}

fn import_dir(sub: &str) -> ImportOutput {
    let mut imp = importer();
    for f in files(&data(sub)) {
        let bytes = std::fs::read(&f).expect("read");
        imp.read_json(&bytes, &f.file_name().unwrap_or_default().to_string_lossy());
    }
    imp.finish().expect("finish")
}

/// Text of `column` in the first row where `key_col` equals `key`.
fn lookup<'t>(t: &'t Table, key_col: &str, key: &str, column: &str) -> Option<&'t str> {
    let keys = t.text(key_col).expect("key column");
    let row = keys.iter().position(|k| k.as_deref() == Some(key))?;
    t.text(column).expect("column")[row].as_deref()
}

fn rows_where(t: &Table, column: &str, value: &str) -> Vec<usize> {
    let c = t.text(column).expect("column");
    (0..t.nrows())
        .filter(|&i| c[i].as_deref() == Some(value))
        .collect()
}

#[test]
fn synthea_bundles_counts_and_demographics() {
    let out = import_dir("synthea-bundles");
    assert_eq!(out.resources["Patient"], 2);
    assert_eq!(out.resources["Observation"], 203);
    assert_eq!(out.resources["Immunization"], 62);
    assert_eq!(out.resources["Encounter"], 45);
    assert_eq!(out.resources["Condition"], 12);
    assert_eq!(out.resources["MedicationRequest"], 10);
    assert_eq!(out.resources["Procedure"], 16);
    let rows = out.table_rows();
    assert_eq!(rows["patients"], 2);
    // 203 observations + 64 components, flattened.
    assert_eq!(rows["observations"], 267);
    assert_eq!(rows["immunizations"], 62);
    assert_eq!(rows["encounters"], 45);
    let p = &out.tables["patients"];
    assert_eq!(
        lookup(p, "patient_id", JOHNNIE, "birth_date"),
        Some("2009-03-20")
    );
    assert_eq!(lookup(p, "patient_id", JOHNNIE, "sex"), Some("female"));
    assert_eq!(
        lookup(p, "patient_id", LUNA, "birth_date"),
        Some("2008-11-06")
    );
    assert_eq!(lookup(p, "patient_id", JOHNNIE, "race"), Some("White"));
    let ages: Vec<Option<f64>> = p.numeric("age").expect("age").to_vec();
    assert!(
        ages.contains(&Some(10.0)) && ages.contains(&Some(11.0)),
        "ages at 2020-01-01"
    );
}

#[test]
fn synthea_observations_by_loinc_and_components() {
    let out = import_dir("synthea-bundles");
    let obs = &out.tables["observations"];
    // Body height (LOINC 8302-2): 17 for Johnnie, 15 for Luna.
    let heights = rows_where(obs, "loinc", "8302-2");
    assert_eq!(heights.len(), 32);
    let patient = obs.text("patient_id").expect("patient_id");
    assert_eq!(
        heights
            .iter()
            .filter(|&&i| patient[i].as_deref() == Some(JOHNNIE))
            .count(),
        17
    );
    // A known height value and its unit.
    let row = rows_where(
        obs,
        "observation_id",
        "3f3d6ac6-69f3-4209-9414-92a9ac166325",
    )[0];
    assert_eq!(
        obs.numeric("value").expect("value")[row],
        Some(57.80197974519305)
    );
    assert_eq!(obs.text("unit").expect("unit")[row].as_deref(), Some("cm"));
    assert_eq!(
        obs.text("effective").expect("effective")[row].as_deref(),
        Some("2009-06-26T05:04:09-04:00")
    );
    // Blood pressure panel e5a37e1c...: systolic component 8480-6 = 131.0568597820524.
    let bp = rows_where(
        obs,
        "observation_id",
        "e5a37e1c-5c4e-4d0c-8d99-91ad990cb384",
    );
    assert_eq!(bp.len(), 3, "panel row + 2 components");
    let systolic = bp
        .iter()
        .copied()
        .find(|&i| obs.text("code").expect("code")[i].as_deref() == Some("8480-6"))
        .expect("systolic row");
    assert_eq!(
        obs.numeric("value").expect("value")[systolic],
        Some(131.0568597820524)
    );
    assert_eq!(
        obs.text("panel_code").expect("panel")[systolic].as_deref(),
        Some("55284-4")
    );
    // A coded value (smoking status: never smoker).
    let smoke = rows_where(
        obs,
        "observation_id",
        "be1bcba4-7572-44b9-8974-c2b23fa923da",
    )[0];
    assert_eq!(
        obs.text("value_code").expect("value_code")[smoke].as_deref(),
        Some("266919005")
    );
}

#[test]
fn synthea_references_resolve_to_patients() {
    let out = import_dir("synthea-bundles");
    let ids: Vec<String> = out.tables["patients"]
        .text("patient_id")
        .expect("ids")
        .iter()
        .flatten()
        .cloned()
        .collect();
    for table in [
        "observations",
        "conditions",
        "encounters",
        "medications",
        "procedures",
        "immunizations",
    ] {
        let t = &out.tables[table];
        let pids = t.text("patient_id").expect("patient_id");
        assert!(
            pids.iter()
                .all(|p| p.as_ref().is_some_and(|p| ids.contains(p))),
            "every {table} row names an imported patient"
        );
    }
    let cond = &out.tables["conditions"];
    assert_eq!(rows_where(cond, "patient_id", LUNA).len(), 8);
    let sinusitis = rows_where(cond, "code", "36971009")[0];
    assert_eq!(
        cond.text("onset").expect("onset")[sinusitis].as_deref(),
        Some("2012-10-07T05:04:09-04:00")
    );
    let meds = &out.tables["medications"];
    let amox = rows_where(
        meds,
        "medication_request_id",
        "de698418-6100-4b80-890d-4e1f26b832d0",
    )[0];
    assert_eq!(
        meds.text("code").expect("code")[amox].as_deref(),
        Some("562251")
    );
    assert_eq!(
        meds.text("status").expect("status")[amox].as_deref(),
        Some("stopped")
    );
}

#[test]
fn synthea_oddities_are_reported_not_fatal() {
    let out = import_dir("synthea-bundles");
    assert_eq!(out.count(Severity::Error), 0);
    let warnings: Vec<&str> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.location.as_str())
        .collect();
    // Luna's bundle holds a Condition whose category is an object, and an
    // Observation whose valueTime carries a time zone.
    assert!(
        warnings.iter().any(|l| l.ends_with("Condition.category")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|l| l.ends_with("Observation.valueTime")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().all(|l| l.contains("Luna60")),
        "{warnings:?}"
    );
}

#[test]
fn hl7_spec_examples_import() {
    let out = import_dir("spec-examples");
    // 91 files; bundles expanded (a batch-response nests searchset bundles).
    assert_eq!(out.resources["Patient"], 16);
    let p = &out.tables["patients"];
    assert_eq!(
        lookup(p, "patient_id", "example", "birth_date"),
        Some("1974-12-25")
    );
    assert_eq!(lookup(p, "patient_id", "example", "sex"), Some("male"));
    assert_eq!(
        lookup(p, "patient_id", "example", "deceased"),
        Some("false")
    );
    assert_eq!(
        lookup(p, "patient_id", "pat3", "deceased_date"),
        Some("2015-02-14T13:42:00+10:00")
    );
    // Age at death, not at the reference date: born 1982-01-23, died 2015-02-14.
    let keys = p.text("patient_id").expect("ids");
    let pat3 = keys
        .iter()
        .position(|k| k.as_deref() == Some("pat3"))
        .expect("pat3");
    assert_eq!(p.numeric("age").expect("age")[pat3], Some(33.0));
    assert_eq!(out.count(Severity::Error), 0, "{:?}", out.diagnostics);
}

#[test]
fn ndjson_gives_the_same_tables_as_the_bundles() {
    // Bulk Data NDJSON of the same resources (references already as Type/id).
    let mut lines = Vec::new();
    for f in files(&data("synthea-bundles")) {
        let out = salus_fhir::reader::read_json(&std::fs::read(&f).expect("read"), "b");
        for Located { value, .. } in out.resources {
            lines.push(serde_json::to_string(&value).expect("json"));
        }
    }
    let ndjson = lines.join("\n") + "\n";
    let mut imp = importer();
    let n = imp
        .read_ndjson(ndjson.as_bytes(), "all.ndjson")
        .expect("read");
    assert_eq!(n as usize, lines.len());
    let from_ndjson = imp.finish().expect("finish");
    let from_bundles = import_dir("synthea-bundles");
    assert_eq!(from_ndjson.resources, from_bundles.resources);
    assert_eq!(from_ndjson.tables, from_bundles.tables);
    // Diagnostics point at NDJSON line numbers.
    assert!(
        from_ndjson
            .diagnostics
            .iter()
            .any(|d| d.location.starts_with("all.ndjson:"))
    );
}

#[test]
fn chunked_draining_loses_no_rows() {
    let mut imp = importer();
    let mut collected: BTreeMap<String, Table> = BTreeMap::new();
    for f in files(&data("synthea-bundles")) {
        imp.read_json(&std::fs::read(&f).expect("read"), "b");
        for (name, t) in imp.take_tables().expect("tables") {
            collected
                .entry(name)
                .or_default()
                .append(&t)
                .expect("append");
        }
    }
    let rest = imp.finish().expect("finish");
    for (name, t) in &rest.tables {
        collected
            .entry(name.clone())
            .or_default()
            .append(t)
            .expect("append");
    }
    let whole = import_dir("synthea-bundles");
    for (name, t) in &whole.tables {
        assert_eq!(collected[name].nrows(), t.nrows(), "{name}");
    }
}
