//! Privacy models and utility metrics as plain, serializable configuration values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A privacy model the released table must satisfy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PrivacyModel {
    /// Every equivalence class has at least `k` records.
    KAnonymity {
        /// Minimal class size.
        k: usize,
    },
    /// Every class has at least `l` distinct values of `attribute`.
    DistinctLDiversity {
        /// The sensitive attribute.
        attribute: String,
        /// Minimal number of distinct values.
        l: usize,
    },
    /// The entropy (base 2) of `attribute` in every class is at least log2(`l`).
    EntropyLDiversity {
        /// The sensitive attribute.
        attribute: String,
        /// Diversity parameter.
        l: f64,
    },
    /// Recursive (c, l)-diversity: r1 < c (r_l + ... + r_m) for the sorted value counts.
    RecursiveClDiversity {
        /// The sensitive attribute.
        attribute: String,
        /// The constant c.
        c: f64,
        /// The diversity l.
        l: usize,
    },
    /// Earth mover's distance with equal ground distance between each class's and the
    /// table's distribution of `attribute` is at most `t`.
    EqualDistanceTCloseness {
        /// The sensitive attribute.
        attribute: String,
        /// Maximal distance.
        t: f64,
    },
    /// Earth mover's distance over the generalization hierarchy of `attribute` (given in
    /// the specification's `sensitive_hierarchies`) is at most `t`.
    HierarchicalTCloseness {
        /// The sensitive attribute.
        attribute: String,
        /// Maximal distance.
        t: f64,
    },
    /// delta-presence: for every class, (research-subset records) / (population records)
    /// lies in [`delta_min`, `delta_max`]. Needs a research subset.
    DeltaPresence {
        /// Lower bound.
        delta_min: f64,
        /// Upper bound.
        delta_max: f64,
    },
    /// The average prosecutor re-identification risk of the released records (classes /
    /// records) is at most `max`.
    AverageRisk {
        /// Highest acceptable average risk.
        max: f64,
    },
    /// The estimated share of population-unique records (Dankar et al.'s decision rule over
    /// Pitman, Zayatz and SNB) is at most `max`, for a population of `population` people.
    PopulationUniqueness {
        /// Highest acceptable share of population uniques.
        max: f64,
        /// Size of the population the table was sampled from.
        population: f64,
    },
}

impl PrivacyModel {
    /// The sensitive attribute the model reads, if any.
    pub fn sensitive_attribute(&self) -> Option<&str> {
        match self {
            PrivacyModel::DistinctLDiversity { attribute, .. }
            | PrivacyModel::EntropyLDiversity { attribute, .. }
            | PrivacyModel::RecursiveClDiversity { attribute, .. }
            | PrivacyModel::EqualDistanceTCloseness { attribute, .. }
            | PrivacyModel::HierarchicalTCloseness { attribute, .. } => Some(attribute),
            _ => None,
        }
    }
}

/// How per-attribute information loss is combined into one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Sum of the weighted values.
    Sum,
    /// Largest weighted value.
    Max,
    /// Mean of the weighted values.
    ArithmeticMean,
    /// ARX's default: prod((v_i + 1) w_i)^(1/n) - 1.
    #[default]
    GeometricMean,
    /// The weighted values sorted in descending order, compared lexicographically.
    Rank,
}

/// The utility metric the search minimizes (ARX's definitions, see `docs/anonymization.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Metric {
    /// ARX's "Loss" (normalized domain share of the generalized values; suppressed cells
    /// count as full loss), per attribute then aggregated.
    Loss {
        /// Balance of generalization (1) against suppression (0); 0.5 treats them equally.
        #[serde(default = "half")]
        gs_factor: f64,
        /// How the per-attribute values are combined.
        #[serde(default)]
        aggregate: Aggregate,
        /// Attribute weights (default 0.5 each; normalized by the largest).
        #[serde(default)]
        weights: BTreeMap<String, f64>,
    },
    /// ARX's non-uniform entropy (summed over attributes). The monotonic variant ignores
    /// suppression; the default non-monotonic one adds the entropy of suppressed values.
    NonUniformEntropy {
        /// Use the monotonic variant.
        #[serde(default)]
        monotonic: bool,
    },
    /// Discernibility: sum of squared class sizes; suppressed records cost n each unless
    /// `monotonic` (DM*), where every class counts its square.
    Discernibility {
        /// Use the monotonic variant DM*.
        #[serde(default)]
        monotonic: bool,
    },
    /// Average equivalence class size (suppressed records form one class).
    Aecs,
}

fn half() -> f64 {
    0.5
}

impl Default for Metric {
    fn default() -> Self {
        Metric::Loss {
            gs_factor: 0.5,
            aggregate: Aggregate::GeometricMean,
            weights: BTreeMap::new(),
        }
    }
}
