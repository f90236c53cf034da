//! Encrypted inference on Breast Cancer Wisconsin (Diagnostic): encrypted predictions equal
//! plaintext predictions for every row (see tests/data/PROVENANCE.txt).

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_he::inference::*;
use salus_he::model::LinearModel;
use salus_he::{HeError, Params, ResearcherKey};

const DATA: &str = include_str!("data/breast_cancer.csv");
const MODEL: &str = include_str!("data/breast_cancer_model.json");
const NAMES: &str = include_str!("data/breast_cancer_features.txt");

/// Rows and labels; the first line is scikit-learn's count header.
fn dataset() -> (Vec<Vec<f64>>, Vec<bool>) {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for line in DATA.lines().skip(1) {
        let v: Vec<f64> = line
            .split(',')
            .map(|f| f.parse().expect("number"))
            .collect();
        let (y, x) = v.split_last().expect("row");
        rows.push(x.to_vec());
        labels.push(*y == 1.0);
    }
    (rows, labels)
}

fn model() -> LinearModel {
    serde_json::from_str(MODEL).expect("model json")
}

#[test]
fn committed_model_matches_a_fresh_fit() {
    let (rows, labels) = dataset();
    assert_eq!(rows.len(), 569);
    let names = NAMES.lines().map(str::to_string).collect();
    let fresh = LinearModel::fit_logistic(names, &rows, &labels, 1.0).expect("fit");
    let committed = model();
    assert_eq!(fresh.feature_names, committed.feature_names);
    for (a, b) in fresh.weights.iter().zip(&committed.weights) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    assert!((fresh.intercept - committed.intercept).abs() < 1e-9);
}

#[test]
fn encrypted_predictions_equal_plaintext_predictions_on_every_row() {
    let (rows, labels) = dataset();
    let model = model();
    let z: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| model.standardize(r).expect("z"))
        .collect();
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let holder = ResearcherKey::generate(&Params::standard(), &mut rng).expect("key");
    let features = encrypt_features(holder.public_key(), &z, &mut rng).expect("encrypt");
    let scores = score_encrypted(
        holder.public_key(),
        &features,
        &model.weights,
        model.intercept,
        &mut rng,
    )
    .expect("score");
    let fixed = decrypt_scores_fixed(&holder, &scores).expect("decrypt");
    let logits = decrypt_scores(&holder, &scores).expect("decrypt");
    assert_eq!(fixed.len(), 569);
    let mut correct = 0;
    for (i, row) in z.iter().enumerate() {
        let plain = model.score(row);
        assert_eq!(
            fixed[i],
            plaintext_fixed_score(row, &model.weights, model.intercept).expect("fixed")
        );
        assert_eq!(plain > 0.0, logits[i] > 0.0, "row {i}");
        assert!((plain - logits[i]).abs() <= quantization_error_bound(row, &model.weights));
        assert!(
            (sigmoid(plain) - sigmoid(logits[i])).abs()
                <= quantization_error_bound(row, &model.weights) / 4.0
        );
        correct += usize::from((logits[i] > 0.0) == labels[i]);
    }
    assert!(
        correct as f64 / 569.0 > 0.97,
        "training accuracy {correct}/569"
    );
}

#[test]
fn scores_open_only_with_the_holders_key_and_limits_are_enforced() {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let params = Params::standard();
    let holder = ResearcherKey::generate(&params, &mut rng).expect("key");
    let other = ResearcherKey::generate(&params, &mut rng).expect("key");
    let features =
        encrypt_features(holder.public_key(), &[vec![0.5, -1.0]], &mut rng).expect("enc");
    assert_eq!(
        score_encrypted(other.public_key(), &features, &[1.0, 1.0], 0.0, &mut rng).err(),
        Some(HeError::WrongKey)
    );
    let scores = score_encrypted(holder.public_key(), &features, &[2.0, 0.25], 0.5, &mut rng)
        .expect("score");
    assert_eq!(
        decrypt_scores(&other, &scores).err(),
        Some(HeError::WrongKey)
    );
    assert_eq!(decrypt_scores(&holder, &scores).expect("dec"), vec![1.25]);
    let round_trip = EncryptedScores::from_bytes(&scores.to_bytes()).expect("bytes");
    assert_eq!(
        decrypt_scores(&holder, &round_trip).expect("dec"),
        vec![1.25]
    );
    assert!(encrypt_features(holder.public_key(), &[vec![2000.0]], &mut rng).is_err());
    assert!(
        score_encrypted(
            holder.public_key(),
            &features,
            &[600.0, 600.0],
            0.0,
            &mut rng
        )
        .is_err()
    );
    assert!(score_encrypted(holder.public_key(), &features, &[1.0], 0.0, &mut rng).is_err());
}
