//! Non-convergence and bad input: collinearity and separation name the covariates,
//! malformed data and tampered sums give clear errors instead of wrong numbers.

#![allow(clippy::unwrap_used)]

mod common;

use common::table;
use salus_stats::cox::{self, CoxData, CoxOptions, CoxSpec};
use salus_stats::glm::{self, Family};
use salus_stats::{
    Design, DesignSpec, FailureReason, NewtonDriver, NewtonOptions, NewtonTerms, NextStep,
    StatsError, Term, TimeGrid, km, linreg,
};
use salus_table::{Column, Table};

fn rossi_with(extra: Column) -> Table {
    let mut t = table("rossi.csv");
    t.push_column(extra).unwrap();
    t
}

fn rossi_spec(covariates: &[&str]) -> CoxSpec {
    CoxSpec {
        time: "week".into(),
        event: "arrest".into(),
        design: DesignSpec::new(covariates.iter().map(|c| Term::numeric(*c)).collect()),
        ..CoxSpec::default()
    }
}

#[test]
fn collinear_covariate_is_named_with_its_combination() {
    let t = table("rossi.csv");
    let fin = t.numeric("fin").unwrap();
    let race = t.numeric("race").unwrap();
    let sum: Vec<Option<f64>> = fin
        .iter()
        .zip(race)
        .map(|(a, b)| Some(a.unwrap() + 2.0 * b.unwrap()))
        .collect();
    let t = rossi_with(Column::numeric("fin_race", sum));
    let input = rossi_spec(&["fin", "age", "race", "fin_race"])
        .read(&t)
        .unwrap();
    let err = cox::fit(&input.data, &CoxOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StatsError::Collinear(_)), "{msg}");
    assert!(
        msg.contains("`fin_race`") && msg.contains("`fin`") && msg.contains("`race`"),
        "{msg}"
    );
    assert!(
        !msg.contains("`age`"),
        "age is not part of the combination: {msg}"
    );
}

#[test]
fn constant_covariate_is_named() {
    let t = rossi_with(Column::numeric("site", vec![Some(3.0); 432]));
    let input = rossi_spec(&["fin", "site", "age"]).read(&t).unwrap();
    let msg = cox::fit(&input.data, &CoxOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("`site`") && msg.contains("no variation"),
        "{msg}"
    );
}

#[test]
fn monotone_likelihood_in_cox_names_the_covariate() {
    // A covariate equal to the event flag: every failing subject has the largest value
    // in its risk set, so the partial likelihood rises forever with its coefficient.
    let t = table("rossi.csv");
    let arrest = t.numeric("arrest").unwrap().to_vec();
    let t = rossi_with(Column::numeric("leak", arrest));
    let input = rossi_spec(&["fin", "leak", "age"]).read(&t).unwrap();
    let fit = cox::fit(&input.data, &CoxOptions::default()).unwrap();
    assert!(!fit.converged);
    assert_eq!(fit.warnings.len(), 1);
    assert!(
        fit.warnings[0].contains("`leak`") && !fit.warnings[0].contains("`fin`"),
        "{}",
        fit.warnings[0]
    );
}

#[test]
fn real_quasi_separation_is_reported_not_fitted() {
    // UCI heart disease: all four patients with chest pain type 0 are healthy, so the
    // intercept and the other chest-pain levels run off together (statsmodels returns
    // coefficients near +-25 with standard errors of 35,000 here).
    let t = table("heart_disease.csv");
    let spec = DesignSpec::new(vec![
        Term::numeric("age"),
        Term::numeric("sex"),
        Term::categorical("cp"),
    ])
    .with_intercept();
    let (design, y, _) = glm::read_table(&t, "target", &spec, Family::Logistic).unwrap();
    let fit = glm::fit(&design, &y, Family::Logistic, &NewtonOptions::default()).unwrap();
    assert!(!fit.converged);
    let w = &fit.warnings[0];
    assert!(
        w.contains("`cp[T.1]`") && w.contains("`intercept`") && !w.contains("`age`"),
        "{w}"
    );
}

#[test]
fn logistic_separation_names_the_covariate() {
    let x: Vec<f64> = (0..60).map(|i| i as f64 / 10.0 - 3.0).collect();
    let noise: Vec<f64> = (0..60).map(|i| ((i * 37) % 11) as f64).collect();
    let y: Vec<f64> = x.iter().map(|&v| f64::from(u8::from(v > 0.05))).collect();
    let mut m = Vec::new();
    for i in 0..60 {
        m.extend([1.0, noise[i], x[i]]);
    }
    let design =
        Design::from_matrix(vec!["intercept".into(), "noise".into(), "x".into()], m).unwrap();
    let fit = glm::fit(&design, &y, Family::Logistic, &NewtonOptions::default()).unwrap();
    assert!(!fit.converged);
    assert!(fit.warnings[0].contains("`x`"), "{}", fit.warnings[0]);
}

#[test]
fn collinear_linear_regression_is_an_error() {
    let m: Vec<f64> = (0..20)
        .flat_map(|i| [1.0, i as f64, 2.0 * i as f64 + 1.0])
        .collect();
    let design = Design::from_matrix(vec!["intercept".into(), "a".into(), "b".into()], m).unwrap();
    let y: Vec<f64> = (0..20).map(|i| (i % 7) as f64).collect();
    let msg = linreg::fit(&design, &y).unwrap_err().to_string();
    assert!(
        msg.contains("`b`") && msg.contains("`a`") && msg.contains("`intercept`"),
        "{msg}"
    );
}

#[test]
fn event_column_with_other_codes_is_rejected_unless_a_value_is_given() {
    let csv = "time,status,x\n5,2,1\n6,0,2\n7,1,3\n8,2,1\n9,0,5\n";
    let t = salus_table::read_csv(csv.as_bytes(), &Default::default()).unwrap();
    let mut spec = CoxSpec {
        time: "time".into(),
        event: "status".into(),
        design: DesignSpec::new(vec![Term::numeric("x")]),
        ..CoxSpec::default()
    };
    let msg = spec.read(&t).unwrap_err().to_string();
    assert!(msg.contains("`status`") && msg.contains("0/1"), "{msg}");
    spec.event = "status=2".into();
    assert_eq!(spec.read(&t).unwrap().data.n_events(), 2);
}

#[test]
fn empty_intervals_and_non_finite_values_are_rejected() {
    let x = vec![1.0, 2.0];
    let data = CoxData::new(
        vec!["x".into()],
        x.clone(),
        vec![5.0, 6.0],
        vec![true, false],
    )
    .unwrap();
    assert!(matches!(
        data.with_start(vec![0.0, 6.0]),
        Err(StatsError::EmptyInterval { row: 1 })
    ));
    let nan = CoxData::new(vec!["x".into()], x, vec![5.0, f64::NAN], vec![true, false]);
    assert!(matches!(nan, Err(StatsError::NonFinite { row: 1, .. })));
    assert!(km::fit(&[1.0, f64::INFINITY], &[true, true]).is_err());
}

#[test]
fn tampered_or_truncated_sums_are_rejected() {
    let grid = TimeGrid::regular(0.0, 10.0, 5).unwrap();
    let len = cox::grid_sums_len(&grid, 2, 1);
    assert!(cox::grid_terms(&vec![0.0; len - 1], &grid, 2, Default::default()).is_err());
    assert!(cox::grid_terms(&[], &grid, 2, Default::default()).is_err());
    assert!(NewtonTerms::from_flat(&[0.0; 5], 2).is_err());
    assert!(km::from_grid_counts(&[1.0, 2.0, 0.0], &grid).is_err());
    // More events than subjects at risk cannot come from honest sites.
    let mut counts = vec![0.0; 10];
    counts[0] = 1.0;
    counts[5] = 3.0;
    assert!(km::from_grid_counts(&counts, &grid).is_err());
    assert!(linreg::from_sums(&[1.0; 4], &["intercept".into(), "x".into()]).is_err());
}

#[test]
fn driver_rejects_terms_of_the_wrong_size_and_use_after_finish() {
    let mut driver = NewtonDriver::new(2, NewtonOptions::default());
    let NextStep::Failed(f) = driver.observe(&NewtonTerms::zeros(3)) else {
        panic!("expected failure");
    };
    assert_eq!(
        f.reason,
        FailureReason::BadTerms {
            expected: 2,
            actual: 3
        }
    );
    let NextStep::Failed(f) = driver.observe(&NewtonTerms::zeros(2)) else {
        panic!("expected failure");
    };
    assert_eq!(f.reason, FailureReason::Finished);
}

#[test]
fn no_events_is_an_error() {
    let data = CoxData::new(
        vec!["x".into()],
        vec![1.0, 2.0],
        vec![5.0, 6.0],
        vec![false, false],
    )
    .unwrap();
    assert!(matches!(
        cox::fit(&data, &CoxOptions::default()),
        Err(StatsError::NoData(_))
    ));
}
