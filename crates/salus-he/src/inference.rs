//! Encrypted inference of a linear/logistic model (single-key BFV).
//!
//! Roles: the **data holder** owns a key pair ([`HolderKey`]), standardises its rows with
//! the model's public means/scales, and encrypts them ([`encrypt_features`]). The **model
//! owner** evaluates the linear score on the ciphertexts ([`score_encrypted`]) without
//! learning anything about the rows, and returns a ciphertext only the holder can open
//! ([`decrypt_scores`]). The holder then applies the sigmoid itself, exactly, in plaintext.
//!
//! **Packing.** Row `r` of `d` features occupies polynomial coefficients `r*d .. r*d+d-1`
//! (`floor(8192/d)` rows per block). The model is the plaintext polynomial
//! `W(X) = sum_j W_j X^(-j)`; one ciphertext-plaintext product puts every row's score
//! `sum_j W_j Z_(r,j)` at coefficient `r*d`, with no rotation or relinearisation keys.
//!
//! **Fixed point.** `Z = round(z * 2^16)` with `|z| <= 2^10`, `W = round(w * 2^16)` with
//! `sum |W_j| <= 2^26`, intercept `round(b * 2^32)` with `|b| <= 2^10`. Hence every
//! coefficient stays below `2^52 + 2^42 < t/2` and the decrypted integer equals the
//! plaintext fixed-point score **exactly**. Against the real-valued score `s`, the error is
//! at most `sum_j (|w_j| + |z_j|) 2^-17 + d 2^-34 + 2^-33` ([`quantization_error_bound`]);
//! the sigmoid is 1/4-Lipschitz, so probabilities differ by at most a quarter of that.
//!
//! **Model privacy.** Products leave partial inner products at the non-score coefficients;
//! the model owner overwrites them with uniform random values, adds a fresh encryption of
//! zero, and floods the noise with `2^64 * n * B` (B = worst-case noise before flooding),
//! so the returned ciphertext reveals the scores and nothing else about `W` (up to 2^-64
//! statistical distance), beyond what the scores themselves reveal.

use fhe_math::rq::{Poly, Representation};
use rand::{CryptoRng, Rng};
use zeroize::Zeroizing;

use crate::ciphertext::encrypt_block;
use crate::ciphertext::sealed::Sealed as _;
use crate::encoding::{centre, to_mod_t};
use crate::error::{HeError, Result};
use crate::keys::KeyId;
use crate::keyswitch::{ResearcherKey, ResearcherPublicKey};
use crate::params::{
    DEGREE, PLAINTEXT_MODULUS, Params, STATISTICAL_SECURITY_BITS, fresh_noise_bound,
};
use crate::ring::{poly_from_signed, read_poly, sample_flooding, write_poly};
use crate::wire::{BlobKind, Reader, Writer, serde_as_blob};

/// The data holder's key pair (the same single-key BFV key as a researcher's).
pub type HolderKey = ResearcherKey;

/// Fractional bits of encrypted features.
pub const FEATURE_FRAC_BITS: u32 = 16;
/// Fractional bits of model weights.
pub const WEIGHT_FRAC_BITS: u32 = 16;
/// Largest standardised feature magnitude.
pub const MAX_ABS_FEATURE: f64 = 1024.0;
/// Largest `sum_j |W_j|` of the quantised weights.
pub const MAX_WEIGHT_L1: u64 = 1 << 26;
/// Largest intercept magnitude.
pub const MAX_ABS_INTERCEPT: f64 = 1024.0;

/// Worst-case noise before flooding: `B1 * L1 + L1 + 3` (product, two plaintext additions
/// and the rounding of the product), with `B1` the fresh single-key noise.
fn pre_flood_noise() -> u128 {
    let l1 = u128::from(MAX_WEIGHT_L1);
    fresh_noise_bound(1) * l1 + l1 + 3
}

fn inference_flooding_bound() -> u128 {
    (1u128 << STATISTICAL_SECURITY_BITS) * DEGREE as u128 * pre_flood_noise()
}

/// Rows packed into polynomial coefficients and encrypted under the holder's key.
#[derive(Clone)]
pub struct EncryptedFeatures {
    params: Params,
    key_id: KeyId,
    rows: u32,
    dim: u32,
    blocks: Vec<[Poly; 2]>,
}

/// Encrypted linear scores, one per row; only the holder can decrypt them.
#[derive(Clone)]
pub struct EncryptedScores {
    params: Params,
    key_id: KeyId,
    rows: u32,
    dim: u32,
    blocks: Vec<[Poly; 2]>,
}

impl std::fmt::Debug for EncryptedFeatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedFeatures")
            .field("rows", &self.rows)
            .field("dim", &self.dim)
            .finish()
    }
}

impl std::fmt::Debug for EncryptedScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedScores")
            .field("rows", &self.rows)
            .finish()
    }
}

fn rows_per_block(dim: usize) -> usize {
    DEGREE / dim
}

/// Quantises one standardised feature, refusing out-of-range values (by position only).
pub fn quantize_feature(z: f64, row: usize, col: usize) -> Result<i64> {
    if !z.is_finite() || z.abs() > MAX_ABS_FEATURE {
        return Err(HeError::Inference(format!(
            "standardised feature at row {row}, column {col} is not finite or exceeds +-{MAX_ABS_FEATURE}"
        )));
    }
    Ok((z * f64::from(1u32 << FEATURE_FRAC_BITS)).round() as i64)
}

/// Quantises the model, checking the limits that keep scores exact.
pub fn quantize_model(weights: &[f64], intercept: f64) -> Result<(Vec<i64>, i64)> {
    let scale = f64::from(1u32 << WEIGHT_FRAC_BITS);
    let w: Vec<i64> = weights.iter().map(|w| (w * scale).round() as i64).collect();
    let l1: u64 = w.iter().map(|w| w.unsigned_abs()).sum();
    if weights.iter().any(|w| !w.is_finite()) || l1 > MAX_WEIGHT_L1 {
        return Err(HeError::Inference(format!(
            "weights must be finite with sum |w| <= {}",
            MAX_WEIGHT_L1 >> WEIGHT_FRAC_BITS
        )));
    }
    if !intercept.is_finite() || intercept.abs() > MAX_ABS_INTERCEPT {
        return Err(HeError::Inference(format!(
            "intercept must be finite and within +-{MAX_ABS_INTERCEPT}"
        )));
    }
    let b = (intercept * 2f64.powi((FEATURE_FRAC_BITS + WEIGHT_FRAC_BITS) as i32)).round() as i64;
    Ok((w, b))
}

/// The fixed-point score the encrypted pipeline computes, in plaintext (scale 2^-32).
pub fn plaintext_fixed_score(z: &[f64], weights: &[f64], intercept: f64) -> Result<i64> {
    let (w, b) = quantize_model(weights, intercept)?;
    let mut acc = i128::from(b);
    for (col, (zj, wj)) in z.iter().zip(&w).enumerate() {
        acc += i128::from(quantize_feature(*zj, 0, col)?) * i128::from(*wj);
    }
    i64::try_from(acc).map_err(|_| HeError::Inference("score out of range".into()))
}

/// Bound on `|fixed-point score - real score|` for one row.
pub fn quantization_error_bound(z: &[f64], weights: &[f64]) -> f64 {
    let half_f = 2f64.powi(-(FEATURE_FRAC_BITS as i32) - 1);
    let half_w = 2f64.powi(-(WEIGHT_FRAC_BITS as i32) - 1);
    let per: f64 = z
        .iter()
        .zip(weights)
        .map(|(z, w)| w.abs() * half_f + z.abs() * half_w + half_f * half_w)
        .sum();
    per + 2f64.powi(-((FEATURE_FRAC_BITS + WEIGHT_FRAC_BITS) as i32) - 1)
}

/// Encrypts standardised rows (all of the same length) under the holder's public key.
pub fn encrypt_features<R: Rng + CryptoRng>(
    key: &ResearcherPublicKey,
    rows: &[Vec<f64>],
    rng: &mut R,
) -> Result<EncryptedFeatures> {
    let dim = rows.first().map_or(0, Vec::len);
    if dim == 0 || dim > DEGREE || rows.iter().any(|r| r.len() != dim) {
        return Err(HeError::Inference(
            "rows must be non-empty and of equal length".into(),
        ));
    }
    let view = key.view();
    let per_block = rows_per_block(dim);
    let mut blocks = Vec::new();
    for (b, chunk) in rows.chunks(per_block).enumerate() {
        let mut coeffs = Zeroizing::new(vec![0u64; DEGREE]);
        for (r, row) in chunk.iter().enumerate() {
            for (j, z) in row.iter().enumerate() {
                coeffs[r * dim + j] = to_mod_t(quantize_feature(*z, b * per_block + r, j)?);
            }
        }
        blocks.push(encrypt_block(&view, &coeffs, rng)?);
    }
    Ok(EncryptedFeatures {
        params: view.params.clone(),
        key_id: view.key_id,
        rows: count(rows.len())?,
        dim: count(dim)?,
        blocks,
    })
}

fn count(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| HeError::Inference("too many rows".into()))
}

/// The model owner's step: evaluates `intercept + sum_j w_j z_j` on every encrypted row,
/// masks everything but the scores, re-randomises and floods the result.
pub fn score_encrypted<R: Rng + CryptoRng>(
    holder: &ResearcherPublicKey,
    features: &EncryptedFeatures,
    weights: &[f64],
    intercept: f64,
    rng: &mut R,
) -> Result<EncryptedScores> {
    if holder.key_id() != features.key_id {
        return Err(HeError::WrongKey);
    }
    let dim = features.dim as usize;
    if weights.len() != dim {
        return Err(HeError::Inference(format!(
            "model has {} weights, features have {dim}",
            weights.len()
        )));
    }
    let (w, b) = quantize_model(weights, intercept)?;
    let params = &features.params;
    let model_poly = model_polynomial(params, &w)?;
    let per_block = rows_per_block(dim);
    let view = holder.view();
    let mut blocks = Vec::with_capacity(features.blocks.len());
    for (i, [c0, c1]) in features.blocks.iter().enumerate() {
        let rows_here = (features.rows as usize - i * per_block).min(per_block);
        let mut out0 = c0 * &model_poly;
        let mut out1 = c1 * &model_poly;
        out0 += &params.scale_up(&intercept_and_mask(dim, rows_here, b, rng))?;
        let zero = encrypt_block(&view, &[0u64; DEGREE], rng)?;
        out0 += &zero[0];
        out0 += &sample_flooding(params, inference_flooding_bound(), rng)?;
        out1 += &zero[1];
        blocks.push([out0, out1]);
    }
    Ok(EncryptedScores {
        params: params.clone(),
        key_id: features.key_id,
        rows: features.rows,
        dim: features.dim,
        blocks,
    })
}

/// `W(X) = sum_j W_j X^(-j) = W_0 - sum_(j>0) W_j X^(n-j)` in the negacyclic ring.
fn model_polynomial(params: &Params, w: &[i64]) -> Result<Poly> {
    let mut coeffs = vec![0i128; DEGREE];
    for (j, wj) in w.iter().enumerate() {
        if j == 0 {
            coeffs[0] = i128::from(*wj);
        } else {
            coeffs[DEGREE - j] = -i128::from(*wj);
        }
    }
    let mut p = poly_from_signed(params, &coeffs)?;
    p.change_representation(Representation::Ntt);
    Ok(p)
}

/// Plaintext added to the product: the intercept at each score coefficient, uniform
/// random values mod t everywhere else (hiding the partial inner products).
fn intercept_and_mask<R: Rng + CryptoRng>(
    dim: usize,
    rows: usize,
    b: i64,
    rng: &mut R,
) -> Vec<u64> {
    (0..DEGREE)
        .map(|k| {
            if k % dim == 0 && k / dim < rows {
                to_mod_t(b)
            } else {
                rng.random_range(0..PLAINTEXT_MODULUS)
            }
        })
        .collect()
}

/// The holder's step: decrypts the fixed-point scores (scale `2^-32`), exactly.
pub fn decrypt_scores_fixed(key: &HolderKey, scores: &EncryptedScores) -> Result<Vec<i64>> {
    if key.public_key().key_id() != scores.key_id {
        return Err(HeError::WrongKey);
    }
    let dim = scores.dim as usize;
    let per_block = rows_per_block(dim);
    let mut out = Vec::with_capacity(scores.rows as usize);
    for (i, [c0, c1]) in scores.blocks.iter().enumerate() {
        let mut phase = c1 * key.secret();
        phase += c0;
        let coeffs = scores.params.scale_down(&phase)?;
        let rows_here = (scores.rows as usize - i * per_block).min(per_block);
        out.extend((0..rows_here).map(|r| centre(coeffs[r * dim])));
    }
    Ok(out)
}

/// The holder's step: decrypts the real-valued linear scores (logits).
pub fn decrypt_scores(key: &HolderKey, scores: &EncryptedScores) -> Result<Vec<f64>> {
    let scale = 2f64.powi((FEATURE_FRAC_BITS + WEIGHT_FRAC_BITS) as i32);
    Ok(decrypt_scores_fixed(key, scores)?
        .into_iter()
        .map(|s| s as f64 / scale)
        .collect())
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

macro_rules! packed_blob {
    ($t:ident, $kind:expr) => {
        impl $t {
            /// Versioned bytes.
            pub fn to_bytes(&self) -> Vec<u8> {
                let mut w = Writer::with_header($kind, &self.params);
                w.put_raw(&self.key_id.0);
                w.put_u32(self.rows);
                w.put_u32(self.dim);
                w.put_u32(self.blocks.len() as u32);
                for [a, b] in &self.blocks {
                    write_poly(&mut w, a);
                    write_poly(&mut w, b);
                }
                w.into_bytes()
            }

            /// Parses the output of `to_bytes`.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
                let (mut r, params) = Reader::open(bytes, $kind)?;
                let key_id = KeyId(r.get_array()?);
                let rows = r.get_u32()?;
                let dim = r.get_u32()?;
                if rows == 0 || dim == 0 || dim as usize > DEGREE {
                    return Err(HeError::Malformed("rows or dimension"));
                }
                let expected = (rows as usize).div_ceil(rows_per_block(dim as usize));
                let count = r.get_count(expected)?;
                if count != expected {
                    return Err(HeError::Malformed("block count"));
                }
                let mut blocks = Vec::new();
                for _ in 0..count {
                    blocks.push([read_poly(&mut r, &params)?, read_poly(&mut r, &params)?]);
                }
                r.finish()?;
                Ok(Self {
                    params,
                    key_id,
                    rows,
                    dim,
                    blocks,
                })
            }

            /// Number of rows.
            pub fn rows(&self) -> usize {
                self.rows as usize
            }
        }
        serde_as_blob!($t);
    };
}

packed_blob!(EncryptedFeatures, BlobKind::EncryptedFeatures);
packed_blob!(EncryptedScores, BlobKind::EncryptedScores);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flooding_fits_the_single_key_budget() {
        let total = inference_flooding_bound() + pre_flood_noise() + fresh_noise_bound(1);
        assert!((total as f64).log2() < 126.0);
        assert!(crate::params::correct_decryption_log2() > 130.0);
    }

    /// Everything but the score coefficients must be masked: with one row of two
    /// features, coefficient 1 would otherwise hold the partial product `W_0 * Z_1`.
    #[test]
    fn non_score_coefficients_are_masked() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let key = HolderKey::generate(&Params::standard(), &mut rng).expect("key");
        let features =
            encrypt_features(key.public_key(), &[vec![1.0, 1.0]], &mut rng).expect("enc");
        let scores = score_encrypted(key.public_key(), &features, &[1.0, 1.0], 0.0, &mut rng)
            .expect("score");
        let [c0, c1] = &scores.blocks[0];
        let mut phase = c1 * key.secret();
        phase += c0;
        let coeffs = scores.params.scale_down(&phase).expect("decode");
        assert_eq!(centre(coeffs[0]), 2 << 32, "the score itself is exact");
        let unmasked = (1u64 << 32) % PLAINTEXT_MODULUS;
        assert_ne!(coeffs[1], unmasked);
        let mean = coeffs[1..].iter().map(|&c| c as f64).sum::<f64>() / (DEGREE - 1) as f64;
        assert!(
            (mean / PLAINTEXT_MODULUS as f64 - 0.5).abs() < 0.02,
            "masks look uniform"
        );
    }

    #[test]
    fn worst_case_scores_stay_below_half_t() {
        let max_z = (MAX_ABS_FEATURE as u128) << FEATURE_FRAC_BITS;
        let max_b = (MAX_ABS_INTERCEPT as u128) << (FEATURE_FRAC_BITS + WEIGHT_FRAC_BITS);
        assert!(u128::from(MAX_WEIGHT_L1) * max_z + max_b < u128::from(PLAINTEXT_MODULUS / 2));
    }
}
