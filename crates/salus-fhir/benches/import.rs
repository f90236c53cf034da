//! Criterion benches: the import pipeline on a Synthea bundle (parse, validate,
//! all built-in views) and FHIRPath evaluation of typical view paths.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::fhirpath::{Environment, FhirPath};
use salus_fhir::import::{ImportOptions, Importer};

fn bundle() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fhir-r4/synthea-bundles/Johnnie679_Hermiston71_2cd30bd6-3a87-4191-af90-6daa70f58f55.json"
    );
    std::fs::read(path).expect("bundle fixture")
}

fn import(c: &mut Criterion) {
    let bytes = bundle();
    let views = builtin_views(&BuiltinOptions {
        reference_date: Some("2020-01-01".into()),
    })
    .expect("views");
    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    for validate in [true, false] {
        let name = if validate {
            "bundle_builtin_views"
        } else {
            "bundle_builtin_views_no_validation"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let options = ImportOptions {
                    validate,
                    ..ImportOptions::default()
                };
                let mut imp = Importer::new(views.clone(), options);
                imp.read_json(&bytes, "bundle.json");
                imp.finish().expect("finish")
            })
        });
    }
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            salus_fhir::reader::read_json(&bytes, "bundle.json")
                .resources
                .len()
        })
    });
    group.finish();
}

fn fhirpath(c: &mut Criterion) {
    let obs = serde_json::json!({
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2", "display": "Body Height"}]},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2020-01-02T03:04:05+01:00",
        "valueQuantity": {"value": 170.5, "unit": "cm"}
    });
    let env = Environment::default();
    for (name, src) in [
        (
            "loinc_code",
            "code.coding.where(system = 'http://loinc.org').code.first()",
        ),
        (
            "quantity_value",
            "(value.ofType(Quantity).value | value.ofType(integer)).first()",
        ),
        ("reference_key", "subject.getReferenceKey(Patient)"),
    ] {
        let path = FhirPath::compile(src).expect("path");
        c.bench_function(&format!("fhirpath/{name}"), |b| {
            b.iter(|| path.evaluate(&obs, &env).expect("eval").len())
        });
    }
}

criterion_group!(benches, import, fhirpath);
criterion_main!(benches);
