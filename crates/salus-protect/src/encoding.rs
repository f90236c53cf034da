//! How a contribution vector, shaped by the public [`Layout`], becomes the integers a
//! protocol sums, and how the sum is decoded back into `f64` in layout order.
//!
//! Both modes use the same exact integer representation, so their results are identical:
//! - a **count** is a whole number in `[0, max]` (its segment's declared maximum), summed
//!   exactly (DP noise, an integer, is added to it before protection);
//! - a **real** becomes `V = round(v * 2^40)` as a 128-bit integer (|v| below the wide
//!   encoding's limit, about 2^48 for 64 nodes); the sum of the `V` is exact and divided by
//!   2^40 only at the end, so it is within `n * 2^-41` of the exact real sum.
//!
//! Secure aggregation packs counts with the narrow [`FixedPointEncoder`] (range checked,
//! overflow impossible by construction) and reals with the two-limb [`WideEncoder`] into
//! one vector over Z_2^64: `[counts][real low limbs][real high limbs]`.
//!
//! Threshold HE encrypts signed integers of at most 2^36 per slot, so each value is cut
//! into 32-bit limbs: counts into two (`V mod 2^32`, `V >> 32`), reals into three
//! (`V mod 2^32`, `(V >> 32) mod 2^32`, `V >> 64`). The limb sums of up to 64 parties stay
//! far below the plaintext modulus, and `sum V` is recombined exactly in `i128`.

use salus_secagg::{FixedPointEncoder, Quantity, WideEncoder};
use salus_study::layout::{Layout, SegmentKind};

use crate::error::ProtectError;

/// Fractional bits of real values (resolution 2^-40 = 9.1e-13).
pub const REAL_FRACTIONAL_BITS: u32 = 40;

/// The layout split into its count part and its real part.
#[derive(Debug, Clone)]
pub(crate) struct LayoutCodec {
    layout: Layout,
    counts: usize,
    reals: usize,
    wide: WideEncoder,
}

impl LayoutCodec {
    /// A codec for sums over up to `max_nodes` nodes.
    pub(crate) fn new(layout: &Layout, max_nodes: usize) -> Result<Self, ProtectError> {
        if layout.is_empty() {
            return Err(ProtectError::invalid(
                "the round's layout has no values to aggregate",
            ));
        }
        let (mut counts, mut reals) = (0, 0);
        for segment in &layout.segments {
            match segment.kind {
                SegmentKind::Count { .. } => counts += segment.len,
                SegmentKind::Real => reals += segment.len,
            }
        }
        Ok(Self {
            layout: layout.clone(),
            counts,
            reals,
            wide: WideEncoder::new(REAL_FRACTIONAL_BITS, max_nodes)?,
        })
    }

    /// The layout.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of count values.
    pub(crate) fn count_len(&self) -> usize {
        self.counts
    }

    /// Total number of values.
    pub(crate) fn len(&self) -> usize {
        self.counts + self.reals
    }

    /// Names of the count segments and of the real segments.
    pub(crate) fn segment_names(&self) -> (Vec<String>, Vec<String>) {
        let names = |want_count: bool| {
            self.layout
                .segments
                .iter()
                .filter(|s| matches!(s.kind, SegmentKind::Count { .. }) == want_count)
                .map(|s| s.name.clone())
                .collect()
        };
        (names(true), names(false))
    }

    /// Checks `values` against the layout and splits them into counts (as integers) and
    /// reals. Errors name the segment and position, never the value.
    pub(crate) fn split(&self, values: &[f64]) -> Result<(Vec<i64>, Vec<f64>), ProtectError> {
        if values.len() != self.len() {
            return Err(ProtectError::Contribution(format!(
                "the vector has {} values but the layout needs {}",
                values.len(),
                self.len()
            )));
        }
        let mut counts = Vec::with_capacity(self.counts);
        let mut reals = Vec::with_capacity(self.reals);
        let limit = self.wide.max_abs();
        let mut rest = values;
        for segment in &self.layout.segments {
            let (part, tail) = rest.split_at(segment.len);
            rest = tail;
            for (index, &v) in part.iter().enumerate() {
                match segment.kind {
                    SegmentKind::Count { max } => {
                        if !(v.fract() == 0.0 && v >= 0.0 && v <= max as f64) {
                            return Err(out_of_range(
                                &segment.name,
                                index,
                                &format!("a whole number in [0, {max}]"),
                            ));
                        }
                        counts.push(v as i64);
                    }
                    SegmentKind::Real => {
                        if !(v.is_finite() && v.abs() < limit) {
                            return Err(out_of_range(
                                &segment.name,
                                index,
                                &format!("a finite number below {limit:e} in magnitude"),
                            ));
                        }
                        reals.push(v);
                    }
                }
            }
        }
        Ok((counts, reals))
    }

    /// Puts decoded counts and reals back in layout order.
    pub(crate) fn merge(&self, counts: &[f64], reals: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.len());
        let (mut c, mut r) = (counts.iter(), reals.iter());
        for segment in &self.layout.segments {
            let source = match segment.kind {
                SegmentKind::Count { .. } => &mut c,
                SegmentKind::Real => &mut r,
            };
            out.extend(source.by_ref().take(segment.len).copied());
        }
        out
    }

    /// The narrow encoder of the count segments (secure aggregation), reserving
    /// `noise_bound` units of headroom for DP noise.
    fn narrow(
        &self,
        max_nodes: usize,
        noise_bound: f64,
    ) -> Result<FixedPointEncoder, ProtectError> {
        let quantities = self
            .layout
            .segments
            .iter()
            .filter_map(|s| match s.kind {
                SegmentKind::Count { max } => Some(Quantity::counts(s.name.clone(), s.len, max)),
                SegmentKind::Real => None,
            })
            .collect();
        Ok(FixedPointEncoder::with_noise_headroom(
            quantities,
            max_nodes,
            noise_bound,
        )?)
    }
}

fn out_of_range(segment: &str, index: usize, what: &str) -> ProtectError {
    ProtectError::Contribution(format!(
        "value {index} of segment `{segment}` is not {what}; fix the local computation (values are never clipped)"
    ))
}

/// Secure aggregation's ring encoding: `[counts][real low limbs][real high limbs]`.
#[derive(Debug, Clone)]
pub(crate) struct RingCodec {
    codec: LayoutCodec,
    narrow: FixedPointEncoder,
}

impl RingCodec {
    /// A ring codec for `max_nodes` nodes with `noise_bound` units of DP headroom per count.
    pub(crate) fn new(
        codec: LayoutCodec,
        max_nodes: usize,
        noise_bound: f64,
    ) -> Result<Self, ProtectError> {
        let narrow = codec.narrow(max_nodes, noise_bound)?;
        Ok(Self { codec, narrow })
    }

    /// The layout codec.
    pub(crate) fn layout(&self) -> &LayoutCodec {
        &self.codec
    }

    /// Ring elements per vector.
    pub(crate) fn dimension(&self) -> usize {
        self.codec.counts + 2 * self.codec.reals
    }

    /// Encodes a contribution, adding `noise` (one integer per count) to the counts.
    pub(crate) fn encode(
        &self,
        counts: &[i64],
        reals: &[f64],
        noise: Option<&[i64]>,
    ) -> Result<Vec<u64>, ProtectError> {
        let as_f64: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        let mut ring = self.narrow.encode(&as_f64)?;
        if let Some(noise) = noise {
            for (value, n) in ring.iter_mut().zip(noise) {
                *value = value.wrapping_add(*n as u64);
            }
        }
        ring.extend(self.codec.wide.encode("real segments", reals)?);
        Ok(ring)
    }

    /// Decodes a summed ring vector into layout order.
    pub(crate) fn decode(&self, sum: &[u64]) -> Result<Vec<f64>, ProtectError> {
        if sum.len() != self.dimension() {
            return Err(ProtectError::malformed(format!(
                "the aggregate has {} ring elements, the layout needs {}",
                sum.len(),
                self.dimension()
            )));
        }
        let (count_part, real_part) = sum.split_at(self.codec.counts);
        let counts: Vec<f64> = count_part.iter().map(|&v| v as i64 as f64).collect();
        let reals = self.codec.wide.decode(real_part)?;
        Ok(self.codec.merge(&counts, &reals))
    }
}

const LIMB: u32 = 32;
const LIMB_MASK: i128 = (1 << LIMB) - 1;

/// Threshold HE's limb encoding: `[count lo][count hi][real l0][real l1][real l2]`.
pub(crate) fn he_limbs(codec: &LayoutCodec, counts: &[i64], reals: &[f64]) -> Vec<i64> {
    let scale = 2f64.powi(REAL_FRACTIONAL_BITS as i32);
    let mut limbs = Vec::with_capacity(2 * counts.len() + 3 * reals.len());
    let wide: Vec<i128> = counts.iter().map(|&c| i128::from(c)).collect();
    limbs.extend(wide.iter().map(|v| (v & LIMB_MASK) as i64));
    limbs.extend(wide.iter().map(|v| (v >> LIMB) as i64));
    // Same rounding as the wide ring encoding, so both modes sum identical integers.
    let scaled: Vec<i128> = reals.iter().map(|v| (v * scale).round() as i128).collect();
    limbs.extend(scaled.iter().map(|v| (v & LIMB_MASK) as i64));
    limbs.extend(scaled.iter().map(|v| ((v >> LIMB) & LIMB_MASK) as i64));
    limbs.extend(scaled.iter().map(|v| (v >> (2 * LIMB)) as i64));
    debug_assert_eq!(limbs.len(), he_limb_count(codec));
    limbs
}

/// Number of HE limbs for a layout.
pub(crate) fn he_limb_count(codec: &LayoutCodec) -> usize {
    2 * codec.counts + 3 * codec.reals
}

/// Recombines summed limbs into layout order.
pub(crate) fn he_decode(codec: &LayoutCodec, limbs: &[i64]) -> Result<Vec<f64>, ProtectError> {
    if limbs.len() != he_limb_count(codec) {
        return Err(ProtectError::EncryptedSum(format!(
            "the decrypted sum has {} limbs, the layout needs {}",
            limbs.len(),
            he_limb_count(codec)
        )));
    }
    let (c, r) = (codec.counts, codec.reals);
    let (count_limbs, real_limbs) = limbs.split_at(2 * c);
    let counts: Vec<f64> = (0..c)
        .map(|i| (i128::from(count_limbs[c + i]) << LIMB) + i128::from(count_limbs[i]))
        .map(|v| v as f64)
        .collect();
    let scale = 2f64.powi(REAL_FRACTIONAL_BITS as i32);
    let reals: Vec<f64> = (0..r)
        .map(|i| {
            (i128::from(real_limbs[2 * r + i]) << (2 * LIMB))
                + (i128::from(real_limbs[r + i]) << LIMB)
                + i128::from(real_limbs[i])
        })
        .map(|v| v as f64 / scale)
        .collect();
    Ok(codec.merge(&counts, &reals))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::default()
            .counts("n", 2)
            .reals("sum", 2)
            .counts("events", 1)
    }

    #[test]
    fn ring_and_limb_encodings_sum_to_the_same_values() {
        let codec = LayoutCodec::new(&layout(), 3).expect("valid");
        let ring = RingCodec::new(codec.clone(), 3, 0.0).expect("fits");
        let rows = [
            [3.0, 0.0, -1.25, 1e9, 7.0],
            [5.0, 2.0, 0.5, -3e9 + 0.125, 0.0],
        ];
        let mut ring_sum = vec![0u64; ring.dimension()];
        let mut limb_sum = vec![0i64; he_limb_count(&codec)];
        for row in &rows {
            let (counts, reals) = codec.split(row).expect("fits");
            let encoded = ring.encode(&counts, &reals, None).expect("in range");
            ring_sum
                .iter_mut()
                .zip(encoded)
                .for_each(|(s, v)| *s = s.wrapping_add(v));
            limb_sum
                .iter_mut()
                .zip(he_limbs(&codec, &counts, &reals))
                .for_each(|(s, v)| *s += v);
        }
        let expected = vec![8.0, 2.0, -0.75, -2e9 + 0.125, 7.0];
        assert_eq!(ring.decode(&ring_sum).expect("length"), expected);
        assert_eq!(he_decode(&codec, &limb_sum).expect("length"), expected);
    }

    #[test]
    fn negative_noisy_counts_and_large_reals_recombine() {
        let codec =
            LayoutCodec::new(&Layout::default().counts("n", 1).reals("x", 1), 64).expect("valid");
        let limbs = he_limbs(&codec, &[-5], &[-(2f64.powi(47)) + 0.5]);
        assert!(limbs.iter().all(|l| l.unsigned_abs() <= 1 << 32));
        assert_eq!(
            he_decode(&codec, &limbs).expect("length"),
            vec![-5.0, -(2f64.powi(47)) + 0.5]
        );
    }

    #[test]
    fn errors_name_segment_and_position_but_not_the_value() {
        let codec = LayoutCodec::new(&layout(), 3).expect("valid");
        let text = codec
            .split(&[3.0, 2.5, 0.0, 0.0, 1.0])
            .expect_err("fraction")
            .to_string();
        assert!(
            text.contains("value 1 of segment `n`") && !text.contains("2.5"),
            "{text}"
        );
        let text = codec
            .split(&[3.0, 2.0, f64::NAN, 0.0, 1.0])
            .expect_err("nan")
            .to_string();
        assert!(text.contains("segment `sum`"), "{text}");
        assert!(codec.split(&[1.0]).is_err());
        assert!(codec.split(&[-1.0, 0.0, 0.0, 0.0, 0.0]).is_err());
        assert!(LayoutCodec::new(&Layout::default(), 3).is_err());
    }
}
