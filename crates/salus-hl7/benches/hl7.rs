//! Throughput of the HL7 path: parsing, mapping to FHIR, and the whole import
//! through salus-fhir's built-in views, on a batch of lab results built from the
//! `simple-hl7/oru.hl7` sample (9 segments, 5 OBX) with distinct control ids and
//! patients. Reported as messages per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::import::ImportOptions;
use salus_hl7::{Hl7Input, import_hl7, map_messages, parse};

const MESSAGES: usize = 1000;

fn batch() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/simple-hl7/oru.hl7");
    let sample = std::fs::read_to_string(path).expect("sample present");
    let mut out = String::from("BHS|^~\\&|LAB|HOSP\r");
    for i in 0..MESSAGES {
        let msg = sample
            .replace("Q335939501T337311002", &format!("CTRL{i:06}"))
            .replace(
                "94000000000",
                &format!("{:011}", 94_000_000_000u64 + (i as u64 % 250)),
            );
        out.push_str(&msg);
    }
    out.push_str(&format!("BTS|{MESSAGES}\r"));
    out
}

fn benches(c: &mut Criterion) {
    let text = batch();
    let mut group = c.benchmark_group("hl7");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.bench_function("parse", |b| b.iter(|| parse(&text).messages.len()));
    let parsed = parse(&text);
    assert_eq!(parsed.messages.len(), MESSAGES);
    group.bench_function("map_to_fhir", |b| {
        b.iter(|| map_messages(&parsed.messages).0.resources().len())
    });
    let views = builtin_views(&BuiltinOptions {
        reference_date: Some("2024-01-01".into()),
    })
    .expect("views");
    for (name, validate) in [("import_views", false), ("import_views_validated", true)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let input = Hl7Input {
                    name: "batch.hl7",
                    bytes: text.as_bytes(),
                };
                let options = ImportOptions {
                    validate,
                    ..ImportOptions::default()
                };
                import_hl7([input], views.clone(), options)
                    .expect("import")
                    .tables["observations"]
                    .nrows()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = hl7;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(hl7);
