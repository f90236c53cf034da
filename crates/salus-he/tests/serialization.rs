//! Versioned serialization: round trips, and refusal of other versions, kinds, parameter
//! sets, truncation and trailing bytes.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_he::*;

struct World {
    cpk: CollectivePublicKey,
    parties: Vec<Party>,
    ct: Ciphertext,
    researcher: ResearcherKey,
    rng: ChaCha20Rng,
}

fn world() -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(31);
    let params = Params::standard();
    let crs = Crs::derive(&params, b"serialization").expect("crs");
    let mut parties: Vec<Party> = (1..=2)
        .map(|i| Party::new(i, &params, &crs, &mut rng).expect("party"))
        .collect();
    let shares: Vec<_> = parties.iter().map(Party::public_key_share).collect();
    let cpk = CollectivePublicKey::combine(&shares).expect("cpk");
    for p in &mut parties {
        p.confirm_collective_key(&cpk).expect("confirm");
    }
    let ct = encrypt_i64s(&cpk, &[3, -4], &mut rng).expect("enc");
    let researcher = ResearcherKey::generate(&params, &mut rng).expect("rk");
    World {
        cpk,
        parties,
        ct,
        researcher,
        rng,
    }
}

/// Every refusal a blob of kind `T` must make when its header is altered.
fn assert_header_checks<T>(bytes: &[u8], parse: impl Fn(&[u8]) -> Result<T, HeError>) {
    let mut v = bytes.to_vec();
    v[4] = 2;
    assert_eq!(
        parse(&v).err(),
        Some(HeError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );
    let mut v = bytes.to_vec();
    v[6] = 77;
    assert_eq!(parse(&v).err(), Some(HeError::UnknownParamSet(77)));
    let mut v = bytes.to_vec();
    v[0] = b'X';
    assert_eq!(parse(&v).err(), Some(HeError::NotSalusHe));
    assert_eq!(
        parse(&bytes[..bytes.len() - 1]).err(),
        Some(HeError::Malformed("truncated"))
    );
    let mut v = bytes.to_vec();
    v.push(0);
    assert_eq!(parse(&v).err(), Some(HeError::Malformed("trailing bytes")));
}

#[test]
fn every_blob_round_trips_and_checks_its_header() {
    let mut w = world();
    let ct_bytes = w.ct.to_bytes();
    assert_eq!(
        Ciphertext::from_bytes(&ct_bytes).expect("ct").to_bytes(),
        ct_bytes
    );
    assert_header_checks(&ct_bytes, Ciphertext::from_bytes);

    let cpk_bytes = w.cpk.to_bytes();
    let cpk = CollectivePublicKey::from_bytes(&cpk_bytes).expect("cpk");
    assert_eq!(cpk.key_id(), w.cpk.key_id());
    assert_header_checks(&cpk_bytes, CollectivePublicKey::from_bytes);

    let share = w.parties[0].public_key_share().to_bytes();
    assert_eq!(
        PublicKeyShare::from_bytes(&share)
            .expect("share")
            .to_bytes(),
        share
    );
    assert_header_checks(&share, PublicKeyShare::from_bytes);

    let dec = w.parties[0]
        .decryption_share(&w.ct, &mut w.rng)
        .expect("share")
        .to_bytes();
    assert_eq!(
        DecryptionShare::from_bytes(&dec).expect("share").to_bytes(),
        dec
    );
    assert_header_checks(&dec, DecryptionShare::from_bytes);

    let ks = w.parties[0]
        .key_switch_share(&w.ct, w.researcher.public_key(), &mut w.rng)
        .expect("ks")
        .to_bytes();
    assert_eq!(KeySwitchShare::from_bytes(&ks).expect("ks").to_bytes(), ks);
    assert_header_checks(&ks, KeySwitchShare::from_bytes);

    let rpk = w.researcher.public_key().to_bytes();
    assert_eq!(
        ResearcherPublicKey::from_bytes(&rpk)
            .expect("rpk")
            .to_bytes(),
        rpk
    );
    assert_header_checks(&rpk, ResearcherPublicKey::from_bytes);

    let rsk = w.researcher.to_secret_bytes();
    assert_header_checks(&rsk, ResearcherKey::from_secret_bytes);
    let psk = w.parties[0].to_secret_bytes();
    assert_header_checks(&psk, Party::from_secret_bytes);
    let crs = Crs::derive(&Params::standard(), b"x")
        .expect("crs")
        .to_bytes();
    assert_header_checks(&crs, Crs::from_bytes);
}

#[test]
fn a_blob_of_another_kind_is_refused_by_name() {
    let w = world();
    assert_eq!(
        DecryptionShare::from_bytes(&w.ct.to_bytes()).err(),
        Some(HeError::WrongBlobKind {
            expected: "decryption share",
            found: "ciphertext"
        })
    );
    assert!(CollectivePublicKey::from_bytes(&w.researcher.public_key().to_bytes()).is_err());
}

#[test]
fn restored_parties_and_keys_still_decrypt() {
    let mut w = world();
    let restored: Vec<Party> = w
        .parties
        .iter()
        .map(|p| Party::from_secret_bytes(&p.to_secret_bytes()).expect("restore"))
        .collect();
    let shares: Vec<_> = restored
        .iter()
        .map(|p| p.decryption_share(&w.ct, &mut w.rng).expect("share"))
        .collect();
    let out = combine_decryption(&w.cpk, &w.ct, &shares)
        .expect("dec")
        .to_i64s()
        .expect("ints");
    assert_eq!(out, vec![3, -4]);

    let rk = ResearcherKey::from_secret_bytes(&w.researcher.to_secret_bytes()).expect("restore");
    let mine = encrypt_i64s(w.researcher.public_key(), &[9], &mut w.rng).expect("enc");
    assert_eq!(rk.decrypt_i64s(&mine).expect("dec"), vec![9]);
}

#[test]
fn serde_json_carries_blobs_as_base64() {
    let w = world();
    let json = serde_json::to_string(&w.ct).expect("json");
    assert!(json.starts_with('"'));
    let back: Ciphertext = serde_json::from_str(&json).expect("parse");
    assert_eq!(back.to_bytes(), w.ct.to_bytes());
    let cpk: CollectivePublicKey =
        serde_json::from_str(&serde_json::to_string(&w.cpk).expect("json")).expect("parse");
    assert_eq!(cpk.key_id(), w.cpk.key_id());
    assert!(serde_json::from_str::<Ciphertext>("\"U0xIRQIE\"").is_err());
}

#[test]
fn tampered_metadata_cannot_pass_the_integrity_check() {
    let mut w = world();
    let mut bytes = w.ct.to_bytes();
    // Layout: header 7, key id 32, key kind 1 + 4, payload 1, len 4, noise 16, weight 8, check 8.
    let check_at = 7 + 32 + 5 + 1 + 4 + 16 + 8;
    bytes[check_at] ^= 1;
    let forged = Ciphertext::from_bytes(&bytes).expect("parses");
    let shares: Vec<_> = w
        .parties
        .iter()
        .map(|p| p.decryption_share(&forged, &mut w.rng).expect("share"))
        .collect();
    assert_eq!(
        combine_decryption(&w.cpk, &forged, &shares).err(),
        Some(HeError::IntegrityCheckFailed)
    );
}
