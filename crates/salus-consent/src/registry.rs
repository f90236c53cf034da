//! The node's consent registry and the evaluation rule used at compute time.
//!
//! # Precedence
//!
//! For a patient, a purpose, one data category and a time `t`:
//!
//! 1. Only records with `recorded_at <= t` count: a statement has no effect
//!    before it was made, and a withdrawal applies to every evaluation after it.
//! 2. Records are taken from the most recent back. The first one whose
//!    provisions say something about this use at `t` (scope matches and the
//!    period contains `t`) decides: the **latest applicable statement wins**. A
//!    later statement about other purposes or categories leaves earlier ones in
//!    force; an expired one no longer speaks, so the one before shows through.
//! 3. Records with the same `recorded_at` that both apply: **deny wins**.
//! 4. Inside a record, exceptions win over their parent and deny wins among
//!    exceptions ([`Provision::decide`]).
//! 5. When no record applies, the node's [`ConsentPolicy`] decides: opt-in
//!    (deny by default) or opt-out (permit by default), per purpose if wanted.
//!
//! A use of several categories is permitted only if every category is.
//! A use that lists no category means all named categories.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::ConsentError;
use crate::model::{ConsentRecord, DataCategory, Decision, Provision, Purpose};

/// What happens when a patient has no applicable record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultRule {
    /// Use needs an explicit permit (deny by default).
    OptIn,
    /// Use is allowed unless the patient denied it (permit by default).
    OptOut,
}

impl DefaultRule {
    fn decision(self) -> Decision {
        match self {
            DefaultRule::OptIn => Decision::Deny,
            DefaultRule::OptOut => Decision::Permit,
        }
    }
}

/// The node's consent policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentPolicy {
    /// Default for every purpose not listed in `per_purpose`.
    pub default: DefaultRule,
    /// Defaults for specific purposes (a `research` entry also covers named studies).
    #[serde(default)]
    pub per_purpose: Vec<(Purpose, DefaultRule)>,
}

impl ConsentPolicy {
    /// Deny unless permitted, for every purpose.
    pub fn opt_in() -> ConsentPolicy {
        ConsentPolicy {
            default: DefaultRule::OptIn,
            per_purpose: Vec::new(),
        }
    }

    /// Permit unless denied, for every purpose.
    pub fn opt_out() -> ConsentPolicy {
        ConsentPolicy {
            default: DefaultRule::OptOut,
            per_purpose: Vec::new(),
        }
    }

    /// The default decision for `purpose`: an exact entry first, then a covering one.
    pub fn default_for(&self, purpose: &Purpose) -> Decision {
        let exact = self.per_purpose.iter().find(|(p, _)| p == purpose);
        let covering = || self.per_purpose.iter().find(|(p, _)| p.covers(purpose));
        exact
            .or_else(covering)
            .map_or(self.default, |(_, r)| *r)
            .decision()
    }
}

/// The outcome of evaluating one use for one patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Permit or deny.
    pub decision: Decision,
    /// The record that decided (for a deny: the one that denied the first
    /// denied category); `None` when the node's default decided.
    pub decided_by: Option<String>,
}

/// Which rows may be used, and how many were excluded: proof that the consent
/// check ran. Only [`Registry::filter`] builds one (fields are private and it
/// cannot be deserialized), so a release function can demand it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterOutcome {
    allowed: Vec<usize>,
    excluded: usize,
    purpose: Purpose,
    categories: Vec<DataCategory>,
    at: i64,
}

impl FilterOutcome {
    /// Indices (into the input) of patients whose consent covers the use, ascending.
    pub fn allowed(&self) -> &[usize] {
        &self.allowed
    }

    /// How many patients were excluded.
    pub fn excluded(&self) -> usize {
        self.excluded
    }

    /// The purpose checked.
    pub fn purpose(&self) -> &Purpose {
        &self.purpose
    }

    /// The categories checked (empty: all data).
    pub fn categories(&self) -> &[DataCategory] {
        &self.categories
    }

    /// The evaluation time.
    pub fn at(&self) -> i64 {
        self.at
    }
}

/// All consent records of a node, by patient, in the order they take effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RegistryData", into = "RegistryData")]
pub struct Registry {
    policy: ConsentPolicy,
    by_patient: BTreeMap<String, Vec<ConsentRecord>>,
    ids: BTreeSet<String>,
}

/// Serialized form: the policy and a flat list of records.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryData {
    policy: ConsentPolicy,
    records: Vec<ConsentRecord>,
}

impl TryFrom<RegistryData> for Registry {
    type Error = ConsentError;
    fn try_from(data: RegistryData) -> Result<Registry, ConsentError> {
        let mut registry = Registry::new(data.policy);
        for record in data.records {
            registry.add(record)?;
        }
        Ok(registry)
    }
}

impl From<Registry> for RegistryData {
    fn from(registry: Registry) -> RegistryData {
        RegistryData {
            records: registry.records().cloned().collect(),
            policy: registry.policy,
        }
    }
}

impl Registry {
    /// An empty registry with the node's policy.
    pub fn new(policy: ConsentPolicy) -> Registry {
        Registry {
            policy,
            by_patient: BTreeMap::new(),
            ids: BTreeSet::new(),
        }
    }

    /// The node policy.
    pub fn policy(&self) -> &ConsentPolicy {
        &self.policy
    }

    /// Replaces the node policy (applies to every later evaluation).
    pub fn set_policy(&mut self, policy: ConsentPolicy) {
        self.policy = policy;
    }

    /// Adds a record (each change of consent is a new record; ids are unique).
    pub fn add(&mut self, record: ConsentRecord) -> Result<(), ConsentError> {
        record.validate()?;
        if self.ids.contains(&record.id) {
            return Err(ConsentError::DuplicateRecord(record.id));
        }
        self.ids.insert(record.id.clone());
        let history = self.by_patient.entry(record.patient.clone()).or_default();
        // Keep effect order: by recorded time, ties in insertion order.
        let at = history.partition_point(|r| r.recorded_at <= record.recorded_at);
        history.insert(at, record);
        Ok(())
    }

    /// Records a withdrawal: a deny for `purposes` (empty: every purpose) on all
    /// data, from `at` on. Returns the record added (to issue its receipt).
    pub fn withdraw(
        &mut self,
        id: &str,
        patient: &str,
        purposes: Vec<Purpose>,
        at: i64,
        source: &str,
    ) -> Result<ConsentRecord, ConsentError> {
        let record = ConsentRecord::new(
            id,
            patient,
            at,
            source,
            Provision::all(Decision::Deny).for_purposes(purposes),
        );
        self.add(record.clone())?;
        Ok(record)
    }

    /// A patient's records in effect order.
    pub fn history(&self, patient: &str) -> &[ConsentRecord] {
        self.by_patient.get(patient).map_or(&[], Vec::as_slice)
    }

    /// Every record, patient by patient.
    pub fn records(&self) -> impl Iterator<Item = &ConsentRecord> {
        self.by_patient.values().flatten()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The effective decision for `patient` using `categories` for `purpose` at `at`.
    pub fn evaluate(
        &self,
        patient: &str,
        purpose: &Purpose,
        categories: &[DataCategory],
        at: i64,
    ) -> Evaluation {
        let all = DataCategory::NAMED;
        let categories = if categories.is_empty() {
            &all[..]
        } else {
            categories
        };
        let mut last_permit = None;
        for category in categories {
            let (decision, by) = self.decide_category(patient, purpose, category, at);
            if decision == Decision::Deny {
                return Evaluation {
                    decision,
                    decided_by: by,
                };
            }
            last_permit = by.or(last_permit);
        }
        Evaluation {
            decision: Decision::Permit,
            decided_by: last_permit,
        }
    }

    /// True when the use is permitted.
    pub fn is_permitted(
        &self,
        patient: &str,
        purpose: &Purpose,
        categories: &[DataCategory],
        at: i64,
    ) -> bool {
        self.evaluate(patient, purpose, categories, at).decision == Decision::Permit
    }

    /// Compute-time enforcement: which of `patients` may be used.
    pub fn filter(
        &self,
        patients: &[&str],
        purpose: &Purpose,
        categories: &[DataCategory],
        at: i64,
    ) -> FilterOutcome {
        let allowed: Vec<usize> = patients
            .iter()
            .enumerate()
            .filter(|(_, p)| self.is_permitted(p, purpose, categories, at))
            .map(|(i, _)| i)
            .collect();
        FilterOutcome {
            excluded: patients.len() - allowed.len(),
            allowed,
            purpose: purpose.clone(),
            categories: categories.to_vec(),
            at,
        }
    }

    fn decide_category(
        &self,
        patient: &str,
        purpose: &Purpose,
        category: &DataCategory,
        at: i64,
    ) -> (Decision, Option<String>) {
        let history = self.history(patient);
        let known = &history[..history.partition_point(|r| r.recorded_at <= at)];
        let mut found: Option<(i64, Decision, &str)> = None;
        for record in known.iter().rev() {
            if found.is_some_and(|(time, _, _)| record.recorded_at < time) {
                break;
            }
            if let Some(d) = record.provision.decide(purpose, category, at) {
                // Same recorded time: deny wins.
                if found.is_none_or(|(_, prev, _)| d > prev) {
                    found = Some((record.recorded_at, d, &record.id));
                }
            }
        }
        match found {
            Some((_, decision, id)) => (decision, Some(id.to_owned())),
            None => (self.policy.default_for(purpose), None),
        }
    }
}
