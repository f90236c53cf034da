mod common;
use common::*;
use salus_anon::*;

#[test]
fn probe() {
    let data = adult();
    let cases: Vec<(&str, AnonymizationSpec)> = vec![
        ("k5 s0.04 entropy-mono", spec(None, vec![k(5)], 0.04, Metric::NonUniformEntropy { monotonic: true })),
        ("k5 s1 loss gm", spec(None, vec![k(5)], 1.0, Metric::default())),
        ("k5 s1 loss rank occ", spec(Some("occupation"), vec![k(5)], 1.0, loss(0.5, Aggregate::Rank))),
        ("k5 s0 entropy", spec(None, vec![k(5)], 0.0, Metric::NonUniformEntropy { monotonic: true })),
    ];
    for (name, s) in cases {
        let t = std::time::Instant::now();
        let r = anonymize(&data, &s).unwrap();
        println!("{name}: {:?} score {:?} supp {} stats {:?} total {:?}", r.levels.iter().map(|l| l.1).collect::<Vec<_>>(), r.score, r.report.suppressed, r.stats, t.elapsed());
    }
}
