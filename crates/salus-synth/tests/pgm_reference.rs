//! Known-answer tests: the estimator against Private-PGM (`mbi`, McKenna et al.), the
//! reference implementation MST and AIM are built on. The fixtures hold noisy measurements
//! and mbi's estimated marginals (tests/data/private-pgm, made by
//! bench/synth/make_pgm_fixture.py); both minimise the same loss, so after convergence the
//! marginals must agree.

#![allow(clippy::unwrap_used)]

use salus_synth::{
    Attribute, AttributeKind, Domain, DomainSource, EstimationOptions, FitOptions, Measurement,
    fit_from_measurements,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Marginal {
    clique: Vec<usize>,
    values: Vec<f64>,
}

#[derive(Deserialize)]
struct Fixture {
    sizes: Vec<usize>,
    total: f64,
    measurements: Vec<Measurement>,
    marginals: Vec<Marginal>,
}

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

fn check(file: &str) {
    let path = format!(
        "{}/tests/data/private-pgm/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let fixture: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let attributes = fixture
        .sizes
        .iter()
        .zip(NAMES)
        .map(|(&size, name)| Attribute {
            name: name.to_string(),
            kind: AttributeKind::Categorical {
                categories: (0..size).map(|i| i.to_string()).collect(),
                numeric_labels: false,
            },
            missing: false,
            source: DomainSource::Public,
        })
        .collect();
    let domain = Domain::new(attributes).unwrap();
    let options = FitOptions {
        compress: false,
        estimation: EstimationOptions {
            max_iterations: 20_000,
            tolerance: 1e-13,
            patience: 100,
        },
        ..FitOptions::default()
    };
    let model = fit_from_measurements(&domain, &fixture.measurements, &options).unwrap();
    assert!(
        (model.total - fixture.total).abs() < 1e-6 * fixture.total,
        "{} vs {}",
        model.total,
        fixture.total
    );
    for expected in &fixture.marginals {
        let columns: Vec<&str> = expected.clique.iter().map(|&a| NAMES[a]).collect();
        let got = model.marginal(&columns).unwrap();
        for (g, e) in got.iter().zip(&expected.values) {
            assert!(
                (g - e).abs() < 1e-3 * fixture.total,
                "{file} {columns:?}: {g} vs {e}"
            );
        }
    }
}

#[test]
fn tree_model_matches_private_pgm() {
    check("tree.json");
}

#[test]
fn loopy_model_matches_private_pgm() {
    check("loopy.json");
}
