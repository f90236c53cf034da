//! Exact samplers of Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential
//! Privacy" (NeurIPS 2020, arXiv:2004.00010): Bernoulli(exp(-gamma)), discrete Laplace and
//! discrete Gaussian, using only uniform random integers and exact rational arithmetic.
//!
//! Why our own code rather than OpenDP's: OpenDP 0.16 draws its randomness from a global
//! thread RNG (no RNG parameter), which breaks our rule that randomness is an input, and it
//! cannot replay published sample vectors. This module follows Algorithms 1-3 of the paper
//! step for step and consumes random bytes exactly as libprio-rs 0.18 does (32-bit words,
//! little-endian, reject-and-retry uniform integers), so the prio discrete Gaussian vectors
//! reproduce bit for bit (see `tests/prio_vectors.rs`).
//!
//! Fractions are `num_rational::Ratio<BigUint>`, which keeps every fraction in lowest terms;
//! that matters for replaying vectors because a Bernoulli(p) draw uses p's reduced
//! denominator as the range of its uniform integer.

use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_rational::Ratio;
use num_traits::{One, Zero};
use rand::{CryptoRng, Rng};

/// An exact non-negative rational.
pub(crate) type Rational = Ratio<BigUint>;

/// A uniform integer in `[0, 2^bits)`: `ceil(bits / 32)` little-endian 32-bit words, the top
/// word shifted right to keep `bits mod 32` bits (the libprio-rs / num-bigint layout).
fn uniform_bits<R: Rng + CryptoRng + ?Sized>(rng: &mut R, bits: u64) -> BigUint {
    let (words, rem) = bits.div_rem(&32);
    let len = usize::try_from(words + u64::from(rem > 0)).unwrap_or(usize::MAX);
    let mut bytes = vec![0u8; len * 4];
    rng.fill_bytes(&mut bytes);
    let mut digits: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if let Some(last) = digits.last_mut().filter(|_| rem > 0) {
        *last >>= 32 - rem;
    }
    BigUint::new(digits)
}

/// A uniform integer in `[0, bound)` by rejection; `bound` must be positive.
pub(crate) fn uniform_below<R: Rng + CryptoRng + ?Sized>(rng: &mut R, bound: &BigUint) -> BigUint {
    debug_assert!(!bound.is_zero());
    let bits = bound.bits();
    loop {
        let candidate = uniform_bits(rng, bits);
        if candidate < *bound {
            return candidate;
        }
    }
}

/// Bernoulli(gamma) for a rational `gamma` in [0, 1]: a uniform integer in `{1..=denom}`
/// is at most `numer`.
fn bernoulli<R: Rng + CryptoRng + ?Sized>(gamma: &Rational, rng: &mut R) -> bool {
    let draw = uniform_below(rng, gamma.denom()) + 1u8;
    draw <= *gamma.numer()
}

/// Bernoulli(exp(-gamma)) for gamma in [0, 1] (Algorithm 1, first branch): count the run of
/// successes of Bernoulli(gamma / k), k = 1, 2, ...; the result is whether the run ended at odd k.
fn bernoulli_exp_unit<R: Rng + CryptoRng + ?Sized>(gamma: &Rational, rng: &mut R) -> bool {
    let mut k = BigUint::one();
    loop {
        if bernoulli(&(gamma / k.clone()), rng) {
            k += 1u8;
        } else {
            return k.is_odd();
        }
    }
}

/// Bernoulli(exp(-gamma)) for any rational gamma >= 0 (Algorithm 1): exp(-gamma) is
/// exp(-1)^floor(gamma) * exp(-frac(gamma)), each factor an independent coin.
pub(crate) fn bernoulli_exp<R: Rng + CryptoRng + ?Sized>(gamma: &Rational, rng: &mut R) -> bool {
    let whole = gamma.floor();
    let mut remaining = whole.to_integer();
    let one = Rational::one();
    while !remaining.is_zero() {
        if !bernoulli_exp_unit(&one, rng) {
            return false;
        }
        remaining -= 1u8;
    }
    bernoulli_exp_unit(&(gamma - whole), rng)
}

/// Geometric with success probability 1 - exp(-gamma), gamma = s/t > 0 (Algorithm 2 without
/// its last lines): returns floor((U + t V) / s) with U uniform in [0, t) accepted with
/// probability exp(-U/t) and V geometric with parameter 1 - exp(-1).
fn geometric_exp<R: Rng + CryptoRng + ?Sized>(gamma: &Rational, rng: &mut R) -> BigUint {
    let (s, t) = (gamma.numer(), gamma.denom());
    if gamma.is_zero() {
        return BigUint::zero();
    }
    let mut u = uniform_below(rng, t);
    while !bernoulli_exp_unit(&Rational::new(u.clone(), t.clone()), rng) {
        u = uniform_below(rng, t);
    }
    let mut v = BigUint::zero();
    while bernoulli_exp_unit(&Rational::one(), rng) {
        v += 1u8;
    }
    (u + t * v) / s
}

/// Discrete Laplace with scale `scale` (Algorithm 2): P(x) proportional to exp(-|x| / scale).
pub(crate) fn discrete_laplace<R: Rng + CryptoRng + ?Sized>(
    scale: &Rational,
    rng: &mut R,
) -> BigInt {
    if scale.numer().is_zero() {
        return BigInt::zero();
    }
    let half = Rational::new(BigUint::one(), BigUint::from(2u8));
    let rate = scale.recip();
    loop {
        let negative = bernoulli(&half, rng);
        let magnitude = geometric_exp(&rate, rng);
        if negative && magnitude.is_zero() {
            continue;
        }
        let sign = if negative { Sign::Minus } else { Sign::Plus };
        return BigInt::from_biguint(sign, magnitude);
    }
}

/// Discrete Gaussian N_Z(0, sigma^2) (Algorithm 3): a discrete Laplace proposal with scale
/// t = floor(sigma) + 1, accepted with probability exp(-(|y| - sigma^2/t)^2 / (2 sigma^2)).
pub(crate) fn discrete_gaussian<R: Rng + CryptoRng + ?Sized>(
    sigma: &Rational,
    rng: &mut R,
) -> BigInt {
    if sigma.is_zero() {
        return BigInt::zero();
    }
    let t = sigma.floor() + BigUint::one();
    let variance = sigma * sigma;
    let summand = &variance / &t;
    let inverse_twice_variance = (&variance * BigUint::from(2u8)).recip();
    loop {
        let y = discrete_laplace(&t, rng);
        let y_abs = Rational::from_integer(y.magnitude().clone());
        let distance = if y_abs < summand {
            &summand - &y_abs
        } else {
            &y_abs - &summand
        };
        let bias = &distance * &distance * &inverse_twice_variance;
        if bernoulli_exp(&bias, rng) {
            return y;
        }
    }
}

/// The exact rational value of a finite, non-negative `f64` (every such float is m * 2^e).
pub(crate) fn rational_from_f64(value: f64) -> Option<Rational> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    if value == 0.0 {
        return Some(Rational::zero());
    }
    let bits = value.to_bits();
    let exponent = i64::try_from((bits >> 52) & 0x7ff).ok()?;
    let fraction = bits & ((1u64 << 52) - 1);
    // Subnormals have no implicit leading one and the minimum exponent.
    let (mantissa, power) = if exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exponent - 1075)
    };
    let mantissa = BigUint::from(mantissa);
    let magnitude = u32::try_from(power.unsigned_abs()).ok()?;
    let scale = BigUint::one() << magnitude;
    Some(if power >= 0 {
        Rational::from_integer(mantissa * scale)
    } else {
        Rational::new(mantissa, scale)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn f64_converts_exactly() {
        let half = rational_from_f64(0.5).expect("representable");
        assert_eq!(half, Rational::new(BigUint::one(), BigUint::from(2u8)));
        let big = rational_from_f64(3.0 * 2f64.powi(60)).expect("representable");
        assert_eq!(big, Rational::from_integer(BigUint::from(3u8) << 60u32));
        let tenth = rational_from_f64(0.1).expect("representable");
        // 0.1 is not 1/10 in binary: the exact value has denominator 2^55.
        assert_eq!(tenth.denom(), &(BigUint::one() << 55u32));
        assert!(rational_from_f64(-1.0).is_none());
        assert!(rational_from_f64(f64::NAN).is_none());
    }

    #[test]
    fn bernoulli_exp_frequency_matches_exp() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let gamma = Rational::new(BigUint::from(3u8), BigUint::from(2u8));
        let trials = 20_000;
        let hits = (0..trials)
            .filter(|_| bernoulli_exp(&gamma, &mut rng))
            .count();
        let p = (-1.5f64).exp();
        let sd = (p * (1.0 - p) / f64::from(trials)).sqrt();
        let observed = hits as f64 / f64::from(trials);
        assert!(
            (observed - p).abs() < 5.0 * sd,
            "observed {observed}, expected {p}"
        );
    }

    #[test]
    fn uniform_below_stays_below_and_covers() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let bound = BigUint::from(5u8);
        let mut seen = [0usize; 5];
        for _ in 0..5_000 {
            let x = uniform_below(&mut rng, &bound);
            let index =
                usize::try_from(x.to_u32_digits().first().copied().unwrap_or(0)).unwrap_or(9);
            seen[index] += 1;
        }
        assert!(seen.iter().all(|&c| c > 850 && c < 1150), "{seen:?}");
    }
}
