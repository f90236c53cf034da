//! Known-answer tests of our Shamir sharing against the RFC 9591 (FROST) vectors, whose
//! participant shares are evaluations of a published polynomial over the Ed25519 scalar
//! field (see tests/data/frost-rfc9591/PROVENANCE.txt).

use curve25519_dalek::Scalar;
use salus_secagg::shamir;

#[derive(serde::Deserialize)]
struct Vectors {
    config: Config,
    inputs: Inputs,
}

#[derive(serde::Deserialize)]
#[allow(non_snake_case)]
struct Config {
    MIN_PARTICIPANTS: String,
}

#[derive(serde::Deserialize)]
struct Inputs {
    group_secret_key: String,
    share_polynomial_coefficients: Vec<String>,
    participant_shares: Vec<Share>,
}

#[derive(serde::Deserialize)]
struct Share {
    identifier: u32,
    participant_share: String,
}

fn scalar(text: &str) -> Scalar {
    let bytes: [u8; 32] = hex::decode(text)
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    Option::from(Scalar::from_canonical_bytes(bytes)).expect("canonical scalar")
}

fn load(name: &str) -> Vectors {
    let path = format!(
        "{}/tests/data/frost-rfc9591/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("committed vector file"))
        .expect("parses")
}

fn check(name: &str) {
    let vectors = load(name);
    let threshold: usize = vectors.config.MIN_PARTICIPANTS.parse().expect("number");
    let secret = scalar(&vectors.inputs.group_secret_key);
    let coefficients: Vec<Scalar> = std::iter::once(secret)
        .chain(
            vectors
                .inputs
                .share_polynomial_coefficients
                .iter()
                .map(|c| scalar(c)),
        )
        .collect();
    assert_eq!(
        coefficients.len(),
        threshold,
        "{name}: polynomial degree is threshold - 1"
    );
    let shares: Vec<(u32, Scalar)> = vectors
        .inputs
        .participant_shares
        .iter()
        .map(|s| (s.identifier, scalar(&s.participant_share)))
        .collect();
    for (x, expected) in &shares {
        assert_eq!(
            shamir::evaluate(&coefficients, *x),
            *expected,
            "{name}: share of participant {x}"
        );
    }
    // Every window of `threshold` consecutive shares (and the last ones) reconstructs the secret.
    for window in shares.windows(threshold).step_by(7) {
        assert_eq!(
            shamir::reconstruct(window, threshold),
            Some(secret),
            "{name}"
        );
    }
    // All shares together are consistent; a corrupted one is detected.
    assert_eq!(shamir::reconstruct(&shares, threshold), Some(secret));
    let mut corrupted = shares.clone();
    if let Some(last) = corrupted.last_mut() {
        last.1 += Scalar::ONE;
    }
    assert_eq!(shamir::reconstruct(&corrupted, threshold), None);
    // Fewer than threshold shares give nothing.
    assert_eq!(
        shamir::reconstruct(&shares[..threshold - 1], threshold),
        None
    );
}

#[test]
fn ed25519_vectors() {
    check("ed25519-vectors.json");
}

#[test]
fn ed25519_big_identifier_vectors() {
    check("ed25519-vectors-big-identifier.json");
}

#[test]
fn ristretto255_vectors() {
    check("ristretto255-vectors.json");
}

#[test]
fn ristretto255_big_identifier_vectors() {
    check("ristretto255-vectors-big-identifier.json");
}
