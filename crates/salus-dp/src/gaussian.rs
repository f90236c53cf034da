//! The discrete Gaussian N_Z(0, sigma^2): P(x) proportional to exp(-x^2 / (2 sigma^2)) on the
//! integers, sampled exactly (no floating point touches the sample) with the CKS20 algorithm.

use num_bigint::{BigInt, BigUint};
use num_rational::Ratio;
use num_traits::ToPrimitive;
use rand::{CryptoRng, Rng};

use crate::cks20::{self, Rational};
use crate::error::DpError;

/// Largest sigma we accept, so that samples fit an `i64` (a sample beyond 2^63 would be more
/// than 2^11 standard deviations out: probability below exp(-2^21)).
pub const MAX_SIGMA: f64 = 4_503_599_627_370_496.0; // 2^52

/// An exact sampler of the discrete Gaussian with scale `sigma` (the standard deviation of
/// the continuous Gaussian it discretises; the discrete variance is slightly below sigma^2).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteGaussian {
    sigma: Rational,
    sigma_f64: f64,
}

impl DiscreteGaussian {
    /// A sampler for `sigma` > 0. The float is converted to the exact rational it denotes
    /// (every finite `f64` is m * 2^e), so no rounding happens here.
    pub fn new(sigma: f64) -> Result<Self, DpError> {
        let sigma = crate::error::positive("sigma", sigma)?;
        if sigma > MAX_SIGMA {
            return Err(DpError::ScaleTooLarge {
                value: sigma,
                limit: MAX_SIGMA,
            });
        }
        let exact = cks20::rational_from_f64(sigma).ok_or(DpError::InvalidParameter {
            name: "sigma",
            requirement: "> 0",
            value: sigma,
        })?;
        Ok(Self {
            sigma: exact,
            sigma_f64: sigma,
        })
    }

    /// A sampler for the rational scale `numerator / denominator` (both > 0), e.g. the
    /// `std_num / std_denom` of published test vectors.
    pub fn from_ratio(numerator: u128, denominator: u128) -> Result<Self, DpError> {
        if numerator == 0 || denominator == 0 {
            return Err(DpError::InvalidParameter {
                name: "sigma numerator and denominator",
                requirement: "> 0",
                value: 0.0,
            });
        }
        let sigma = Ratio::new(BigUint::from(numerator), BigUint::from(denominator));
        let sigma_f64 = numerator as f64 / denominator as f64;
        Ok(Self { sigma, sigma_f64 })
    }

    /// Sigma as a float (for reporting and accounting only; sampling uses the exact value).
    pub fn sigma(&self) -> f64 {
        self.sigma_f64
    }

    /// One exact sample as an arbitrary-precision integer.
    pub fn sample_bigint<R: Rng + CryptoRng + ?Sized>(&self, rng: &mut R) -> BigInt {
        cks20::discrete_gaussian(&self.sigma, rng)
    }

    /// One sample as `i64`. For sigma above [`MAX_SIGMA`] (only reachable through
    /// [`DiscreteGaussian::from_ratio`]) a sample that does not fit is redrawn, which changes
    /// the distribution by less than exp(-2^21).
    pub fn sample<R: Rng + CryptoRng + ?Sized>(&self, rng: &mut R) -> i64 {
        loop {
            if let Some(value) = self.sample_bigint(rng).to_i64() {
                return value;
            }
        }
    }

    /// `count` independent samples.
    pub fn sample_vec<R: Rng + CryptoRng + ?Sized>(&self, count: usize, rng: &mut R) -> Vec<i64> {
        (0..count).map(|_| self.sample(rng)).collect()
    }

    /// The exact probability mass at `x` as a float, computed by summing the normaliser
    /// until its terms vanish (for tests and documentation, never for sampling).
    pub fn pmf(&self, x: i64) -> f64 {
        let sigma = self.sigma_f64;
        let weight = |k: f64| (-(k * k) / (2.0 * sigma * sigma)).exp();
        let mut normaliser = 1.0;
        let mut k = 1.0;
        loop {
            let term = 2.0 * weight(k);
            normaliser += term;
            if term < 1e-18 * normaliser {
                break;
            }
            k += 1.0;
        }
        weight(x as f64) / normaliser
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn rejects_bad_sigma() {
        assert!(DiscreteGaussian::new(0.0).is_err());
        assert!(DiscreteGaussian::new(-1.0).is_err());
        assert!(DiscreteGaussian::new(f64::NAN).is_err());
        assert!(DiscreteGaussian::new(1e300).is_err());
        assert!(DiscreteGaussian::from_ratio(0, 1).is_err());
        let ok = DiscreteGaussian::new(2.5).map(|d| d.sigma());
        assert_eq!(ok, Ok(2.5));
    }

    #[test]
    fn pmf_sums_to_one() {
        let dg = DiscreteGaussian::new(3.0).expect("valid sigma");
        let total: f64 = (-60..=60).map(|x| dg.pmf(x)).sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }

    #[test]
    fn samples_are_symmetric_and_reproducible() {
        let dg = DiscreteGaussian::new(4.0).expect("valid sigma");
        let a = dg.sample_vec(200, &mut ChaCha20Rng::seed_from_u64(3));
        let b = dg.sample_vec(200, &mut ChaCha20Rng::seed_from_u64(3));
        assert_eq!(a, b);
        assert!(a.iter().any(|&x| x < 0) && a.iter().any(|&x| x > 0));
    }
}
