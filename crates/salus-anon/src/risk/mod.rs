//! Re-identification risk of a table as it is (`salus risk`), and the single score.
//!
//! Records are grouped into equivalence classes on the quasi-identifiers (a missing
//! value is a value of its own). With `f_j` the size of record j's class:
//!
//! * prosecutor risk (the attacker knows the person is in the table): `1 / f_j`;
//!   `max` = 1 / k, `average` = classes / records, `records_at_risk` = share of records
//!   whose risk exceeds the threshold;
//! * journalist risk (the attacker does not know): `1 / F_j` with the population class
//!   size estimated as `F_j = f_j · N / n` (never below f_j); equal to the prosecutor
//!   risk when no population size is given;
//! * marketer risk (expected share of records re-identified when all are linked):
//!   `(1/n) Σ_classes f_j / F_j`;
//! * population uniques: Pitman, Zayatz, SNB and Dankar's rule (see [`population`]), as
//!   fractions of the population (ARX's convention); without a population size the
//!   table is taken as the population (fraction = sample uniques / records).
//!
//! **Score** (0 = no measurable risk, 1 = every record re-identifiable):
//! `score = max(average prosecutor risk, share of records at risk, estimated
//! population-unique records / records)`. It passes when `score <= threshold`; the
//! default threshold 0.2 corresponds to the common "k = 5" rule (a record in a class of
//! 5 has risk 0.2, which is not above the threshold). Use 0.09 or 0.05 for public
//! releases (EMA policy 0070 and Health Canada guidance).

pub mod population;

use std::collections::HashMap;

use salus_table::Table;
use serde::{Deserialize, Serialize};

use crate::hipaa::{SafeHarborReport, safe_harbor};
use crate::{AnonError, Result};
use population::{PopulationModel, estimate_uniques};

/// Default pass threshold of the score.
pub const DEFAULT_THRESHOLD: f64 = 0.2;

/// Options of a risk assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskOptions {
    /// Highest acceptable score, also the per-record risk above which a record is "at risk".
    pub threshold: f64,
    /// Size of the population the table was drawn from (None = the table is the population).
    pub population: Option<f64>,
}

impl Default for RiskOptions {
    fn default() -> Self {
        RiskOptions {
            threshold: DEFAULT_THRESHOLD,
            population: None,
        }
    }
}

/// Max, mean and share above the threshold of a per-record risk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskSummary {
    /// Highest per-record risk.
    pub max: f64,
    /// Mean per-record risk.
    pub average: f64,
    /// Share of records whose risk exceeds the threshold.
    pub records_at_risk: f64,
}

/// Population-uniqueness estimates (fractions of the population).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PopulationUniques {
    /// Population size used.
    pub population: f64,
    /// records / population.
    pub sampling_fraction: f64,
    /// Pitman's estimate.
    pub pitman: f64,
    /// Zayatz's estimate.
    pub zayatz: f64,
    /// SNB estimate.
    pub snb: f64,
    /// Dankar et al.'s decision rule.
    pub dankar: f64,
    /// Model the decision rule picked.
    pub model: PopulationModel,
    /// Estimated number of population-unique records (Dankar).
    pub estimated_unique_records: f64,
}

/// The risk of a table (the JSON of `salus risk --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// Records assessed.
    pub records: usize,
    /// Equivalence classes on the quasi-identifiers.
    pub equivalence_classes: usize,
    /// Size of the smallest class.
    pub k: usize,
    /// Records alone in their class.
    pub sample_uniques: usize,
    /// Prosecutor risk.
    pub prosecutor: RiskSummary,
    /// Journalist risk.
    pub journalist: RiskSummary,
    /// Marketer risk.
    pub marketer: f64,
    /// Population uniqueness.
    pub population_uniques: PopulationUniques,
    /// The single score in [0, 1] (formula in the module docs).
    pub score: f64,
    /// `score <= threshold`.
    pub passed: bool,
    /// The threshold used.
    pub threshold: f64,
    /// HIPAA Safe Harbor findings (filled by [`assess_table`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hipaa: Option<SafeHarborReport>,
}

/// Assesses `table` on the quasi-identifiers `qis` (and runs the Safe Harbor check on
/// all its columns).
pub fn assess_table(
    table: &Table,
    qis: &[String],
    options: &RiskOptions,
) -> Result<RiskAssessment> {
    let sizes = class_sizes(table, qis)?;
    let mut assessment = assess_classes(&sizes, options)?;
    assessment.hipaa = Some(safe_harbor(table));
    Ok(assessment)
}

/// Sizes of the equivalence classes of `table` on `qis` (missing values are a value).
pub fn class_sizes(table: &Table, qis: &[String]) -> Result<Vec<u32>> {
    if qis.is_empty() {
        return Err(AnonError::InvalidParameter(
            "name at least one quasi-identifier".into(),
        ));
    }
    let columns = qis
        .iter()
        .map(|q| table.column(q))
        .collect::<Result<Vec<_>, _>>()?;
    let mut counts: HashMap<Vec<Option<String>>, u32> = HashMap::new();
    for row in 0..table.nrows() {
        let key: Vec<Option<String>> = columns
            .iter()
            .map(|c| c.display(row).map(|v| v.into_owned()))
            .collect();
        *counts.entry(key).or_insert(0) += 1;
    }
    Ok(counts.into_values().collect())
}

/// Assesses a table given only its class sizes.
pub fn assess_classes(sizes: &[u32], options: &RiskOptions) -> Result<RiskAssessment> {
    if !(options.threshold >= 0.0 && options.threshold <= 1.0) {
        return Err(AnonError::InvalidParameter(
            "the risk threshold must be between 0 and 1".into(),
        ));
    }
    let sizes: Vec<u32> = sizes.iter().copied().filter(|&s| s > 0).collect();
    let n: f64 = sizes.iter().map(|&s| f64::from(s)).sum();
    let population = options.population.unwrap_or(n).max(n);
    if let Some(p) = options.population
        && !(p.is_finite() && p > 0.0)
    {
        return Err(AnonError::InvalidParameter(
            "the population size must be a positive number".into(),
        ));
    }
    let ratio = if n > 0.0 { population / n } else { 1.0 };
    let summary = |scale: f64| {
        if n == 0.0 {
            return RiskSummary {
                max: 0.0,
                average: 0.0,
                records_at_risk: 0.0,
            };
        }
        let risk = |s: u32| 1.0 / (f64::from(s) * scale).max(f64::from(s));
        let max = sizes.iter().map(|&s| risk(s)).fold(0.0, f64::max);
        let average = sizes.iter().map(|&s| f64::from(s) * risk(s)).sum::<f64>() / n;
        let at_risk = sizes
            .iter()
            .filter(|&&s| risk(s) > options.threshold)
            .map(|&s| f64::from(s))
            .sum::<f64>()
            / n;
        RiskSummary {
            max,
            average,
            records_at_risk: at_risk,
        }
    };
    let prosecutor = summary(1.0);
    let journalist = summary(ratio);
    let uniques = |model| estimate_uniques(&sizes, population, model);
    let dankar = uniques(PopulationModel::Dankar);
    let population_uniques = PopulationUniques {
        population,
        sampling_fraction: if population > 0.0 {
            n / population
        } else {
            1.0
        },
        pitman: uniques(PopulationModel::Pitman).fraction,
        zayatz: uniques(PopulationModel::Zayatz).fraction,
        snb: uniques(PopulationModel::Snb).fraction,
        dankar: dankar.fraction,
        model: dankar.model,
        estimated_unique_records: dankar.count,
    };
    let unique_share = if n > 0.0 {
        (dankar.count / n).min(1.0)
    } else {
        0.0
    };
    let score = prosecutor
        .average
        .max(prosecutor.records_at_risk)
        .max(unique_share)
        .clamp(0.0, 1.0);
    Ok(RiskAssessment {
        records: n as usize,
        equivalence_classes: sizes.len(),
        k: sizes.iter().copied().min().unwrap_or(0) as usize,
        sample_uniques: sizes.iter().filter(|&&s| s == 1).count(),
        prosecutor,
        journalist,
        marketer: if n > 0.0 {
            sizes.len() as f64 / (n * ratio.max(1.0))
        } else {
            0.0
        },
        population_uniques,
        score,
        passed: score <= options.threshold,
        threshold: options.threshold,
        hipaa: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_anonymous_table_passes_default_threshold() {
        let a = assess_classes(&[5, 5, 10], &RiskOptions::default()).unwrap();
        assert_eq!((a.k, a.sample_uniques, a.equivalence_classes), (5, 0, 3));
        assert!((a.prosecutor.max - 0.2).abs() < 1e-12);
        assert!((a.prosecutor.average - 0.15).abs() < 1e-12);
        assert_eq!(a.prosecutor.records_at_risk, 0.0);
        assert!(a.passed);
    }

    #[test]
    fn uniques_fail() {
        let a = assess_classes(&[1, 1, 2, 10], &RiskOptions::default()).unwrap();
        assert!((a.prosecutor.records_at_risk - 4.0 / 14.0).abs() < 1e-12);
        assert!(!a.passed);
        assert!(a.score >= 4.0 / 14.0);
    }

    #[test]
    fn journalist_risk_shrinks_with_population() {
        let options = RiskOptions {
            population: Some(1400.0),
            ..Default::default()
        };
        let a = assess_classes(&[1, 1, 2, 10], &options).unwrap();
        assert!((a.journalist.max - 0.01).abs() < 1e-12);
        assert!((a.marketer - 4.0 / 1400.0).abs() < 1e-12);
        assert!((a.population_uniques.sampling_fraction - 0.01).abs() < 1e-12);
    }
}
