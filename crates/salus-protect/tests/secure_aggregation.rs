//! Secure aggregation through the session traits: the sum equals the plain sum for random
//! layouts and any dropout pattern leaving at least the threshold; fewer survivors fail
//! and reveal nothing; DP noise is calibrated, recorded and reproducible from the seed.

mod common;

use common::{Run, assert_close, params, plain_sum, run};
use proptest::prelude::*;
use salus_protect::secure_aggregation::{MODE, effective_threshold};
use salus_protect::{DpRound, product_factories};
use salus_study::layout::{Layout, SegmentKind};

fn layout() -> Layout {
    Layout::default()
        .counts("n", 3)
        .reals("age_sum", 2)
        .counts("events", 1)
}

fn contributions() -> Vec<Vec<f64>> {
    vec![
        vec![120.0, 7.0, 0.0, 5_031.25, -0.003, 4.0],
        vec![98.0, 12.0, 1.0, 4_100.5, 1e-7, 9.0],
        vec![301.0, 0.0, 2.0, 15_920.0, 2.5e6, 0.0],
        vec![45.0, 3.0, 0.0, 1_802.75, -17.0, 1.0],
    ]
}

#[test]
fn the_sum_equals_the_plain_sum_and_the_record_is_honest() {
    let p = params(4, layout(), 4, None);
    let report = run(&p, &contributions(), &Run::new(MODE, 4));
    assert!(report.hub_errors.is_empty(), "{:?}", report.hub_errors);
    assert!(report.node_errors.is_empty(), "{:?}", report.node_errors);
    let aggregate = report.sum();
    assert_close(
        &layout(),
        &aggregate.sum,
        &plain_sum(&contributions(), |_| true),
        &contributions(),
    );
    assert_eq!(
        aggregate.contributors,
        vec!["node-0", "node-1", "node-2", "node-3"]
    );
    assert!(aggregate.dropped.is_empty());
    assert!(aggregate.noise.is_none());
    assert!(
        aggregate.hub_saw.contains("masked vectors from 4 nodes"),
        "{}",
        aggregate.hub_saw
    );
    assert!(!aggregate.hub_saw.contains("noise"));
    // Four node posts; three hub deliveries (directory, forwarded shares, unmask request).
    assert_eq!(report.exchanges, 3);
}

#[test]
fn a_node_leaving_after_its_masked_input_is_still_summed() {
    let p = params(4, layout(), 3, None);
    let mut options = Run::new(MODE, 4);
    options.posts_before_leaving[2] = Some(3);
    let report = run(&p, &contributions(), &options);
    let aggregate = report.sum();
    assert_close(
        &layout(),
        &aggregate.sum,
        &plain_sum(&contributions(), |_| true),
        &contributions(),
    );
    assert_eq!(aggregate.contributors.len(), 4);
}

#[test]
fn a_node_leaving_before_its_masked_input_is_dropped() {
    let p = params(4, layout(), 3, None);
    let mut options = Run::new(MODE, 4);
    options.posts_before_leaving[1] = Some(2);
    let report = run(&p, &contributions(), &options);
    let aggregate = report.sum();
    assert_close(
        &layout(),
        &aggregate.sum,
        &plain_sum(&contributions(), |i| i != 1),
        &contributions(),
    );
    assert_eq!(aggregate.dropped, vec!["node-1"]);
    assert!(aggregate.hub_saw.contains("1 node(s) dropped out"));
}

#[test]
fn below_the_threshold_the_round_fails_naming_the_missing_nodes() {
    let p = params(4, layout(), 4, None);
    let mut options = Run::new(MODE, 4);
    options.posts_before_leaving[3] = Some(1);
    let report = run(&p, &contributions(), &options);
    let failure = report.failure();
    assert_eq!(failure.missing, vec!["node-3"]);
    assert!(
        failure.message.contains("nothing was revealed"),
        "{}",
        failure.message
    );
}

#[test]
fn the_full_graph_threshold_is_raised_to_a_majority() {
    assert_eq!(effective_threshold(4, 1), 3);
    assert_eq!(effective_threshold(2, 1), 2);
    assert_eq!(effective_threshold(10, 8), 8);
    assert_eq!(effective_threshold(40, 3), 3);
    assert_eq!(effective_threshold(40, 99), 40);
}

#[test]
fn sparse_graph_above_sixteen_nodes_with_dropouts() {
    let n = 20;
    let layout = Layout::default().counts("n", 2).reals("x", 1);
    let contributions: Vec<Vec<f64>> = (0..n)
        .map(|i| vec![i as f64, 1.0, 0.5 * i as f64 - 3.0])
        .collect();
    let mut options = Run::new(MODE, n);
    options.posts_before_leaving[4] = Some(2);
    options.posts_before_leaving[11] = Some(0);
    let report = run(
        &params(n, layout.clone(), 10, None),
        &contributions,
        &options,
    );
    let aggregate = report.sum();
    let expected = plain_sum(&contributions, |i| i != 4 && i != 11);
    assert_close(&layout, &aggregate.sum, &expected, &contributions);
    assert_eq!(aggregate.dropped, vec!["node-4", "node-11"]);
}

#[test]
fn bad_inputs_and_parameters_are_refused_with_clear_errors() {
    let (hubs, nodes) = product_factories();
    let p = params(3, layout(), 3, None);
    let error = hubs("homomorphic-magic", &p).err().expect("unknown mode");
    assert!(
        error.contains("secure-aggregation") && error.contains("threshold-he"),
        "{error}"
    );
    let one = params(1, layout(), 1, None);
    assert!(
        hubs(MODE, &one)
            .err()
            .expect("one node")
            .contains("at least 2 nodes")
    );
    let node = salus_protect::NodeSessionParams {
        session: p.clone(),
        node_id: "node-1".into(),
        identity_seed: common::identity_seed(1),
        noise_seed: [0; 32],
        fresh_seed: [0; 32],
    };
    let error = nodes(MODE, &node, vec![1.5, 0.0, 0.0, 0.0, 0.0, 0.0])
        .err()
        .expect("fractional count");
    assert!(
        error.contains("value 0 of segment `n`") && !error.contains("1.5"),
        "{error}"
    );
    let wrong_key = salus_protect::NodeSessionParams {
        identity_seed: common::identity_seed(2),
        ..node.clone()
    };
    assert!(
        nodes(MODE, &wrong_key, contributions()[0].clone())
            .err()
            .expect("wrong key")
            .contains("not the key enrolled")
    );
    let stranger = salus_protect::NodeSessionParams {
        node_id: "node-9".into(),
        ..node
    };
    assert!(nodes(MODE, &stranger, contributions()[0].clone()).is_err());
    let mut hub = hubs(MODE, &p).expect("opens");
    assert!(
        hub.receive("node-0", serde_json::json!({"hello": 1}), 1_000)
            .is_err()
    );
    assert!(hub.receive("node-9", serde_json::json!({}), 1_000).is_err());
}

#[test]
fn a_node_with_other_study_parameters_cannot_join() {
    // Same session id, but the node believes in another layout: its messages are for
    // another session and the hub refuses them.
    let (hubs, nodes) = product_factories();
    let p = params(3, layout(), 3, None);
    let mut hub = hubs(MODE, &p).expect("opens");
    let other = params(
        3,
        Layout::default().counts("n", 3).reals("age_sum", 3),
        3,
        None,
    );
    let node = salus_protect::NodeSessionParams {
        session: other,
        node_id: "node-0".into(),
        identity_seed: common::identity_seed(0),
        noise_seed: [0; 32],
        fresh_seed: [0; 32],
    };
    let mut session = nodes(MODE, &node, vec![1.0, 2.0, 3.0, 0.5, 0.5, 0.5]).expect("opens");
    let advert = session.start().expect("starts").remove(0);
    let error = hub
        .receive("node-0", advert, 1_000)
        .expect_err("other session");
    assert!(error.contains("another round"), "{error}");
}

fn dp(rho: f64) -> DpRound {
    DpRound {
        rho,
        l1_sensitivity: 1.0,
        l2_sensitivity: 1.0,
    }
}

#[test]
fn dp_noise_is_calibrated_recorded_and_only_on_counts() {
    let p = params(4, layout(), 4, Some(dp(0.002)));
    let report = run(&p, &contributions(), &Run::new(MODE, 4));
    let aggregate = report.sum();
    let exact = plain_sum(&contributions(), |_| true);
    let count_positions = [0, 1, 2, 5];
    assert!(
        count_positions
            .iter()
            .any(|&j| aggregate.sum[j] != exact[j]),
        "no noise in {:?}",
        aggregate.sum
    );
    for &j in &count_positions {
        assert_eq!(aggregate.sum[j].fract(), 0.0, "noisy counts stay integers");
    }
    // Reals carry no noise.
    assert_close(
        &Layout::default().reals("age_sum", 2),
        &aggregate.sum[3..5],
        &exact[3..5],
        &contributions()
            .iter()
            .map(|c| c[3..5].to_vec())
            .collect::<Vec<_>>(),
    );
    let noise = aggregate.noise.as_ref().expect("noise record");
    assert_eq!(noise["rho"], 0.002);
    assert!(noise["rho_guaranteed"].as_f64().expect("number") <= 0.002 * (1.0 + 1e-9));
    assert_eq!(noise["shares"], 4);
    assert_eq!(noise["applies_to"], serde_json::json!(["n", "events"]));
    assert_eq!(noise["not_noised"], serde_json::json!(["age_sum"]));
    assert!(noise["epsilon"].as_f64().expect("number") > 0.0);
    assert!(noise["sigma"].as_f64().expect("number") > 10.0);
    assert!(aggregate.hub_saw.contains("noise"));
}

#[test]
fn the_same_noise_seed_gives_the_same_noise_on_a_rerun() {
    let p = params(3, layout(), 3, Some(dp(0.002)));
    let contributions = contributions()[..3].to_vec();
    let first = run(&p, &contributions, &Run::new(MODE, 3))
        .sum()
        .sum
        .clone();
    // A re-run: another attempt (session id), fresh masks, another delivery order.
    let mut rerun_params = p.clone();
    rerun_params.session_id = "study-7/0/1".into();
    let mut rerun = Run::new(MODE, 3);
    rerun.fresh_salt = 9;
    rerun.shuffle_seed = 77;
    assert_eq!(run(&rerun_params, &contributions, &rerun).sum().sum, first);
    let mut other = Run::new(MODE, 3);
    other.noise_seeds[1] = [0xee; 32];
    assert_ne!(run(&p, &contributions, &other).sum().sum, first);
}

/// A random layout of 1 to 4 segments (counts with a declared maximum, or reals).
fn arb_layout() -> impl Strategy<Value = Layout> {
    prop::collection::vec((any::<bool>(), 1usize..4), 1..5).prop_map(|segments| {
        let mut layout = Layout::default();
        for (i, (is_count, len)) in segments.into_iter().enumerate() {
            layout = if is_count {
                layout.counts(&format!("c{i}"), len)
            } else {
                layout.reals(&format!("r{i}"), len)
            };
        }
        layout
    })
}

fn arb_values(layout: &Layout, n: usize) -> impl Strategy<Value = Vec<Vec<f64>>> + use<> {
    let kinds: Vec<bool> = layout
        .segments
        .iter()
        .flat_map(|s| std::iter::repeat_n(matches!(s.kind, SegmentKind::Count { .. }), s.len))
        .collect();
    let row = kinds
        .into_iter()
        .map(|is_count| {
            if is_count {
                (0u32..100_000).prop_map(f64::from).boxed()
            } else {
                (-1e9f64..1e9).boxed()
            }
        })
        .collect::<Vec<_>>();
    prop::collection::vec(row, n)
}

/// (layout, parties, threshold, each party's values, when each party drops out, seed).
type Case = (Layout, usize, usize, Vec<Vec<f64>>, Vec<Option<usize>>, u64);

fn arb_case() -> impl Strategy<Value = Case> {
    (arb_layout(), 3usize..8).prop_flat_map(|(layout, n)| {
        let values = arb_values(&layout, n);
        (
            Just(layout),
            Just(n),
            1..=n,
            values,
            prop::collection::vec(prop::option::weighted(0.3, 0usize..4), n),
            any::<u64>(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_dropout_pattern_sums_correctly_or_fails_cleanly(
        (layout, n, threshold, values, leaving, seed) in arb_case()
    ) {
        let p = params(n, layout.clone(), threshold, None);
        let mut options = Run::new(MODE, n);
        options.posts_before_leaving = leaving.clone();
        options.shuffle_seed = seed;
        let report = run(&p, &values, &options);
        let t = effective_threshold(n, threshold);
        let stayed = leaving.iter().filter(|l| l.is_none()).count();
        if stayed >= t {
            // Nodes that posted their masked input (3 posts) are in the sum.
            let in_sum = |i: usize| leaving[i].is_none_or(|posts| posts >= 3);
            let aggregate = report.sum();
            assert_close(&layout, &aggregate.sum, &plain_sum(&values, in_sum), &values);
            let expected: Vec<String> = (0..n).filter(|&i| in_sum(i)).map(|i| format!("node-{i}")).collect();
            prop_assert_eq!(&aggregate.contributors, &expected);
        } else {
            let failure = report.failure();
            prop_assert!(!failure.missing.is_empty());
            prop_assert!(failure.missing.iter().all(|id| leaving[id[5..].parse::<usize>().expect("index")].is_some()));
        }
    }
}
