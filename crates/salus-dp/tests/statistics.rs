//! Statistical checks of the exact samplers against their exact probability mass functions:
//! chi-square goodness of fit, mean and variance, at several scales. Seeds are fixed, so the
//! tests are deterministic; thresholds are the p = 0.001 critical values.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_dp::{DiscreteGaussian, Poisson, Skellam};

/// Chi-square p = 0.001 critical value (Wilson-Hilferty approximation).
fn chi_square_critical(degrees: usize) -> f64 {
    let k = degrees as f64;
    let z = 3.090_232;
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

/// Chi-square statistic of integer samples against `pmf`, pooling cells with expected count
/// below 5 into their neighbours (and both tails into the extreme cells).
fn chi_square(samples: &[i64], pmf: impl Fn(i64) -> f64, lo: i64, hi: i64) -> (f64, usize) {
    let n = samples.len() as f64;
    let mut cells: Vec<(f64, f64)> = Vec::new(); // (observed, expected)
    let mut pending = (0.0, 0.0);
    let below: f64 = samples.iter().filter(|&&x| x < lo).count() as f64;
    let above: f64 = samples.iter().filter(|&&x| x > hi).count() as f64;
    let mass_in: f64 = (lo..=hi).map(&pmf).sum();
    let tail_mass = (1.0 - mass_in).max(0.0);
    pending.0 += below + above;
    pending.1 += n * tail_mass;
    for x in lo..=hi {
        pending.0 += samples.iter().filter(|&&s| s == x).count() as f64;
        pending.1 += n * pmf(x);
        if pending.1 >= 5.0 {
            cells.push(pending);
            pending = (0.0, 0.0);
        }
    }
    if let Some(last) = cells.last_mut() {
        last.0 += pending.0;
        last.1 += pending.1;
    }
    let statistic = cells.iter().map(|(o, e)| (o - e).powi(2) / e).sum();
    (statistic, cells.len().saturating_sub(1))
}

fn mean_and_variance(samples: &[i64]) -> (f64, f64) {
    let n = samples.len() as f64;
    let mean = samples.iter().map(|&x| x as f64).sum::<f64>() / n;
    let variance = samples
        .iter()
        .map(|&x| (x as f64 - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (mean, variance)
}

fn check_discrete_gaussian(sigma: f64, seed: u64) {
    let sampler = DiscreteGaussian::new(sigma).expect("valid sigma");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let samples = sampler.sample_vec(20_000, &mut rng);
    let bound = (8.0 * sigma).ceil() as i64 + 2;
    let (statistic, degrees) = chi_square(&samples, |x| sampler.pmf(x), -bound, bound);
    assert!(degrees >= 1, "sigma {sigma}: too few cells");
    assert!(
        statistic < chi_square_critical(degrees),
        "sigma {sigma}: chi-square {statistic} with {degrees} df"
    );
    let exact_variance: f64 = (-bound..=bound)
        .map(|x| (x * x) as f64 * sampler.pmf(x))
        .sum();
    let (mean, variance) = mean_and_variance(&samples);
    let n = samples.len() as f64;
    assert!(
        mean.abs() < 4.0 * (exact_variance / n).sqrt(),
        "sigma {sigma}: mean {mean}"
    );
    assert!(
        (variance - exact_variance).abs() < 5.0 * exact_variance * (2.0 / n).sqrt() + 1e-9,
        "sigma {sigma}: variance {variance} vs {exact_variance}"
    );
}

#[test]
fn discrete_gaussian_matches_pmf_at_several_scales() {
    for (sigma, seed) in [(0.4, 1), (1.0, 2), (2.342, 3), (7.5, 4), (31.0, 5)] {
        check_discrete_gaussian(sigma, seed);
    }
}

#[test]
fn discrete_gaussian_large_scale_moments() {
    let sigma = 1e9;
    let sampler = DiscreteGaussian::new(sigma).expect("valid sigma");
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let samples = sampler.sample_vec(5_000, &mut rng);
    let (mean, variance) = mean_and_variance(&samples);
    let n = samples.len() as f64;
    assert!(mean.abs() < 4.0 * sigma / n.sqrt());
    assert!((variance / (sigma * sigma) - 1.0).abs() < 5.0 * (2.0 / n).sqrt());
}

fn poisson_pmf(lambda: f64, k: i64) -> f64 {
    if k < 0 {
        return 0.0;
    }
    let k = k as f64;
    // ln Gamma(k+1) by Stirling with enough terms for k >= 1; exact product for small k.
    let log_factorial = if k < 30.0 {
        (1..=k as u64).map(|j| (j as f64).ln()).sum::<f64>()
    } else {
        (k + 0.5) * k.ln() - k + 0.5 * (2.0 * std::f64::consts::PI).ln() + 1.0 / (12.0 * k)
            - 1.0 / (360.0 * k.powi(3))
    };
    (-lambda + k * lambda.ln() - log_factorial).exp()
}

fn check_poisson(lambda: f64, seed: u64, count: usize) {
    let sampler = Poisson::new(lambda).expect("valid mean");
    let exact_lambda = sampler.mean();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let samples: Vec<i64> = (0..count)
        .map(|_| sampler.sample(&mut rng) as i64)
        .collect();
    let spread = (8.0 * exact_lambda.sqrt()).ceil() as i64 + 8;
    let lo = (exact_lambda as i64 - spread).max(0);
    let hi = exact_lambda as i64 + spread;
    let (statistic, degrees) = chi_square(&samples, |k| poisson_pmf(exact_lambda, k), lo, hi);
    assert!(degrees >= 1, "lambda {lambda}: too few cells");
    assert!(
        statistic < chi_square_critical(degrees),
        "lambda {lambda}: chi-square {statistic} with {degrees} df"
    );
    let (mean, variance) = mean_and_variance(&samples);
    let n = count as f64;
    assert!(
        (mean - exact_lambda).abs() < 4.0 * (exact_lambda / n).sqrt(),
        "lambda {lambda}: mean {mean}"
    );
    assert!(
        (variance - exact_lambda).abs()
            < 6.0 * exact_lambda * (2.0 / n).sqrt() + 4.0 * (exact_lambda / n).sqrt(),
        "lambda {lambda}: variance {variance}"
    );
}

#[test]
fn poisson_matches_pmf_at_several_means() {
    for (lambda, seed) in [
        (0.05, 11),
        (0.7, 12),
        (1.0, 13),
        (3.25, 14),
        (17.0, 15),
        (400.5, 16),
    ] {
        check_poisson(lambda, seed, 20_000);
    }
}

#[test]
fn poisson_large_mean_matches_pmf() {
    check_poisson(250_000.0, 17, 4_000);
}

#[test]
fn skellam_moments_and_symmetry() {
    for (mu, seed) in [(0.5, 21), (12.0, 22), (5_000.0, 23)] {
        let sampler = Skellam::new(mu).expect("valid mu");
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let samples = sampler.sample_vec(10_000, &mut rng);
        let (mean, variance) = mean_and_variance(&samples);
        let n = samples.len() as f64;
        let v = sampler.variance();
        assert!(mean.abs() < 4.0 * (v / n).sqrt(), "mu {mu}: mean {mean}");
        assert!(
            (variance / v - 1.0).abs() < 6.0 * (2.0 / n).sqrt() + 0.01,
            "mu {mu}: variance {variance} vs {v}"
        );
        let positive = samples.iter().filter(|&&x| x > 0).count() as f64;
        let negative = samples.iter().filter(|&&x| x < 0).count() as f64;
        assert!(
            (positive - negative).abs() < 4.0 * (positive + negative).sqrt(),
            "mu {mu}: asymmetric"
        );
    }
}

#[test]
fn sum_of_skellam_shares_is_skellam_of_the_sum() {
    // Three nodes with mu = 2 each: the sum should be Sk(6), variance 12.
    let share = Skellam::new(2.0).expect("valid mu");
    let total = Skellam::new(6.0).expect("valid mu");
    let mut rng = ChaCha20Rng::seed_from_u64(31);
    let summed: Vec<i64> = (0..20_000)
        .map(|_| (0..3).map(|_| share.sample(&mut rng)).sum())
        .collect();
    let mu = total.mu();
    // Exact Sk(mu) pmf: P(k) = sum_j Pois(mu)(j + |k|) Pois(mu)(j).
    let reference = |k: i64| {
        (0..80)
            .map(|j| poisson_pmf(mu, j + k.abs()) * poisson_pmf(mu, j))
            .sum::<f64>()
    };
    let (statistic, degrees) = chi_square(&summed, reference, -14, 14);
    assert!(
        statistic < chi_square_critical(degrees),
        "chi-square {statistic} with {degrees} df"
    );
}
