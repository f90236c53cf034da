//! The TOML configuration of `salus anonymize` (see `examples/anonymize/adult-k5.toml`).
//!
//! ```toml
//! delimiter = ";"             # input delimiter (default ",")
//! suppression_limit = 1.0     # share of records that may be removed
//! metric = { name = "loss" }  # loss | non_uniform_entropy | discernibility | aecs
//!
//! [[quasi_identifiers]]
//! name = "age"
//! hierarchy = "adult_hierarchy_age.csv"   # ARX file, relative to the config
//!
//! [[quasi_identifiers]]
//! name = "zip"
//! rule = { type = "prefix", step = 1 }    # or intervals, dates, top_code, suppress
//!
//! [[models]]
//! type = "k_anonymity"
//! k = 5
//!
//! [risk]
//! threshold = 0.2
//! ```
//!
//! File paths are returned to the caller to load ([`AnonymizeConfig::resolve`] takes a
//! loader), so this module does no I/O.

use std::collections::BTreeMap;

use salus_table::Table;
use serde::{Deserialize, Serialize};

use crate::anonymize::AnonymizationSpec;
use crate::hierarchy::{Hierarchy, HierarchyRule};
use crate::model::{Metric, PrivacyModel};
use crate::risk::RiskOptions;
use crate::{AnonError, Result};

/// One quasi-identifier: a hierarchy file or a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuasiIdentifierConfig {
    /// Column name.
    pub name: String,
    /// ARX hierarchy file (`;`-separated unless `hierarchy_delimiter` says otherwise).
    #[serde(default)]
    pub hierarchy: Option<String>,
    /// Delimiter of the hierarchy file (default `;`).
    #[serde(default)]
    pub hierarchy_delimiter: Option<String>,
    /// A rule that builds the hierarchy from the data instead of a file.
    #[serde(default)]
    pub rule: Option<HierarchyRule>,
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymizeConfig {
    /// Input delimiter (one character, default `,`).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Quasi-identifiers.
    pub quasi_identifiers: Vec<QuasiIdentifierConfig>,
    /// Sensitive attributes (informational; models name theirs).
    #[serde(default)]
    pub sensitive: Vec<String>,
    /// Hierarchy files of sensitive attributes (hierarchical t-closeness).
    #[serde(default)]
    pub sensitive_hierarchies: BTreeMap<String, String>,
    /// Privacy models.
    #[serde(default)]
    pub models: Vec<PrivacyModel>,
    /// Share of records that may be suppressed (default 0).
    #[serde(default)]
    pub suppression_limit: f64,
    /// Utility metric (default: ARX Loss, geometric mean).
    #[serde(default)]
    pub metric: Metric,
    /// Research subset file for delta-presence (same format as the data).
    #[serde(default)]
    pub research_subset: Option<String>,
    /// Columns to drop before release (direct identifiers).
    #[serde(default)]
    pub drop: Vec<String>,
    /// Risk threshold and population size.
    #[serde(default)]
    pub risk: RiskOptions,
}

impl AnonymizeConfig {
    /// Parses the TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| AnonError::Config(format!("invalid configuration: {e}")))
    }

    /// The input delimiter as a byte.
    pub fn delimiter_byte(&self) -> Result<u8> {
        delimiter(self.delimiter.as_deref(), b',')
    }

    /// Builds the engine specification. `load` returns the bytes of a file named in the
    /// configuration (relative paths are the caller's business). The research subset,
    /// if any, must already be matched to rows (`research_subset`).
    pub fn resolve(
        &self,
        table: &Table,
        research_subset: Option<Vec<bool>>,
        load: &mut dyn FnMut(&str) -> Result<Vec<u8>>,
    ) -> Result<AnonymizationSpec> {
        let mut qis = Vec::with_capacity(self.quasi_identifiers.len());
        for qi in &self.quasi_identifiers {
            let hierarchy = match (&qi.hierarchy, &qi.rule) {
                (Some(path), None) => {
                    let d = delimiter(qi.hierarchy_delimiter.as_deref(), b';')?;
                    Hierarchy::from_csv(&qi.name, &load(path)?, d)?
                }
                (None, Some(rule)) => {
                    let column = table.column(&qi.name)?;
                    let values: Vec<String> = (0..column.len())
                        .filter_map(|r| column.display(r).map(|v| v.into_owned()))
                        .collect();
                    Hierarchy::from_rule(&qi.name, rule, &values)?
                }
                _ => {
                    return Err(AnonError::Config(format!(
                        "quasi-identifier `{}` needs exactly one of `hierarchy` (a file) or `rule`",
                        qi.name
                    )));
                }
            };
            qis.push((qi.name.clone(), hierarchy));
        }
        let mut sensitive_hierarchies = BTreeMap::new();
        for (name, path) in &self.sensitive_hierarchies {
            sensitive_hierarchies
                .insert(name.clone(), Hierarchy::from_csv(name, &load(path)?, b';')?);
        }
        let mut spec = AnonymizationSpec::new(qis);
        spec.models = self.models.clone();
        spec.sensitive_hierarchies = sensitive_hierarchies;
        spec.suppression_limit = self.suppression_limit;
        spec.metric = self.metric.clone();
        spec.research_subset = research_subset;
        spec.risk = self.risk.clone();
        Ok(spec)
    }
}

fn delimiter(text: Option<&str>, default: u8) -> Result<u8> {
    match text {
        None => Ok(default),
        Some("\\t") | Some("tab") => Ok(b'\t'),
        Some(s) if s.len() == 1 => Ok(s.as_bytes()[0]),
        Some(_) => Err(AnonError::Config(
            "a delimiter must be a single ASCII character (or \"tab\")".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_configuration() {
        let c = AnonymizeConfig::from_toml(
            r#"
            delimiter = ";"
            suppression_limit = 0.04
            metric = { name = "loss", aggregate = "rank" }
            [[quasi_identifiers]]
            name = "age"
            rule = { type = "intervals", widths = [5, 10], top_code = 90 }
            [[quasi_identifiers]]
            name = "sex"
            hierarchy = "sex.csv"
            [[models]]
            type = "k_anonymity"
            k = 5
            [[models]]
            type = "recursive_cl_diversity"
            attribute = "occupation"
            c = 4.0
            l = 3
            [risk]
            threshold = 0.09
            population = 300000
            "#,
        )
        .unwrap();
        assert_eq!(c.delimiter_byte().unwrap(), b';');
        assert_eq!(c.models.len(), 2);
        assert_eq!(c.risk.population, Some(300000.0));
        assert!(AnonymizeConfig::from_toml("quasi_identifiers = []\nunknown = 1").is_err());
    }
}
