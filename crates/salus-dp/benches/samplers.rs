//! Criterion benchmarks of the exact samplers at small and large scales (per-sample cost).

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_dp::{DiscreteGaussian, Skellam};

fn samplers(c: &mut Criterion) {
    let mut group = c.benchmark_group("dp_samplers");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for sigma in [3.0, 1e3, 1e9] {
        let sampler = DiscreteGaussian::new(sigma).expect("valid sigma");
        group.bench_function(format!("discrete_gaussian_sigma_{sigma:e}"), |b| {
            b.iter(|| sampler.sample(&mut rng))
        });
    }
    for mu in [1.0, 1e2, 1e4, 1e6] {
        let sampler = Skellam::new(mu).expect("valid mu");
        group.bench_function(format!("skellam_mu_{mu:e}"), |b| {
            b.iter(|| sampler.sample(&mut rng))
        });
    }
    group.finish();
}

criterion_group!(benches, samplers);
criterion_main!(benches);
