//! Study specifications: what a researcher asks the federation to compute.
//!
//! A spec names a dataset (by its catalogue name), a cohort filter (a small, safe
//! expression language evaluated on each node), one analysis, how contributions are
//! protected, and optionally a differential-privacy budget for the release.

use serde::{Deserialize, Serialize};

use crate::{CoreError, parse_document};

/// How node contributions are protected on their way to the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Protection {
    /// Pairwise-masked vectors (Bonawitz et al. 2017); the hub learns only the sum.
    #[default]
    SecureAggregation,
    /// Vectors encrypted under a collective key; decryption needs every node.
    ThresholdHe,
}

impl Protection {
    /// The name used in specs and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Protection::SecureAggregation => "secure-aggregation",
            Protection::ThresholdHe => "threshold-he",
        }
    }
}

/// A public time grid for survival analyses: event and exit times are rounded up to
/// the grid, so nodes never reveal their own event times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Grid spacing in the time column's unit (e.g. 30 for months of days).
    pub step: f64,
    /// Last grid point; times beyond are censored there. Defaults to the time
    /// column's declared upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Ties handling for Cox models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Ties {
    #[default]
    Efron,
    Breslow,
}

/// How a federated Cox model treats the baseline hazard across sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CoxMode {
    /// A separate baseline hazard per site (stratified by site): exact on the sites'
    /// own times, no grid needed; nodes send gradient and Hessian sums.
    #[default]
    StratifiedBySite,
    /// One pooled baseline hazard on the public time grid.
    PooledGrid,
}

/// The analysis a study runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AnalysisSpec {
    /// Cohort size, and for each listed column: count, mean, variance (numeric) or
    /// level counts (categorical).
    Descriptive {
        #[serde(default)]
        columns: Vec<String>,
    },
    /// Counts of a numeric column in the given bins (`edges` ascending; n+1 edges).
    Histogram { column: String, edges: Vec<f64> },
    /// Counts of the level combinations of two categorical columns.
    Contingency { rows: String, columns: String },
    /// Kaplan-Meier curves (by group) on the public grid, with a log-rank test.
    KaplanMeier {
        time: String,
        event: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        grid: GridSpec,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        at: Vec<f64>,
    },
    /// Cox proportional hazards, optionally with (start, stop] rows.
    Cox {
        time: String,
        event: String,
        covariates: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strata: Option<String>,
        #[serde(default)]
        ties: Ties,
        #[serde(default)]
        mode: CoxMode,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grid: Option<GridSpec>,
    },
    /// Logistic regression of a 0/1 outcome.
    Logistic {
        outcome: String,
        covariates: Vec<String>,
    },
    /// Linear regression (ordinary least squares).
    Linear {
        outcome: String,
        covariates: Vec<String>,
    },
    /// Differentially private synthetic data model for the union of all sites.
    Synthetic {
        columns: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rows: Option<usize>,
    },
}

impl AnalysisSpec {
    /// The analysis name used in results and policies.
    pub fn kind(&self) -> &'static str {
        match self {
            AnalysisSpec::Descriptive { .. } => "descriptive",
            AnalysisSpec::Histogram { .. } => "histogram",
            AnalysisSpec::Contingency { .. } => "contingency",
            AnalysisSpec::KaplanMeier { .. } => "kaplan-meier",
            AnalysisSpec::Cox { .. } => "cox",
            AnalysisSpec::Logistic { .. } => "logistic",
            AnalysisSpec::Linear { .. } => "linear",
            AnalysisSpec::Synthetic { .. } => "synthetic",
        }
    }

    /// Every column the analysis reads (for validation against the schema).
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        match self {
            AnalysisSpec::Descriptive { columns } | AnalysisSpec::Synthetic { columns, .. } => {
                out.extend(columns.iter().map(String::as_str))
            }
            AnalysisSpec::Histogram { column, .. } => out.push(column),
            AnalysisSpec::Contingency { rows, columns } => {
                out.push(rows);
                out.push(columns);
            }
            AnalysisSpec::KaplanMeier {
                time, event, group, ..
            } => {
                out.push(time);
                out.push(event);
                out.extend(group.as_deref());
            }
            AnalysisSpec::Cox {
                time,
                event,
                covariates,
                start,
                strata,
                ..
            } => {
                out.push(time);
                out.push(event);
                out.extend(covariates.iter().map(String::as_str));
                out.extend(start.as_deref());
                out.extend(strata.as_deref());
            }
            AnalysisSpec::Logistic {
                outcome,
                covariates,
            }
            | AnalysisSpec::Linear {
                outcome,
                covariates,
            } => {
                out.push(outcome);
                out.extend(covariates.iter().map(String::as_str));
            }
        }
        out
    }
}

/// A differential-privacy request for the release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpSpec {
    /// Target epsilon of the (epsilon, delta) guarantee for this release.
    pub epsilon: f64,
    /// Target delta (default 1e-6).
    #[serde(default = "default_delta")]
    pub delta: f64,
}

fn default_delta() -> f64 {
    1e-6
}

/// A study as submitted by a researcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    /// Human title.
    pub name: String,
    /// Catalogue name of the dataset each node holds.
    pub dataset: String,
    /// Cohort filter, e.g. `age >= 45 and menostat == "Post"`; empty = all rows.
    #[serde(default)]
    pub cohort: String,
    pub analysis: AnalysisSpec,
    /// Participating nodes (by name); empty = every node that holds the dataset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub protection: Protection,
    /// Minimum number of nodes whose contributions must arrive (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<usize>,
    /// Purpose of use checked against patient consent (default `research`).
    #[serde(default = "default_purpose")]
    pub purpose: String,
    /// Differential privacy for the released result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<DpSpec>,
}

fn default_purpose() -> String {
    "research".to_string()
}

impl StudySpec {
    /// Parses a spec from TOML (or JSON when it starts with `{`) and checks its shape.
    pub fn from_toml(text: &str) -> Result<Self, CoreError> {
        let spec: StudySpec = parse_document("study spec", text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Shape checks that need no dataset schema.
    pub fn validate(&self) -> Result<(), CoreError> {
        let what = "study spec";
        if self.dataset.trim().is_empty() {
            return Err(CoreError::invalid(
                what,
                "`dataset` is empty; name a dataset from the catalogue",
            ));
        }
        if let Some(dp) = &self.dp
            && !(dp.epsilon > 0.0 && dp.epsilon.is_finite() && dp.delta > 0.0 && dp.delta < 1.0)
        {
            return Err(CoreError::invalid(
                what,
                "dp needs 0 < epsilon and 0 < delta < 1 (e.g. epsilon = 1.0, delta = 1e-6)",
            ));
        }
        if self.threshold == Some(0) {
            return Err(CoreError::invalid(what, "threshold must be at least 1"));
        }
        match &self.analysis {
            AnalysisSpec::Histogram { edges, .. } => {
                if edges.len() < 2
                    || edges
                        .windows(2)
                        .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
                {
                    return Err(CoreError::invalid(
                        what,
                        "histogram edges must be at least two strictly increasing numbers",
                    ));
                }
            }
            AnalysisSpec::KaplanMeier { grid, .. } => check_grid(grid)?,
            AnalysisSpec::Cox {
                mode,
                grid,
                covariates,
                ..
            } => {
                if covariates.is_empty() {
                    return Err(CoreError::invalid(
                        what,
                        "a Cox model needs at least one covariate",
                    ));
                }
                match (mode, grid) {
                    (CoxMode::PooledGrid, None) => {
                        return Err(CoreError::invalid(
                            what,
                            "mode = \"pooled-grid\" needs a public time grid, e.g. grid = { step = 30.0 }",
                        ));
                    }
                    (_, Some(g)) => check_grid(g)?,
                    _ => {}
                }
            }
            AnalysisSpec::Logistic { covariates, .. } | AnalysisSpec::Linear { covariates, .. } => {
                if covariates.is_empty() {
                    return Err(CoreError::invalid(
                        what,
                        "a regression needs at least one covariate",
                    ));
                }
            }
            AnalysisSpec::Synthetic { columns, .. } => {
                if columns.len() < 2 {
                    return Err(CoreError::invalid(
                        what,
                        "synthetic data needs at least two columns",
                    ));
                }
                if self.dp.is_none() {
                    return Err(CoreError::invalid(
                        what,
                        "synthetic data is always differentially private: add [dp] epsilon = ...",
                    ));
                }
            }
            AnalysisSpec::Descriptive { .. } | AnalysisSpec::Contingency { .. } => {}
        }
        Ok(())
    }
}

fn check_grid(grid: &GridSpec) -> Result<(), CoreError> {
    if !(grid.step > 0.0 && grid.step.is_finite()) {
        return Err(CoreError::invalid(
            "study spec",
            "grid step must be a positive number",
        ));
    }
    if let Some(max) = grid.max
        && max.partial_cmp(&grid.step) != Some(std::cmp::Ordering::Greater)
    {
        return Err(CoreError::invalid(
            "study spec",
            "grid max must exceed one step",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_analysis_is_a_clear_error() {
        let err =
            StudySpec::from_toml("name='x'\ndataset='d'\n[analysis]\ntype='magic'\n").unwrap_err();
        assert!(err.to_string().contains("magic"), "{err}");
    }

    #[test]
    fn pooled_cox_needs_a_grid() {
        let err = StudySpec::from_toml(
            "name='x'\ndataset='d'\n[analysis]\ntype='cox'\ntime='t'\nevent='e'\ncovariates=['a']\nmode='pooled-grid'\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("grid"), "{err}");
    }

    #[test]
    fn json_specs_parse_too() {
        let spec = StudySpec::from_toml(
            r#"{"name":"n","dataset":"d","analysis":{"type":"descriptive","columns":["age"]}}"#,
        )
        .unwrap();
        assert_eq!(spec.protection, Protection::SecureAggregation);
        assert_eq!(spec.purpose, "research");
    }

    #[test]
    fn dp_bounds_checked() {
        let err = StudySpec::from_toml(
            "name='x'\ndataset='d'\n[analysis]\ntype='descriptive'\n[dp]\nepsilon=-1\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("epsilon"));
    }
}
