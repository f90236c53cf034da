//! Fuzz target: the FHIR JSON and NDJSON readers and the whole import pipeline
//! (validation + built-in views) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::import::{ImportOptions, Importer};

fuzz_target!(|data: &[u8]| {
    let options = BuiltinOptions {
        reference_date: Some("2020-01-01".into()),
    };
    let Ok(views) = builtin_views(&options) else {
        return;
    };
    let mut importer = Importer::new(views, ImportOptions::default());
    importer.read_json(data, "fuzz.json");
    let _ = importer.read_ndjson(data, "fuzz.ndjson");
    let _ = importer.finish();
});
