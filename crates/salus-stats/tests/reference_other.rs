//! Kaplan-Meier and log-rank against lifelines / statsmodels, logistic regression and
//! OLS against statsmodels, on real data sets (GBSG2, Rossi, WHAS500, UCI heart
//! disease, breast cancer Wisconsin).

#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_close, assert_rel, design_spec, num, reference, strings, table};
use salus_stats::glm::{self, Family};
use salus_stats::{NewtonOptions, columns, km, linreg, logrank};
use serde_json::Value;

fn survival_columns(
    r: &Value,
    group: Option<&str>,
) -> (Vec<f64>, Vec<bool>, Vec<u32>, Vec<String>) {
    let t = table(r["data"].as_str().unwrap());
    let rows: Vec<usize> = (0..t.nrows()).collect();
    let times = columns::numeric_at(&t, r["time"].as_str().unwrap(), &rows).unwrap();
    let events = columns::binary_at(&t, r["event"].as_str().unwrap(), &rows).unwrap();
    let (codes, labels) = match group {
        Some(g) => columns::level_codes(&t, g, &rows, None).unwrap(),
        None => (vec![0; rows.len()], vec!["all".into()]),
    };
    (times, events, codes, labels)
}

fn check_km(name: &str) {
    let r = reference(name);
    let (times, events, codes, labels) = survival_columns(&r, r["group"].as_str());
    for (code, want) in r["groups"].as_array().unwrap().iter().enumerate() {
        assert_eq!(labels[code], want["name"].as_str().unwrap());
        let pick: Vec<usize> = (0..times.len())
            .filter(|&i| codes[i] as usize == code)
            .collect();
        let t: Vec<f64> = pick.iter().map(|&i| times[i]).collect();
        let e: Vec<bool> = pick.iter().map(|&i| events[i]).collect();
        let curve = km::fit(&t, &e).unwrap();
        assert_eq!(curve.n as u64, want["n"].as_u64().unwrap());
        assert_eq!(curve.events as u64, want["events"].as_u64().unwrap());
        assert_eq!(curve.median, want["median"].as_f64(), "{name}: median");
        // lifelines' timeline starts at 0 and lists every distinct time.
        let ref_times = want["times"].as_array().unwrap();
        for (k, rt) in ref_times.iter().enumerate() {
            let at = num(rt);
            let s = curve.survival_at(at);
            assert_close(
                &format!("{name}: S({at})"),
                s,
                num(&want["survival"][k]),
                1e-12,
                1e-15,
            );
            let (lo, hi) = curve.interval_at(at);
            assert_close(
                &format!("{name}: lower({at})"),
                lo,
                num(&want["lower"][k]),
                1e-9,
                1e-15,
            );
            assert_close(
                &format!("{name}: upper({at})"),
                hi,
                num(&want["upper"][k]),
                1e-9,
                1e-15,
            );
        }
        for (t, s) in want["at"].as_object().unwrap() {
            let at: f64 = t.parse().unwrap();
            assert_close(
                &format!("{name}: S at {t}"),
                curve.survival_at(at),
                num(s),
                1e-12,
                1e-15,
            );
        }
    }
}

#[test]
fn km_gbsg2_by_hormonal_therapy() {
    check_km("gbsg2_km_horth");
}

#[test]
fn km_rossi() {
    check_km("rossi_km");
}

#[test]
fn km_whas500_by_gender() {
    check_km("whas500_km_gender");
}

fn check_logrank(name: &str) {
    let r = reference(name);
    let (times, events, codes, labels) = survival_columns(&r, r["group"].as_str());
    let strata = r["strata"].as_str().map(|s| {
        let t = table(r["data"].as_str().unwrap());
        let rows: Vec<usize> = (0..t.nrows()).collect();
        columns::level_codes(&t, s, &rows, None).unwrap()
    });
    let groups = logrank::Groups {
        group: &codes,
        n_groups: labels.len(),
        stratum: strata.as_ref().map(|(c, _)| c.as_slice()),
        n_strata: strata.as_ref().map_or(1, |(_, l)| l.len()),
    };
    let test = logrank::test(&times, &events, groups).unwrap();
    assert_eq!(test.df as u64, r["df"].as_u64().unwrap());
    assert_rel(
        &format!("{name}: statistic"),
        test.statistic,
        num(&r["statistic"]),
        1e-9,
    );
    assert_rel(&format!("{name}: p"), test.p, num(&r["p"]), 1e-7);
}

#[test]
fn logrank_gbsg2_two_groups() {
    check_logrank("gbsg2_logrank_horth");
}

#[test]
fn logrank_gbsg2_three_groups() {
    check_logrank("gbsg2_logrank_tgrade");
}

#[test]
fn logrank_gbsg2_stratified() {
    check_logrank("gbsg2_logrank_horth_by_menostat");
}

fn check_glm(name: &str) {
    let r = reference(name);
    let t = table(r["data"].as_str().unwrap());
    let spec = design_spec(&r).with_intercept();
    let family = if r["kind"] == "logistic" {
        Family::Logistic
    } else {
        Family::Gaussian
    };
    let (design, y, dropped) =
        glm::read_table(&t, r["outcome"].as_str().unwrap(), &spec, family).unwrap();
    assert_eq!(dropped as u64, r["dropped"].as_u64().unwrap());
    let (n, loglik, null, coefficients) = match family {
        Family::Logistic => {
            let fit = glm::fit(&design, &y, family, &NewtonOptions::default()).unwrap();
            assert!(fit.converged);
            (fit.n, fit.loglik, fit.null_loglik, fit.coefficients)
        }
        Family::Gaussian => {
            let fit = linreg::fit(&design, &y).unwrap();
            // The Gaussian GLM through Newton-Raphson must give the same coefficients.
            let glm_fit = glm::fit(&design, &y, family, &NewtonOptions::default()).unwrap();
            for (a, b) in glm_fit.coefficients.iter().zip(&fit.coefficients) {
                assert_rel("gaussian glm vs ols coef", a.coef, b.coef, 1e-9);
            }
            assert_rel(
                "gaussian glm vs ols loglik",
                glm_fit.loglik,
                fit.loglik,
                1e-12,
            );
            (fit.n, fit.loglik, glm_fit.null_loglik, fit.coefficients)
        }
    };
    assert_eq!(n as u64, r["n"].as_u64().unwrap());
    assert_rel(&format!("{name}: loglik"), loglik, num(&r["loglik"]), 1e-9);
    assert_rel(
        &format!("{name}: null loglik"),
        null,
        num(&r["null_loglik"]),
        1e-9,
    );
    let expected = r["coefficients"].as_array().unwrap();
    let names: Vec<String> = expected
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        coefficients
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>(),
        names
    );
    for (got, want) in coefficients.iter().zip(expected) {
        let label = format!("{name}: {}", got.name);
        assert_rel(&format!("{label} coef"), got.coef, num(&want["coef"]), 1e-6);
        assert_rel(&format!("{label} se"), got.se, num(&want["se"]), 1e-5);
        assert_rel(&format!("{label} z"), got.z, num(&want["z"]), 1e-5);
        assert_rel(&format!("{label} p"), got.p, num(&want["p"]), 1e-4);
    }
    let _ = strings(&r, "covariates");
}

#[test]
fn logistic_heart_disease_with_categorical_chest_pain() {
    check_glm("heart_logit");
}

#[test]
fn logistic_breast_cancer() {
    check_glm("breast_logit");
}

#[test]
fn ols_heart_disease() {
    check_glm("heart_ols");
}
