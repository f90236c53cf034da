//! Consent enforcement cost: filtering a cohort at compute time, and receipts.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use salus_consent::{
    ChainState, ConsentPolicy, ConsentRecord, DataCategory, Decision, Provision, Purpose,
    ReceiptIssuer, Registry, verify_receipt,
};

const PATIENTS: usize = 100_000;

fn registry() -> (Registry, Vec<String>) {
    let mut registry = Registry::new(ConsentPolicy::opt_out());
    let ids: Vec<String> = (0..PATIENTS).map(|i| format!("p{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        // Three records per patient: a permit, a genomics deny, and for every 10th a withdrawal.
        let permit = Provision::all(Decision::Permit).for_purposes(vec![Purpose::Research]);
        let deny = Provision::all(Decision::Deny).for_categories(vec![DataCategory::Genomics]);
        let _ = registry.add(ConsentRecord::new(
            &format!("{id}-a"),
            id,
            10,
            "bench",
            permit,
        ));
        let _ = registry.add(ConsentRecord::new(
            &format!("{id}-b"),
            id,
            20,
            "bench",
            deny,
        ));
        if i % 10 == 0 {
            let _ = registry.withdraw(&format!("{id}-c"), id, vec![], 30, "bench");
        }
    }
    (registry, ids)
}

fn bench_filter(c: &mut Criterion) {
    let (registry, ids) = registry();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let study = Purpose::Study("s".into());
    let cats = [
        DataCategory::Labs,
        DataCategory::Diagnoses,
        DataCategory::Demographics,
    ];
    let mut group = c.benchmark_group("consent");
    group.throughput(Throughput::Elements(PATIENTS as u64));
    group.bench_function("filter_100k_patients_3_categories", |b| {
        b.iter(|| black_box(registry.filter(&refs, &study, &cats, 100).excluded()))
    });
    group.finish();

    let key = SigningKey::from_bytes(&[9; 32]);
    let mut issuer = ReceiptIssuer::new("node", key.clone(), ChainState::default());
    let record = registry.history("p1")[0].clone();
    c.bench_function("receipt_issue", |b| {
        b.iter(|| black_box(issuer.issue(&record, 5).is_ok()))
    });
    let receipt = issuer.issue(&record, 5).ok();
    let vk = key.verifying_key();
    c.bench_function("receipt_verify", |b| {
        b.iter(|| black_box(receipt.as_ref().map(|r| verify_receipt(r, &vk).is_ok())))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_filter
}
criterion_main!(benches);
