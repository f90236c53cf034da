//! Properties of the zCDP accounting and the ledger.
//!
//! The (epsilon, delta) conversion is checked against the exact privacy profile of the
//! Gaussian mechanism (Balle and Wang 2018): a rho-zCDP Gaussian with sensitivity 1 has
//! sigma = 1/sqrt(2 rho) and delta(eps) = Phi(1/(2 sigma) - eps sigma) - e^eps Phi(-1/(2 sigma) - eps sigma).
//! Since the conversion must hold for every rho-zCDP mechanism, the Gaussian's true delta at
//! our epsilon must not exceed the target delta; and a tight conversion stays close to it.

use proptest::prelude::*;
use salus_dp::{Ledger, LedgerKey, zcdp};

/// Complementary error function (Numerical Recipes `erfcc`, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn gaussian_delta(rho: f64, epsilon: f64) -> f64 {
    let sigma = 1.0 / (2.0 * rho).sqrt();
    let a = 1.0 / (2.0 * sigma);
    normal_cdf(a - epsilon * sigma) - epsilon.exp() * normal_cdf(-a - epsilon * sigma)
}

#[test]
fn conversion_is_valid_and_close_to_the_exact_gaussian_profile() {
    for rho in [0.01, 0.1, 0.5, 1.0, 2.0] {
        for delta in [1e-3, 1e-5, 1e-7] {
            let epsilon = zcdp::rho_to_epsilon(rho, delta);
            let exact_delta = gaussian_delta(rho, epsilon);
            assert!(
                exact_delta <= delta * (1.0 + 1e-4),
                "rho {rho} delta {delta}: gaussian delta {exact_delta}"
            );
            // Tightness: the Gaussian needs at least ~80% of our epsilon for the same delta.
            let smaller = 0.8 * epsilon;
            assert!(
                gaussian_delta(rho, smaller) > delta,
                "rho {rho} delta {delta}: epsilon {epsilon} is loose"
            );
        }
    }
}

#[test]
fn known_values() {
    // rho = 0.5, delta = 1e-6: the classic bound gives 0.5 + 2 sqrt(0.5 ln 1e6) = 5.757;
    // the CKS20 conversion is markedly tighter.
    let epsilon = zcdp::rho_to_epsilon(0.5, 1e-6);
    let classic = 0.5 + 2.0 * (0.5f64 * 1e6f64.ln()).sqrt();
    assert!((classic - 5.757).abs() < 1e-3);
    assert!(epsilon < classic - 0.3, "{epsilon}");
}

proptest! {
    #[test]
    fn epsilon_is_at_most_the_classic_bound(rho in 1e-6f64..10.0, log_delta in -20.0f64..-1.0) {
        let delta = 10f64.powf(log_delta);
        let epsilon = zcdp::rho_to_epsilon(rho, delta);
        let classic = rho + 2.0 * (rho * (1.0 / delta).ln()).sqrt();
        prop_assert!(epsilon <= classic * (1.0 + 1e-9));
        prop_assert!(epsilon >= rho);
    }

    #[test]
    fn rho_from_epsilon_round_trips_conservatively(epsilon in 0.01f64..20.0, log_delta in -15.0f64..-2.0) {
        let delta = 10f64.powf(log_delta);
        let rho = zcdp::epsilon_delta_to_rho(epsilon, delta).expect("valid inputs");
        prop_assert!(zcdp::rho_to_epsilon(rho, delta) <= epsilon);
        // Not wastefully small: 1% more rho would exceed epsilon... or nearly so.
        prop_assert!(zcdp::rho_to_epsilon(rho * 1.01, delta) > epsilon * 0.999);
    }

    #[test]
    fn sigma_for_rho_is_conservative(l2 in 0.1f64..1e6, rho in 1e-4f64..10.0) {
        let sigma = zcdp::sigma_for_rho(l2, rho);
        prop_assert!(zcdp::rho_discrete_gaussian(l2, sigma) <= rho * (1.0 + 1e-9));
        prop_assert!(zcdp::rho_discrete_gaussian(l2, sigma * 0.999) > rho);
    }

    #[test]
    fn skellam_rho_decreases_with_variance(d in 1.0f64..100.0, v in 1.0f64..1e6) {
        let small = zcdp::rho_skellam(d * d, d, v);
        let large = zcdp::rho_skellam(d * d, d, 2.0 * v);
        prop_assert!(large < small);
        // Never below the Gaussian rho at the same variance.
        prop_assert!(small >= d * d / (2.0 * v));
    }

    #[test]
    fn ledger_is_never_overspent(budget in 0.0f64..5.0, charges in proptest::collection::vec(0.0f64..1.0, 0..40)) {
        let mut ledger = Ledger::new(budget).expect("valid budget");
        let key = LedgerKey::new("d", "r");
        let mut accepted = 0.0;
        for rho in charges {
            let before = ledger.account(&key);
            match ledger.charge(&key, rho) {
                Ok(receipt) => {
                    accepted += receipt.charged_rho;
                    prop_assert!(receipt.charged_rho >= rho);
                    prop_assert!(receipt.spent_rho <= receipt.budget_rho);
                }
                Err(refusal) => {
                    prop_assert_eq!(ledger.account(&key), before);
                    prop_assert!(refusal.spent_rho + refusal.requested_rho > refusal.budget_rho - 1e-12);
                }
            }
        }
        let account = ledger.account(&key);
        prop_assert!(account.spent_units <= account.budget_units);
        prop_assert!((account.spent_rho() - accepted).abs() < 1e-9);
        prop_assert!(account.spent_rho() <= budget);
    }
}
