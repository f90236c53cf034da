//! The differential-privacy hook: every node adds its share of the planned noise before
//! masking, the hub only ever sees the noisy sum, and the result records the aggregate
//! noise (mechanism, number of shares, total variance, rho), never a node's share.

mod common;

use std::collections::BTreeMap;

use salus_dp::{DistributedNoise, NoiseMechanism, Sensitivity};
use salus_secagg::simulation::DropPoint;
use salus_secagg::{Graph, NodeId};

use common::{config, identities, run};

fn noisy_round(
    mechanism: NoiseMechanism,
    dropouts: BTreeMap<NodeId, DropPoint>,
) -> (Vec<i64>, salus_dp::NoiseSummary, f64) {
    let n = 6;
    let threshold = 4;
    let dimension = 3_000;
    let keys = identities(n);
    let plan =
        DistributedNoise::calibrate(mechanism, Sensitivity::unit(), dimension, threshold, 0.02)
            .expect("plan");
    let rho_charged = plan.rho();
    let mut cfg = config(&keys, threshold, Graph::Full, dimension, b"dp");
    cfg.noise = Some(plan);
    // Every site holds the same small histogram; the noise-free sum is known.
    let inputs: Vec<Vec<u64>> = (0..n)
        .map(|_| (0..dimension).map(|j| (j % 5) as u64).collect())
        .collect();
    let report = run(cfg, &keys, &inputs, dropouts, 9);
    let output = report.result.expect("round succeeds");
    let survivors = output.survivors.len() as i64;
    let noise: Vec<i64> = output
        .sum
        .iter()
        .enumerate()
        .map(|(j, &s)| s as i64 - survivors * (j % 5) as i64)
        .collect();
    (
        noise,
        output.noise.expect("noise summary recorded"),
        rho_charged,
    )
}

fn check_moments(noise: &[i64], variance: f64) {
    let n = noise.len() as f64;
    let mean = noise.iter().map(|&x| x as f64).sum::<f64>() / n;
    let observed = noise
        .iter()
        .map(|&x| (x as f64 - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    assert!(
        mean.abs() < 4.0 * (variance / n).sqrt(),
        "noise mean {mean}"
    );
    assert!(
        (observed / variance - 1.0).abs() < 5.0 * (2.0 / n).sqrt(),
        "variance {observed} vs {variance}"
    );
}

#[test]
fn skellam_shares_sum_to_the_recorded_noise() {
    let dropouts = BTreeMap::from([(NodeId(2), DropPoint::BeforeMaskedInput)]);
    let (noise, summary, rho_charged) = noisy_round(NoiseMechanism::Skellam, dropouts);
    assert_eq!(summary.shares, 5, "five survivors contributed noise");
    assert!(
        summary.rho <= summary.rho_guaranteed
            && summary.rho_guaranteed <= rho_charged * (1.0 + 1e-12)
    );
    assert!(summary.rho_guaranteed <= 0.02 * (1.0 + 1e-9));
    check_moments(&noise, summary.total_variance);
}

#[test]
fn distributed_discrete_gaussian_shares_sum_to_the_recorded_noise() {
    let (noise, summary, _) =
        noisy_round(NoiseMechanism::DistributedDiscreteGaussian, BTreeMap::new());
    assert_eq!(summary.shares, 6);
    assert!(summary.total_mu.is_none());
    check_moments(&noise, summary.total_variance);
}
