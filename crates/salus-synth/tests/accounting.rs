//! The accountant never under-counts: the recorded total is at least the sum of the parts
//! and never above the budget, for single charges and for whole fits.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_synth::{Accountant, AimOptions, Budget, ColumnSpec, FitOptions, Method, fit};
use salus_table::{Column, Table};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn charges_compose_upward_and_stay_within_budget(budget in 0.01f64..10.0, parts in prop::collection::vec(0.0f64..2.0, 0..40)) {
        let mut accountant = Accountant::new(budget).unwrap();
        let mut accepted = 0.0;
        for (i, rho) in parts.iter().enumerate() {
            let before = accountant.steps().len();
            match accountant.charge(format!("step-{i}"), *rho) {
                Ok(()) => accepted += rho,
                Err(_) => prop_assert_eq!(accountant.steps().len(), before),
            }
            prop_assert!(accountant.spent() >= accepted, "spent {} < parts {}", accountant.spent(), accepted);
            prop_assert!(accountant.spent() <= budget);
        }
    }
}

fn small_table(rows: usize) -> Table {
    let a: Vec<Option<String>> = (0..rows)
        .map(|i| Some(["x", "y", "z"][i % 3].to_string()))
        .collect();
    let b: Vec<Option<f64>> = (0..rows).map(|i| Some((i % 7) as f64 + 20.0)).collect();
    let c: Vec<Option<String>> = (0..rows)
        .map(|i| (i % 5 != 0).then(|| ["p", "q"][(i / 3) % 2].to_string()))
        .collect();
    let d: Vec<Option<f64>> = (0..rows)
        .map(|i| Some((i * 37 % 100) as f64 / 10.0))
        .collect();
    Table::new(vec![
        Column::text("a", a),
        Column::numeric("b", b),
        Column::text("c", c),
        Column::numeric("d", d),
    ])
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn a_fit_never_spends_more_than_its_budget(rho in 0.001f64..4.0, aim in any::<bool>(), public_bounds in any::<bool>(), seed in any::<u64>()) {
        let mut options = FitOptions { method: if aim { Method::Aim } else { Method::Mst }, ..FitOptions::default() };
        options.aim = AimOptions { rounds: Some(6), round_iterations: 30, ..AimOptions::default() };
        options.estimation.max_iterations = 50;
        if public_bounds {
            options.domain.specs = vec![ColumnSpec { name: "d".into(), bounds: Some(("0".into(), "10".into())), ..Default::default() }];
        }
        let table = small_table(3000);
        let result = fit(&table, &Budget::from_rho(rho), &options, &mut ChaCha20Rng::seed_from_u64(seed));
        let model = match result {
            Ok(model) => model,
            // Tiny budgets may not afford private bounds; that must be a clear refusal.
            Err(e) => { prop_assert!(e.to_string().contains("bounds"), "{e}"); return Ok(()); }
        };
        let parts: f64 = model.privacy.steps.iter().map(|s| s.rho).sum();
        prop_assert!(model.privacy.rho_spent >= parts);
        prop_assert!(model.privacy.rho_spent <= rho, "spent {} of {}", model.privacy.rho_spent, rho);
        prop_assert!(model.privacy.rho_spent >= 0.99 * rho, "only {} of {} used", model.privacy.rho_spent, rho);
        let measured = model.privacy.steps.iter().filter(|s| s.label.starts_with("one-way:")).count();
        prop_assert_eq!(measured, 4, "every column's one-way marginal is charged");
        prop_assert_eq!(model.privacy.steps.iter().any(|s| s.label == "bounds:b"), true);
        prop_assert_eq!(model.privacy.steps.iter().any(|s| s.label == "bounds:d"), !public_bounds);
    }
}

#[test]
fn epsilon_delta_budgets_convert_conservatively() {
    for (epsilon, delta) in [(0.3, 1e-9), (1.0, 1e-9), (3.0, 1e-6)] {
        let budget = Budget::from_epsilon_delta(epsilon, delta).unwrap();
        assert!(salus_dp::zcdp::rho_to_epsilon(budget.rho, delta) <= epsilon);
        assert!(budget.rho > 0.0);
    }
    assert!(Budget::from_epsilon_delta(-1.0, 1e-9).is_err());
    assert!(Budget::from_epsilon_delta(1.0, 1.5).is_err());
}
