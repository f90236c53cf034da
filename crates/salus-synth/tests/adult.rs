//! End-to-end on real data: UCI Adult (ARX extract, 30,162 rows, 9 columns; see
//! tests/data/adult/PROVENANCE.txt). Central MST and AIM at epsilon 1, and federated MST
//! over three sites with distributed noise from salus-dp, must reach a measured fidelity.

#![allow(clippy::unwrap_used)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_dp::{DistributedNoise, NoiseMechanism, Sensitivity};
use salus_synth::eval::{EvalOptions, evaluate};
use salus_synth::{
    Accountant, AimOptions, Budget, Clique, ColumnSpec, Domain, DomainOptions, FitOptions,
    Measurement, Method, Model, fit, fit_from_measurements, infer_domain, local_marginal_counts,
    mst_measurements, plan_federated_mst, select_tree, split_measurements,
};
use salus_table::{CsvOptions, Table, read_csv_path};

fn adult() -> Table {
    let path = format!("{}/tests/data/adult/adult.csv", env!("CARGO_MANIFEST_DIR"));
    read_csv_path(
        std::path::Path::new(&path),
        &CsvOptions::with_delimiter(b';'),
    )
    .unwrap()
}

fn options(method: Method) -> FitOptions {
    let mut options = FitOptions {
        method,
        ..FitOptions::default()
    };
    options.domain.specs = vec![ColumnSpec {
        name: "age".into(),
        bounds: Some(("17".into(), "90".into())),
        ..Default::default()
    }];
    options
}

fn two_way_tvd(real: &Table, model: &Model, seed: u64) -> f64 {
    let synthetic = model
        .sample(real.nrows(), &[], &mut ChaCha20Rng::seed_from_u64(seed))
        .unwrap();
    let options = EvalOptions {
        privacy: false,
        detection_rows: 2000,
        ..EvalOptions::default()
    };
    evaluate(real, &synthetic, None, &options)
        .unwrap()
        .fidelity
        .measures
        .tvd_2way
        .unwrap()
}

// Thresholds: measured 2-way TVD over seeds (docs/benchmarks/synth.md), plus margin.
#[test]
fn mst_on_adult_at_epsilon_one() {
    let real = adult();
    let budget = Budget::from_epsilon_delta(1.0, 1e-9).unwrap();
    let model = fit(
        &real,
        &budget,
        &options(Method::Mst),
        &mut ChaCha20Rng::seed_from_u64(7),
    )
    .unwrap();
    assert!(model.privacy.rho_spent <= budget.rho);
    assert_eq!(
        model
            .measured
            .iter()
            .filter(|m| m.columns.len() == 2)
            .count(),
        8,
        "a spanning tree over 9 columns"
    );
    let tvd = two_way_tvd(&real, &model, 8);
    assert!(tvd < 0.06, "2-way TVD {tvd}");
}

#[test]
fn aim_on_adult_at_epsilon_one() {
    let real = adult();
    let budget = Budget::from_epsilon_delta(1.0, 1e-9).unwrap();
    let mut options = options(Method::Aim);
    options.aim = AimOptions {
        rounds: Some(40),
        ..AimOptions::default()
    };
    let model = fit(&real, &budget, &options, &mut ChaCha20Rng::seed_from_u64(9)).unwrap();
    assert!(model.privacy.rho_spent <= budget.rho);
    assert!(
        model
            .privacy
            .steps
            .iter()
            .any(|s| s.label.starts_with("select:round-"))
    );
    let tvd = two_way_tvd(&real, &model, 10);
    assert!(tvd < 0.06, "2-way TVD {tvd}");
}

/// Each node adds a distributed discrete Gaussian share to its counts; the sum carries
/// at least the planned noise.
fn aggregate(
    sites: &[Table],
    domain: &Domain,
    cliques: &[Clique],
    sigmas: &[f64],
    rng: &mut ChaCha20Rng,
) -> Vec<Measurement> {
    let lengths = salus_synth::marginal_lengths(domain, cliques);
    let plans: Vec<DistributedNoise> = lengths
        .iter()
        .zip(sigmas)
        .map(|(&len, &sigma)| {
            let rho = salus_dp::zcdp::rho_discrete_gaussian(1.0, sigma);
            DistributedNoise::calibrate(
                NoiseMechanism::DistributedDiscreteGaussian,
                Sensitivity::unit(),
                len,
                sites.len(),
                rho,
            )
            .unwrap()
        })
        .collect();
    let mut sum = vec![0i64; lengths.iter().sum()];
    for site in sites {
        let counts = local_marginal_counts(site, domain, cliques).unwrap();
        let noise: Vec<i64> = plans
            .iter()
            .flat_map(|p| p.sample_share(rng).unwrap())
            .collect();
        for ((s, c), n) in sum.iter_mut().zip(counts).zip(noise) {
            *s += c as i64 + n;
        }
    }
    let flat: Vec<f64> = sum.iter().map(|&v| v as f64).collect();
    let effective: Vec<f64> = plans
        .iter()
        .map(|p| p.total_variance(sites.len()).sqrt())
        .collect();
    split_measurements(domain, cliques, &flat, &effective).unwrap()
}

#[test]
fn federated_mst_over_three_sites() {
    let real = adult();
    let sites: Vec<Table> = (0..3)
        .map(|s| {
            let keep: Vec<bool> = (0..real.nrows()).map(|r| r % 3 == s).collect();
            real.filter_rows(&keep)
        })
        .collect();
    // The study fixes a public domain (here from the schema: age bounds, categories public).
    let domain_options = DomainOptions {
        specs: options(Method::Mst).domain.specs,
        ..DomainOptions::default()
    };
    let mut unused = Accountant::new(1.0).unwrap();
    let domain = infer_domain(
        &real,
        &domain_options,
        &mut unused,
        0.0,
        &mut ChaCha20Rng::seed_from_u64(0),
    )
    .unwrap();
    assert!(unused.steps().is_empty(), "a public domain costs no budget");

    let rho = Budget::from_epsilon_delta(1.0, 1e-9).unwrap().rho;
    let plan = plan_federated_mst(&domain, rho).unwrap();
    assert!(plan.total_rho() <= rho);
    // Counting is exact: the sites' counts add up to the pooled counts.
    let pooled = local_marginal_counts(&real, &domain, &plan.round_one).unwrap();
    let mut summed = vec![0u64; pooled.len()];
    for site in &sites {
        for (s, c) in summed
            .iter_mut()
            .zip(local_marginal_counts(site, &domain, &plan.round_one).unwrap())
        {
            *s += c;
        }
    }
    assert_eq!(summed, pooled);

    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let round_one = aggregate(
        &sites,
        &domain,
        &plan.round_one,
        &plan.round_one_sigmas,
        &mut rng,
    );
    let tree = select_tree(&domain, &round_one).unwrap();
    assert_eq!(tree.len(), domain.len() - 1);
    let round_two = aggregate(
        &sites,
        &domain,
        &tree,
        &vec![plan.round_two_sigma; tree.len()],
        &mut rng,
    );
    let model = fit_from_measurements(
        &domain,
        &mst_measurements(&round_one, &tree, &round_two),
        &FitOptions::default(),
    )
    .unwrap();
    assert_eq!(model.method, "federated");
    let tvd = two_way_tvd(&real, &model, 12);
    assert!(tvd < 0.08, "2-way TVD {tvd}");
}
