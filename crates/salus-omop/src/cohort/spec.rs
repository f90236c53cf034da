//! The cohort definition file (TOML) and its validation.
//!
//! ```toml
//! name = "celecoxib-gi-bleed"
//!
//! [index]                          # the first occurrence of any of these starts follow-up
//! drug_concept_ids = [1118084]     # and/or condition_concept_ids, procedure_concept_ids
//! include_descendants = true       # expand through CONCEPT_ANCESTOR (default true)
//! min_age = 18                     # optional, inclusive, age at index in whole years
//!
//! [washout]
//! prior_observation_days = 365     # continuous observation required before index
//!
//! [outcome]
//! condition_concept_ids = [192671] # and/or drug_/procedure_concept_ids
//! include_descendants = true
//! death = false                    # count death as an outcome event
//! exclude_prior = true             # drop persons with the outcome on or before index
//!
//! [follow_up]
//! max_days = 1825                  # optional cap on follow-up
//! ```

use serde::Deserialize;

use crate::OmopError;

fn yes() -> bool {
    true
}

/// A set of concepts in the event tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConceptSet {
    /// CONDITION_OCCURRENCE concepts.
    pub condition_concept_ids: Vec<i64>,
    /// DRUG_EXPOSURE concepts.
    pub drug_concept_ids: Vec<i64>,
    /// PROCEDURE_OCCURRENCE concepts.
    pub procedure_concept_ids: Vec<i64>,
    /// Also match every descendant in CONCEPT_ANCESTOR.
    pub include_descendants: bool,
}

impl ConceptSet {
    fn is_empty(&self) -> bool {
        self.condition_concept_ids.is_empty()
            && self.drug_concept_ids.is_empty()
            && self.procedure_concept_ids.is_empty()
    }
}

/// The index event.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    /// CONDITION_OCCURRENCE concepts whose first occurrence is the index.
    #[serde(default)]
    pub condition_concept_ids: Vec<i64>,
    /// DRUG_EXPOSURE concepts.
    #[serde(default)]
    pub drug_concept_ids: Vec<i64>,
    /// PROCEDURE_OCCURRENCE concepts.
    #[serde(default)]
    pub procedure_concept_ids: Vec<i64>,
    /// Also match descendants (CONCEPT_ANCESTOR); default true.
    #[serde(default = "yes")]
    pub include_descendants: bool,
    /// Minimum age at index (inclusive).
    pub min_age: Option<i32>,
    /// Maximum age at index (inclusive).
    pub max_age: Option<i32>,
}

impl IndexSpec {
    /// The index concepts.
    pub fn concepts(&self) -> ConceptSet {
        ConceptSet {
            condition_concept_ids: self.condition_concept_ids.clone(),
            drug_concept_ids: self.drug_concept_ids.clone(),
            procedure_concept_ids: self.procedure_concept_ids.clone(),
            include_descendants: self.include_descendants,
        }
    }
}

/// Required observation before index.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WashoutSpec {
    /// Days of observation required before the index date.
    #[serde(default)]
    pub prior_observation_days: i32,
}

/// The outcome.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutcomeSpec {
    /// CONDITION_OCCURRENCE concepts that count as the outcome.
    #[serde(default)]
    pub condition_concept_ids: Vec<i64>,
    /// DRUG_EXPOSURE concepts.
    #[serde(default)]
    pub drug_concept_ids: Vec<i64>,
    /// PROCEDURE_OCCURRENCE concepts.
    #[serde(default)]
    pub procedure_concept_ids: Vec<i64>,
    /// Also match descendants (CONCEPT_ANCESTOR); default true.
    #[serde(default = "yes")]
    pub include_descendants: bool,
    /// Death (DEATH table) counts as the outcome.
    #[serde(default)]
    pub death: bool,
    /// Exclude persons whose outcome occurred on or before the index date.
    #[serde(default = "yes")]
    pub exclude_prior: bool,
}

impl OutcomeSpec {
    /// The outcome concepts.
    pub fn concepts(&self) -> ConceptSet {
        ConceptSet {
            condition_concept_ids: self.condition_concept_ids.clone(),
            drug_concept_ids: self.drug_concept_ids.clone(),
            procedure_concept_ids: self.procedure_concept_ids.clone(),
            include_descendants: self.include_descendants,
        }
    }
}

/// The end of follow-up.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FollowUpSpec {
    /// At most this many days after index.
    pub max_days: Option<i32>,
}

/// A whole cohort definition.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CohortSpec {
    /// A name for reports.
    #[serde(default)]
    pub name: Option<String>,
    /// The index event.
    pub index: IndexSpec,
    /// Required prior observation.
    #[serde(default)]
    pub washout: WashoutSpec,
    /// The outcome.
    pub outcome: OutcomeSpec,
    /// The end of follow-up.
    #[serde(default)]
    pub follow_up: FollowUpSpec,
}

impl CohortSpec {
    /// Parses and validates a TOML definition.
    pub fn from_toml(text: &str) -> Result<Self, OmopError> {
        let spec: CohortSpec =
            toml::from_str(text).map_err(|e| OmopError::Cohort(e.message().to_owned()))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks what TOML cannot: non-empty concept sets, sensible numbers.
    pub fn validate(&self) -> Result<(), OmopError> {
        let bad = |m: &str| Err(OmopError::Cohort(m.to_owned()));
        if self.index.concepts().is_empty() {
            return bad(
                "[index] needs condition_concept_ids, drug_concept_ids or procedure_concept_ids",
            );
        }
        if self.outcome.concepts().is_empty() && !self.outcome.death {
            return bad("[outcome] needs a concept list or `death = true`");
        }
        if self.washout.prior_observation_days < 0 {
            return bad("[washout] prior_observation_days must be 0 or more");
        }
        if self.follow_up.max_days.is_some_and(|d| d < 1) {
            return bad("[follow_up] max_days must be 1 or more");
        }
        if let (Some(lo), Some(hi)) = (self.index.min_age, self.index.max_age)
            && lo > hi
        {
            return bad("[index] min_age is above max_age");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = include_str!("spec.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start())
            .collect::<Vec<_>>()
            .join("\n");
        let spec = CohortSpec::from_toml(&text).unwrap();
        assert_eq!(spec.index.drug_concept_ids, vec![1118084]);
        assert_eq!(spec.index.min_age, Some(18));
        assert_eq!(spec.washout.prior_observation_days, 365);
        assert_eq!(spec.outcome.condition_concept_ids, vec![192671]);
        assert!(spec.outcome.exclude_prior && !spec.outcome.death);
        assert_eq!(spec.follow_up.max_days, Some(1825));
    }

    #[test]
    fn defaults_and_errors() {
        let spec =
            CohortSpec::from_toml("[index]\ncondition_concept_ids=[1]\n[outcome]\ndeath=true\n")
                .unwrap();
        assert!(spec.index.include_descendants && spec.outcome.exclude_prior);
        assert_eq!(spec.washout.prior_observation_days, 0);
        for bad in [
            "[index]\n[outcome]\ndeath=true\n",
            "[index]\ncondition_concept_ids=[1]\n[outcome]\n",
            "[index]\ncondition_concept_ids=[1]\nfoo=1\n[outcome]\ndeath=true\n",
            "[index]\ncondition_concept_ids=[1]\n[outcome]\ndeath=true\n[washout]\nprior_observation_days=-1\n",
            "[index]\ncondition_concept_ids=[1]\nmin_age=50\nmax_age=40\n[outcome]\ndeath=true\n",
            "not toml",
        ] {
            assert!(CohortSpec::from_toml(bad).is_err(), "{bad}");
        }
    }
}
