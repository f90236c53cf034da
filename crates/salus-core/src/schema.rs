//! Dataset schemas: the column types and roles a data steward declares when
//! registering a dataset on a node. The schema (never the rows) is what the hub's
//! catalogue shows researchers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{CoreError, parse_document};

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnType {
    /// Real numbers.
    Numeric,
    /// One of a declared, public list of levels.
    Categorical,
    /// Free text (never used as an analysis variable).
    Text,
    /// ISO 8601 date.
    Date,
}

/// What a column means for privacy and analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnRole {
    /// Directly identifies a patient (name, MRN, pseudonym); never leaves the node and
    /// is never an analysis variable. The patient key for consent is one of these.
    Identifier,
    /// Could identify in combination (age, sex, postcode).
    QuasiIdentifier,
    /// Sensitive attribute (diagnosis, outcome).
    Sensitive,
    /// Follow-up time (or the stop of a (start, stop] interval).
    Time,
    /// Event indicator (1 = event, 0 = censored).
    Event,
    /// Start of a (start, stop] interval for time-dependent covariates.
    Start,
    /// An ordinary analysis variable.
    Covariate,
}

/// One column's declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSchema {
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    pub role: ColumnRole,
    /// Public levels of a categorical column (required for categorical columns).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<String>,
    /// Public bounds of a numeric column, used for histograms, DP sensitivity and
    /// synthetic data binning; values outside are refused at registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<[f64; 2]>,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A dataset's schema: its columns by name, and which identifier is the patient key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DatasetSchema {
    /// The identifier column that holds the patient pseudonym (for consent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_key: Option<String>,
    /// Data categories the dataset holds (for consent: demographics, diagnoses, labs, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    pub columns: BTreeMap<String, ColumnSchema>,
}

impl DatasetSchema {
    /// Parses a schema file (TOML or JSON) and validates it.
    pub fn from_text(text: &str) -> Result<Self, CoreError> {
        let schema: DatasetSchema = parse_document("dataset schema", text)?;
        schema.validate()?;
        Ok(schema)
    }

    /// Checks internal consistency: levels for categorical columns, a patient key that
    /// is an identifier, bounds in order.
    pub fn validate(&self) -> Result<(), CoreError> {
        let what = "dataset schema";
        if self.columns.is_empty() {
            return Err(CoreError::invalid(what, "it declares no columns"));
        }
        for (name, col) in &self.columns {
            if col.column_type == ColumnType::Categorical && col.levels.is_empty() {
                return Err(CoreError::invalid(
                    what,
                    format!(
                        "categorical column `{name}` needs `levels = [...]` (the public list of its values)"
                    ),
                ));
            }
            if let Some([lo, hi]) = col.bounds
                && lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less)
            {
                return Err(CoreError::invalid(
                    what,
                    format!(
                        "column `{name}` has bounds [{lo}, {hi}]; the lower bound must be below the upper"
                    ),
                ));
            }
        }
        if let Some(key) = &self.patient_key {
            match self.columns.get(key) {
                Some(c) if c.role == ColumnRole::Identifier => {}
                Some(_) => {
                    return Err(CoreError::invalid(
                        what,
                        format!("patient_key `{key}` must have role = \"identifier\""),
                    ));
                }
                None => {
                    return Err(CoreError::invalid(
                        what,
                        format!("patient_key `{key}` is not a declared column"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The declaration of a column, or an error naming the known columns.
    pub fn column(&self, name: &str) -> Result<&ColumnSchema, CoreError> {
        self.columns.get(name).ok_or_else(|| {
            CoreError::invalid(
                "study",
                format!(
                    "the dataset has no column `{name}`; its columns are: {}",
                    self.columns.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// Checks that a column may be used as an analysis variable (exists, not an identifier).
    pub fn analysis_column(&self, name: &str) -> Result<&ColumnSchema, CoreError> {
        let col = self.column(name)?;
        if col.role == ColumnRole::Identifier {
            return Err(CoreError::invalid(
                "study",
                format!("column `{name}` is an identifier and can never be an analysis variable"),
            ));
        }
        Ok(col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorical_needs_levels() {
        let err =
            DatasetSchema::from_text("[columns.x]\ntype = \"categorical\"\nrole = \"covariate\"\n")
                .unwrap_err();
        assert!(err.to_string().contains("levels"), "{err}");
    }

    #[test]
    fn identifiers_are_not_analysis_variables() {
        let s = DatasetSchema::from_text(
            "patient_key = \"pid\"\n[columns.pid]\ntype = \"text\"\nrole = \"identifier\"\n",
        )
        .unwrap();
        assert!(s.analysis_column("pid").is_err());
        assert!(
            s.analysis_column("nope")
                .unwrap_err()
                .to_string()
                .contains("pid")
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = DatasetSchema::from_text(
            "[columns.x]\ntype = \"numeric\"\nrole = \"covariate\"\nlevel = 3\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("level"), "{err}");
    }
}
