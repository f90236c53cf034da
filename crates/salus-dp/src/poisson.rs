//! Exact Poisson and symmetric Skellam samplers for a rational mean, using only uniform random
//! integers and exact integer arithmetic (no floating point touches a sample).
//!
//! # Algorithm (rejection from a flat-top envelope; our construction, proof below)
//! Let lambda = a / b, p_k = e^-lambda lambda^k / k! and m = floor(lambda), the mode, so
//! p_k / p_m <= 1. Pick a half-width w (any w >= 1 is correct; we take ~2 sqrt(lambda) so the
//! expected cost is small), the window [L, R] = [max(0, m - w), m + w], and the ratios
//! r_R = lambda / (R + 1) < 1 and r_L = L / lambda < 1. Because p_{j+1} / p_j = lambda / (j + 1)
//! decreases in j, the envelope h(k) = 1 on the window, r_R^(k - R) right of it and
//! r_L^(L - k) left of it satisfies h(k) >= p_k / p_m for every k >= 0. We propose from h
//! (region picked with its exact rational mass W, r_R / (1 - r_R), r_L / (1 - r_L); uniform in
//! the window; a geometric distance in a tail) and accept with probability
//! (p_k / p_m) / h(k), which is a product of rational factors each <= 1:
//! - window, k > m: prod_{j=m+1..k} lambda / j; k < m: prod_{j=k+1..m} j / lambda;
//! - right tail: (p_R / p_m) prod_{j=R+1..k} (R + 1) / j;
//! - left tail: (p_L / p_m) prod_{j=k+1..L} j / L (and k < 0 is rejected).
//!
//! The accepted k has probability proportional to h(k) (p_k / p_m) / h(k) = p_k / p_m, i.e.
//! exactly Poisson(lambda). Each factor is an independent Bernoulli draw with a short-circuit
//! on the first failure; the expected cost is O(sqrt(lambda)) cheap draws.
//!
//! Parameters are limited (denominator <= 2^24, lambda <= 2^40) so that every intermediate
//! product fits in a `u128`; [`Poisson::new`] rounds a float mean UP to a multiple of 2^-20,
//! which only adds noise.

use rand::{CryptoRng, Rng};

use crate::error::DpError;

/// Largest accepted Poisson mean.
pub const MAX_POISSON_MEAN: f64 = 1_099_511_627_776.0; // 2^40
/// Largest accepted denominator of a rational mean.
pub const MAX_MEAN_DENOMINATOR: u128 = 1 << 24;
/// Float means are rounded up to a multiple of 2^-MEAN_FRACTION_BITS.
const MEAN_FRACTION_BITS: u32 = 20;

/// A uniform integer in `[0, bound)`, `bound > 0`, by masked rejection sampling.
fn uniform_below<R: Rng + CryptoRng + ?Sized>(rng: &mut R, bound: u128) -> u128 {
    debug_assert!(bound > 0);
    let bits = 128 - (bound - 1).leading_zeros();
    loop {
        let candidate = if bits <= 64 {
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            u128::from(rng.next_u64() & mask)
        } else {
            let high = u128::from(rng.next_u64()) & ((1u128 << (bits - 64)) - 1);
            (high << 64) | u128::from(rng.next_u64())
        };
        if candidate < bound {
            return candidate;
        }
    }
}

/// Bernoulli(numerator / denominator) with `numerator <= denominator`, `denominator > 0`.
fn bernoulli<R: Rng + CryptoRng + ?Sized>(rng: &mut R, numerator: u128, denominator: u128) -> bool {
    numerator >= denominator || uniform_below(rng, denominator) < numerator
}

/// An exact sampler of Poisson(numerator / denominator). Deserialisation re-checks the
/// limits, so a stored plan cannot smuggle in parameters that would overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "PoissonParameters", into = "PoissonParameters")]
pub struct Poisson {
    numerator: u128,
    denominator: u128,
}

/// The serialised form of [`Poisson`]: the exact rational mean.
#[derive(serde::Serialize, serde::Deserialize)]
struct PoissonParameters {
    mean_numerator: u128,
    mean_denominator: u128,
}

impl TryFrom<PoissonParameters> for Poisson {
    type Error = DpError;
    fn try_from(p: PoissonParameters) -> Result<Self, DpError> {
        Self::from_ratio(p.mean_numerator, p.mean_denominator)
    }
}

impl From<Poisson> for PoissonParameters {
    fn from(p: Poisson) -> Self {
        Self {
            mean_numerator: p.numerator,
            mean_denominator: p.denominator,
        }
    }
}

impl Poisson {
    /// Poisson with mean `mean` (> 0), rounded UP to the next multiple of 2^-20.
    pub fn new(mean: f64) -> Result<Self, DpError> {
        let mean = crate::error::positive("Poisson mean", mean)?;
        if mean > MAX_POISSON_MEAN {
            return Err(DpError::ScaleTooLarge {
                value: mean,
                limit: MAX_POISSON_MEAN,
            });
        }
        let scaled = (mean * f64::from(1u32 << MEAN_FRACTION_BITS)).ceil();
        // `scaled` is an integer below 2^61, so the cast is exact.
        Self::from_ratio(scaled as u128, 1 << MEAN_FRACTION_BITS)
    }

    /// Poisson with the exact rational mean `numerator / denominator`.
    pub fn from_ratio(numerator: u128, denominator: u128) -> Result<Self, DpError> {
        if numerator == 0 || denominator == 0 || denominator > MAX_MEAN_DENOMINATOR {
            return Err(DpError::InvalidParameter {
                name: "Poisson mean numerator/denominator",
                requirement: "> 0 with denominator <= 2^24",
                value: numerator as f64 / denominator.max(1) as f64,
            });
        }
        let mean = numerator as f64 / denominator as f64;
        if mean > MAX_POISSON_MEAN {
            return Err(DpError::ScaleTooLarge {
                value: mean,
                limit: MAX_POISSON_MEAN,
            });
        }
        Ok(Self {
            numerator,
            denominator,
        })
    }

    /// The mean as a float (reporting only).
    pub fn mean(&self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }

    /// One exact sample.
    pub fn sample<R: Rng + CryptoRng + ?Sized>(&self, rng: &mut R) -> u64 {
        let envelope = Envelope::new(self.numerator, self.denominator);
        loop {
            if let Some(k) = envelope.propose_and_accept(rng) {
                return k;
            }
        }
    }
}

/// The flat-top envelope of the module documentation, for lambda = a / b.
struct Envelope {
    a: u128,
    b: u128,
    mode: u128,
    left: u128,
    right: u128,
}

impl Envelope {
    fn new(a: u128, b: u128) -> Self {
        let mode = a / b;
        let lambda = a as f64 / b as f64;
        // Efficiency only: any half-width >= 1 gives the exact distribution.
        let half_width = (2.0 * lambda.sqrt()).ceil() as u128 + 1;
        Self {
            a,
            b,
            mode,
            left: mode.saturating_sub(half_width),
            right: mode + half_width,
        }
    }

    /// One proposal; `Some(k)` if accepted.
    fn propose_and_accept<R: Rng + CryptoRng + ?Sized>(&self, rng: &mut R) -> Option<u64> {
        let (a, b) = (self.a, self.b);
        let width = self.right - self.left + 1;
        // Tail masses r/(1-r) as fractions: right a / (b(R+1) - a), left bL / (a - bL).
        let right_den = b * (self.right + 1) - a;
        let left_num = b * self.left;
        let left_den = a - left_num; // > 0 because L < lambda
        let common = right_den * left_den;
        let window_mass = width * common;
        let right_mass = a * left_den;
        let left_mass = left_num * right_den;
        let pick = uniform_below(rng, window_mass + right_mass + left_mass);
        let k = if pick < window_mass {
            let k = self.left + uniform_below(rng, width);
            self.accept_window(rng, k).then_some(k)?
        } else if pick < window_mass + right_mass {
            let distance = 1 + geometric(rng, a, b * (self.right + 1));
            let k = self.right + distance;
            (self.accept_window(rng, self.right)
                && all(rng, (self.right + 1)..=k, |j| (self.right + 1, j)))
            .then_some(k)?
        } else {
            let distance = 1 + geometric(rng, left_num, a);
            let k = self.left.checked_sub(distance)?;
            (self.accept_window(rng, self.left)
                && all(rng, (k + 1)..=self.left, |j| (j, self.left)))
            .then_some(k)?
        };
        u64::try_from(k).ok()
    }

    /// Bernoulli(p_k / p_m) as a product of rational coins.
    fn accept_window<R: Rng + CryptoRng + ?Sized>(&self, rng: &mut R, k: u128) -> bool {
        let (a, b, m) = (self.a, self.b, self.mode);
        if k > m {
            all(rng, (m + 1)..=k, |j| (a, b * j))
        } else {
            all(rng, (k + 1)..=m, |j| (b * j, a))
        }
    }
}

/// AND of independent Bernoulli(num / den) coins over `range`, stopping at the first failure.
fn all<R, F>(rng: &mut R, range: std::ops::RangeInclusive<u128>, factor: F) -> bool
where
    R: Rng + CryptoRng + ?Sized,
    F: Fn(u128) -> (u128, u128),
{
    range.into_iter().all(|j| {
        let (numerator, denominator) = factor(j);
        bernoulli(rng, numerator, denominator)
    })
}

/// Number of successes of Bernoulli(num / den) before the first failure (num < den).
fn geometric<R: Rng + CryptoRng + ?Sized>(rng: &mut R, numerator: u128, denominator: u128) -> u128 {
    let mut count = 0;
    while bernoulli(rng, numerator, denominator) {
        count += 1;
    }
    count
}

/// The symmetric Skellam distribution Sk(mu) = Poisson(mu) - Poisson(mu): mean 0, variance
/// 2 mu. Sums of independent Skellam variables are Skellam with the summed mu, which is why
/// distributed noise shares add up to exactly the calibrated central noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skellam {
    poisson: Poisson,
}

impl Skellam {
    /// Skellam with Poisson parameter `mu` (variance 2 mu), rounded UP to a multiple of 2^-20.
    pub fn new(mu: f64) -> Result<Self, DpError> {
        Ok(Self {
            poisson: Poisson::new(mu)?,
        })
    }

    /// Skellam with the exact rational Poisson parameter `numerator / denominator`.
    pub fn from_ratio(numerator: u128, denominator: u128) -> Result<Self, DpError> {
        Ok(Self {
            poisson: Poisson::from_ratio(numerator, denominator)?,
        })
    }

    /// The Poisson parameter mu (variance is 2 mu).
    pub fn mu(&self) -> f64 {
        self.poisson.mean()
    }

    /// The variance 2 mu.
    pub fn variance(&self) -> f64 {
        2.0 * self.poisson.mean()
    }

    /// One exact sample.
    pub fn sample<R: Rng + CryptoRng + ?Sized>(&self, rng: &mut R) -> i64 {
        let plus = self.poisson.sample(rng);
        let minus = self.poisson.sample(rng);
        // Both are far below 2^63 (mean <= 2^40), so the difference fits.
        i64::try_from(i128::from(plus) - i128::from(minus)).unwrap_or(0)
    }

    /// `count` independent samples.
    pub fn sample_vec<R: Rng + CryptoRng + ?Sized>(&self, count: usize, rng: &mut R) -> Vec<i64> {
        (0..count).map(|_| self.sample(rng)).collect()
    }
}

/// One exact Skellam(mu) sample (variance 2 mu); see [`Skellam`].
pub fn sample_skellam<R: Rng + CryptoRng + ?Sized>(mu: f64, rng: &mut R) -> Result<i64, DpError> {
    Ok(Skellam::new(mu)?.sample(rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn rounds_mean_up_never_down() {
        let p = Poisson::new(0.1).expect("valid");
        assert!(p.mean() >= 0.1);
        assert!(p.mean() - 0.1 < 1e-6);
        assert!(Poisson::new(0.0).is_err());
        assert!(Poisson::new(1e13).is_err());
        assert!(Poisson::from_ratio(1, 1 << 25).is_err());
    }

    #[test]
    fn uniform_below_handles_wide_bounds() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let bound = (1u128 << 100) + 12345;
        assert!((0..100).all(|_| uniform_below(&mut rng, bound) < bound));
        assert!((0..100).all(|_| uniform_below(&mut rng, 1) == 0));
    }
}
