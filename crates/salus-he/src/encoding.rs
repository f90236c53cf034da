//! Integer and signed fixed-point encodings into SIMD slots (values mod t).
//!
//! **Integers.** Each value must satisfy `|x| <= 2^36` ([`MAX_INT_ABS`]). A ciphertext
//! tracks the total weight of its contributions (`sum |k|` over every fresh encryption
//! scaled by `k`); decryption refuses a weight above [`MAX_WEIGHT`] = 131071, so a sum
//! that decodes is always the exact integer sum: `131071 * 2^36 < (t-1)/2`.
//!
//! **Fixed point.** A real `v` becomes `V = round(v * 2^F)` (`|V| < 2^62`), split into two
//! limbs `V = hi * 2^26 + lo` with `lo` in `[-2^25, 2^25)` and `|hi| <= 2^36`. Each limb
//! has its own slot, so limb sums obey the same weight rule as integers, and
//! `sum V = 2^26 * sum hi + sum lo` is recovered exactly in 128-bit arithmetic.
//! Resolution is `2^-F`; range `|v| < 2^(62-F)` per contribution (for `F = 24`:
//! `|v| < 2.7e11`, resolution `6e-8`). The result is exact up to the final `/ 2^F`
//! conversion to `f64`.

use crate::error::{HeError, Result};
use crate::params::PLAINTEXT_MODULUS;

/// Largest absolute value of one encrypted integer (and of one fixed-point limb).
pub const MAX_INT_ABS: i64 = 1 << 36;
/// Largest total contribution weight that still decodes exactly.
pub const MAX_WEIGHT: u64 = ((PLAINTEXT_MODULUS - 1) / 2) / (MAX_INT_ABS as u64);
/// Bits of the low fixed-point limb.
pub const LIMB_BITS: u32 = 26;
/// Largest number of fractional bits accepted by [`FixedPoint`].
pub const MAX_FRAC_BITS: u8 = 48;

/// What a ciphertext's slots mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Payload {
    /// One signed integer per slot.
    Integers,
    /// Signed fixed point with `frac_bits` fractional bits, two limbs per value.
    Fixed {
        /// Fractional bits F (scale 2^F).
        frac_bits: u8,
    },
}

impl Payload {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Payload::Integers => 0,
            Payload::Fixed { frac_bits } => 1 + frac_bits,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Result<Self> {
        match b {
            0 => Ok(Payload::Integers),
            b if b - 1 <= MAX_FRAC_BITS => Ok(Payload::Fixed { frac_bits: b - 1 }),
            _ => Err(HeError::Malformed("payload kind")),
        }
    }

    /// Slots used for `len` logical values.
    pub(crate) fn slots_for(self, len: usize) -> usize {
        match self {
            Payload::Integers => len,
            Payload::Fixed { .. } => 2 * len,
        }
    }
}

/// A signed fixed-point scale `2^frac_bits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FixedPoint {
    frac_bits: u8,
}

impl FixedPoint {
    /// A scale with `frac_bits` fractional bits (at most [`MAX_FRAC_BITS`]).
    pub fn new(frac_bits: u8) -> Result<Self> {
        if frac_bits > MAX_FRAC_BITS {
            return Err(HeError::Encoding(format!(
                "at most {MAX_FRAC_BITS} fractional bits are supported"
            )));
        }
        Ok(Self { frac_bits })
    }

    /// Fractional bits F.
    pub fn frac_bits(self) -> u8 {
        self.frac_bits
    }

    /// Largest magnitude one contribution may have.
    pub fn max_abs(self) -> f64 {
        2f64.powi(62 - i32::from(self.frac_bits))
    }

    /// Rounds `v * 2^F`, refusing non-finite or out-of-range values (by position only).
    pub fn quantize(self, v: f64, position: usize) -> Result<i64> {
        let scaled = (v * 2f64.powi(i32::from(self.frac_bits))).round();
        if !scaled.is_finite() || scaled.abs() >= 2f64.powi(62) {
            return Err(HeError::Encoding(format!(
                "value at position {position} is not finite or exceeds the fixed-point range of +-{:e}",
                self.max_abs()
            )));
        }
        Ok(scaled as i64)
    }
}

/// Integers to slot values mod t (refuses `|x| > MAX_INT_ABS`, naming only the position).
pub(crate) fn encode_integers(values: &[i64]) -> Result<Vec<u64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if x.unsigned_abs() > MAX_INT_ABS as u64 {
                return Err(HeError::Encoding(format!(
                    "integer at position {i} exceeds +-2^36; use encrypt_fixed with frac_bits 0 for larger values"
                )));
            }
            Ok(to_mod_t(x))
        })
        .collect()
}

/// Reals to slot values: all low limbs, then all high limbs.
pub(crate) fn encode_fixed(values: &[f64], scale: FixedPoint) -> Result<Vec<u64>> {
    let mut lo = Vec::with_capacity(values.len());
    let mut hi = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        let (l, h) = split_limbs(scale.quantize(v, i)?);
        lo.push(to_mod_t(l));
        hi.push(to_mod_t(h));
    }
    lo.extend(hi);
    Ok(lo)
}

/// `V = hi * 2^26 + lo` with `lo` in `[-2^25, 2^25)`.
pub(crate) fn split_limbs(v: i64) -> (i64, i64) {
    let base = 1i64 << LIMB_BITS;
    let lo = (v + base / 2).rem_euclid(base) - base / 2;
    (lo, (v - lo) >> LIMB_BITS)
}

/// Decodes slot values of an integer payload (centred representatives).
pub(crate) fn decode_integers(slots: &[u64]) -> Vec<i64> {
    slots.iter().map(|&s| centre(s)).collect()
}

/// Decodes slot values of a fixed-point payload holding `len` values.
pub(crate) fn decode_fixed(slots: &[u64], len: usize, frac_bits: u8) -> Vec<f64> {
    let denom = 2f64.powi(i32::from(frac_bits));
    (0..len)
        .map(|i| {
            let lo = i128::from(centre(slots[i]));
            let hi = i128::from(centre(slots[len + i]));
            ((hi << LIMB_BITS) + lo) as f64 / denom
        })
        .collect()
}

pub(crate) fn to_mod_t(x: i64) -> u64 {
    i128::from(x).rem_euclid(i128::from(PLAINTEXT_MODULUS)) as u64
}

/// Centred representative in `(-t/2, t/2]`.
pub(crate) fn centre(x: u64) -> i64 {
    if x > PLAINTEXT_MODULUS / 2 {
        -((PLAINTEXT_MODULUS - x) as i64)
    } else {
        x as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn weight_limit_keeps_sums_inside_half_the_modulus() {
        assert_eq!(MAX_WEIGHT, 131_071);
        assert!(u128::from(MAX_WEIGHT) * (1u128 << 36) <= u128::from((PLAINTEXT_MODULUS - 1) / 2));
    }

    #[test]
    fn out_of_range_inputs_are_refused_without_values_in_the_message() {
        let err = encode_integers(&[1, (1 << 36) + 1]).expect_err("too big");
        assert!(err.to_string().contains("position 1"));
        assert!(!err.to_string().contains("68719476737"));
        let f = FixedPoint::new(24).expect("scale");
        assert!(encode_fixed(&[f64::NAN], f).is_err());
        assert!(encode_fixed(&[1e12], f).is_err());
        assert!(FixedPoint::new(49).is_err());
    }

    proptest! {
        #[test]
        fn limbs_recombine_and_stay_small(v in -(1i64 << 62) + 1..(1i64 << 62)) {
            let (lo, hi) = split_limbs(v);
            prop_assert!((-(1 << 25)..(1 << 25)).contains(&lo));
            prop_assert!(hi.abs() <= 1 << 36);
            prop_assert_eq!((i128::from(hi) << 26) + i128::from(lo), i128::from(v));
        }

        #[test]
        fn centre_inverts_to_mod_t(x in -(1i64 << 52)..(1i64 << 52)) {
            prop_assert_eq!(centre(to_mod_t(x)), x);
        }
    }
}
