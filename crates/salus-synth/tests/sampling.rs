//! Sampling: large samples reproduce the model's marginals, conditions hold, seeds make runs
//! reproducible, outputs keep the input's columns and value domains, and model files round-trip.

#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use salus_synth::{Budget, ColumnSpec, Condition, FitOptions, Model, SynthError, fit};
use salus_table::{Column, Table};

/// A small clinical-looking table with dependent columns, a missing-value column, a float
/// and a date column.
fn patients(rows: usize, seed: u64) -> Table {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (mut sex, mut age, mut stage, mut bmi, mut visit) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rows {
        let female = rng.random_bool(0.55);
        let a = if female {
            rng.random_range(30..80)
        } else {
            rng.random_range(20..70)
        };
        let s = match (a > 55, rng.random_range(0..10)) {
            (_, 0) => None,
            (true, k) if k < 7 => Some("III"),
            (true, _) => Some("II"),
            (false, k) if k < 6 => Some("I"),
            (false, _) => Some("II"),
        };
        sex.push(Some(if female { "F" } else { "M" }.to_string()));
        age.push(Some(f64::from(a)));
        stage.push(s.map(str::to_string));
        bmi.push(Some(
            18.0 + f64::from(a) / 10.0 + rng.random_range(0.0..8.0),
        ));
        visit.push(Some(format!(
            "2023-{:02}-{:02}",
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        )));
    }
    Table::new(vec![
        Column::text("sex", sex),
        Column::numeric("age", age),
        Column::text("stage", stage),
        Column::numeric("bmi", bmi),
        Column::text("visit", visit),
    ])
    .unwrap()
}

fn fitted(seed: u64) -> (Table, Model) {
    let table = patients(4000, 1);
    let mut options = FitOptions::default();
    options.estimation.max_iterations = 1000;
    options.domain.specs = vec![
        ColumnSpec {
            name: "age".into(),
            bounds: Some(("18".into(), "90".into())),
            ..Default::default()
        },
        ColumnSpec {
            name: "bmi".into(),
            bounds: Some(("15".into(), "40".into())),
            bins: Some(10),
            ..Default::default()
        },
    ];
    let model = fit(
        &table,
        &Budget::from_rho(5.0),
        &options,
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    (table, model)
}

/// Empirical distribution of `columns` of `table` over the model's cells.
fn empirical(model: &Model, table: &Table, columns: &[&str]) -> Vec<f64> {
    let encoded = model.domain.encode(table).unwrap();
    let mut attrs: Vec<usize> = columns
        .iter()
        .map(|c| model.domain.index_of(c).unwrap())
        .collect();
    attrs.sort_unstable();
    let sizes = model.model_sizes();
    let cells: usize = attrs.iter().map(|&a| sizes[a]).product();
    let mut counts = vec![0.0; cells];
    for row in 0..encoded.rows {
        let cell = attrs.iter().fold(0, |acc, &a| {
            acc * sizes[a] + model.compression[a].map[encoded.codes[a][row] as usize] as usize
        });
        counts[cell] += 1.0 / encoded.rows as f64;
    }
    counts
}

fn tvd(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    0.5 * p
        .iter()
        .zip(q)
        .map(|(a, b)| (a / sp - b / sq).abs())
        .sum::<f64>()
}

#[test]
fn large_samples_converge_to_the_model_marginals() {
    let (_, model) = fitted(2);
    let sample = model
        .sample(200_000, &[], &mut ChaCha20Rng::seed_from_u64(3))
        .unwrap();
    for columns in [
        vec!["sex"],
        vec!["stage"],
        vec!["sex", "age"],
        vec!["age", "stage"],
        vec!["sex", "stage"],
        vec!["bmi", "visit"],
    ] {
        let distance = tvd(
            &empirical(&model, &sample, &columns),
            &model.marginal(&columns).unwrap(),
        );
        assert!(distance < 0.02, "{columns:?}: TVD {distance}");
    }
}

#[test]
fn the_model_is_close_to_the_data_at_a_large_budget() {
    let (table, model) = fitted(4);
    for columns in [vec!["sex", "age"], vec!["age", "stage"]] {
        let distance = tvd(
            &empirical(&model, &table, &columns),
            &model.marginal(&columns).unwrap(),
        );
        assert!(distance < 0.1, "{columns:?}: TVD {distance}");
    }
}

#[test]
fn conditional_sampling_honours_conditions() {
    let (_, model) = fitted(5);
    let given = [
        Condition::parse("sex=F").unwrap(),
        Condition::parse("age=70").unwrap(),
    ];
    let sample = model
        .sample(20_000, &given, &mut ChaCha20Rng::seed_from_u64(6))
        .unwrap();
    assert!(
        sample
            .text("sex")
            .unwrap()
            .iter()
            .all(|s| s.as_deref() == Some("F"))
    );
    assert!(
        sample
            .numeric("age")
            .unwrap()
            .iter()
            .all(|a| *a == Some(70.0))
    );
    // stage | sex = F, age = 70 follows the model's conditional distribution.
    let joint = model.marginal(&["sex", "age", "stage"]).unwrap();
    let domain = &model.domain;
    let sizes = model.model_sizes();
    let (sex, age, stage) = (
        domain.index_of("sex").unwrap(),
        domain.index_of("age").unwrap(),
        domain.index_of("stage").unwrap(),
    );
    let f =
        model.compression[sex].map[domain.attributes()[sex].cell_of_text("F").unwrap()] as usize;
    let seventy =
        model.compression[age].map[domain.attributes()[age].cell_of_text("70").unwrap()] as usize;
    let expected: Vec<f64> = (0..sizes[stage])
        .map(|s| joint[(f * sizes[age] + seventy) * sizes[stage] + s])
        .collect();
    let distance = tvd(&empirical(&model, &sample, &["stage"]), &expected);
    assert!(distance < 0.02, "TVD {distance}");
    // A missing value can be given too.
    let missing = model
        .sample(
            50,
            &[Condition::parse("stage=").unwrap()],
            &mut ChaCha20Rng::seed_from_u64(7),
        )
        .unwrap();
    assert!(missing.text("stage").unwrap().iter().all(Option::is_none));
}

#[test]
fn conditions_outside_the_domain_are_refused() {
    let (_, model) = fitted(8);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    for bad in [
        "sex=X",
        "age=120",
        "age=40.5",
        "visit=2023-13-01",
        "nosuch=1",
        "bmi=abc",
    ] {
        let err = model
            .sample(10, &[Condition::parse(bad).unwrap()], &mut rng)
            .unwrap_err();
        assert!(matches!(err, SynthError::Condition { .. }), "{bad}: {err}");
    }
    assert!(Condition::parse("no-equals-sign").is_err());
}

#[test]
fn samples_keep_names_and_value_domains() {
    let (table, model) = fitted(10);
    let sample = model
        .sample(3000, &[], &mut ChaCha20Rng::seed_from_u64(11))
        .unwrap();
    assert_eq!(sample.names(), table.names());
    assert!(
        sample
            .numeric("age")
            .unwrap()
            .iter()
            .flatten()
            .all(|&a| a.fract() == 0.0 && (18.0..=90.0).contains(&a))
    );
    assert!(
        sample
            .numeric("bmi")
            .unwrap()
            .iter()
            .flatten()
            .all(|&b| (15.0..=40.0).contains(&b))
    );
    let stages: Vec<&Option<String>> = sample.text("stage").unwrap().iter().collect();
    assert!(
        stages
            .iter()
            .all(|s| matches!(s.as_deref(), None | Some("I" | "II" | "III")))
    );
    assert!(
        stages.iter().any(|s| s.is_none()),
        "missing values are modelled"
    );
    for v in sample.text("visit").unwrap().iter().flatten() {
        assert!(v.len() == 10 && v.starts_with("2023-"), "{v}");
    }
}

#[test]
fn a_seed_makes_fit_and_sample_reproducible() {
    let (_, a) = fitted(12);
    let (_, b) = fitted(12);
    assert_eq!(a, b);
    let first = a
        .sample(500, &[], &mut ChaCha20Rng::seed_from_u64(1))
        .unwrap();
    let again = a
        .sample(500, &[], &mut ChaCha20Rng::seed_from_u64(1))
        .unwrap();
    let other = a
        .sample(500, &[], &mut ChaCha20Rng::seed_from_u64(2))
        .unwrap();
    assert_eq!(first, again);
    assert_ne!(first, other);
    let (_, c) = fitted(13);
    assert_ne!(
        a.marginals, c.marginals,
        "different noise for a different seed"
    );
}

#[test]
fn model_files_round_trip_and_reject_tampering() {
    let (_, model) = fitted(14);
    let json = model.to_json().unwrap();
    assert!(
        !json.contains("noisy_counts"),
        "the model stores no measurement vectors"
    );
    let back = Model::from_json(&json).unwrap();
    assert_eq!(back, model);
    let s1 = back
        .sample(300, &[], &mut ChaCha20Rng::seed_from_u64(4))
        .unwrap();
    let s2 = model
        .sample(300, &[], &mut ChaCha20Rng::seed_from_u64(4))
        .unwrap();
    assert_eq!(s1, s2);
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["version"] = serde_json::json!(99);
    assert!(
        Model::from_json(&value.to_string())
            .unwrap_err()
            .to_string()
            .contains("version 99")
    );
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["marginals"][0].as_array_mut().unwrap().pop();
    assert!(Model::from_json(&value.to_string()).is_err());
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["parents"][0] = serde_json::json!(1);
    assert!(Model::from_json(&value.to_string()).is_err());
    assert!(Model::from_json("{}").is_err());
    assert!(Model::from_json("not json").is_err());
}
