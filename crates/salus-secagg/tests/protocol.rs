//! End-to-end behaviour of the protocol in the deterministic in-memory simulation: correct
//! sums with and without dropouts (full and sparse graphs), clean failure below the
//! threshold, and property tests over random inputs and dropout patterns.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use salus_secagg::simulation::DropPoint;
use salus_secagg::{Graph, NodeId, SecaggError};

use common::{config, identities, random_inputs, ring_sum, run};

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<NodeId> {
    range.map(NodeId).collect()
}

#[test]
fn full_graph_without_dropouts_sums_everything() {
    let keys = identities(5);
    let inputs = random_inputs(5, 64, 1);
    let report = run(
        config(&keys, 3, Graph::Full, 64, b"r1"),
        &keys,
        &inputs,
        BTreeMap::new(),
        1,
    );
    let output = report.result.expect("round succeeds");
    assert_eq!(output.sum, ring_sum(&inputs, &ids(1..=5)));
    assert_eq!(output.survivors, ids(1..=5));
    assert!(output.dropped.is_empty());
    assert!(report.node_errors.is_empty(), "{:?}", report.node_errors);
}

#[test]
fn dropouts_at_every_stage_are_recovered() {
    let keys = identities(9);
    let inputs = random_inputs(9, 33, 2);
    let dropouts = BTreeMap::from([
        (NodeId(2), DropPoint::BeforeAdvertise),
        (NodeId(4), DropPoint::BeforeShares),
        (NodeId(6), DropPoint::BeforeMaskedInput),
        (NodeId(8), DropPoint::BeforeUnmask),
    ]);
    let report = run(
        config(&keys, 5, Graph::Full, 33, b"r2"),
        &keys,
        &inputs,
        dropouts,
        2,
    );
    let output = report.result.expect("round succeeds");
    // Node 8 sent its masked input before vanishing, so its input is in the sum; the five
    // nodes still answering the unmasking round (1, 3, 5, 7, 9) meet the threshold of 5.
    let survivors = vec![
        NodeId(1),
        NodeId(3),
        NodeId(5),
        NodeId(7),
        NodeId(8),
        NodeId(9),
    ];
    assert_eq!(output.survivors, survivors);
    assert_eq!(output.dropped, vec![NodeId(6)]);
    assert_eq!(output.sum, ring_sum(&inputs, &survivors));
}

#[test]
fn sparse_graph_with_dropouts() {
    let n = 40;
    let keys = identities(n);
    let inputs = random_inputs(n, 50, 3);
    let graph = Graph::Sparse {
        degree: 10,
        share_threshold: 7,
    };
    let dropouts: BTreeMap<NodeId, DropPoint> = [
        (3, DropPoint::BeforeShares),
        (17, DropPoint::BeforeMaskedInput),
        (29, DropPoint::BeforeMaskedInput),
        (35, DropPoint::BeforeUnmask),
    ]
    .into_iter()
    .map(|(i, p)| (NodeId(i), p))
    .collect();
    let report = run(
        config(&keys, 20, graph, 50, b"r3"),
        &keys,
        &inputs,
        dropouts,
        3,
    );
    let output = report.result.expect("round succeeds");
    let survivors: Vec<NodeId> = ids(1..=n as u32)
        .into_iter()
        .filter(|id| ![3, 17, 29].contains(&id.0))
        .collect();
    assert_eq!(output.survivors, survivors);
    assert_eq!(output.dropped, vec![NodeId(17), NodeId(29)]);
    assert_eq!(output.sum, ring_sum(&inputs, &survivors));
}

#[test]
fn fewer_than_threshold_survivors_fails_and_reveals_nothing() {
    let keys = identities(5);
    let inputs = random_inputs(5, 8, 4);
    let dropouts: BTreeMap<NodeId, DropPoint> = [
        (1, DropPoint::BeforeMaskedInput),
        (2, DropPoint::BeforeMaskedInput),
        (3, DropPoint::BeforeMaskedInput),
    ]
    .into_iter()
    .map(|(i, p)| (NodeId(i), p))
    .collect();
    let report = run(
        config(&keys, 3, Graph::Full, 8, b"r4"),
        &keys,
        &inputs,
        dropouts,
        4,
    );
    match report.result {
        Err(SecaggError::RoundFailed { phase, got, needed }) => {
            assert_eq!((phase, got, needed), ("masked input", 2, 3));
        }
        other => panic!("expected a clean failure, got {other:?}"),
    }
}

#[test]
fn too_few_unmasking_answers_fails_cleanly() {
    let keys = identities(5);
    let inputs = random_inputs(5, 8, 5);
    let dropouts: BTreeMap<NodeId, DropPoint> = [
        (1, DropPoint::BeforeUnmask),
        (2, DropPoint::BeforeUnmask),
        (3, DropPoint::BeforeUnmask),
    ]
    .into_iter()
    .map(|(i, p)| (NodeId(i), p))
    .collect();
    let report = run(
        config(&keys, 3, Graph::Full, 8, b"r5"),
        &keys,
        &inputs,
        dropouts,
        5,
    );
    assert!(
        matches!(report.result, Err(SecaggError::Reconstruction { .. })),
        "{:?}",
        report.result
    );
}

#[test]
fn the_simulation_is_deterministic() {
    let keys = identities(6);
    let inputs = random_inputs(6, 16, 6);
    let dropouts = BTreeMap::from([(NodeId(5), DropPoint::BeforeMaskedInput)]);
    let a = run(
        config(&keys, 4, Graph::Full, 16, b"r6"),
        &keys,
        &inputs,
        dropouts.clone(),
        6,
    );
    let b = run(
        config(&keys, 4, Graph::Full, 16, b"r6"),
        &keys,
        &inputs,
        dropouts,
        6,
    );
    assert_eq!(a.result.expect("a"), b.result.expect("b"));
}

/// The outcome the protocol must produce for a full graph: with U4 the nodes that answer the
/// unmasking round, the round succeeds iff |U4| >= t, and the sum covers U3 (masked inputs).
fn expected_full_graph(
    n: usize,
    threshold: usize,
    drops: &BTreeMap<NodeId, DropPoint>,
) -> Option<Vec<NodeId>> {
    let reached = |point: DropPoint| {
        ids(1..=n as u32)
            .into_iter()
            .filter(move |id| drops.get(id).is_none_or(|p| *p > point))
    };
    let answered_unmask = reached(DropPoint::BeforeUnmask).count();
    (answered_unmask >= threshold).then(|| reached(DropPoint::BeforeMaskedInput).collect())
}

fn drop_point() -> impl Strategy<Value = Option<DropPoint>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(DropPoint::BeforeAdvertise)),
        1 => Just(Some(DropPoint::BeforeShares)),
        1 => Just(Some(DropPoint::BeforeMaskedInput)),
        1 => Just(Some(DropPoint::BeforeUnmask)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn full_graph_sum_is_correct_for_any_dropout_pattern(
        n in 3usize..10,
        threshold_extra in 0usize..3,
        dimension in 1usize..20,
        points in proptest::collection::vec(drop_point(), 10),
        seed in any::<u8>(),
    ) {
        let threshold = (n / 2 + 1 + threshold_extra).min(n);
        let keys = identities(n);
        let inputs = random_inputs(n, dimension, u64::from(seed));
        let drops: BTreeMap<NodeId, DropPoint> = points
            .iter()
            .take(n)
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (NodeId(i as u32 + 1), p)))
            .collect();
        let report = run(config(&keys, threshold, Graph::Full, dimension, &[seed]), &keys, &inputs, drops.clone(), seed);
        match expected_full_graph(n, threshold, &drops) {
            Some(survivors) => {
                let output = report.result.expect("enough survivors: the round must succeed");
                prop_assert_eq!(&output.survivors, &survivors);
                prop_assert_eq!(output.sum, ring_sum(&inputs, &survivors));
            }
            None => prop_assert!(report.result.is_err(), "below threshold the round must fail"),
        }
    }

    #[test]
    fn sparse_graph_sum_is_correct_with_few_dropouts(
        seed in any::<u8>(),
        dropped in proptest::collection::btree_set(1u32..=30, 0..3),
        late in proptest::collection::btree_set(1u32..=30, 0..3),
    ) {
        // 30 nodes, degree 8 (9 holders), share threshold 5: any 2 dropouts plus 2 late
        // nodes leave every neighbourhood at least 5 answering holders.
        let n = 30;
        let keys = identities(n);
        let inputs = random_inputs(n, 7, u64::from(seed));
        let mut drops: BTreeMap<NodeId, DropPoint> = dropped.iter().map(|&i| (NodeId(i), DropPoint::BeforeMaskedInput)).collect();
        for &i in &late {
            drops.entry(NodeId(i)).or_insert(DropPoint::BeforeUnmask);
        }
        let graph = Graph::Sparse { degree: 8, share_threshold: 5 };
        let report = run(config(&keys, 15, graph, 7, &[seed, 1]), &keys, &inputs, drops.clone(), seed);
        let survivors: Vec<NodeId> = ids(1..=n as u32)
            .into_iter()
            .filter(|id| drops.get(id).is_none_or(|p| *p == DropPoint::BeforeUnmask))
            .collect();
        let output = report.result.expect("round succeeds");
        prop_assert_eq!(&output.survivors, &survivors);
        prop_assert_eq!(output.sum, ring_sum(&inputs, &survivors));
    }
}
