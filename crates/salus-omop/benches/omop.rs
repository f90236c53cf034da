//! Throughput of the OMOP path on Eunomia: reading the CDM CSVs into typed rows,
//! building the analysis tables, and a cohort. Reported as CDM rows per second.
//!
//! Uses the committed subset (tests/data/eunomia); set `SALUS_EUNOMIA_DIR` to a
//! full Eunomia CSV export (e.g. /work/shared/data/omop-eunomia/csv) to measure
//! on all 2,694 persons and every event row.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use salus_omop::{CohortSpec, CsvInput, TABLES, analysis_tables, build_cohort, read_cdm};

fn load_files() -> Vec<(String, Vec<u8>)> {
    let dir = std::env::var("SALUS_EUNOMIA_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/eunomia").to_owned());
    let mut files = Vec::new();
    for table in TABLES {
        for name in [
            format!("{table}.csv"),
            format!("{}.csv", table.to_uppercase()),
        ] {
            if let Ok(bytes) = std::fs::read(format!("{dir}/{name}")) {
                files.push((table.to_owned(), bytes));
                break;
            }
        }
    }
    files
}

fn inputs(files: &[(String, Vec<u8>)]) -> Vec<CsvInput<&[u8]>> {
    files
        .iter()
        .map(|(t, b)| CsvInput {
            table: t.clone(),
            name: format!("{t}.csv"),
            reader: b.as_slice(),
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let files = load_files();
    let import = read_cdm(inputs(&files)).expect("readable CDM");
    let rows: usize = files
        .iter()
        .map(|(_, b)| b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1))
        .sum();
    let mut group = c.benchmark_group("omop");
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("read_cdm", |b| {
        b.iter(|| read_cdm(inputs(&files)).expect("read").counts.len())
    });
    group.bench_function("analysis_tables", |b| {
        b.iter(|| analysis_tables(&import.cdm).expect("tables").len())
    });
    let spec = CohortSpec::from_toml(
        "[index]\ndrug_concept_ids = [1118084]\n[washout]\nprior_observation_days = 365\n\
         [outcome]\ncondition_concept_ids = [192671]\n",
    )
    .expect("spec");
    group.bench_function("cohort", |b| {
        b.iter(|| build_cohort(&import.cdm, &spec).rows.len())
    });
    group.finish();
}

criterion_group! {
    name = omop;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(omop);
