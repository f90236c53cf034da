//! Criterion benchmarks of the threshold-HE workflow (3 parties, 8191 slots per block) and
//! of encrypted inference (273 rows of 30 features per block).

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_he::inference::{decrypt_scores, encrypt_features, score_encrypted};
use salus_he::*;

const PARTIES: u32 = 3;

fn ceremony(rng: &mut ChaCha20Rng) -> (Vec<Party>, CollectivePublicKey) {
    let params = Params::standard();
    let crs = Crs::derive(&params, b"bench").expect("crs");
    let mut parties: Vec<Party> = (1..=PARTIES)
        .map(|i| Party::new(i, &params, &crs, rng).expect("party"))
        .collect();
    let shares: Vec<_> = parties.iter().map(Party::public_key_share).collect();
    let cpk = CollectivePublicKey::combine(&shares).expect("cpk");
    for p in &mut parties {
        p.confirm_collective_key(&cpk).expect("confirm");
    }
    (parties, cpk)
}

fn threshold(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let params = Params::standard();
    let values: Vec<i64> = (0..8191).map(|i| i * 17 - 50_000).collect();
    c.bench_function("keygen_3_parties", |b| b.iter(|| ceremony(&mut rng)));
    let (parties, cpk) = ceremony(&mut rng);
    c.bench_function("encrypt_8191", |b| {
        b.iter(|| encrypt_i64s(&cpk, &values, &mut rng).expect("enc"))
    });
    let cts: Vec<_> = (0..PARTIES)
        .map(|_| encrypt_i64s(&cpk, &values, &mut rng).expect("enc"))
        .collect();
    c.bench_function("add", |b| b.iter(|| cts[0].add(&cts[1]).expect("add")));
    let total = Ciphertext::sum(&cts).expect("sum");
    c.bench_function("decryption_share", |b| {
        b.iter(|| {
            parties[0]
                .decryption_share(&total, &mut rng)
                .expect("share")
        })
    });
    let shares: Vec<_> = parties
        .iter()
        .map(|p| p.decryption_share(&total, &mut rng).expect("s"))
        .collect();
    c.bench_function("combine_decryption_3", |b| {
        b.iter(|| combine_decryption(&cpk, &total, &shares).expect("dec"))
    });
    let researcher = ResearcherKey::generate(&params, &mut rng).expect("rk");
    c.bench_function("key_switch_share", |b| {
        b.iter(|| {
            parties[0]
                .key_switch_share(&total, researcher.public_key(), &mut rng)
                .expect("ks")
        })
    });
    let ks: Vec<_> = parties
        .iter()
        .map(|p| {
            p.key_switch_share(&total, researcher.public_key(), &mut rng)
                .expect("ks")
        })
        .collect();
    c.bench_function("combine_key_switch_3", |b| {
        b.iter(|| combine_key_switch(&cpk, &total, &ks).expect("ks"))
    });
    let switched = combine_key_switch(&cpk, &total, &ks).expect("ks");
    c.bench_function("researcher_decrypt", |b| {
        b.iter(|| researcher.decrypt_i64s(&switched).expect("dec"))
    });
}

fn inference(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let holder = ResearcherKey::generate(&Params::standard(), &mut rng).expect("key");
    let rows: Vec<Vec<f64>> = (0..273)
        .map(|r| {
            (0..30)
                .map(|j| ((r * 31 + j) % 13) as f64 / 5.0 - 1.0)
                .collect()
        })
        .collect();
    let weights: Vec<f64> = (0..30).map(|j| (j as f64 - 15.0) / 10.0).collect();
    c.bench_function("inference_encrypt_273x30", |b| {
        b.iter(|| encrypt_features(holder.public_key(), &rows, &mut rng).expect("enc"))
    });
    let features = encrypt_features(holder.public_key(), &rows, &mut rng).expect("enc");
    c.bench_function("inference_score_273x30", |b| {
        b.iter(|| {
            score_encrypted(holder.public_key(), &features, &weights, 0.1, &mut rng).expect("score")
        })
    });
    let scores =
        score_encrypted(holder.public_key(), &features, &weights, 0.1, &mut rng).expect("score");
    c.bench_function("inference_decrypt_273", |b| {
        b.iter(|| decrypt_scores(&holder, &scores).expect("dec"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = threshold, inference
}
criterion_main!(benches);
