//! Criterion benches on UCI Adult (30,162 rows, 9 columns): MST fit at epsilon 1, AIM fit,
//! and sampling 30,162 rows. The side-by-side comparison with smartnoise-synth is in
//! bench/synth/ (see docs/benchmarks/synth.md).

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_synth::{Budget, ColumnSpec, FitOptions, Method, fit};
use salus_table::{CsvOptions, read_csv_path};

fn benches(c: &mut Criterion) {
    let path = format!("{}/tests/data/adult/adult.csv", env!("CARGO_MANIFEST_DIR"));
    let table = read_csv_path(
        std::path::Path::new(&path),
        &CsvOptions::with_delimiter(b';'),
    )
    .expect("adult data");
    let budget = Budget::from_epsilon_delta(1.0, 1e-9).expect("budget");
    let options = |method| {
        let mut o = FitOptions {
            method,
            ..FitOptions::default()
        };
        o.domain.specs = vec![ColumnSpec {
            name: "age".into(),
            bounds: Some(("17".into(), "90".into())),
            ..Default::default()
        }];
        o
    };
    let mut group = c.benchmark_group("adult");
    group.sample_size(10);
    group.bench_function("fit_mst_epsilon_1", |b| {
        b.iter(|| {
            fit(
                &table,
                &budget,
                &options(Method::Mst),
                &mut ChaCha20Rng::seed_from_u64(1),
            )
            .expect("fit")
        })
    });
    group.bench_function("fit_aim_epsilon_1", |b| {
        b.iter(|| {
            fit(
                &table,
                &budget,
                &options(Method::Aim),
                &mut ChaCha20Rng::seed_from_u64(1),
            )
            .expect("fit")
        })
    });
    let model = fit(
        &table,
        &budget,
        &options(Method::Mst),
        &mut ChaCha20Rng::seed_from_u64(1),
    )
    .expect("fit");
    group.bench_function("sample_30162_rows", |b| {
        b.iter(|| {
            model
                .sample(table.nrows(), &[], &mut ChaCha20Rng::seed_from_u64(2))
                .expect("sample")
        })
    });
    group.finish();
}

criterion_group!(synth, benches);
criterion_main!(synth);
