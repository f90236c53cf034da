//! Sampling and (de)serialization of ring elements (polynomials in RNS/NTT form).
//!
//! Everything random takes the caller's RNG; the CRS polynomial is expanded from a
//! 32-byte seed with ChaCha20, so every party derives the same polynomial.

use fhe_math::rq::traits::TryConvertFrom;
use fhe_math::rq::{Poly, Representation};
use rand::{CryptoRng, Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::error::{HeError, Result};
use crate::params::{DEGREE, Params, VARIANCE};
use crate::wire::{Reader, Writer};

/// A fresh centred-binomial polynomial (secret, error or ephemeral key), NTT form.
pub(crate) fn sample_small<R: Rng + CryptoRng>(params: &Params, rng: &mut R) -> Result<Poly> {
    Ok(Poly::small(
        params.ctx(),
        Representation::Ntt,
        VARIANCE,
        rng,
    )?)
}

/// A uniform polynomial expanded from a public seed (the common reference polynomial).
pub(crate) fn uniform_from_seed(params: &Params, seed: [u8; 32]) -> Result<Poly> {
    let mut prg = ChaCha20Rng::from_seed(seed);
    let mut all = Vec::with_capacity(DEGREE * params.moduli().len());
    for q in params.moduli() {
        all.extend(q.random_vec(DEGREE, &mut prg));
    }
    Ok(Poly::try_convert_from(
        all,
        params.ctx(),
        false,
        Representation::Ntt,
    )?)
}

/// Flooding noise: every coefficient uniform in `[-bound, bound]`, NTT form.
pub(crate) fn sample_flooding<R: Rng + CryptoRng>(
    params: &Params,
    bound: u128,
    rng: &mut R,
) -> Result<Poly> {
    let b = i128::try_from(bound).map_err(|_| HeError::Math("flooding bound too large".into()))?;
    let values: Vec<i128> = (0..DEGREE).map(|_| rng.random_range(-b..=b)).collect();
    let mut p = poly_from_signed(params, &values)?;
    p.change_representation(Representation::Ntt);
    Ok(p)
}

/// A polynomial (power basis) whose integer coefficients are `values`, reduced mod every prime.
pub(crate) fn poly_from_signed(params: &Params, values: &[i128]) -> Result<Poly> {
    let mut all = vec![0u64; DEGREE * params.moduli().len()];
    for (row, q) in all.chunks_mut(DEGREE).zip(params.moduli()) {
        let qi = **q as i128;
        for (slot, v) in row.iter_mut().zip(values) {
            // rem_euclid of an i128 by a 62-bit modulus is in [0, q) and fits in u64.
            *slot = v.rem_euclid(qi) as u64;
        }
    }
    Ok(Poly::try_convert_from(
        all,
        params.ctx(),
        false,
        Representation::PowerBasis,
    )?)
}

/// Writes an NTT-form polynomial, each residue packed on the bit width of its modulus
/// (62 bits for the standard primes), least significant bit first: the same bytes as
/// `fhe_math`'s `Modulus::serialize_vec`, written without the per-byte loop.
pub(crate) fn write_poly(w: &mut Writer, p: &Poly) {
    if *p.representation() == Representation::Ntt {
        write_rows(w, p);
    } else {
        let mut p = p.clone();
        p.change_representation(Representation::Ntt);
        write_rows(w, &p);
    }
}

fn write_rows(w: &mut Writer, p: &Poly) {
    let coefficients = p.coefficients();
    for (row, q) in coefficients.outer_iter().zip(p.ctx().moduli()) {
        let nbits = modulus_bits(*q);
        let out = w.reserve_raw(nbits * DEGREE / 8);
        pack_bits(row.iter().copied(), nbits, out);
    }
}

/// Reads a polynomial written by [`write_poly`], refusing out-of-range residues.
pub(crate) fn read_poly(r: &mut Reader<'_>, params: &Params) -> Result<Poly> {
    let mut all = vec![0u64; DEGREE * params.moduli().len()];
    for (row, q) in all.chunks_mut(DEGREE).zip(params.moduli()) {
        let nbits = modulus_bits(**q);
        let bytes = r.get_raw(nbits * DEGREE / 8)?;
        unpack_bits(bytes, nbits, row);
        if row.iter().any(|x| x >= &**q) {
            return Err(HeError::Malformed("polynomial coefficient out of range"));
        }
    }
    Ok(Poly::try_convert_from(
        all,
        params.ctx(),
        false,
        Representation::Ntt,
    )?)
}

/// Bits needed for residues modulo `q` (as `fhe_math` counts them).
fn modulus_bits(q: u64) -> usize {
    64 - (q - 1).leading_zeros() as usize
}

/// Packs `nbits`-bit values, least significant bit first, into `out` (whose length must
/// be exactly `count * nbits / 8`, with `count * nbits` a multiple of 8).
fn pack_bits(values: impl Iterator<Item = u64>, nbits: usize, out: &mut [u8]) {
    let mask = u64::MAX >> (64 - nbits);
    let mut acc: u128 = 0;
    let mut held = 0usize;
    let mut pos = 0usize;
    for v in values {
        acc |= u128::from(v & mask) << held;
        held += nbits;
        if held >= 64 {
            out[pos..pos + 8].copy_from_slice(&(acc as u64).to_le_bytes());
            pos += 8;
            acc >>= 64;
            held -= 64;
        }
    }
    while held > 0 {
        out[pos] = acc as u8;
        pos += 1;
        acc >>= 8;
        held = held.saturating_sub(8);
    }
    debug_assert_eq!(pos, out.len());
}

/// Inverse of [`pack_bits`]: fills `row` with `nbits`-bit values read from `bytes`.
fn unpack_bits(bytes: &[u8], nbits: usize, row: &mut [u64]) {
    let mask = u64::MAX >> (64 - nbits);
    let mut words = bytes.chunks(8);
    let mut acc: u128 = 0;
    let mut held = 0usize;
    for slot in row.iter_mut() {
        if held < nbits {
            let mut word = [0u8; 8];
            if let Some(chunk) = words.next() {
                word[..chunk.len()].copy_from_slice(chunk);
            }
            acc |= u128::from(u64::from_le_bytes(word)) << held;
            held += 64;
        }
        *slot = (acc as u64) & mask;
        acc >>= nbits;
        held -= nbits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn polynomials_round_trip_through_bytes() {
        let params = Params::standard();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let p = sample_small(&params, &mut rng).expect("sample");
        let mut w = Writer::new();
        write_poly(&mut w, &p);
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), 3 * DEGREE * 62 / 8);
        let mut r = Reader::new(&bytes);
        assert_eq!(read_poly(&mut r, &params).expect("read"), p);
    }

    /// The packed bytes are exactly what `fhe_math` writes, so the format is unchanged.
    #[test]
    fn packing_matches_fhe_math_serialization() {
        let params = Params::standard();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let p = uniform_from_seed(&params, [9; 32]).expect("crs");
        let s = sample_small(&params, &mut rng).expect("sample");
        for poly in [&p, &s] {
            let mut w = Writer::new();
            write_poly(&mut w, poly);
            let ours = w.into_bytes();
            let flat = Vec::<u64>::from(poly);
            let theirs: Vec<u8> = flat
                .chunks(DEGREE)
                .zip(params.moduli())
                .flat_map(|(row, q)| q.serialize_vec(row))
                .collect();
            assert_eq!(ours, theirs);
        }
        for nbits in [1usize, 7, 13, 31, 62, 63, 64] {
            let mask = u64::MAX >> (64 - nbits);
            let values: Vec<u64> = (0..64u64)
                .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask)
                .collect();
            let mut out = vec![0u8; values.len() * nbits / 8];
            pack_bits(values.iter().copied(), nbits, &mut out);
            assert_eq!(out, fhe_util_reference(&values, nbits), "nbits {nbits}");
            let mut back = vec![0u64; values.len()];
            unpack_bits(&out, nbits, &mut back);
            assert_eq!(back, values, "nbits {nbits}");
        }
    }

    /// Byte-at-a-time packing, as in `fhe_util::transcode_to_bytes`.
    fn fhe_util_reference(values: &[u64], nbits: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut acc, mut held) = (0u128, 0usize);
        for v in values {
            acc |= u128::from(*v) << held;
            held += nbits;
            while held >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                held -= 8;
            }
        }
        if held > 0 {
            out.push(acc as u8);
        }
        out
    }

    #[test]
    fn out_of_range_coefficients_are_refused() {
        let params = Params::standard();
        let bytes = vec![0xffu8; 3 * DEGREE * 62 / 8];
        let mut r = Reader::new(&bytes);
        assert!(matches!(
            read_poly(&mut r, &params),
            Err(HeError::Malformed(_))
        ));
    }

    #[test]
    fn the_crs_polynomial_depends_only_on_the_seed() {
        let params = Params::standard();
        let a = uniform_from_seed(&params, [7; 32]).expect("crs");
        assert_eq!(a, uniform_from_seed(&params, [7; 32]).expect("crs"));
        assert_ne!(a, uniform_from_seed(&params, [8; 32]).expect("crs"));
    }
}
