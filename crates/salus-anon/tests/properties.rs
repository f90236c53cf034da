//! Property tests: every release satisfies its models (checked by an independent,
//! naive checker), respects the suppression limit, invents or duplicates no row, and is
//! the true optimum (brute force over the whole lattice on small inputs).
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;
use salus_anon::{
    AnonError, AnonymizationSpec, Hierarchy, HierarchyRule, Metric, PrivacyModel, anonymize,
    transformation_score,
};
use salus_table::{Column, Table};

fn table(rows: &[(u8, u8, u16, u8)]) -> Table {
    let cats = ["a", "b", "c", "d", "e", "f"];
    Table::new(vec![
        Column::numeric("id", (0..rows.len()).map(|i| Some(i as f64)).collect()),
        Column::numeric("age", rows.iter().map(|r| Some(f64::from(r.0))).collect()),
        Column::text(
            "cat",
            rows.iter()
                .map(|r| Some(cats[usize::from(r.1) % 6].to_string()))
                .collect(),
        ),
        Column::text(
            "zip",
            rows.iter()
                .map(|r| Some(format!("{:04}", r.2 % 40 * 7)))
                .collect(),
        ),
        Column::text(
            "dx",
            rows.iter().map(|r| Some(format!("d{}", r.3 % 4))).collect(),
        ),
    ])
    .unwrap()
}

fn values(t: &Table, name: &str) -> Vec<String> {
    let c = t.column(name).unwrap();
    (0..c.len())
        .filter_map(|r| c.display(r).map(|v| v.into_owned()))
        .collect()
}

fn spec_for(t: &Table, models: Vec<PrivacyModel>, limit: f64, metric: Metric) -> AnonymizationSpec {
    let age = HierarchyRule::Intervals {
        widths: vec![5.0, 10.0, 20.0],
        origin: 0.0,
        top_code: None,
        bottom_code: None,
    };
    let qis = vec![
        (
            "age".to_string(),
            Hierarchy::from_rule("age", &age, &values(t, "age")).unwrap(),
        ),
        (
            "cat".to_string(),
            Hierarchy::from_rule("cat", &HierarchyRule::Suppress, &values(t, "cat")).unwrap(),
        ),
        (
            "zip".to_string(),
            Hierarchy::from_rule("zip", &HierarchyRule::Prefix { step: 1 }, &values(t, "zip"))
                .unwrap(),
        ),
    ];
    let mut spec = AnonymizationSpec::new(qis);
    spec.models = models;
    spec.suppression_limit = limit;
    spec.metric = metric;
    spec.threads = 1;
    spec
}

fn rows() -> impl Strategy<Value = Vec<(u8, u8, u16, u8)>> {
    prop::collection::vec((18u8..90, 0u8..6, 0u16..1000, 0u8..4), 10..80)
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![
        Just(Metric::default()),
        Just(Metric::NonUniformEntropy { monotonic: false }),
        Just(Metric::NonUniformEntropy { monotonic: true }),
        Just(Metric::Discernibility { monotonic: false }),
        Just(Metric::Aecs),
    ]
}

/// The independent checker: groups released rows by their quasi-identifier text.
fn check_release(
    input: &Table,
    spec: &AnonymizationSpec,
    out: &salus_anon::Anonymization,
    k: usize,
    l: Option<usize>,
) {
    let released = &out.output;
    assert_eq!(released.names(), input.names(), "same columns, same order");
    let mut groups: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
    for row in 0..released.nrows() {
        let key = ["age", "cat", "zip"]
            .iter()
            .map(|q| {
                released
                    .column(q)
                    .unwrap()
                    .display(row)
                    .unwrap()
                    .into_owned()
            })
            .collect();
        groups.entry(key).or_default().push(row);
    }
    for rows in groups.values() {
        assert!(rows.len() >= k, "class of {} < k = {k}", rows.len());
        if let Some(l) = l {
            let distinct: HashSet<String> = rows
                .iter()
                .map(|&r| {
                    released
                        .column("dx")
                        .unwrap()
                        .display(r)
                        .unwrap()
                        .into_owned()
                })
                .collect();
            assert!(
                distinct.len() >= l,
                "class with {} distinct values < l = {l}",
                distinct.len()
            );
        }
    }
    if !groups.is_empty() {
        assert_eq!(out.report.k, groups.values().map(Vec::len).min().unwrap());
    }
    // Suppression within the limit and counted right.
    let n = input.nrows();
    assert_eq!(out.report.suppressed, n - released.nrows());
    assert!(out.report.suppressed as f64 <= (spec.suppression_limit * n as f64).floor() + 1e-9);
    // No row invented or duplicated: ids are distinct input rows, non-QI columns intact.
    let ids: Vec<usize> = released
        .numeric("id")
        .unwrap()
        .iter()
        .map(|v| v.unwrap() as usize)
        .collect();
    assert_eq!(ids, out.kept_rows);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    for (row, &id) in ids.iter().enumerate() {
        assert_eq!(
            released.column("dx").unwrap().display(row),
            input.column("dx").unwrap().display(id)
        );
        // Each released label generalizes the original value.
        for (q, h) in &spec.quasi_identifiers {
            let original = input.column(q).unwrap().display(id).unwrap().into_owned();
            let label = released
                .column(q)
                .unwrap()
                .display(row)
                .unwrap()
                .into_owned();
            assert!(
                h.row(&original).unwrap().contains(&label),
                "{q}: label does not generalize the value"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn releases_satisfy_every_model(rows in rows(), k in 2usize..6, limit in prop_oneof![Just(0.0), Just(0.05), Just(0.2), Just(1.0)], l in prop::option::of(2usize..4), metric in metric()) {
        let input = table(&rows);
        let mut models = vec![PrivacyModel::KAnonymity { k }];
        if let Some(l) = l {
            models.push(PrivacyModel::DistinctLDiversity { attribute: "dx".into(), l });
        }
        let spec = spec_for(&input, models, limit, metric);
        match anonymize(&input, &spec) {
            Ok(out) => check_release(&input, &spec, &out, k, l),
            Err(AnonError::NoSolution) => {
                // Then even the top transformation needs more suppression than allowed.
                let top: BTreeMap<String, usize> = spec.quasi_identifiers.iter().map(|(q, h)| (q.clone(), h.height())).collect();
                let (_, _, ok) = transformation_score(&input, &spec, &top).unwrap();
                prop_assert!(!ok);
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        }
    }

    #[test]
    fn search_finds_the_brute_force_optimum(rows in rows(), k in 2usize..5, limit in prop_oneof![Just(0.0), Just(0.1), Just(1.0)], metric in metric()) {
        let input = table(&rows);
        let spec = spec_for(&input, vec![PrivacyModel::KAnonymity { k }], limit, metric);
        let heights: Vec<(String, usize)> = spec.quasi_identifiers.iter().map(|(q, h)| (q.clone(), h.levels())).collect();
        let mut best: Option<salus_anon::Score> = None;
        let total: usize = heights.iter().map(|h| h.1).product();
        for i in 0..total {
            let mut rest = i;
            let node: BTreeMap<String, usize> = heights.iter().map(|(q, n)| { let l = rest % n; rest /= n; (q.clone(), l) }).collect();
            let (score, _, ok) = transformation_score(&input, &spec, &node).unwrap();
            if ok && best.as_ref().is_none_or(|b| score.compare(b).is_lt()) {
                best = Some(score);
            }
        }
        match (anonymize(&input, &spec), best) {
            (Ok(out), Some(b)) => prop_assert!(out.score.compare(&b).is_eq(), "search {:?} vs brute force {:?}", out.score, b),
            (Err(AnonError::NoSolution), None) => {}
            (got, b) => return Err(TestCaseError::fail(format!("search {:?} vs brute force {b:?}", got.map(|o| o.score)))),
        }
    }
}
