//! The exponential mechanism, sampled exactly.
//!
//! MST and AIM select marginals with the exponential mechanism. Peers sample it with
//! floating-point `exp` and `random()`, which leaks through rounding (Mironov 2012; Ilvento
//! 2020). Here every probability is an exact rational: a candidate is proposed uniformly and
//! accepted with probability exp(-gamma), gamma = epsilon (best - score) / (2 sensitivity),
//! using the Bernoulli(exp(-gamma)) algorithm of Canonne, Kamath and Steinke (2020,
//! Algorithm 1) on exact rationals. Accepted proposals are distributed exactly as the
//! exponential mechanism (rejection sampling with acceptance proportional to the target).
//!
//! Privacy: epsilon-DP, and (being epsilon-bounded-range) epsilon^2 / 8 - zCDP (Cesar and
//! Rogers 2021), the conversion AIM and MST use.

use num_bigint::{BigInt, BigUint};
use num_rational::{BigRational, Ratio};
use num_traits::{One, Signed, Zero};
use rand::{CryptoRng, Rng};

use crate::error::{Result, SynthError};

type Unsigned = Ratio<BigUint>;

/// rho (zCDP) of one exponential-mechanism selection with parameter `epsilon`.
pub(crate) fn exponential_rho(epsilon: f64) -> f64 {
    (epsilon * epsilon / 8.0).next_up()
}

/// The epsilon of an exponential mechanism that costs `rho` zCDP.
pub(crate) fn epsilon_for_rho(rho: f64) -> f64 {
    (8.0 * rho * (1.0 - 1e-12)).sqrt().next_down()
}

/// Samples index i with probability proportional to exp(epsilon * scores[i] / (2 sensitivity)).
pub(crate) fn exponential_mechanism<R: Rng + CryptoRng + ?Sized>(
    scores: &[f64],
    epsilon: f64,
    sensitivity: f64,
    rng: &mut R,
) -> Result<usize> {
    let invalid = |what: &str| SynthError::Privacy(format!("exponential mechanism: {what}"));
    if scores.is_empty() {
        return Err(invalid("no candidates"));
    }
    let exact = |x: f64, what: &str| BigRational::from_float(x).ok_or_else(|| invalid(what));
    let epsilon = exact(epsilon, "epsilon must be finite")?;
    let sensitivity = exact(sensitivity, "sensitivity must be finite")?;
    if !epsilon.is_positive() || !sensitivity.is_positive() {
        return Err(invalid("epsilon and sensitivity must be positive"));
    }
    let scores: Vec<BigRational> = scores
        .iter()
        .map(|&s| exact(s, "scores must be finite"))
        .collect::<Result<_>>()?;
    let best = scores
        .iter()
        .max()
        .cloned()
        .unwrap_or_else(BigRational::zero);
    let scale = epsilon / (sensitivity * BigRational::from_integer(BigInt::from(2)));
    let gammas: Vec<Unsigned> = scores
        .iter()
        .map(|s| to_unsigned(&((&best - s) * &scale)))
        .collect();
    loop {
        let candidate = rng.random_range(0..gammas.len());
        if bernoulli_exp(&gammas[candidate], rng) {
            return Ok(candidate);
        }
    }
}

fn to_unsigned(x: &BigRational) -> Unsigned {
    let numer = x.numer().abs().to_biguint().unwrap_or_default();
    let denom = x.denom().abs().to_biguint().unwrap_or_else(BigUint::one);
    Ratio::new(numer, denom)
}

/// Bernoulli(exp(-gamma)) for a rational gamma >= 0 (CKS20 Algorithm 1).
pub(crate) fn bernoulli_exp<R: Rng + CryptoRng + ?Sized>(gamma: &Unsigned, rng: &mut R) -> bool {
    let whole = gamma.to_integer();
    let one = Unsigned::one();
    let mut remaining = whole.clone();
    while !remaining.is_zero() {
        if !bernoulli_exp_unit(&one, rng) {
            return false;
        }
        remaining -= 1u32;
    }
    bernoulli_exp_unit(&(gamma - Unsigned::from_integer(whole)), rng)
}

/// Bernoulli(exp(-gamma)) for gamma in [0, 1].
fn bernoulli_exp_unit<R: Rng + CryptoRng + ?Sized>(gamma: &Unsigned, rng: &mut R) -> bool {
    let mut k = BigUint::one();
    loop {
        let p = gamma / Unsigned::from_integer(k.clone());
        if !bernoulli(&p, rng) {
            break;
        }
        k += 1u32;
    }
    &k % 2u32 == BigUint::one()
}

/// Bernoulli(p) for a rational p in [0, 1].
fn bernoulli<R: Rng + CryptoRng + ?Sized>(p: &Unsigned, rng: &mut R) -> bool {
    uniform_below(p.denom(), rng) < *p.numer()
}

/// A uniform integer in [0, bound) by rejection on random bits.
fn uniform_below<R: Rng + CryptoRng + ?Sized>(bound: &BigUint, rng: &mut R) -> BigUint {
    let bits = bound.bits();
    if bits == 0 {
        return BigUint::zero();
    }
    let bytes = bits.div_ceil(8) as usize;
    let spare = (bytes as u64 * 8 - bits) as u32;
    let mut buffer = vec![0u8; bytes];
    loop {
        rng.fill_bytes(&mut buffer);
        // Little-endian: the last byte is the most significant; drop the excess bits.
        if let Some(top) = buffer.last_mut() {
            *top &= 0xFFu8 >> spare;
        }
        let candidate = BigUint::from_bytes_le(&buffer);
        if candidate < *bound {
            return candidate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn bernoulli_exp_has_the_right_mean() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        for (num, den) in [(1u32, 2u32), (3, 1), (7, 3)] {
            let gamma = Unsigned::new(BigUint::from(num), BigUint::from(den));
            let n = 20_000;
            let hits = (0..n).filter(|_| bernoulli_exp(&gamma, &mut rng)).count() as f64 / n as f64;
            let expected = (-f64::from(num) / f64::from(den)).exp();
            let tolerance = 5.0 * (expected * (1.0 - expected) / n as f64).sqrt();
            assert!(
                (hits - expected).abs() < tolerance,
                "{num}/{den}: {hits} vs {expected}"
            );
        }
    }

    #[test]
    fn exponential_mechanism_passes_a_chi_square_test() {
        let scores = [0.0, 1.0, 2.5, -1.0];
        let (epsilon, sensitivity) = (2.0f64, 1.0f64);
        let weights: Vec<f64> = scores
            .iter()
            .map(|s| (epsilon * s / (2.0 * sensitivity)).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let n = 20_000;
        let mut counts = [0usize; 4];
        for _ in 0..n {
            counts[exponential_mechanism(&scores, epsilon, sensitivity, &mut rng).unwrap()] += 1;
        }
        let chi2: f64 = counts
            .iter()
            .zip(&weights)
            .map(|(&c, w)| {
                let e = n as f64 * w / total;
                (c as f64 - e).powi(2) / e
            })
            .sum();
        // 3 degrees of freedom: P(chi2 > 16.27) = 0.001.
        assert!(chi2 < 16.27, "chi2 = {chi2}, counts {counts:?}");
        assert!(exponential_mechanism(&[], 1.0, 1.0, &mut rng).is_err());
        assert!(exponential_mechanism(&[1.0], 0.0, 1.0, &mut rng).is_err());
        assert!(exponential_rho(epsilon_for_rho(0.3)) <= 0.3);
    }
}
