//! The privacy accountant of one synthesis run: a rho-zCDP budget and the list of steps
//! charged against it. Every measurement and selection step is charged *before* its noisy
//! output exists; a step that would overspend is refused. Totals are composed with
//! `salus_dp::zcdp::compose`, which rounds up, so the recorded total never under-counts.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SynthError};

/// One charged step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What was measured or selected, e.g. `one-way:age`, `select:round-3`.
    pub label: String,
    /// Its rho (zCDP).
    pub rho: f64,
}

/// A rho-zCDP budget and what has been spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accountant {
    budget: f64,
    steps: Vec<Step>,
}

/// Planned shares are shrunk by this factor so that rounding (sigma rounded up, rho rounded
/// up) never pushes the sum of the parts above the budget.
pub(crate) const PLAN_SAFETY: f64 = 1.0 - 1e-9;

impl Accountant {
    /// A fresh accountant with `budget_rho` > 0.
    pub fn new(budget_rho: f64) -> Result<Self> {
        if !(budget_rho.is_finite() && budget_rho > 0.0) {
            return Err(SynthError::Privacy(format!(
                "the rho budget must be a positive finite number; got {budget_rho}"
            )));
        }
        Ok(Accountant {
            budget: budget_rho,
            steps: Vec::new(),
        })
    }

    /// The total budget.
    pub fn budget(&self) -> f64 {
        self.budget
    }

    /// Total spent: the zCDP composition of all steps, rounded up.
    pub fn spent(&self) -> f64 {
        let rhos: Vec<f64> = self.steps.iter().map(|s| s.rho).collect();
        salus_dp::zcdp::compose(&rhos)
    }

    /// What is left (never negative).
    pub fn remaining(&self) -> f64 {
        (self.budget - self.spent()).max(0.0)
    }

    /// The charged steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Charges `rho` for `label`, or refuses (and records nothing) when the composed total
    /// would exceed the budget or `rho` is not a finite non-negative number.
    pub fn charge(&mut self, label: impl Into<String>, rho: f64) -> Result<()> {
        let label = label.into();
        if !(rho.is_finite() && rho >= 0.0) {
            return Err(SynthError::Privacy(format!(
                "step `{label}` has an invalid rho {rho}"
            )));
        }
        let mut rhos: Vec<f64> = self.steps.iter().map(|s| s.rho).collect();
        rhos.push(rho);
        if salus_dp::zcdp::compose(&rhos) > self.budget {
            return Err(SynthError::BudgetExceeded {
                step: label,
                requested: rho,
                remaining: self.remaining(),
                budget: self.budget,
            });
        }
        self.steps.push(Step { label, rho });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_overspending_and_records_nothing() {
        let mut acc = Accountant::new(1.0).unwrap();
        acc.charge("a", 0.6).unwrap();
        let err = acc.charge("b", 0.5).unwrap_err();
        assert!(err.to_string().contains("budget exceeded"), "{err}");
        assert_eq!(acc.steps().len(), 1);
        acc.charge("c", 0.4 * PLAN_SAFETY).unwrap();
        assert!(acc.spent() <= 1.0);
        assert!(acc.charge("nan", f64::NAN).is_err());
        assert!(Accountant::new(0.0).is_err());
    }
}
