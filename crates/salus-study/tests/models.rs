//! Federated model studies equal pooled fits: GBSG2 split into unequal sites, the
//! plan driven with the plain sum of the sites' contribution vectors (what the
//! protection layer delivers), compared with salus-stats fitted on the pooled rows.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;
use salus_stats::cox::{self, CoxOptions, CoxSpec};
use salus_stats::glm::{self, Family};
use salus_stats::{DesignSpec, Term, TimeGrid};
use salus_study::local::{Cohort, contribute};
use salus_study::plan::{Progress, StudyPlan};
use salus_table::{CsvOptions, Table, read_csv};
use serde_json::Value;

const SCHEMA: &str = include_str!("../../../data/gbsg2/schema.toml");
const GBSG2: &str = include_str!("../../../data/gbsg2/gbsg2.csv");

fn table() -> Table {
    read_csv(GBSG2.as_bytes(), &CsvOptions::default()).unwrap()
}

fn sites(t: &Table, cuts: &[usize]) -> Vec<Table> {
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&t.nrows())) {
        out.push(t.take_rows(&(from..to).collect::<Vec<_>>()));
        from = to;
    }
    out
}

/// Runs a study to completion over the sites and returns the released result.
fn run(spec_text: &str, sites: &[Table]) -> Value {
    let schema = DatasetSchema::from_text(SCHEMA).unwrap();
    let spec = StudySpec::from_toml(spec_text).unwrap();
    let mut plan = StudyPlan::new(&spec, &schema).unwrap();
    for _ in 0..60 {
        let round = plan.next_round().unwrap();
        let mut sum = vec![0.0; round.layout.len()];
        for site in sites {
            let v = contribute(&spec, &schema, &round, &Cohort::all(site)).unwrap();
            sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        // Restart-safety: the plan survives a serialization round trip every round.
        let json = serde_json::to_string(&plan).unwrap();
        plan = serde_json::from_str(&json).unwrap();
        if plan.absorb(round.round, &sum).unwrap() == Progress::Done {
            return plan.release(5).unwrap().result;
        }
    }
    panic!("no convergence in 60 rounds");
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-8)
}

fn design() -> DesignSpec {
    DesignSpec::new(vec![
        Term::numeric("age"),
        Term::categorical_with_levels("horTh", vec!["no".into(), "yes".into()]),
        Term::numeric("tsize"),
        Term::numeric("pnodes"),
    ])
}

#[test]
fn cox_stratified_by_site_equals_pooled_fit_stratified_by_site() {
    let t = table();
    let parts = sites(&t, &[300, 520]);
    let result = run(
        r#"
name = "cox"
dataset = "gbsg2"
[analysis]
type = "cox"
time = "time"
event = "cens"
covariates = ["age", "horTh", "tsize", "pnodes"]
"#,
        &parts,
    );
    // Pooled reference: one stratum per site.
    let mut site_col = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        site_col.extend(std::iter::repeat_n(Some(format!("s{i}")), p.nrows()));
    }
    let mut pooled = t.clone();
    pooled
        .push_column(salus_table::Column::text("site", site_col))
        .unwrap();
    let spec = CoxSpec {
        time: "time".into(),
        event: "cens".into(),
        strata: Some("site".into()),
        design: design(),
        ..CoxSpec::default()
    };
    let fit = cox::fit(&spec.read(&pooled).unwrap().data, &CoxOptions::default()).unwrap();
    assert_eq!(result["n"], 686);
    assert_eq!(result["events"], 299);
    assert_eq!(result["converged"], true);
    for (got, want) in result["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&fit.coefficients)
    {
        assert_eq!(got["name"], want.name.as_str());
        assert!(
            close(got["coef"].as_f64().unwrap(), want.coef, 1e-6),
            "{got} vs {want:?}"
        );
        assert!(
            close(got["se"].as_f64().unwrap(), want.se, 1e-5),
            "{got} vs {want:?}"
        );
    }
}

#[test]
fn cox_pooled_grid_equals_pooled_fit_on_rounded_times() {
    let t = table();
    let parts = sites(&t, &[100, 450]);
    let result = run(
        r#"
name = "cox-grid"
dataset = "gbsg2"
[analysis]
type = "cox"
time = "time"
event = "cens"
covariates = ["age", "horTh", "tsize", "pnodes"]
mode = "pooled-grid"
grid = { step = 30.0, max = 2700.0 }
"#,
        &parts,
    );
    let spec = CoxSpec {
        time: "time".into(),
        event: "cens".into(),
        design: design(),
        ..CoxSpec::default()
    };
    let data = spec.read(&t).unwrap().data;
    let grid = TimeGrid::regular(0.0, 30.0, 91).unwrap();
    let (rounded, _) = cox::round_to_grid(&data, &grid);
    let fit = cox::fit(&rounded, &CoxOptions::default()).unwrap();
    assert_eq!(result["mode"], "pooled-grid");
    for (got, want) in result["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&fit.coefficients)
    {
        assert!(
            close(got["coef"].as_f64().unwrap(), want.coef, 1e-6),
            "{got} vs {want:?}"
        );
        assert!(
            close(got["se"].as_f64().unwrap(), want.se, 1e-5),
            "{got} vs {want:?}"
        );
    }
}

#[test]
fn logistic_equals_pooled_fit() {
    let t = table();
    let parts = sites(&t, &[50, 400, 600]);
    let result = run(
        r#"
name = "logit"
dataset = "gbsg2"
[analysis]
type = "logistic"
outcome = "cens"
covariates = ["age", "tgrade", "pnodes"]
"#,
        &parts,
    );
    let spec = DesignSpec::new(vec![
        Term::numeric("age"),
        Term::categorical_with_levels("tgrade", vec!["I".into(), "II".into(), "III".into()]),
        Term::numeric("pnodes"),
    ])
    .with_intercept();
    let (d, y, _) = glm::read_table(&t, "cens", &spec, Family::Logistic).unwrap();
    let fit = glm::fit(&d, &y, Family::Logistic, &Default::default()).unwrap();
    let coefs = result["coefficients"].as_array().unwrap();
    assert_eq!(coefs[0]["name"], "intercept");
    assert_eq!(coefs[2]["name"], "tgrade[T.II]");
    for (got, want) in coefs.iter().zip(&fit.coefficients) {
        assert!(
            close(got["coef"].as_f64().unwrap(), want.coef, 1e-6),
            "{got} vs {want:?}"
        );
        assert!(
            close(got["se"].as_f64().unwrap(), want.se, 1e-5),
            "{got} vs {want:?}"
        );
    }
}

#[test]
fn linear_equals_pooled_fit() {
    let t = table();
    let parts = sites(&t, &[200]);
    let result = run(
        r#"
name = "ols"
dataset = "gbsg2"
[analysis]
type = "linear"
outcome = "tsize"
covariates = ["age", "pnodes"]
"#,
        &parts,
    );
    let spec =
        DesignSpec::new(vec![Term::numeric("age"), Term::numeric("pnodes")]).with_intercept();
    let (d, y, _) = glm::read_table(&t, "tsize", &spec, Family::Gaussian).unwrap();
    let fit = salus_stats::linreg::fit(&d, &y).unwrap();
    for (got, want) in result["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&fit.coefficients)
    {
        assert!(
            close(got["coef"].as_f64().unwrap(), want.coef, 1e-9),
            "{got} vs {want:?}"
        );
        assert!(
            close(got["se"].as_f64().unwrap(), want.se, 1e-9),
            "{got} vs {want:?}"
        );
    }
}

#[test]
fn kaplan_meier_equals_pooled_grid_curve_and_cuts_small_risk_sets() {
    let t = table();
    let parts = sites(&t, &[300, 520]);
    let result = run(
        r#"
name = "km"
dataset = "gbsg2"
[analysis]
type = "kaplan-meier"
time = "time"
event = "cens"
group = "horTh"
grid = { step = 30.0 }
at = [365.0, 1825.0]
"#,
        &parts,
    );
    let groups = result["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["name"], "no");
    assert_eq!(
        groups[0]["n"].as_u64().unwrap() + groups[1]["n"].as_u64().unwrap(),
        686
    );
    // Pooled reference for horTh = no on the same grid.
    let hor = t.text("horTh").unwrap();
    let time = t.numeric("time").unwrap();
    let cens = t.numeric("cens").unwrap();
    let rows: Vec<usize> = (0..t.nrows())
        .filter(|&i| hor[i].as_deref() == Some("no"))
        .collect();
    let times: Vec<f64> = rows.iter().map(|&i| time[i].unwrap()).collect();
    let events: Vec<bool> = rows.iter().map(|&i| cens[i] == Some(1.0)).collect();
    let grid = TimeGrid::regular(0.0, 30.0, 101).unwrap();
    let counts = salus_stats::km::grid_local_counts(&times, &events, &grid).unwrap();
    let curve = salus_stats::km::from_grid_counts(&counts, &grid).unwrap();
    let got_s = groups[0]["survival"].as_array().unwrap();
    let at_risk = groups[0]["at_risk"].as_array().unwrap();
    assert!(at_risk.iter().all(|n| n.as_f64().unwrap() >= 5.0));
    for (i, s) in got_s.iter().enumerate() {
        assert!((s.as_f64().unwrap() - curve.survival[i]).abs() < 1e-5);
    }
    let five_years = groups[0]["at"]["1825"].as_f64().unwrap();
    assert!((five_years - curve.survival_at(1825.0)).abs() < 1e-5);
    assert!(
        result["logrank"]["p"].as_f64().unwrap() < 0.01,
        "hormonal therapy matters in GBSG2"
    );
}

#[test]
fn dp_is_refused_for_models_and_numeric_means() {
    let schema = DatasetSchema::from_text(SCHEMA).unwrap();
    let cox = StudySpec::from_toml(
        "name = \"x\"\ndataset = \"gbsg2\"\n[dp]\nepsilon = 1.0\ndelta = 1e-6\n[analysis]\ntype = \"cox\"\ntime = \"time\"\nevent = \"cens\"\ncovariates = [\"age\"]\n",
    )
    .unwrap();
    let err = StudyPlan::new(&cox, &schema).unwrap_err().to_string();
    assert!(err.contains("count analyses"), "{err}");
    let means = StudySpec::from_toml(
        "name = \"x\"\ndataset = \"gbsg2\"\n[dp]\nepsilon = 1.0\ndelta = 1e-6\n[analysis]\ntype = \"descriptive\"\ncolumns = [\"age\"]\n",
    )
    .unwrap();
    let err = StudyPlan::new(&means, &schema).unwrap_err().to_string();
    assert!(err.contains("histogram"), "{err}");
}

/// Under threshold HE the researcher steers every round after the first. Every request
/// the plan itself issues must pass the hub's check against the initial (data-free)
/// plan, and tampered requests must not: another round number, a coefficient vector of
/// another length, a non-finite coefficient, another layout, another phase.
#[test]
fn steered_requests_pass_the_hub_check_and_tampered_ones_do_not() {
    let t = table();
    let parts = sites(&t, &[300, 520]);
    let schema = DatasetSchema::from_text(SCHEMA).unwrap();
    let specs = [
        r#"
name = "logit"
dataset = "gbsg2"
[analysis]
type = "logistic"
outcome = "cens"
covariates = ["age", "horTh", "tsize"]
"#,
        r#"
name = "cox grid"
dataset = "gbsg2"
[analysis]
type = "cox"
time = "time"
event = "cens"
covariates = ["age", "horTh"]
mode = "pooled-grid"
grid = { step = 30.0, max = 2700.0 }
"#,
    ];
    for text in specs {
        let spec = StudySpec::from_toml(text).unwrap();
        let initial = StudyPlan::new(&spec, &schema).unwrap();
        let mut plan = initial.clone();
        let mut checked = 0;
        loop {
            let round = plan.next_round().unwrap();
            if round.round > 0 {
                initial
                    .check_steered_request(round.round - 1, &round)
                    .unwrap();
                checked += 1;
                let mut stale = round.clone();
                stale.round += 1;
                assert!(
                    initial
                        .check_steered_request(round.round - 1, &stale)
                        .is_err()
                );
                let mut wide = round.clone();
                wide.layout = wide.layout.reals("extra", 1);
                assert!(
                    initial
                        .check_steered_request(round.round - 1, &wide)
                        .is_err()
                );
                let mut bad = round.clone();
                match &mut bad.step {
                    salus_study::Step::Newton { beta } => beta.push(0.0),
                    salus_study::Step::Custom { value } => value["beta"][0] = Value::from("x"),
                    salus_study::Step::Once => unreachable!(),
                }
                assert!(
                    initial
                        .check_steered_request(round.round - 1, &bad)
                        .is_err()
                );
                let mut other = round.clone();
                other.step = salus_study::Step::Custom {
                    value: serde_json::json!({"phase": "other"}),
                };
                assert!(
                    initial
                        .check_steered_request(round.round - 1, &other)
                        .is_err()
                );
            }
            let mut sum = vec![0.0; round.layout.len()];
            for site in &parts {
                let v = contribute(&spec, &schema, &round, &Cohort::all(site)).unwrap();
                sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
            }
            if plan.absorb(round.round, &sum).unwrap() == Progress::Done {
                break;
            }
        }
        assert!(checked >= 2, "{checked} steered rounds");
    }
    // One-round analyses have nothing to steer.
    let km = StudySpec::from_toml(
        r#"
name = "km"
dataset = "gbsg2"
[analysis]
type = "kaplan-meier"
time = "time"
event = "cens"
grid = { step = 30.0, max = 2700.0 }
"#,
    )
    .unwrap();
    let plan = StudyPlan::new(&km, &schema).unwrap();
    let mut round = plan.next_round().unwrap();
    round.round = 1;
    assert!(plan.check_steered_request(0, &round).is_err());
}
