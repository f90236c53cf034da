//! The privacy ledger: a zCDP (rho) budget per (dataset, researcher), charged BEFORE a
//! result is released, refusing a charge that would exceed the budget.
//!
//! Pure logic: the node loads the ledger from its database, calls [`Ledger::charge`] and
//! stores the ledger again in the same transaction. `charge` is "check then charge" as one
//! operation on `&mut self`, so there is no window between the check and the debit.
//!
//! Amounts are kept as integers in units of 1e-12 rho ("pico-rho"): a charge is rounded UP
//! to the next unit and a budget DOWN, so floating-point sums can never let a researcher
//! spend more than the budget.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{DpError, non_negative};

/// Units per rho.
const UNITS_PER_RHO: f64 = 1e12;

/// Whose budget: one dataset and one researcher.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LedgerKey {
    /// The dataset id.
    pub dataset: String,
    /// The researcher id.
    pub researcher: String,
}

impl LedgerKey {
    /// A key from a dataset id and a researcher id.
    pub fn new(dataset: impl Into<String>, researcher: impl Into<String>) -> Self {
        Self {
            dataset: dataset.into(),
            researcher: researcher.into(),
        }
    }
}

impl std::fmt::Display for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "dataset '{}' / researcher '{}'",
            self.dataset, self.researcher
        )
    }
}

/// One (dataset, researcher) account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Whose account.
    pub key: LedgerKey,
    /// Budget in pico-rho.
    pub budget_units: u64,
    /// Spent so far in pico-rho.
    pub spent_units: u64,
    /// Number of successful charges.
    pub charges: u64,
}

impl Account {
    /// The budget in rho.
    pub fn budget_rho(&self) -> f64 {
        to_rho(self.budget_units)
    }

    /// The amount spent in rho.
    pub fn spent_rho(&self) -> f64 {
        to_rho(self.spent_units)
    }

    /// What is left in rho.
    pub fn remaining_rho(&self) -> f64 {
        to_rho(self.budget_units.saturating_sub(self.spent_units))
    }
}

/// Proof that a charge was recorded (store it with the released result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeReceipt {
    /// Whose budget was charged.
    pub key: LedgerKey,
    /// The amount charged (rounded up to the ledger's unit).
    pub charged_rho: f64,
    /// Total spent after this charge.
    pub spent_rho: f64,
    /// The budget.
    pub budget_rho: f64,
    /// What is left after this charge.
    pub remaining_rho: f64,
    /// 1 for the account's first charge, then 2, 3, ...
    pub sequence: u64,
}

/// A refused charge: the budget, what was spent and what was requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.explain())]
pub struct BudgetExceeded {
    /// Whose budget.
    pub key: LedgerKey,
    /// The budget in rho.
    pub budget_rho: f64,
    /// Already spent in rho.
    pub spent_rho: f64,
    /// The refused request in rho (as given).
    pub requested_rho: f64,
}

impl BudgetExceeded {
    fn explain(&self) -> String {
        if !(self.requested_rho.is_finite() && self.requested_rho >= 0.0) {
            return format!(
                "privacy charge refused for {}: the requested rho {} is not a valid privacy cost \
                 (it must be finite and >= 0)",
                self.key, self.requested_rho
            );
        }
        format!(
            "privacy budget exceeded for {}: budget rho = {}, already spent rho = {}, this query \
             asks rho = {} (remaining {}); ask for less noise-free precision (a smaller rho) or \
             ask the data steward for a larger budget",
            self.key,
            self.budget_rho,
            self.spent_rho,
            self.requested_rho,
            (self.budget_rho - self.spent_rho).max(0.0)
        )
    }
}

/// Privacy budgets per (dataset, researcher). Unknown keys get the default budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "LedgerState", into = "LedgerState")]
pub struct Ledger {
    default_budget_units: u64,
    accounts: BTreeMap<LedgerKey, Account>,
}

/// The serialised form: a list of accounts (JSON maps need string keys).
#[derive(Serialize, Deserialize)]
struct LedgerState {
    version: u32,
    default_budget_units: u64,
    accounts: Vec<Account>,
}

impl From<LedgerState> for Ledger {
    fn from(state: LedgerState) -> Self {
        let accounts = state
            .accounts
            .into_iter()
            .map(|a| (a.key.clone(), a))
            .collect();
        Self {
            default_budget_units: state.default_budget_units,
            accounts,
        }
    }
}

impl From<Ledger> for LedgerState {
    fn from(ledger: Ledger) -> Self {
        Self {
            version: 1,
            default_budget_units: ledger.default_budget_units,
            accounts: ledger.accounts.into_values().collect(),
        }
    }
}

impl Ledger {
    /// A ledger whose accounts start with `default_budget_rho` (>= 0; rounded down).
    pub fn new(default_budget_rho: f64) -> Result<Self, DpError> {
        let units = budget_units(default_budget_rho)?;
        Ok(Self {
            default_budget_units: units,
            accounts: BTreeMap::new(),
        })
    }

    /// Sets the budget of one account (>= 0; rounded down). Lowering it below what was
    /// spent simply refuses every later charge.
    pub fn set_budget(&mut self, key: &LedgerKey, budget_rho: f64) -> Result<(), DpError> {
        let units = budget_units(budget_rho)?;
        self.account_mut(key).budget_units = units;
        Ok(())
    }

    /// The account of `key` (with the default budget if it was never charged).
    pub fn account(&self, key: &LedgerKey) -> Account {
        self.accounts
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.fresh_account(key))
    }

    /// All accounts that were charged or given a budget.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// What `key` has left, in rho.
    pub fn remaining(&self, key: &LedgerKey) -> f64 {
        self.account(key).remaining_rho()
    }

    /// Would charging `rho` to `key` succeed? (Does not change anything.)
    pub fn check(&self, key: &LedgerKey, rho: f64) -> Result<(), BudgetExceeded> {
        let account = self.account(key);
        charge_units(rho)
            .filter(|&units| {
                account
                    .spent_units
                    .checked_add(units)
                    .is_some_and(|s| s <= account.budget_units)
            })
            .map(|_| ())
            .ok_or_else(|| refusal(&account, rho))
    }

    /// Checks and, if it fits, charges `rho` to `key` in one step.
    pub fn charge(&mut self, key: &LedgerKey, rho: f64) -> Result<ChargeReceipt, BudgetExceeded> {
        self.check(key, rho)?;
        let units = charge_units(rho).unwrap_or(u64::MAX);
        let account = self.account_mut(key);
        account.spent_units += units;
        account.charges += 1;
        Ok(ChargeReceipt {
            key: key.clone(),
            charged_rho: to_rho(units),
            spent_rho: account.spent_rho(),
            budget_rho: account.budget_rho(),
            remaining_rho: account.remaining_rho(),
            sequence: account.charges,
        })
    }

    fn fresh_account(&self, key: &LedgerKey) -> Account {
        Account {
            key: key.clone(),
            budget_units: self.default_budget_units,
            spent_units: 0,
            charges: 0,
        }
    }

    fn account_mut(&mut self, key: &LedgerKey) -> &mut Account {
        let fresh = self.fresh_account(key);
        self.accounts.entry(key.clone()).or_insert(fresh)
    }
}

fn refusal(account: &Account, requested: f64) -> BudgetExceeded {
    BudgetExceeded {
        key: account.key.clone(),
        budget_rho: account.budget_rho(),
        spent_rho: account.spent_rho(),
        requested_rho: requested,
    }
}

fn to_rho(units: u64) -> f64 {
    units as f64 / UNITS_PER_RHO
}

/// A budget in units, rounded down.
fn budget_units(rho: f64) -> Result<u64, DpError> {
    let rho = non_negative("budget rho", rho)?;
    let units = (rho * UNITS_PER_RHO).floor();
    if units >= u64::MAX as f64 {
        return Err(DpError::ScaleTooLarge {
            value: rho,
            limit: u64::MAX as f64 / UNITS_PER_RHO,
        });
    }
    Ok(units as u64)
}

/// A charge in units, rounded up; None for NaN, negative or unrepresentably large charges.
fn charge_units(rho: f64) -> Option<u64> {
    if !(rho.is_finite() && rho >= 0.0) {
        return None;
    }
    let units = (rho * UNITS_PER_RHO).ceil();
    (units < u64::MAX as f64).then_some(units as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LedgerKey {
        LedgerKey::new("cohort-2024", "dr-who")
    }

    #[test]
    fn charges_until_the_budget_is_spent_then_refuses() {
        let mut ledger = Ledger::new(1.0).expect("valid budget");
        let first = ledger.charge(&key(), 0.4).expect("fits");
        assert_eq!(first.sequence, 1);
        assert!((first.remaining_rho - 0.6).abs() < 1e-12);
        ledger.charge(&key(), 0.6).expect("fits exactly");
        let refused = ledger.charge(&key(), 1e-12).expect_err("budget is spent");
        assert_eq!(refused.budget_rho, 1.0);
        assert!((refused.spent_rho - 1.0).abs() < 1e-12);
        let message = refused.to_string();
        assert!(
            message.contains("budget rho = 1") && message.contains("asks rho = 0.000000000001"),
            "{message}"
        );
    }

    #[test]
    fn refuses_invalid_amounts_without_charging() {
        let mut ledger = Ledger::new(1.0).expect("valid budget");
        for bad in [f64::NAN, -0.1, f64::INFINITY] {
            let refused = ledger.charge(&key(), bad).expect_err("invalid");
            assert!(refused.to_string().contains("not a valid privacy cost"));
        }
        assert_eq!(ledger.account(&key()).spent_units, 0);
    }

    #[test]
    fn keys_are_independent_and_budgets_settable() {
        let mut ledger = Ledger::new(0.5).expect("valid budget");
        let other = LedgerKey::new("cohort-2024", "dr-no");
        ledger.set_budget(&other, 2.0).expect("valid");
        ledger.charge(&key(), 0.5).expect("fits");
        assert!(ledger.charge(&key(), 0.1).is_err());
        assert!(ledger.charge(&other, 1.5).is_ok());
        assert!(Ledger::new(-1.0).is_err());
    }

    #[test]
    fn survives_a_serde_round_trip() {
        let mut ledger = Ledger::new(1.0).expect("valid budget");
        ledger.charge(&key(), 0.25).expect("fits");
        let json = serde_json::to_string(&ledger).expect("serialises");
        let restored: Ledger = serde_json::from_str(&json).expect("parses");
        assert_eq!(restored, ledger);
        assert!((restored.remaining(&key()) - 0.75).abs() < 1e-12);
    }
}
