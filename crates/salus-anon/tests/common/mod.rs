//! Shared helpers: the ARX Adult data and hierarchies (see tests/data/PROVENANCE.txt).
#![allow(dead_code)]

use std::collections::BTreeMap;

use salus_anon::{AnonymizationSpec, Hierarchy, Metric, PrivacyModel};
use salus_table::{CsvOptions, Table, read_csv_path};

pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// The nine attributes of ARX's Adult extract, in file order.
pub const ADULT: [&str; 9] = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
    "salary-class",
];

pub fn read(name: &str) -> Table {
    read_csv_path(
        &std::path::Path::new(DATA).join(name),
        &CsvOptions::with_delimiter(b';'),
    )
    .expect("test data")
}

pub fn adult() -> Table {
    read("adult.csv")
}

pub fn hierarchy(attribute: &str) -> Hierarchy {
    let path = format!("{DATA}/adult_hierarchy_{attribute}.csv");
    Hierarchy::from_csv(attribute, &std::fs::read(path).expect("hierarchy"), b';')
        .expect("valid hierarchy")
}

/// ARX's test setup: every attribute with a hierarchy is a quasi-identifier except the
/// sensitive one (which is dropped unless a model uses it).
pub fn spec(
    sensitive: Option<&str>,
    models: Vec<PrivacyModel>,
    suppression: f64,
    metric: Metric,
) -> AnonymizationSpec {
    let qis = ADULT
        .iter()
        .filter(|a| Some(**a) != sensitive)
        .map(|a| (a.to_string(), hierarchy(a)))
        .collect();
    let mut spec = AnonymizationSpec::new(qis);
    spec.models = models;
    spec.suppression_limit = suppression;
    spec.metric = metric;
    spec
}

pub fn k(k: usize) -> PrivacyModel {
    PrivacyModel::KAnonymity { k }
}

pub fn loss(gs_factor: f64, aggregate: salus_anon::Aggregate) -> Metric {
    Metric::Loss {
        gs_factor,
        aggregate,
        weights: BTreeMap::new(),
    }
}

/// Levels by attribute, from an ARX transformation vector over `attributes` in order.
pub fn levels(attributes: &[&str], vector: &[usize]) -> BTreeMap<String, usize> {
    attributes
        .iter()
        .zip(vector)
        .map(|(a, &l)| (a.to_string(), l))
        .collect()
}

pub fn adult_without(sensitive: Option<&str>) -> Vec<&'static str> {
    ADULT
        .iter()
        .copied()
        .filter(|a| Some(*a) != sensitive)
        .collect()
}

/// ARX prints doubles with Java's `Double.toString`; compare the parsed value.
pub fn assert_close(actual: f64, expected: f64, what: &str) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: expected {expected}, got {actual}"
    );
}
