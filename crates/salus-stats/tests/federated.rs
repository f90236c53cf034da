//! Property tests: for random splits of a real table into 2-10 sites, summing the
//! sites' local statistics gives the pooled result (coefficients to 1e-6 relative,
//! standard errors to 1e-5) and takes the same Newton path.

#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_close, assert_rel, table};
use proptest::prelude::*;
use salus_stats::cox::{self, CoxData, CoxOptions, CoxSpec, Ties};
use salus_stats::glm::{self, Family};
use salus_stats::{
    DesignSpec, FitSummary, NewtonDriver, NewtonOptions, NewtonTerms, NextStep, Term, TimeGrid, km,
    linreg, logrank,
};

/// Row indices of each site for a site assignment.
fn sites(assignment: &[usize], k: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); k];
    for (row, &s) in assignment.iter().enumerate() {
        out[s].push(row);
    }
    out
}

/// Runs a federated Newton fit: every site evaluates, the flat vectors are summed as
/// secure aggregation would, the driver steps.
fn federated_fit(p: usize, mut site_terms: impl FnMut(&[f64]) -> Vec<NewtonTerms>) -> FitSummary {
    let mut driver = NewtonDriver::new(p, NewtonOptions::default());
    loop {
        let beta = driver.current_beta().to_vec();
        let flats: Vec<Vec<f64>> = site_terms(&beta).iter().map(NewtonTerms::to_flat).collect();
        let mut sum = vec![0.0; NewtonTerms::flat_len(p)];
        for f in &flats {
            for (a, b) in sum.iter_mut().zip(f) {
                *a += b;
            }
        }
        match driver.observe(&NewtonTerms::from_flat(&sum, p).unwrap()) {
            NextStep::Evaluate(_) => {}
            NextStep::Converged(fit) => return fit,
            NextStep::Failed(f) => panic!("federated fit failed: {:?}", f.reason),
        }
    }
}

fn compare(fed: &FitSummary, pooled_coef: &[f64], pooled_se: &[f64], pooled_iterations: usize) {
    let se = fed.standard_errors();
    for j in 0..pooled_coef.len() {
        assert_rel(&format!("coef {j}"), fed.beta[j], pooled_coef[j], 1e-6);
        assert_rel(&format!("se {j}"), se[j], pooled_se[j], 1e-5);
    }
    assert_eq!(fed.iterations, pooled_iterations, "same Newton path");
}

fn rossi() -> (CoxData, Vec<String>) {
    let spec = CoxSpec {
        time: "week".into(),
        event: "arrest".into(),
        design: DesignSpec::new(
            ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
                .map(Term::numeric)
                .to_vec(),
        ),
        ..CoxSpec::default()
    };
    let input = spec.read(&table("rossi.csv")).unwrap();
    let names = input.data.names().to_vec();
    (input.data, names)
}

fn pbc_td() -> CoxData {
    let spec = CoxSpec {
        time: "stop".into(),
        event: "death".into(),
        start: Some("start".into()),
        design: DesignSpec::new(
            ["age", "edema", "log_bili", "log_albumin", "log_protime"]
                .map(Term::numeric)
                .to_vec(),
        ),
        ..CoxSpec::default()
    };
    spec.read(&table("pbc_td.csv")).unwrap().data
}

fn ties() -> impl Strategy<Value = Ties> {
    prop_oneof![Just(Ties::Efron), Just(Ties::Breslow)]
}

/// A site assignment for `n` rows over 2..=10 sites.
fn assignment(n: usize) -> impl Strategy<Value = (usize, Vec<usize>)> {
    (2usize..=10).prop_flat_map(move |k| (Just(k), proptest::collection::vec(0..k, n)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Cox stratified by site == pooled Cox with site as the stratum.
    #[test]
    fn cox_stratified_by_site_equals_pooled((k, assign) in assignment(432), ties in ties()) {
        let (data, _) = rossi();
        let pooled_data = data.clone().with_strata(assign.iter().map(|&s| s as u32).collect(), k).unwrap();
        let options = CoxOptions { ties, ..Default::default() };
        let pooled = cox::fit(&pooled_data, &options).unwrap();
        let parts: Vec<CoxData> = sites(&assign, k).iter().map(|rows| data.take_rows(rows)).collect();
        let fed = federated_fit(data.ncols(), |beta| {
            parts.iter().map(|d| cox::local_terms(d, beta, ties).unwrap()).collect()
        });
        let coef: Vec<f64> = pooled.coefficients.iter().map(|c| c.coef).collect();
        let se: Vec<f64> = pooled.coefficients.iter().map(|c| c.se).collect();
        compare(&fed, &coef, &se, pooled.iterations);
        assert_rel("loglik", fed.loglik, pooled.loglik, 1e-10);
    }

    /// Grid Cox over (start, stop] rows == pooled local fit on grid-rounded times.
    #[test]
    fn grid_cox_equals_pooled_fit_on_rounded_times(
        (k, assign) in assignment(1945), ties in ties(), width in prop_oneof![Just(7.0), Just(30.0), Just(91.0)],
    ) {
        let data = pbc_td();
        let reference = data.column_means();
        let data = data.with_reference(reference.clone()).unwrap();
        let grid = TimeGrid::regular(0.0, width, (5000.0 / width) as usize).unwrap();
        let (rounded, report) = cox::round_to_grid(&data, &grid);
        prop_assert!(report.censored_at_end > 0);
        let options = CoxOptions { ties, ..Default::default() };
        let pooled = cox::fit(&rounded, &options).unwrap();
        let parts: Vec<CoxData> = sites(&assign, k).iter().map(|rows| data.take_rows(rows)).collect();
        let p = data.ncols();
        let fed = federated_fit(p, |beta| {
            let mut summed = vec![0.0; cox::grid_sums_len(&grid, p, 1)];
            for site in &parts {
                let sums = cox::grid_local_sums(site, &grid, beta).unwrap();
                assert_eq!(sums.len(), summed.len());
                for (a, b) in summed.iter_mut().zip(sums) { *a += b; }
            }
            vec![cox::grid_terms(&summed, &grid, p, ties).unwrap()]
        });
        let coef: Vec<f64> = pooled.coefficients.iter().map(|c| c.coef).collect();
        let se: Vec<f64> = pooled.coefficients.iter().map(|c| c.se).collect();
        compare(&fed, &coef, &se, pooled.iterations);
        assert_rel("loglik", fed.loglik, pooled.loglik, 1e-10);
    }

    /// Kaplan-Meier and log-rank from summed grid counts == local results on rounded times.
    #[test]
    fn km_and_logrank_on_grid_equal_pooled((k, assign) in assignment(686), width in 1.0f64..200.0) {
        let t = table("gbsg2.csv");
        let rows: Vec<usize> = (0..t.nrows()).collect();
        let times = salus_stats::columns::numeric_at(&t, "time", &rows).unwrap();
        let events = salus_stats::columns::binary_at(&t, "cens", &rows).unwrap();
        let (group, _) = salus_stats::columns::level_codes(&t, "horTh", &rows, None).unwrap();
        let grid = TimeGrid::regular(0.0, width, (2800.0 / width) as usize).unwrap();
        let mut km_sum = vec![0.0; 2 * grid.len()];
        let mut lr_sum = vec![0.0; 2 * 2 * grid.len()];
        for site in sites(&assign, k) {
            let st: Vec<f64> = site.iter().map(|&i| times[i]).collect();
            let se: Vec<bool> = site.iter().map(|&i| events[i]).collect();
            let sg: Vec<u32> = site.iter().map(|&i| group[i]).collect();
            for (a, b) in km_sum.iter_mut().zip(km::grid_local_counts(&st, &se, &grid).unwrap()) { *a += b; }
            let g = logrank::Groups { group: &sg, n_groups: 2, stratum: None, n_strata: 1 };
            for (a, b) in lr_sum.iter_mut().zip(logrank::grid_local_counts(&st, &se, g, &grid).unwrap()) { *a += b; }
        }
        // Pooled reference: round every time up to the grid, censor after its end.
        let mut rt = Vec::new();
        let mut re = Vec::new();
        for (&t, &e) in times.iter().zip(&events) {
            let (idx, ev) = grid.round_exit(t, e);
            rt.push(grid.points()[idx]);
            re.push(ev);
        }
        let fed = km::from_grid_counts(&km_sum, &grid).unwrap();
        let pooled = km::fit(&rt, &re).unwrap();
        prop_assert_eq!(&fed.times, &pooled.times);
        for (a, b) in fed.survival.iter().zip(&pooled.survival) { assert_close("S", *a, *b, 1e-12, 1e-15); }
        prop_assert_eq!(fed.median, pooled.median);
        let fed_lr = logrank::from_grid_counts(&lr_sum, &grid, 2).unwrap();
        let g = logrank::Groups { group: &group, n_groups: 2, stratum: None, n_strata: 1 };
        let pooled_lr = logrank::test(&rt, &re, g).unwrap();
        assert_rel("log-rank statistic", fed_lr.statistic, pooled_lr.statistic, 1e-10);
    }

    /// Logistic regression from summed Newton terms == pooled fit.
    #[test]
    fn logistic_equals_pooled((k, assign) in assignment(303)) {
        let t = table("heart_disease.csv");
        let spec = DesignSpec::new(vec![
            Term::numeric("age"), Term::numeric("sex"), Term::categorical("slope"), Term::numeric("thalach"),
            Term::numeric("oldpeak"), Term::numeric("ca"),
        ]).with_intercept();
        let (design, y, _) = glm::read_table(&t, "target", &spec, Family::Logistic).unwrap();
        let pooled = glm::fit(&design, &y, Family::Logistic, &NewtonOptions::default()).unwrap();
        let parts: Vec<_> = sites(&assign, k).iter().map(|rows| {
            (design.take_rows(rows), rows.iter().map(|&i| y[i]).collect::<Vec<f64>>())
        }).collect();
        let fed = federated_fit(design.ncols(), |beta| {
            parts.iter().map(|(d, y)| glm::local_terms(d, y, beta, Family::Logistic).unwrap()).collect()
        });
        let coef: Vec<f64> = pooled.coefficients.iter().map(|c| c.coef).collect();
        let se: Vec<f64> = pooled.coefficients.iter().map(|c| c.se).collect();
        compare(&fed, &coef, &se, pooled.iterations);
    }

    /// Linear regression from summed cross-products == pooled fit.
    #[test]
    fn linear_regression_equals_pooled((k, assign) in assignment(303)) {
        let t = table("heart_disease.csv");
        let spec = DesignSpec::new(["age", "sex", "chol", "trestbps"].map(Term::numeric).to_vec()).with_intercept();
        let (design, y, _) = glm::read_table(&t, "thalach", &spec, Family::Gaussian).unwrap();
        let pooled = linreg::fit(&design, &y).unwrap();
        let mut summed = vec![0.0; linreg::sums_len(design.ncols())];
        for rows in sites(&assign, k) {
            let yy: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
            for (a, b) in summed.iter_mut().zip(linreg::local_sums(&design.take_rows(&rows), &yy).unwrap()) { *a += b; }
        }
        let fed = linreg::from_sums(&summed, design.names()).unwrap();
        for (a, b) in fed.coefficients.iter().zip(&pooled.coefficients) {
            assert_rel("coef", a.coef, b.coef, 1e-9);
            assert_rel("se", a.se, b.se, 1e-9);
        }
    }
}

/// The grid fit approaches the exact fit as the grid gets finer: with a 1-day grid on
/// integer-day data the rounding changes nothing.
#[test]
fn daily_grid_on_integer_days_is_the_exact_fit() {
    let data = pbc_td();
    let p = data.ncols();
    let data = data.clone().with_reference(data.column_means()).unwrap();
    // Follow-up ends at day 5169 at the latest: the grid covers it.
    let grid = TimeGrid::regular(0.0, 1.0, 5200).unwrap();
    let exact = cox::fit(&data, &CoxOptions::default()).unwrap();
    let fed = federated_fit(p, |beta| {
        let sums = cox::grid_local_sums(&data, &grid, beta).unwrap();
        vec![cox::grid_terms(&sums, &grid, p, Ties::Efron).unwrap()]
    });
    let coef: Vec<f64> = exact.coefficients.iter().map(|c| c.coef).collect();
    let se: Vec<f64> = exact.coefficients.iter().map(|c| c.se).collect();
    compare(&fed, &coef, &se, exact.iterations);
}

/// Stratified by (site, user stratum) with counting-process rows.
#[test]
fn stratified_counting_process_by_site_and_stratum() {
    let t = table("pbc_td.csv");
    let spec = CoxSpec {
        time: "stop".into(),
        event: "death".into(),
        start: Some("start".into()),
        strata: Some("edema".into()),
        design: DesignSpec::new(
            ["age", "log_bili", "log_albumin", "log_protime"]
                .map(Term::numeric)
                .to_vec(),
        ),
        ..CoxSpec::default()
    };
    let input = spec.read(&t).unwrap();
    let data = input.data;
    let n_strata = data.n_strata();
    // Three sites by row index modulo 3; pooled strata = site * n_strata + stratum.
    let site_of: Vec<usize> = (0..data.nrows()).map(|i| i % 3).collect();
    let parts: Vec<CoxData> = sites(&site_of, 3)
        .iter()
        .map(|r| data.take_rows(r))
        .collect();
    let edema = salus_stats::columns::level_codes(&t, "edema", &rows_of(&t, &spec), None)
        .unwrap()
        .0;
    let combined: Vec<u32> = (0..data.nrows())
        .map(|i| (site_of[i] * n_strata) as u32 + edema[i])
        .collect();
    let pooled_data = data.clone().with_strata(combined, 3 * n_strata).unwrap();
    let pooled = cox::fit(&pooled_data, &CoxOptions::default()).unwrap();
    let fed = federated_fit(data.ncols(), |beta| {
        parts
            .iter()
            .map(|d| cox::local_terms(d, beta, Ties::Efron).unwrap())
            .collect()
    });
    let coef: Vec<f64> = pooled.coefficients.iter().map(|c| c.coef).collect();
    let se: Vec<f64> = pooled.coefficients.iter().map(|c| c.se).collect();
    compare(&fed, &coef, &se, pooled.iterations);
}

fn rows_of(t: &salus_table::Table, spec: &CoxSpec) -> Vec<usize> {
    let (design, _) =
        salus_stats::Design::build(t, &spec.design, &["stop", "death", "start", "edema"]).unwrap();
    design.source_rows().to_vec()
}

/// The baseline hazard from summed grid sums equals the local Breslow baseline of the
/// pooled rows on grid-rounded times.
#[test]
fn grid_baseline_equals_pooled_baseline_on_rounded_times() {
    let data = pbc_td();
    let p = data.ncols();
    let data = data.clone().with_reference(data.column_means()).unwrap();
    let grid = TimeGrid::regular(0.0, 30.0, 180).unwrap();
    let beta = [0.04, 0.8, 1.0, -3.0, 2.5];
    let mut summed = vec![0.0; cox::grid_sums_len(&grid, p, 1)];
    for rows in sites(&(0..data.nrows()).map(|i| i % 4).collect::<Vec<_>>(), 4) {
        let sums = cox::grid_local_sums(&data.take_rows(&rows), &grid, &beta).unwrap();
        summed.iter_mut().zip(sums).for_each(|(a, b)| *a += b);
    }
    let fed = cox::grid_baseline(&summed, &grid, p, data.reference()).unwrap();
    let (rounded, _) = cox::round_to_grid(&data, &grid);
    let pooled = cox::baseline_hazard(&rounded, &beta, data.reference()).unwrap();
    assert_eq!(fed[0].times, pooled[0].times);
    for (a, b) in fed[0]
        .cumulative_hazard
        .iter()
        .zip(&pooled[0].cumulative_hazard)
    {
        assert_rel("cumulative hazard", *a, *b, 1e-10);
    }
    let s = fed[0].survival_for(data.reference(), &beta, 1000.0);
    assert!(s > 0.0 && s < 1.0);
}
