//! Zero-concentrated differential privacy (rho-zCDP, Bun and Steinke 2016) accounting:
//! the rho of our mechanisms, composition, and conversion to (epsilon, delta)-DP.
//!
//! Rounding: every function returns a value rounded toward MORE privacy loss (rho and
//! epsilon up, sigma up, a rho budget derived from (epsilon, delta) down), as OpenDP does.
//! Floating-point steps are followed by `next_up` and a final relative margin of 1e-12
//! covers the few ulps of `ln`/`exp`/`sqrt`.
//!
//! Conversion to (epsilon, delta): the tight bound of Canonne, Kamath and Steinke 2020
//! (Proposition 12 / Corollary 13; the same bound as Asoodeh et al. 2021):
//! epsilon = inf over alpha > 1 of
//! alpha rho + (ln(1/delta) + (alpha - 1) ln(1 - 1/alpha) - ln(alpha)) / (alpha - 1),
//! minimised numerically (any alpha gives a valid bound, so an imperfect minimiser only
//! over-reports epsilon) and never worse than the classic rho + 2 sqrt(rho ln(1/delta)).

use crate::error::{DpError, non_negative, positive, probability};

/// Relative safety margin applied after transcendental functions.
const MARGIN: f64 = 1e-12;

fn round_up(x: f64) -> f64 {
    (x * (1.0 + MARGIN)).next_up()
}

fn round_down(x: f64) -> f64 {
    (x * (1.0 - MARGIN)).next_down().max(0.0)
}

/// rho of the (multivariate) discrete Gaussian mechanism with per-coordinate scale `sigma`
/// on an integer-valued query with L2 sensitivity `l2_sensitivity`: Delta^2 / (2 sigma^2)
/// (CKS20 Theorem 14; Renyi divergences of independent coordinates add).
pub fn rho_discrete_gaussian(l2_sensitivity: f64, sigma: f64) -> f64 {
    let (Ok(delta), Ok(sigma)) = (
        non_negative("l2_sensitivity", l2_sensitivity),
        positive("sigma", sigma),
    ) else {
        return f64::INFINITY;
    };
    let squared = (delta * delta).next_up();
    let denominator = (2.0 * sigma * sigma).next_down();
    round_up(squared / denominator)
}

/// The smallest sigma (rounded up) for which the discrete Gaussian with L2 sensitivity
/// `l2_sensitivity` is `rho`-zCDP: Delta / sqrt(2 rho). Returns infinity for rho <= 0.
pub fn sigma_for_rho(l2_sensitivity: f64, rho: f64) -> f64 {
    let (Ok(delta), Ok(rho)) = (
        non_negative("l2_sensitivity", l2_sensitivity),
        positive("rho", rho),
    ) else {
        return f64::INFINITY;
    };
    round_up(delta / (2.0 * rho).next_down().sqrt())
}

/// The (epsilon, delta)-DP epsilon implied by rho-zCDP (CKS20 Corollary 13), rounded up.
/// Returns infinity for invalid inputs (rho < 0 or NaN, delta outside (0, 1)).
pub fn rho_to_epsilon(rho: f64, delta: f64) -> f64 {
    let (Ok(rho), Ok(delta)) = (non_negative("rho", rho), probability("delta", delta)) else {
        return f64::INFINITY;
    };
    if rho == 0.0 {
        return 0.0;
    }
    let log_inverse_delta = -delta.ln();
    let classic = rho + 2.0 * (rho * log_inverse_delta).sqrt();
    let best_alpha = minimise_over_alpha(|alpha| epsilon_at_alpha(rho, log_inverse_delta, alpha));
    let tight = epsilon_at_alpha(rho, log_inverse_delta, best_alpha);
    round_up(tight.min(classic).max(0.0))
}

/// The CKS20 bound at one Renyi order alpha > 1.
fn epsilon_at_alpha(rho: f64, log_inverse_delta: f64, alpha: f64) -> f64 {
    let am1 = alpha - 1.0;
    alpha * rho + (log_inverse_delta + am1 * (-1.0 / alpha).ln_1p() - alpha.ln()) / am1
}

/// Golden-section search for the minimising alpha over ln(alpha - 1) in [-30, 60].
fn minimise_over_alpha(f: impl Fn(f64) -> f64) -> f64 {
    let to_alpha = |u: f64| 1.0 + u.exp();
    let (mut lo, mut hi) = (-30.0f64, 60.0f64);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut x1 = hi - ratio * (hi - lo);
    let mut x2 = lo + ratio * (hi - lo);
    let (mut f1, mut f2) = (f(to_alpha(x1)), f(to_alpha(x2)));
    for _ in 0..200 {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - ratio * (hi - lo);
            f1 = f(to_alpha(x1));
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + ratio * (hi - lo);
            f2 = f(to_alpha(x2));
        }
    }
    to_alpha((lo + hi) / 2.0)
}

/// The largest rho (rounded down) whose conversion [`rho_to_epsilon`] at `delta` is at most
/// `epsilon`: the zCDP budget that honours an (epsilon, delta) promise.
pub fn epsilon_delta_to_rho(epsilon: f64, delta: f64) -> Result<f64, DpError> {
    let epsilon = positive("epsilon", epsilon)?;
    let delta = probability("delta", delta)?;
    // rho <= epsilon always satisfies nothing in general, but epsilon(rho) >= rho, so the
    // answer lies in [0, epsilon].
    let (mut lo, mut hi) = (0.0f64, epsilon);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if rho_to_epsilon(mid, delta) <= epsilon {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(round_down(lo))
}

/// Sequential composition: the rho of running all mechanisms is the sum (rounded up).
pub fn compose(rhos: &[f64]) -> f64 {
    let mut total = 0.0f64;
    for &rho in rhos {
        if !(rho.is_finite() && rho >= 0.0) {
            return f64::INFINITY;
        }
        total = (total + rho).next_up();
    }
    total
}

/// rho of the symmetric Skellam mechanism with total noise variance `variance` (= 2 mu) on
/// an integer query with sensitivities `l1_sensitivity`, `l2_sensitivity`.
///
/// Agarwal, Kairouz and Liu 2021 ("The Skellam Mechanism for Differentially Private
/// Federated Learning", Theorem 3.5) give the RDP curve
/// eps(alpha) = alpha D2^2 / (2V) + min(((2 alpha - 1) D2^2 + 6 D1) / (4 V^2), 3 D1 / (2V)).
/// For alpha >= 1, (2 alpha - 1) <= 2 alpha and constants c <= alpha c, so eps(alpha) <= alpha rho
/// with rho = D2^2 / (2V) + min((D2^2 + 3 D1) / (2 V^2), 3 D1 / (2V)), the zCDP we report.
pub fn rho_skellam(l1_sensitivity: f64, l2_sensitivity: f64, variance: f64) -> f64 {
    let (Ok(d1), Ok(d2), Ok(v)) = (
        non_negative("l1_sensitivity", l1_sensitivity),
        non_negative("l2_sensitivity", l2_sensitivity),
        positive("variance", variance),
    ) else {
        return f64::INFINITY;
    };
    let main = d2 * d2 / (2.0 * v);
    let correction = ((d2 * d2 + 3.0 * d1) / (2.0 * v * v)).min(3.0 * d1 / (2.0 * v));
    round_up(main + correction)
}

/// rho of the distributed discrete Gaussian: the sum of `shares` independent
/// N_Z(0, sigma_share^2)^dimension vectors added to an integer query with sensitivities
/// D1, D2 (Kairouz, Liu and Steinke 2021, Proposition 14 / Theorem 1):
/// rho = 1/2 min(D2^2/(n s^2) + 2 D1 tau / (sqrt(n) s) + tau^2 d, (D2 / (sqrt(n) s) + tau sqrt(d))^2)
/// with tau = 10 sum_{k=1}^{n-1} exp(-2 pi^2 s^2 k / (k + 1)). Requires sigma_share >= 1/2.
pub fn rho_distributed_discrete_gaussian(
    l1_sensitivity: f64,
    l2_sensitivity: f64,
    sigma_share: f64,
    shares: usize,
    dimension: usize,
) -> f64 {
    let (Ok(d1), Ok(d2), Ok(s)) = (
        non_negative("l1_sensitivity", l1_sensitivity),
        non_negative("l2_sensitivity", l2_sensitivity),
        positive("sigma", sigma_share),
    ) else {
        return f64::INFINITY;
    };
    if shares == 0 || s < 0.5 {
        return f64::INFINITY;
    }
    let n = shares as f64;
    let d = dimension.max(1) as f64;
    let tau: f64 = 10.0
        * (1..shares)
            .map(|k| {
                let k = k as f64;
                (-2.0 * std::f64::consts::PI.powi(2) * s * s * k / (k + 1.0)).exp()
            })
            .sum::<f64>();
    let scale = n.sqrt() * s;
    let first = d2 * d2 / (scale * scale) + 2.0 * d1 * tau / scale + tau * tau * d;
    let second = (d2 / scale + tau * d.sqrt()).powi(2);
    round_up(0.5 * first.min(second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_rho_and_sigma_are_inverse_and_conservative() {
        let sigma = sigma_for_rho(1.0, 0.5);
        assert!((1.0..1.0 + 1e-9).contains(&sigma));
        assert!(rho_discrete_gaussian(1.0, sigma) <= 0.5 * (1.0 + 1e-9));
        assert!(rho_discrete_gaussian(1.0, 1.0) >= 0.5);
        assert_eq!(sigma_for_rho(1.0, 0.0), f64::INFINITY);
    }

    #[test]
    fn composition_adds() {
        let total = compose(&[0.1, 0.2, 0.3]);
        assert!((0.6..0.6 + 1e-12).contains(&total));
        assert_eq!(compose(&[0.1, f64::NAN]), f64::INFINITY);
    }

    #[test]
    fn invalid_conversions_are_infinite_or_errors() {
        assert_eq!(rho_to_epsilon(-1.0, 1e-6), f64::INFINITY);
        assert_eq!(rho_to_epsilon(1.0, 0.0), f64::INFINITY);
        assert_eq!(rho_to_epsilon(0.0, 1e-6), 0.0);
        assert!(epsilon_delta_to_rho(1.0, 2.0).is_err());
    }
}
