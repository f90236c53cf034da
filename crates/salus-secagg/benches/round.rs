//! Criterion benchmarks of one complete secure-aggregation round (hub + all nodes in one
//! process, JSON on the wire, 10% dropouts after key sharing), small and medium sizes, plus
//! the mask generator that dominates large rounds.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use salus_secagg::benchmark::{self, BenchSetup};
use salus_secagg::simulation::Stopwatch;

struct WallClock(Instant);

impl Stopwatch for WallClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

fn round(c: &mut Criterion) {
    let mut group = c.benchmark_group("secagg_round");
    group.sample_size(10);
    let cases = [
        ("full_10x1k", 10, 1_000, false),
        ("sparse_100x10k", 100, 10_000, true),
    ];
    for (name, clients, dimension, sparse) in cases {
        let setup = BenchSetup::new(clients, dimension, 0.1, sparse, 1);
        group.bench_function(name, |b| {
            b.iter(|| {
                let result =
                    benchmark::run(&setup, &WallClock(Instant::now())).expect("round runs");
                assert!(result.correct);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, round);
criterion_main!(benches);
