//! The evaluation report on tables with known answers.

#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use salus_synth::eval::{EvalOptions, Section, evaluate};
use salus_table::{Column, Table};

/// Rows where `outcome` depends on `group` and `x`; `shuffle` breaks the dependence.
fn table(rows: usize, seed: u64, shuffle: bool) -> Table {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut group = vec![];
    let mut x = vec![];
    let mut outcome = vec![];
    let mut score = vec![];
    for _ in 0..rows {
        let g = rng.random_bool(0.4);
        let v: f64 = rng.random_range(0.0..100.0);
        let p = if g { 0.7 } else { 0.2 } * if v > 50.0 { 1.2 } else { 0.8 };
        group.push(Some(if g { "A" } else { "B" }.to_string()));
        x.push(Some(v.round()));
        outcome.push(Some(
            if rng.random_bool(p) { "yes" } else { "no" }.to_string(),
        ));
        score.push(Some(v * 2.0 + rng.random_range(0.0..10.0)));
    }
    if shuffle {
        let mut order: Vec<usize> = (0..rows).collect();
        for i in (1..rows).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        outcome = order.iter().map(|&i| outcome[i].clone()).collect();
    }
    Table::new(vec![
        Column::text("group", group),
        Column::numeric("x", x),
        Column::text("outcome", outcome),
        Column::numeric("score", score),
    ])
    .unwrap()
}

fn options() -> EvalOptions {
    EvalOptions {
        target: Some("outcome".into()),
        protected: Some("group".into()),
        attacks: 100,
        inference_attacks: 50,
        dcr_rows: 200,
        ..EvalOptions::default()
    }
}

#[test]
fn identical_data_is_perfectly_faithful_and_fully_exposed() {
    let real = table(2000, 1, false);
    let report = evaluate(&real, &real, None, &options()).unwrap();
    let f = &report.fidelity.measures;
    assert_eq!(f.tvd_1way, 0.0);
    assert_eq!(f.tvd_2way, Some(0.0));
    assert_eq!(f.tvd_3way, Some(0.0));
    assert_eq!(f.subsets_evaluated, [4, 6, 4]);
    assert!(
        (f.detection_auc.unwrap() - 0.5).abs() < 0.06,
        "{:?}",
        f.detection_auc
    );
    assert!(f.correlation_similarity.unwrap() > 0.999);
    let u = report.utility.computed().unwrap();
    assert_eq!(u.positive_class, "yes");
    assert!((u.trained_on_real.auc.unwrap() - u.trained_on_synthetic.auc.unwrap()).abs() < 0.05);
    let p = report.privacy.computed().unwrap();
    assert_eq!(p.distance_to_closest_record.synthetic_exact_match_rate, 1.0);
    assert!(
        p.singling_out_univariate.risk().unwrap() > 0.5,
        "a copy of the data singles people out"
    );
}

#[test]
fn broken_dependence_shows_in_two_way_but_not_one_way_tvd() {
    let real = table(4000, 2, false);
    let synthetic = table(4000, 2, true);
    let report = evaluate(&real, &synthetic, None, &options()).unwrap();
    let f = &report.fidelity.measures;
    assert_eq!(
        f.tvd_1way, 0.0,
        "a permutation keeps every one-way marginal"
    );
    let pair = f
        .pairs
        .iter()
        .find(|p| p.columns == ["group".to_string(), "outcome".to_string()])
        .unwrap();
    assert!(pair.tvd > 0.1, "{}", pair.tvd);
    let untouched = f
        .pairs
        .iter()
        .find(|p| p.columns == ["x".to_string(), "score".to_string()])
        .unwrap();
    assert_eq!(untouched.tvd, 0.0);
    let u = report.utility.computed().unwrap();
    assert!(u.trained_on_synthetic.auc.unwrap() < u.trained_on_real.auc.unwrap() - 0.1);
    let b = report.bias.computed().unwrap();
    assert!(
        b.outcome_rate_difference.real.unwrap() > 0.3,
        "planted gap between groups"
    );
    assert!(
        b.outcome_rate_difference.synthetic.unwrap() < 0.1,
        "gone after shuffling"
    );
}

#[test]
fn a_holdout_serves_as_control_and_enables_membership_inference() {
    let real = table(1500, 3, false);
    let holdout = table(1500, 4, false);
    let leaky = real.clone();
    let report = evaluate(&real, &leaky, Some(&holdout), &options()).unwrap();
    let p = report.privacy.computed().unwrap();
    assert!(p.control);
    let m = p.membership_inference.as_ref().unwrap();
    assert!(
        m.auc.unwrap() > 0.9,
        "copying the training data is detected: {:?}",
        m.auc
    );
    assert!(p.distance_to_closest_record.holdout_median.is_some());
    let u = report.utility.computed().unwrap();
    assert_eq!(u.test_set, "holdout");
    assert_eq!(u.test_rows, 1500);
    let fresh = table(1500, 5, false);
    let safe = evaluate(&real, &fresh, Some(&holdout), &options()).unwrap();
    let m = safe
        .privacy
        .computed()
        .unwrap()
        .membership_inference
        .as_ref()
        .unwrap()
        .clone();
    assert!(
        (m.auc.unwrap() - 0.5).abs() < 0.15,
        "independent data reveals no membership: {:?}",
        m.auc
    );
}

#[test]
fn json_has_exactly_the_four_sections_and_html_is_self_contained() {
    let real = table(800, 6, false);
    let synthetic = table(800, 7, false);
    let mut opts = options();
    opts.protected = None;
    let report = evaluate(&real, &synthetic, None, &opts).unwrap();
    let value: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["bias", "fidelity", "privacy", "utility"]);
    for key in ["tvd_1way", "tvd_2way", "tvd_3way", "detection_auc", "pairs"] {
        assert!(value["fidelity"].get(key).is_some(), "{key}");
    }
    assert_eq!(value["bias"]["computed"], serde_json::json!(false));
    assert!(matches!(report.bias, Section::Skipped { .. }));
    let html = report.to_html();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<svg") && html.ends_with("</html>")
    );
    assert!(
        !html.contains("src=") && !html.contains("href=") && !html.contains("<script"),
        "no external assets"
    );
}

#[test]
fn known_tvd_on_a_tiny_example() {
    // real: a,a,b,b ; synthetic: a,b,b,b -> one-way TVD = 0.5 * (|0.5-0.25| + |0.5-0.75|) = 0.25.
    let col = |v: &[&str]| Column::text("c", v.iter().map(|s| Some(s.to_string())).collect());
    let real = Table::new(vec![col(&["a", "a", "b", "b"])]).unwrap();
    let synthetic = Table::new(vec![col(&["a", "b", "b", "b"])]).unwrap();
    let opts = EvalOptions {
        privacy: false,
        ..EvalOptions::default()
    };
    let report = evaluate(&real, &synthetic, None, &opts).unwrap();
    assert!((report.fidelity.measures.tvd_1way - 0.25).abs() < 1e-12);
    assert_eq!(report.fidelity.measures.tvd_2way, None);
    assert!(
        evaluate(
            &real,
            &synthetic,
            None,
            &EvalOptions {
                target: Some("nope".into()),
                ..opts
            }
        )
        .is_err()
    );
}
