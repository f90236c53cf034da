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

/// Writes an NTT-form polynomial, each residue packed on 62 bits.
pub(crate) fn write_poly(w: &mut Writer, p: &Poly) {
    let mut p = p.clone();
    p.change_representation(Representation::Ntt);
    let flat = Vec::<u64>::from(&p);
    for (row, q) in flat.chunks(DEGREE).zip(p.ctx().moduli_operators()) {
        w.put_raw(&q.serialize_vec(row));
    }
}

/// Reads a polynomial written by [`write_poly`], refusing out-of-range residues.
pub(crate) fn read_poly(r: &mut Reader<'_>, params: &Params) -> Result<Poly> {
    let mut all = Vec::with_capacity(DEGREE * params.moduli().len());
    for q in params.moduli() {
        let bytes = r.get_raw(q.serialization_length(DEGREE))?;
        let row = q.deserialize_vec(bytes);
        if row.len() != DEGREE || row.iter().any(|x| x >= &**q) {
            return Err(HeError::Malformed("polynomial coefficient out of range"));
        }
        all.extend(row);
    }
    Ok(Poly::try_convert_from(
        all,
        params.ctx(),
        false,
        Representation::Ntt,
    )?)
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
