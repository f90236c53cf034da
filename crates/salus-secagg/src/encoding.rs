//! Encodings of statistics into the ring Z_2^64 that secure aggregation sums.
//!
//! **Narrow (fixed-point with a declared range).** Each quantity declares a range [min, max]
//! and a number of fractional bits F; a value v becomes round(v * 2^F) as a two's-complement
//! i64. [`FixedPointEncoder::new`] proves up front that `max_nodes` values of every quantity
//! sum without wrapping (max(|min|, |max|) * 2^F * nodes < 2^63, minus headroom for DP
//! noise when planned). A value outside its range is an error naming the quantity and the
//! position, never clipped (Flower silently clips to +-8: PR 4982) and never printed.
//!
//! **Wide (two limbs, for statistics of unknown scale: GLM/Cox gradients and Hessians,
//! risk-set sums).** V = round(v * 2^F) as i128 with F = 40 by default; the low limb
//! V mod 2^32 (in [0, 2^32)) and the high limb floor(V / 2^32) (an i64) are two ring
//! elements. Summing up to 2^31 nodes cannot wrap either limb, and the decoder recombines
//! high * 2^32 + low exactly in i128. Range: |v| < 2^(94 - F - ceil(log2 nodes)) (one bit
//! below 2^(63 + 32 - F - log2 nodes), so that n high limbs, each rounded down, still sum
//! below 2^63).
//! Resolution: each value is rounded to a multiple of 2^-F (F = 40: 9.1e-13 absolute; values
//! with |v| >= 2^(53 - F) = 8192 are not rounded at all, as their f64 is already a multiple of
//! 2^-F), so a sum of n values is within n * 2^-(F+1) of the exact sum; the only further
//! error is the final conversion of the exact i128 sum to f64 (relative 1.1e-16).

use serde::{Deserialize, Serialize};

use crate::error::SecaggError;

/// A named quantity with its declared range and fixed-point precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// Name used in errors (e.g. "age_sum", "histogram:bmi").
    pub name: String,
    /// How many consecutive values this quantity occupies.
    pub len: usize,
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
    /// Fractional bits F: values are rounded to multiples of 2^-F (0 for counts).
    pub fractional_bits: u32,
}

impl Quantity {
    /// A block of `len` counts in [0, max_count].
    pub fn counts(name: impl Into<String>, len: usize, max_count: u64) -> Self {
        Self {
            name: name.into(),
            len,
            min: 0.0,
            max: max_count as f64,
            fractional_bits: 0,
        }
    }

    /// A block of `len` real values in [min, max] with `fractional_bits` of precision.
    pub fn real(
        name: impl Into<String>,
        len: usize,
        min: f64,
        max: f64,
        fractional_bits: u32,
    ) -> Self {
        Self {
            name: name.into(),
            len,
            min,
            max,
            fractional_bits,
        }
    }

    fn scale(&self) -> f64 {
        2f64.powi(self.fractional_bits as i32)
    }

    fn range_text(&self) -> String {
        format!("[{}, {}]", self.min, self.max)
    }
}

/// Narrow fixed-point encoder for a list of quantities laid end to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedPointEncoder {
    quantities: Vec<Quantity>,
    max_nodes: usize,
    noise_headroom: f64,
}

/// Largest |encoded sum| we allow: 2^63 minus nothing (strict inequality below).
const HALF_RING: f64 = 9_223_372_036_854_775_808.0; // 2^63

impl FixedPointEncoder {
    /// An encoder whose sums over up to `max_nodes` nodes can never wrap.
    pub fn new(quantities: Vec<Quantity>, max_nodes: usize) -> Result<Self, SecaggError> {
        Self::with_noise_headroom(quantities, max_nodes, 0.0)
    }

    /// Like [`FixedPointEncoder::new`], also reserving `noise_bound` encoded units for DP noise
    /// in every coordinate of the sum (e.g. 40 standard deviations of the total noise:
    /// exceeded with probability below 10^-340).
    pub fn with_noise_headroom(
        quantities: Vec<Quantity>,
        max_nodes: usize,
        noise_bound: f64,
    ) -> Result<Self, SecaggError> {
        if max_nodes == 0 {
            return Err(SecaggError::InvalidConfig(
                "max_nodes must be at least 1".into(),
            ));
        }
        if !(noise_bound.is_finite() && noise_bound >= 0.0) {
            return Err(SecaggError::InvalidConfig(
                "noise headroom must be finite and >= 0".into(),
            ));
        }
        for q in &quantities {
            check_quantity(q, max_nodes, noise_bound)?;
        }
        Ok(Self {
            quantities,
            max_nodes,
            noise_headroom: noise_bound,
        })
    }

    /// Total number of ring elements.
    pub fn len(&self) -> usize {
        self.quantities.iter().map(|q| q.len).sum()
    }

    /// Whether there are no values at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The quantities, in order.
    pub fn quantities(&self) -> &[Quantity] {
        &self.quantities
    }

    /// Encodes `values` (laid out like the quantities). Errors name the first value outside
    /// its range (or not finite).
    pub fn encode(&self, values: &[f64]) -> Result<Vec<u64>, SecaggError> {
        if values.len() != self.len() {
            return Err(SecaggError::WrongLength {
                what: "values to encode",
                got: values.len(),
                expected: self.len(),
            });
        }
        let mut out = Vec::with_capacity(values.len());
        let mut rest = values;
        for q in &self.quantities {
            let (block, tail) = rest.split_at(q.len);
            rest = tail;
            for (index, &v) in block.iter().enumerate() {
                if !(v.is_finite() && v >= q.min && v <= q.max) {
                    return Err(SecaggError::OutOfRange {
                        quantity: q.name.clone(),
                        index,
                        range: q.range_text(),
                    });
                }
                out.push(((v * q.scale()).round() as i64) as u64);
            }
        }
        Ok(out)
    }

    /// Decodes an aggregated sum back to real values.
    pub fn decode(&self, sum: &[u64]) -> Result<Vec<f64>, SecaggError> {
        if sum.len() != self.len() {
            return Err(SecaggError::WrongLength {
                what: "sum to decode",
                got: sum.len(),
                expected: self.len(),
            });
        }
        let mut out = Vec::with_capacity(sum.len());
        let mut rest = sum;
        for q in &self.quantities {
            let (block, tail) = rest.split_at(q.len);
            rest = tail;
            out.extend(block.iter().map(|&v| v as i64 as f64 / q.scale()));
        }
        Ok(out)
    }

    /// Decodes a sum of counts exactly (as signed integers; DP noise may make them negative).
    pub fn decode_integers(&self, sum: &[u64]) -> Vec<i64> {
        sum.iter().map(|&v| v as i64).collect()
    }

    /// The declared maximum number of nodes.
    pub fn max_nodes(&self) -> usize {
        self.max_nodes
    }

    /// The reserved noise headroom (encoded units).
    pub fn noise_headroom(&self) -> f64 {
        self.noise_headroom
    }
}

fn check_quantity(q: &Quantity, max_nodes: usize, noise_bound: f64) -> Result<(), SecaggError> {
    let overflow = |reason: String| SecaggError::Overflow {
        quantity: q.name.clone(),
        reason,
    };
    if !(q.min.is_finite() && q.max.is_finite() && q.min <= q.max) {
        return Err(overflow(format!(
            "its range {} is not a finite interval",
            q.range_text()
        )));
    }
    if q.fractional_bits > 62 {
        return Err(overflow(format!(
            "{} fractional bits is more than 62",
            q.fractional_bits
        )));
    }
    let magnitude = q.min.abs().max(q.max.abs()) * q.scale();
    let worst = (magnitude + 1.0) * max_nodes as f64 + noise_bound;
    if worst >= HALF_RING {
        return Err(overflow(format!(
            "{} nodes x range {} x 2^{} (+ noise headroom {noise_bound}) reaches 2^63; \
             narrow the range, use fewer fractional bits, or use the wide encoding",
            max_nodes,
            q.range_text(),
            q.fractional_bits
        )));
    }
    Ok(())
}

/// Wide two-limb encoder for real values of unknown scale (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WideEncoder {
    fractional_bits: u32,
    max_nodes: usize,
}

impl WideEncoder {
    /// Default fractional bits (resolution 2^-40 = 9.1e-13).
    pub const DEFAULT_FRACTIONAL_BITS: u32 = 40;

    /// A wide encoder for sums over up to `max_nodes` (<= 2^31) nodes.
    pub fn new(fractional_bits: u32, max_nodes: usize) -> Result<Self, SecaggError> {
        if max_nodes == 0 || max_nodes > 1 << 31 {
            return Err(SecaggError::InvalidConfig(
                "the wide encoding supports 1 to 2^31 nodes".into(),
            ));
        }
        if fractional_bits > 80 {
            return Err(SecaggError::InvalidConfig(
                "the wide encoding supports at most 80 fractional bits".into(),
            ));
        }
        Ok(Self {
            fractional_bits,
            max_nodes,
        })
    }

    /// The largest |v| accepted (exclusive): 2^(94 - F - ceil(log2 nodes)).
    pub fn max_abs(&self) -> f64 {
        let log_nodes = usize::BITS - (self.max_nodes - 1).leading_zeros();
        2f64.powi(94 - self.fractional_bits as i32 - log_nodes as i32)
    }

    /// The resolution 2^-F.
    pub fn resolution(&self) -> f64 {
        2f64.powi(-(self.fractional_bits as i32))
    }

    /// Encodes `values` as 2 * len ring elements: all low limbs, then all high limbs.
    /// `quantity` names the block in errors.
    pub fn encode(&self, quantity: &str, values: &[f64]) -> Result<Vec<u64>, SecaggError> {
        let limit = self.max_abs();
        let scale = 2f64.powi(self.fractional_bits as i32);
        let mut low = Vec::with_capacity(values.len() * 2);
        let mut high = Vec::with_capacity(values.len());
        for (index, &v) in values.iter().enumerate() {
            if !(v.is_finite() && v.abs() < limit) {
                return Err(SecaggError::OutOfRange {
                    quantity: quantity.to_string(),
                    index,
                    range: format!("(-{limit:e}, {limit:e}) of the wide encoding"),
                });
            }
            let scaled = (v * scale).round() as i128;
            low.push((scaled & 0xffff_ffff) as u64);
            high.push((scaled >> 32) as i64 as u64);
        }
        low.extend(high);
        Ok(low)
    }

    /// Decodes a summed two-limb vector (length 2 * len) back to reals.
    pub fn decode(&self, sum: &[u64]) -> Result<Vec<f64>, SecaggError> {
        if !sum.len().is_multiple_of(2) {
            return Err(SecaggError::WrongLength {
                what: "wide sum (two limbs per value)",
                got: sum.len(),
                expected: sum.len() + 1,
            });
        }
        let (low, high) = sum.split_at(sum.len() / 2);
        let scale = 2f64.powi(self.fractional_bits as i32);
        Ok(low
            .iter()
            .zip(high)
            .map(|(&l, &h)| {
                let exact = (i128::from(h as i64) << 32) + i128::from(l);
                exact as f64 / scale
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_round_trips_and_refuses_out_of_range() {
        let encoder = FixedPointEncoder::new(
            vec![
                Quantity::counts("n", 2, 1_000_000),
                Quantity::real("bmi_sum", 1, -10.0, 80.0, 16),
            ],
            100,
        )
        .expect("fits");
        let a = encoder.encode(&[3.0, 4.0, 21.5]).expect("in range");
        let b = encoder.encode(&[1.0, 0.0, -2.25]).expect("in range");
        let sum: Vec<u64> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
        assert_eq!(encoder.decode(&sum).expect("length"), vec![4.0, 4.0, 19.25]);
        let error = encoder.encode(&[3.0, 4.0, 81.0]).expect_err("out of range");
        let text = error.to_string();
        assert!(
            text.contains("bmi_sum") && text.contains("value 0") && !text.contains("81"),
            "{text}"
        );
        assert!(encoder.encode(&[f64::NAN, 0.0, 0.0]).is_err());
    }

    #[test]
    fn narrow_rejects_ranges_that_could_overflow() {
        let huge = Quantity::real("x", 1, -1e12, 1e12, 20);
        assert!(FixedPointEncoder::new(vec![huge.clone()], 1_000_000).is_err());
        assert!(FixedPointEncoder::new(vec![huge], 1).is_ok());
    }

    #[test]
    fn wide_round_trips_signed_values_and_sums() {
        let encoder = WideEncoder::new(40, 1000).expect("valid");
        let values = [-3.75, 1e9, -1e-9, 0.0, 123_456.789];
        let encoded = encoder.encode("gradient", &values).expect("in range");
        let decoded = encoder.decode(&encoded).expect("even length");
        for (v, d) in values.iter().zip(&decoded) {
            assert!((v - d).abs() <= encoder.resolution(), "{v} vs {d}");
        }
        let twice: Vec<u64> = encoded.iter().map(|x| x.wrapping_mul(2)).collect();
        let summed = encoder.decode(&twice).expect("even length");
        assert!((summed[1] - 2e9).abs() < 1e-6);
        assert!(encoder.encode("gradient", &[encoder.max_abs()]).is_err());
    }
}
