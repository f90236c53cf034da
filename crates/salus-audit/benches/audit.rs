//! Audit log benchmarks: batched appends per second, proof generation and
//! verification time, and (printed once) the log size per entry.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use salus_audit::{
    AuditEvent, AuditLog, Hash, MerkleTree, leaf_hash, verify_consistency, verify_inclusion,
};

const TREE_SIZE: u64 = 1 << 20;

fn event(i: u64) -> (String, AuditEvent) {
    (
        format!("node-{}", i % 7),
        AuditEvent::ContributionReceived {
            study_id: format!("study-{}", i / 1000),
            node_id: format!("node-{}", i % 7),
            contribution_hash: Hash::sha256(&i.to_be_bytes()),
        },
    )
}

fn big_tree() -> MerkleTree {
    MerkleTree::from_leaf_hashes(
        (0..TREE_SIZE)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect(),
    )
}

fn bench_append(c: &mut Criterion) {
    let batch = 10_000u64;
    let events: Vec<_> = (0..batch).map(event).collect();
    let probe = AuditLog::new("salus.bench/audit", SigningKey::from_bytes(&[1; 32]))
        .and_then(|mut log| log.append(0, events.clone()))
        .map(|b| b.entries.iter().map(|e| e.bytes.len() + 32).sum::<usize>() as f64 / batch as f64)
        .unwrap_or(f64::NAN);
    // Stored per entry: canonical bytes + 32-byte leaf hash (+ ~32 bytes of tree cache in memory).
    eprintln!("log size per entry (entry bytes + leaf hash): {probe:.1} bytes");

    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(batch));
    group.bench_function("batch_of_10k_events_one_checkpoint", |b| {
        b.iter_batched(
            || {
                let log = AuditLog::restore(
                    "salus.bench/audit",
                    SigningKey::from_bytes(&[1; 32]),
                    (0..100_000u64)
                        .map(|i| leaf_hash(&i.to_be_bytes()))
                        .collect(),
                );
                (log, events.clone())
            },
            |(log, events)| {
                if let Ok(mut log) = log {
                    black_box(log.append(1_700_000_000, events).is_ok());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_proofs(c: &mut Criterion) {
    let tree = big_tree();
    let root = tree.root();
    let index = 123_457;
    let inclusion = tree.inclusion_proof(index, TREE_SIZE).unwrap_or_default();
    let leaf = tree.leaf(index).unwrap_or_default();
    let old = 700_001;
    let old_root = tree.root_at(old).unwrap_or_default();
    let consistency = tree
        .consistency_proof(old, TREE_SIZE - 3)
        .unwrap_or_default();
    let new_root = tree.root_at(TREE_SIZE - 3).unwrap_or_default();

    let mut group = c.benchmark_group("proofs_1M_leaves");
    group.bench_function("inclusion_generate", |b| {
        b.iter(|| black_box(tree.inclusion_proof(black_box(index), TREE_SIZE - 1)))
    });
    group.bench_function("inclusion_verify", |b| {
        b.iter(|| black_box(verify_inclusion(index, TREE_SIZE, &leaf, &inclusion, &root).is_ok()))
    });
    group.bench_function("consistency_generate", |b| {
        b.iter(|| black_box(tree.consistency_proof(black_box(old), TREE_SIZE - 3)))
    });
    group.bench_function("consistency_verify", |b| {
        b.iter(|| {
            black_box(
                verify_consistency(old, TREE_SIZE - 3, &consistency, &old_root, &new_root).is_ok(),
            )
        })
    });
    group.bench_function("rebuild_tree_from_leaf_hashes", |b| {
        b.iter_batched(
            || tree.leaves().to_vec(),
            |leaves| black_box(MerkleTree::from_leaf_hashes(leaves).len()),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_append, bench_proofs
}
criterion_main!(benches);
