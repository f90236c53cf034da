//! Helpers shared by the integration tests: fixture loading and tolerant comparison.
#![allow(dead_code)]

use std::path::PathBuf;

use salus_stats::{DesignSpec, Term};
use salus_table::{CsvOptions, Table, read_table_path};
use serde_json::Value;

/// Path of a file under `tests/data`.
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A committed data set.
pub fn table(name: &str) -> Table {
    read_table_path(&data_path(name), &CsvOptions::default()).expect("fixture table")
}

/// A reference fixture from `tests/data/reference`.
pub fn reference(name: &str) -> Value {
    let path = data_path(&format!("reference/{name}.json"));
    let text = std::fs::read_to_string(&path).expect("fixture json");
    serde_json::from_str(&text).expect("valid json")
}

/// The string list under `key`.
pub fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The covariate spec of a fixture (categorical columns flagged in `categorical`).
pub fn design_spec(v: &Value) -> DesignSpec {
    let categorical = strings(v, "categorical");
    let terms = strings(v, "covariates")
        .into_iter()
        .map(|c| {
            if categorical.contains(&c) {
                Term::categorical(c)
            } else {
                Term::numeric(c)
            }
        })
        .collect();
    DesignSpec::new(terms)
}

/// `|actual - expected| <= rel * |expected|`, with a message naming what differs.
pub fn assert_rel(what: &str, actual: f64, expected: f64, rel: f64) {
    let diff = (actual - expected).abs();
    assert!(
        diff <= rel * expected.abs(),
        "{what}: got {actual:e}, expected {expected:e} (relative difference {:.2e} > {rel:e})",
        diff / expected.abs()
    );
}

/// Relative difference with an absolute floor, for values that may be near zero.
pub fn assert_close(what: &str, actual: f64, expected: f64, rel: f64, abs: f64) {
    let diff = (actual - expected).abs();
    assert!(
        diff <= rel * expected.abs() + abs,
        "{what}: got {actual:e}, expected {expected:e}"
    );
}

/// A number from JSON.
pub fn num(v: &Value) -> f64 {
    v.as_f64().expect("number")
}
