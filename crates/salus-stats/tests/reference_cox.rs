//! Cox fits against lifelines (Efron) and statsmodels (Breslow) on real data sets:
//! GBSG2, Rossi, WHAS500, Stanford heart (time-varying), PBC with time-dependent labs.
//! Coefficients must agree to 1e-6 relative, standard errors to 1e-5.

#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_rel, design_spec, num, reference, table};
use salus_stats::cox::{self, CoxOptions, CoxSpec, Ties};

fn check(name: &str) {
    let r = reference(name);
    let t = table(r["data"].as_str().unwrap());
    let spec = CoxSpec {
        time: r["time"].as_str().unwrap().into(),
        event: r["event"].as_str().unwrap().into(),
        start: r["start"].as_str().map(str::to_string),
        strata: r["strata"].as_str().map(str::to_string),
        strata_levels: None,
        design: design_spec(&r),
    };
    let input = spec.read(&t).unwrap();
    let ties: Ties = r["ties"].as_str().unwrap().parse().unwrap();
    let fit = cox::fit(
        &input.data,
        &CoxOptions {
            ties,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(fit.converged, "{name} did not converge");
    assert_eq!(fit.n as u64, r["n"].as_u64().unwrap(), "{name}: n");
    assert_eq!(
        fit.events as u64,
        r["events"].as_u64().unwrap(),
        "{name}: events"
    );
    assert_eq!(
        input.dropped as u64,
        r["dropped"].as_u64().unwrap(),
        "{name}: dropped"
    );
    assert_rel(
        &format!("{name}: loglik"),
        fit.loglik,
        num(&r["loglik"]),
        1e-9,
    );
    let expected = r["coefficients"].as_array().unwrap();
    assert_eq!(
        fit.coefficients.len(),
        expected.len(),
        "{name}: number of coefficients"
    );
    for (got, want) in fit.coefficients.iter().zip(expected) {
        assert_eq!(
            got.name,
            want["name"].as_str().unwrap(),
            "{name}: coefficient order"
        );
        let label = format!("{name}: {}", got.name);
        assert_rel(&format!("{label} coef"), got.coef, num(&want["coef"]), 1e-6);
        assert_rel(&format!("{label} se"), got.se, num(&want["se"]), 1e-5);
        assert_rel(&format!("{label} z"), got.z, num(&want["z"]), 1e-5);
        assert_rel(&format!("{label} p"), got.p, num(&want["p"]), 1e-4);
        assert_rel(&format!("{label} hr"), got.hr, num(&want["hr"]), 1e-6);
    }
}

#[test]
fn gbsg2_efron() {
    check("gbsg2_efron");
}

#[test]
fn gbsg2_breslow() {
    check("gbsg2_breslow");
}

#[test]
fn gbsg2_stratified_efron() {
    check("gbsg2_strata_efron");
}

#[test]
fn gbsg2_stratified_breslow() {
    check("gbsg2_strata_breslow");
}

#[test]
fn rossi_efron() {
    check("rossi_efron");
}

#[test]
fn rossi_breslow() {
    check("rossi_breslow");
}

#[test]
fn rossi_stratified_efron() {
    check("rossi_strata_efron");
}

#[test]
fn rossi_stratified_breslow() {
    check("rossi_strata_breslow");
}

#[test]
fn whas500_efron() {
    check("whas500_efron");
}

#[test]
fn whas500_breslow() {
    check("whas500_breslow");
}

#[test]
fn stanford_heart_time_varying_efron() {
    check("stanford_efron");
}

#[test]
fn stanford_heart_time_varying_breslow() {
    check("stanford_breslow");
}

#[test]
fn pbc_time_dependent_labs_efron() {
    check("pbc_td_efron");
}

#[test]
fn pbc_time_dependent_labs_breslow() {
    check("pbc_td_breslow");
}

#[test]
fn rossi_baseline_cumulative_hazard_matches_lifelines() {
    let r = reference("rossi_baseline");
    let t = table("rossi.csv");
    let spec = CoxSpec {
        time: "week".into(),
        event: "arrest".into(),
        design: design_spec(&r),
        ..CoxSpec::default()
    };
    let input = spec.read(&t).unwrap();
    let fit = cox::fit(&input.data, &CoxOptions::default()).unwrap();
    let beta: Vec<f64> = fit.coefficients.iter().map(|c| c.coef).collect();
    let means = input.data.column_means();
    let baseline = cox::baseline_hazard(&input.data, &beta, &means).unwrap();
    let times = r["times"].as_array().unwrap();
    let hazard = r["cumulative_hazard"].as_array().unwrap();
    for (t, h) in times.iter().zip(hazard) {
        let got = baseline[0].cumulative_hazard_at(num(t));
        assert_rel(&format!("cumulative hazard at {t}"), got, num(h), 1e-6);
    }
}
