//! Criterion benchmarks of the optimal search on ARX's Adult data (tests/data):
//! k = 5 without suppression (8 QIs, ARX's published setting), k = 5 with
//! recursive-(4,3)-diversity and 0.2-closeness on occupation, the Loss/100 % oracle on 9
//! QIs, and scaling to 12 QIs (9 + 3 derived attributes, see `with_derived_qis`).
//! `SearchStats::millis` (search alone) is printed once per case; criterion measures
//! `anonymize` end to end from an in-memory table (encoding, search, release, report).

use criterion::{Criterion, criterion_group, criterion_main};
use salus_anon::{AnonymizationSpec, Hierarchy, HierarchyRule, Metric, PrivacyModel, anonymize};
use salus_table::{Column, CsvOptions, Table, read_csv_path};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
const QI8: [&str; 8] = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "salary-class",
];

fn adult() -> Table {
    read_csv_path(
        &std::path::Path::new(DATA).join("adult.csv"),
        &CsvOptions::with_delimiter(b';'),
    )
    .expect("adult")
}

fn hierarchy(q: &str) -> Hierarchy {
    let bytes = std::fs::read(format!("{DATA}/adult_hierarchy_{q}.csv")).expect("hierarchy");
    Hierarchy::from_csv(q, &bytes, b';').expect("valid")
}

fn spec(qis: &[&str], models: Vec<PrivacyModel>, limit: f64, metric: Metric) -> AnonymizationSpec {
    let mut s = AnonymizationSpec::new(qis.iter().map(|q| (q.to_string(), hierarchy(q))).collect());
    s.models = models;
    s.suppression_limit = limit;
    s.metric = metric;
    s
}

/// Adds three synthetic quasi-identifiers derived deterministically from the row number
/// (a 5-digit code, hours 1-99, children 0-4), with rule-based hierarchies: prefix
/// masking (6 levels), intervals 5/10/20/40 (6 levels) and suppression (2 levels).
fn with_derived_qis(mut table: Table, base: AnonymizationSpec) -> (Table, AnonymizationSpec) {
    let n = table.nrows();
    let mix = |i: usize, salt: u64| {
        let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
        x ^= x >> 31;
        x.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 20
    };
    let zip: Vec<Option<String>> = (0..n)
        .map(|i| Some(format!("{:05}", 10000 + mix(i, 1) % 400 * 7)))
        .collect();
    let hours: Vec<Option<f64>> = (0..n).map(|i| Some((1 + mix(i, 2) % 99) as f64)).collect();
    let kids: Vec<Option<String>> = (0..n).map(|i| Some((mix(i, 3) % 5).to_string())).collect();
    let mut spec = base;
    let values = |v: &Vec<Option<String>>| v.iter().flatten().cloned().collect::<Vec<_>>();
    let hv: Vec<String> = hours.iter().flatten().map(|h| h.to_string()).collect();
    let rules = [
        ("zip", HierarchyRule::Prefix { step: 1 }, values(&zip)),
        (
            "hours",
            HierarchyRule::Intervals {
                widths: vec![5.0, 10.0, 20.0, 40.0],
                origin: 0.0,
                top_code: None,
                bottom_code: None,
            },
            hv,
        ),
        ("children", HierarchyRule::Suppress, values(&kids)),
    ];
    table.push_column(Column::text("zip", zip)).expect("column");
    table
        .push_column(Column::numeric("hours", hours))
        .expect("column");
    table
        .push_column(Column::text("children", kids))
        .expect("column");
    for (name, rule, vals) in rules {
        spec.quasi_identifiers.push((
            name.to_string(),
            Hierarchy::from_rule(name, &rule, &vals).expect("rule"),
        ));
    }
    (table, spec)
}

fn bench(c: &mut Criterion) {
    let data = adult();
    let k5 = PrivacyModel::KAnonymity { k: 5 };
    let mut qi9 = QI8.to_vec();
    qi9.insert(7, "occupation");
    let cases: Vec<(&str, Table, AnonymizationSpec)> = vec![
        (
            "adult_8qi_k5_0pct",
            data.clone(),
            spec(
                &QI8,
                vec![k5.clone()],
                0.0,
                Metric::NonUniformEntropy { monotonic: true },
            ),
        ),
        (
            "adult_8qi_k5_rcl43_t02_0pct",
            data.clone(),
            spec(
                &QI8,
                vec![
                    k5.clone(),
                    PrivacyModel::RecursiveClDiversity {
                        attribute: "occupation".into(),
                        c: 4.0,
                        l: 3,
                    },
                    PrivacyModel::EqualDistanceTCloseness {
                        attribute: "occupation".into(),
                        t: 0.2,
                    },
                ],
                0.0,
                Metric::NonUniformEntropy { monotonic: true },
            ),
        ),
        (
            "adult_9qi_k5_loss_100pct",
            data.clone(),
            spec(&qi9, vec![k5.clone()], 1.0, Metric::default()),
        ),
        {
            let (t, s) = with_derived_qis(
                data.clone(),
                spec(
                    &qi9,
                    vec![k5.clone()],
                    0.0,
                    Metric::NonUniformEntropy { monotonic: true },
                ),
            );
            ("adult_12qi_k5_0pct", t, s)
        },
    ];
    let mut group = c.benchmark_group("anonymize");
    group.sample_size(10);
    for (name, table, spec) in &cases {
        let once = anonymize(table, spec).expect("solution");
        println!(
            "{name}: search {:.2} ms, {} of {} transformations evaluated, {} pruned, optimum {:?}",
            once.stats.millis,
            once.stats.evaluated,
            once.stats.transformations,
            once.stats.pruned,
            once.levels
        );
        group.bench_function(*name, |b| {
            b.iter(|| anonymize(table, spec).expect("solution"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
