//! End-to-end multiparty protocol tests: ceremony, encryption, sums, collective
//! decryption, key switching, and the failures that must be detected.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_he::*;

struct Setup {
    params: Params,
    parties: Vec<Party>,
    cpk: CollectivePublicKey,
    rng: ChaCha20Rng,
}

fn setup(n: u32, seed: u64) -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let params = Params::standard();
    let crs = Crs::derive(&params, format!("test-{seed}").as_bytes()).expect("crs");
    let mut parties: Vec<Party> = (1..=n)
        .map(|id| Party::new(id, &params, &crs, &mut rng).expect("party"))
        .collect();
    let shares: Vec<_> = parties.iter().map(Party::public_key_share).collect();
    let cpk = CollectivePublicKey::combine(&shares).expect("combine");
    for p in &mut parties {
        p.confirm_collective_key(&cpk).expect("confirm");
    }
    Setup {
        params,
        parties,
        cpk,
        rng,
    }
}

fn decrypt_all(s: &mut Setup, ct: &Ciphertext) -> Result<Decrypted, HeError> {
    let shares: Vec<_> = s
        .parties
        .iter()
        .map(|p| p.decryption_share(ct, &mut s.rng).expect("share"))
        .collect();
    combine_decryption(&s.cpk, ct, &shares)
}

#[test]
fn collective_decryption_returns_the_exact_sum() {
    let mut s = setup(3, 1);
    let inputs = [
        vec![1i64, -2, 3, 1 << 36],
        vec![10, 20, -30, 0],
        vec![-5, 0, 7, 1],
    ];
    let cts: Vec<_> = inputs
        .iter()
        .map(|v| encrypt_i64s(&s.cpk, v, &mut s.rng).expect("enc"))
        .collect();
    let total = Ciphertext::sum(&cts).expect("sum");
    let out = decrypt_all(&mut s, &total)
        .expect("decrypt")
        .to_i64s()
        .expect("ints");
    assert_eq!(out, vec![6, 18, -20, (1 << 36) + 1]);
}

#[test]
fn key_switch_lets_only_the_researcher_decrypt() {
    let mut s = setup(4, 2);
    let a = encrypt_fixed(
        &s.cpk,
        &[1.5, -2.25, 1e9],
        FixedPoint::new(24).expect("f"),
        &mut s.rng,
    )
    .expect("enc");
    let b = encrypt_fixed(
        &s.cpk,
        &[0.25, 0.125, -3.0],
        FixedPoint::new(24).expect("f"),
        &mut s.rng,
    )
    .expect("enc");
    let total = a.add(&b).expect("add").scale(-3).expect("scale");
    let researcher = ResearcherKey::generate(&s.params, &mut s.rng).expect("rk");
    let shares: Vec<_> = s
        .parties
        .iter()
        .map(|p| {
            p.key_switch_share(&total, researcher.public_key(), &mut s.rng)
                .expect("ks")
        })
        .collect();
    let switched = combine_key_switch(&s.cpk, &total, &shares).expect("combine");
    let out = researcher.decrypt_fixed(&switched).expect("decrypt");
    assert_eq!(out, vec![-5.25, 6.375, -2_999_999_991.0]);
    let other = ResearcherKey::generate(&s.params, &mut s.rng).expect("rk");
    assert_eq!(
        other.decrypt_fixed(&switched).err(),
        Some(HeError::WrongKey)
    );
}

#[test]
fn decryption_without_every_party_is_refused() {
    let mut s = setup(3, 3);
    let ct = encrypt_i64s(&s.cpk, &[42], &mut s.rng).expect("enc");
    let shares: Vec<_> = s.parties[..2]
        .iter()
        .map(|p| p.decryption_share(&ct, &mut s.rng).expect("share"))
        .collect();
    assert_eq!(
        combine_decryption(&s.cpk, &ct, &shares).err(),
        Some(HeError::MissingShares(vec![3]))
    );
    let ks: Vec<_> = {
        let researcher = ResearcherKey::generate(&s.params, &mut s.rng).expect("rk");
        s.parties[1..]
            .iter()
            .map(|p| {
                p.key_switch_share(&ct, researcher.public_key(), &mut s.rng)
                    .expect("ks")
            })
            .collect()
    };
    assert_eq!(
        combine_key_switch(&s.cpk, &ct, &ks).err(),
        Some(HeError::MissingShares(vec![1]))
    );
}

/// Party 1's saved state with the secret share of `other` spliced in: validly signed
/// shares computed with the wrong secret key.
fn with_wrong_secret(party: &Party, other: &Party) -> Party {
    const SECRET_AT: usize = 7 + 4 + 32 + 32;
    const POLY_BYTES: usize = 3 * 8192 * 62 / 8;
    let mut bytes = party.to_secret_bytes().to_vec();
    let donor = other.to_secret_bytes();
    bytes[SECRET_AT..SECRET_AT + POLY_BYTES]
        .copy_from_slice(&donor[SECRET_AT..SECRET_AT + POLY_BYTES]);
    Party::from_secret_bytes(&bytes).expect("still well-formed")
}

#[test]
fn a_share_made_with_the_wrong_secret_key_is_detected() {
    let mut s = setup(3, 4);
    let ct = encrypt_i64s(&s.cpk, &[1, 2, 3], &mut s.rng).expect("enc");
    let cheat = with_wrong_secret(&s.parties[0], &s.parties[1]);
    let mut shares = vec![
        cheat
            .decryption_share(&ct, &mut s.rng)
            .expect("signed share"),
    ];
    for p in &s.parties[1..] {
        shares.push(p.decryption_share(&ct, &mut s.rng).expect("share"));
    }
    assert_eq!(
        combine_decryption(&s.cpk, &ct, &shares).err(),
        Some(HeError::IntegrityCheckFailed)
    );

    // The same cheat in key switching is caught by the researcher's decryption.
    let researcher = ResearcherKey::generate(&s.params, &mut s.rng).expect("rk");
    let mut ks = vec![
        cheat
            .key_switch_share(&ct, researcher.public_key(), &mut s.rng)
            .expect("ks"),
    ];
    for p in &s.parties[1..] {
        ks.push(
            p.key_switch_share(&ct, researcher.public_key(), &mut s.rng)
                .expect("ks"),
        );
    }
    let switched = combine_key_switch(&s.cpk, &ct, &ks).expect("signatures are valid");
    assert_eq!(
        researcher.decrypt_i64s(&switched).err(),
        Some(HeError::IntegrityCheckFailed)
    );
}

#[test]
fn shares_for_another_ciphertext_or_altered_shares_are_rejected() {
    let mut s = setup(2, 5);
    let ct = encrypt_i64s(&s.cpk, &[5], &mut s.rng).expect("enc");
    let other = encrypt_i64s(&s.cpk, &[6], &mut s.rng).expect("enc");
    let stale = s.parties[0]
        .decryption_share(&other, &mut s.rng)
        .expect("share");
    let good = s.parties[1]
        .decryption_share(&ct, &mut s.rng)
        .expect("share");
    assert_eq!(
        combine_decryption(&s.cpk, &ct, &[stale, good.clone()]).err(),
        Some(HeError::ShareMismatch(1))
    );

    let mut bytes = s.parties[0]
        .decryption_share(&ct, &mut s.rng)
        .expect("share")
        .to_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    let altered = DecryptionShare::from_bytes(&bytes).expect("parses");
    assert_eq!(
        combine_decryption(&s.cpk, &ct, &[altered, good.clone()]).err(),
        Some(HeError::BadSignature(1))
    );
    assert_eq!(
        combine_decryption(&s.cpk, &ct, &[good.clone(), good]).err(),
        Some(HeError::DuplicateParty(2))
    );
}

#[test]
fn shares_from_another_ceremony_are_rejected() {
    let mut a = setup(2, 6);
    let mut b = setup(2, 7);
    let ct = encrypt_i64s(&a.cpk, &[1], &mut a.rng).expect("enc");
    // Parties of ceremony B refuse to work on ceremony A's ciphertext...
    assert_eq!(
        b.parties[0].decryption_share(&ct, &mut b.rng).err(),
        Some(HeError::WrongKey)
    );
    // ...and their public key shares do not belong in A's key.
    assert!(b.parties[0].confirm_collective_key(&a.cpk).is_err());
    let foreign = b.parties[0]
        .decryption_share(
            &encrypt_i64s(&b.cpk, &[1], &mut b.rng).expect("enc"),
            &mut b.rng,
        )
        .expect("share");
    let own = a.parties[1]
        .decryption_share(&ct, &mut a.rng)
        .expect("share");
    assert_eq!(
        combine_decryption(&a.cpk, &ct, &[foreign, own]).err(),
        Some(HeError::BadSignature(1))
    );
}

#[test]
fn ceremony_refuses_duplicates_and_mixed_crs() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let params = Params::standard();
    let crs1 = Crs::derive(&params, b"one").expect("crs");
    let crs2 = Crs::derive(&params, b"two").expect("crs");
    let p1 = Party::new(1, &params, &crs1, &mut rng).expect("p");
    let p2 = Party::new(2, &params, &crs2, &mut rng).expect("p");
    let p1b = Party::new(1, &params, &crs1, &mut rng).expect("p");
    let (s1, s2, s1b) = (
        p1.public_key_share(),
        p2.public_key_share(),
        p1b.public_key_share(),
    );
    assert_eq!(
        CollectivePublicKey::combine([&s1, &s2]).err(),
        Some(HeError::CrsMismatch)
    );
    assert_eq!(
        CollectivePublicKey::combine([&s1, &s1b]).err(),
        Some(HeError::DuplicateParty(1))
    );
    assert!(matches!(
        CollectivePublicKey::combine([]),
        Err(HeError::PartyCount { got: 0, .. })
    ));
    let mut unconfirmed = Party::new(3, &params, &crs1, &mut rng).expect("p");
    let cpk = CollectivePublicKey::combine([&s1]).expect("one party");
    let ct = encrypt_i64s(&cpk, &[1], &mut rng).expect("enc");
    assert_eq!(
        unconfirmed.decryption_share(&ct, &mut rng).err(),
        Some(HeError::KeyNotConfirmed)
    );
    assert_eq!(
        unconfirmed.confirm_collective_key(&cpk).err(),
        Some(HeError::KeyDoesNotIncludeParty)
    );
}

#[test]
fn long_vectors_span_several_blocks() {
    let mut s = setup(2, 9);
    let a: Vec<i64> = (0..9000).map(|i| i - 4500).collect();
    let b: Vec<i64> = (0..9000).map(|i| 3 * i).collect();
    let ca = encrypt_i64s(&s.cpk, &a, &mut s.rng).expect("enc");
    assert_eq!(ca.block_count(), 2);
    let cb = encrypt_i64s(&s.cpk, &b, &mut s.rng).expect("enc");
    let out = decrypt_all(&mut s, &ca.add(&cb).expect("add"))
        .expect("dec")
        .to_i64s()
        .expect("ints");
    assert_eq!(out, (0..9000).map(|i| 4 * i - 4500).collect::<Vec<_>>());
}

#[test]
fn noise_and_range_budgets_are_enforced() {
    let mut s = setup(2, 10);
    let ct = encrypt_i64s(&s.cpk, &[1], &mut s.rng).expect("enc");
    assert_eq!(ct.scale(1 << 30).err(), Some(HeError::NoiseBudgetExceeded));
    assert_eq!(
        ct.scale(200_000).err(),
        Some(HeError::RangeExceeded {
            max_weight: MAX_WEIGHT
        })
    );
    let ok = ct.scale(-100_000).expect("within both budgets");
    assert_eq!(
        decrypt_all(&mut s, &ok)
            .expect("dec")
            .to_i64s()
            .expect("ints"),
        vec![-100_000]
    );
    assert!(encrypt_i64s(&s.cpk, &[(1 << 36) + 1], &mut s.rng).is_err());
}

#[test]
fn incompatible_ciphertexts_do_not_mix() {
    let mut a = setup(2, 11);
    let b = setup(2, 12);
    let x = encrypt_i64s(&a.cpk, &[1], &mut a.rng).expect("enc");
    let y = encrypt_i64s(&b.cpk, &[1], &mut a.rng).expect("enc");
    let z =
        encrypt_fixed(&a.cpk, &[1.0], FixedPoint::new(10).expect("f"), &mut a.rng).expect("enc");
    let w = encrypt_i64s(&a.cpk, &[1, 2], &mut a.rng).expect("enc");
    assert!(matches!(x.add(&y), Err(HeError::Incompatible(_))));
    assert!(matches!(x.add(&z), Err(HeError::Incompatible(_))));
    assert!(matches!(x.add(&w), Err(HeError::Incompatible(_))));
    assert_eq!(
        combine_decryption(&a.cpk, &y, &[]).err(),
        Some(HeError::WrongKey)
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

        /// For random inputs, party counts and public scale factors, the decrypted
        /// result equals the same computation on plaintexts.
        #[test]
        fn encrypted_arithmetic_equals_plaintext_arithmetic(
            seed in any::<u64>(),
            n in 1u32..5,
            len in 1usize..40,
            k in -50i64..50,
        ) {
            let mut s = setup(n, seed);
            let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0xabcdef);
            let inputs: Vec<Vec<i64>> = (0..n)
                .map(|_| (0..len).map(|_| rand::Rng::random_range(&mut rng, -(1i64 << 36)..=(1i64 << 36)) / 64).collect())
                .collect();
            let cts: Vec<_> = inputs.iter().map(|v| encrypt_i64s(&s.cpk, v, &mut s.rng).expect("enc")).collect();
            let total = Ciphertext::sum(&cts).expect("sum").scale(k).expect("scale");
            let expected: Vec<i64> = (0..len).map(|i| k * inputs.iter().map(|v| v[i]).sum::<i64>()).collect();
            prop_assert_eq!(decrypt_all(&mut s, &total).expect("dec").to_i64s().expect("ints"), expected);
        }

        /// Fixed-point sums are exact in units of 2^-F, also beyond 2^53.
        #[test]
        fn fixed_point_sums_are_exact_in_units_of_the_scale(
            seed in any::<u64>(),
            values in proptest::collection::vec(-1.0e9f64..1.0e9, 1..20),
        ) {
            let mut s = setup(2, seed);
            let f = FixedPoint::new(20).expect("f");
            let a = encrypt_fixed(&s.cpk, &values, f, &mut s.rng).expect("enc");
            let b = encrypt_fixed(&s.cpk, &values, f, &mut s.rng).expect("enc");
            let out = decrypt_all(&mut s, &a.add(&b).expect("add")).expect("dec").to_f64s().expect("f64");
            for (o, v) in out.iter().zip(&values) {
                let q = f.quantize(*v, 0).expect("q");
                prop_assert_eq!(*o, (2 * i128::from(q)) as f64 / 2f64.powi(20));
            }
        }
    }
}
