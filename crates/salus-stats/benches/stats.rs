//! Criterion benchmarks of the hot paths: Cox terms (Efron, 100k x 10), a full Cox fit,
//! grid sums, Kaplan-Meier on 1M rows and logistic terms. Data are simulated from a
//! fixed seed, so runs are comparable.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use salus_stats::cox::{self, CoxData, CoxOptions, Ties};
use salus_stats::glm::{self, Family};
use salus_stats::{Design, TimeGrid, km};

const P: usize = 10;

/// Exponential survival times with hazard exp(x b), uniform censoring.
fn simulate(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let beta: Vec<f64> = (0..P).map(|j| 0.1 * (j as f64 - 4.5) / 4.5).collect();
    let mut x = Vec::with_capacity(n * P);
    let (mut time, mut event) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let row: Vec<f64> = (0..P).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
        let eta: f64 = row.iter().zip(&beta).map(|(a, b)| a * b).sum();
        let t = -rng.random::<f64>().ln() / (0.01 * eta.exp());
        let c = rng.random::<f64>() * 200.0;
        // Whole days, so there are ties for Efron to handle.
        time.push(t.min(c).ceil());
        event.push(t <= c);
        x.extend(row);
    }
    (x, time, event)
}

fn names() -> Vec<String> {
    (0..P).map(|j| format!("x{j}")).collect()
}

fn bench_cox(c: &mut Criterion) {
    let (x, time, event) = simulate(100_000, 1);
    let data = CoxData::new(names(), x, time, event).unwrap();
    let beta = vec![0.01; P];
    let mut group = c.benchmark_group("cox_100k_x10");
    group.sample_size(10);
    group.bench_function("local_terms_efron", |b| {
        b.iter(|| cox::local_terms(&data, &beta, Ties::Efron).unwrap())
    });
    group.bench_function("fit_efron", |b| {
        b.iter(|| cox::fit(&data, &CoxOptions::default()).unwrap())
    });
    let grid = TimeGrid::regular(0.0, 1.0, 201).unwrap();
    group.bench_function("grid_local_sums_daily", |b| {
        b.iter(|| cox::grid_local_sums(&data, &grid, &beta).unwrap())
    });
    let sums = cox::grid_local_sums(&data, &grid, &beta).unwrap();
    group.bench_function("grid_terms_efron", |b| {
        b.iter(|| cox::grid_terms(&sums, &grid, P, Ties::Efron).unwrap())
    });
    group.finish();
}

fn bench_km(c: &mut Criterion) {
    let (_, time, event) = simulate(1_000_000, 2);
    let mut group = c.benchmark_group("km_1m");
    group.sample_size(10);
    group.bench_function("fit", |b| b.iter(|| km::fit(&time, &event).unwrap()));
    group.finish();
}

fn bench_logistic(c: &mut Criterion) {
    let (x, _, event) = simulate(100_000, 3);
    let design = Design::from_matrix(names(), x).unwrap();
    let y: Vec<f64> = event.iter().map(|&e| f64::from(u8::from(e))).collect();
    let beta = vec![0.01; P];
    let mut group = c.benchmark_group("logistic_100k_x10");
    group.sample_size(10);
    group.bench_function("local_terms", |b| {
        b.iter(|| glm::local_terms(&design, &y, &beta, Family::Logistic).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_cox, bench_km, bench_logistic);
criterion_main!(benches);
