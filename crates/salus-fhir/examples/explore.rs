//! Scratch exploration (removed before delivery).
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fhir-r4");
    let views = salus_fhir::builtin::builtin_views(&salus_fhir::builtin::BuiltinOptions { reference_date: Some("2020-01-01".into()) }).unwrap();
    let mut imp = salus_fhir::import::Importer::new(views, Default::default());
    let mut files = vec![];
    for sub in ["synthea-bundles", "spec-examples"] {
        for e in walk(&dir.join(sub)) { files.push(e); }
    }
    for f in files { let b = std::fs::read(&f).unwrap(); imp.read_json(&b, &f.display().to_string()); }
    let out = imp.finish().unwrap();
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"resources": out.resources, "tables": out.table_rows()})).unwrap());
    for d in &out.diagnostics { println!("{d}"); }
    let p = &out.tables["patients"];
    for c in p.columns() { println!("{} {:?}", c.name(), (0..p.nrows()).map(|i| c.display(i).map(|s| s.into_owned())).collect::<Vec<_>>()); }
}
fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = vec![];
    for e in std::fs::read_dir(p).unwrap() { let e = e.unwrap().path(); if e.is_dir() { v.extend(walk(&e)); } else { v.push(e); } }
    v.sort(); v
}
