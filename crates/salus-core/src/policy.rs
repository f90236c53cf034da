//! A node's policy: the data steward's rules for which studies the node joins.
//!
//! Every refusal names the rule that refused and what would satisfy it, so that a
//! researcher can fix the study and a steward can audit the decision.

use serde::{Deserialize, Serialize};

use crate::study::StudySpec;
use crate::{CoreError, parse_document};

/// Whether studies that pass the policy run at once or wait for the steward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    #[default]
    Automatic,
    Manual,
}

/// What counts as consent when a patient has no consent record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentDefault {
    /// Patients without a record are included (they can opt out).
    #[default]
    OptOut,
    /// Patients without a record are excluded (they must opt in).
    OptIn,
}

/// The node policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePolicy {
    /// Cells (and cohorts) below this count are suppressed or refused.
    #[serde(default = "default_min_cell")]
    pub min_cell_count: u64,
    /// Largest ratio of model parameters to cohort rows (DataSHIELD's nfilter.glm).
    #[serde(default = "default_max_params")]
    pub max_parameters_per_row: f64,
    #[serde(default)]
    pub approval: Approval,
    /// Allowed analyses by name; empty = all.
    #[serde(default)]
    pub allowed_analyses: Vec<String>,
    /// Allowed researchers (token names); empty = any authenticated researcher.
    #[serde(default)]
    pub allowed_researchers: Vec<String>,
    /// Allowed researcher organisations; empty = any.
    #[serde(default)]
    pub allowed_organisations: Vec<String>,
    /// Allowed purposes of use; empty = any.
    #[serde(default)]
    pub allowed_purposes: Vec<String>,
    /// Every study must use differential privacy.
    #[serde(default)]
    pub require_dp: bool,
    /// zCDP budget (rho) per (dataset, researcher).
    #[serde(default = "default_rho")]
    pub privacy_budget_rho: f64,
    #[serde(default)]
    pub consent_default: ConsentDefault,
}

fn default_min_cell() -> u64 {
    5
}
fn default_max_params() -> f64 {
    0.33
}
fn default_rho() -> f64 {
    1.0
}

impl Default for NodePolicy {
    fn default() -> Self {
        NodePolicy {
            min_cell_count: default_min_cell(),
            max_parameters_per_row: default_max_params(),
            approval: Approval::Automatic,
            allowed_analyses: Vec::new(),
            allowed_researchers: Vec::new(),
            allowed_organisations: Vec::new(),
            allowed_purposes: Vec::new(),
            require_dp: false,
            privacy_budget_rho: default_rho(),
            consent_default: ConsentDefault::OptOut,
        }
    }
}

/// Why a study was refused: the rule and what would satisfy it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The policy rule, e.g. `allowed_analyses`.
    pub rule: String,
    /// A sentence naming the problem and the fix.
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refused by policy rule `{}`: {}",
            self.rule, self.message
        )
    }
}

impl NodePolicy {
    /// Parses and validates a policy file (TOML or JSON).
    pub fn from_text(text: &str) -> Result<Self, CoreError> {
        let p: NodePolicy = parse_document("node policy", text)?;
        if p.min_cell_count == 0 {
            return Err(CoreError::invalid(
                "node policy",
                "min_cell_count must be at least 1",
            ));
        }
        if !(p.max_parameters_per_row > 0.0 && p.max_parameters_per_row <= 1.0) {
            return Err(CoreError::invalid(
                "node policy",
                "max_parameters_per_row must be in (0, 1]",
            ));
        }
        if !(p.privacy_budget_rho >= 0.0 && p.privacy_budget_rho.is_finite()) {
            return Err(CoreError::invalid(
                "node policy",
                "privacy_budget_rho must be a non-negative number",
            ));
        }
        Ok(p)
    }

    /// Checks the parts of a study that need no data: analysis, researcher,
    /// organisation, purpose and DP requirement.
    pub fn check_study(
        &self,
        spec: &StudySpec,
        researcher: &str,
        organisation: &str,
    ) -> Result<(), Refusal> {
        let kind = spec.analysis.kind();
        if !self.allowed_analyses.is_empty() && !self.allowed_analyses.iter().any(|a| a == kind) {
            return Err(Refusal {
                rule: "allowed_analyses".into(),
                message: format!(
                    "analysis `{kind}` is not allowed here; allowed: {}",
                    self.allowed_analyses.join(", ")
                ),
            });
        }
        if !self.allowed_researchers.is_empty()
            && !self.allowed_researchers.iter().any(|r| r == researcher)
        {
            return Err(Refusal {
                rule: "allowed_researchers".into(),
                message: format!(
                    "researcher `{researcher}` is not on this node's list; ask the data steward to add them"
                ),
            });
        }
        if !self.allowed_organisations.is_empty()
            && !self.allowed_organisations.iter().any(|o| o == organisation)
        {
            return Err(Refusal {
                rule: "allowed_organisations".into(),
                message: format!(
                    "organisation `{organisation}` is not allowed; allowed: {}",
                    self.allowed_organisations.join(", ")
                ),
            });
        }
        if !self.allowed_purposes.is_empty()
            && !self.allowed_purposes.iter().any(|p| p == &spec.purpose)
        {
            return Err(Refusal {
                rule: "allowed_purposes".into(),
                message: format!(
                    "purpose `{}` is not allowed; allowed: {}",
                    spec.purpose,
                    self.allowed_purposes.join(", ")
                ),
            });
        }
        if self.require_dp && spec.dp.is_none() {
            return Err(Refusal {
                rule: "require_dp".into(),
                message: "this node only joins differentially private studies; add [dp] epsilon = ... to the spec".into(),
            });
        }
        Ok(())
    }

    /// Checks the cohort size and model size once the node knows its cohort.
    pub fn check_cohort(&self, rows: u64, parameters: usize) -> Result<(), Refusal> {
        if rows < self.min_cell_count {
            return Err(Refusal {
                rule: "min_cell_count".into(),
                message: format!(
                    "the cohort at this node has fewer than {} patients; widen the cohort filter",
                    self.min_cell_count
                ),
            });
        }
        if parameters > 0 && (parameters as f64) > self.max_parameters_per_row * rows as f64 {
            return Err(Refusal {
                rule: "max_parameters_per_row".into(),
                message: format!(
                    "{parameters} model parameters is too many for this node's cohort (at most {} per row); use fewer covariates or a wider cohort",
                    self.max_parameters_per_row
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str) -> StudySpec {
        StudySpec::from_toml(&format!(
            "name='x'\ndataset='d'\n[analysis]\ntype='{kind}'\n"
        ))
        .unwrap()
    }

    #[test]
    fn refusals_name_the_rule() {
        let p = NodePolicy::from_text(
            "allowed_analyses = ['kaplan-meier']\nallowed_researchers=['alice']",
        )
        .unwrap();
        let r = p
            .check_study(&spec("descriptive"), "alice", "x")
            .unwrap_err();
        assert_eq!(r.rule, "allowed_analyses");
        let mut s = spec("descriptive");
        s.analysis = salus_analysis_km();
        let r = p.check_study(&s, "mallory", "x").unwrap_err();
        assert_eq!(r.rule, "allowed_researchers");
        assert!(r.message.contains("mallory"));
    }

    fn salus_analysis_km() -> crate::study::AnalysisSpec {
        crate::study::AnalysisSpec::KaplanMeier {
            time: "t".into(),
            event: "e".into(),
            group: None,
            grid: crate::study::GridSpec {
                step: 1.0,
                max: None,
            },
            at: vec![],
        }
    }

    #[test]
    fn small_cohorts_and_big_models_refused() {
        let p = NodePolicy::default();
        assert_eq!(p.check_cohort(4, 0).unwrap_err().rule, "min_cell_count");
        assert_eq!(
            p.check_cohort(10, 5).unwrap_err().rule,
            "max_parameters_per_row"
        );
        assert!(p.check_cohort(100, 5).is_ok());
    }
}
