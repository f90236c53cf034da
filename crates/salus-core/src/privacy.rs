//! The privacy record every study result carries: what the hub saw, what the
//! researcher sees, and which guarantees protected it.

use serde::{Deserialize, Serialize};

/// Differential privacy applied to a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpRecord {
    /// zCDP parameter charged for this release.
    pub rho: f64,
    /// The (epsilon, delta) guarantee implied by `rho`.
    pub epsilon: f64,
    pub delta: f64,
    /// Mechanism, e.g. "distributed Skellam noise added by each node before masking".
    pub mechanism: String,
    /// Remaining rho budget per node after the charge (node name -> rho).
    pub remaining_rho: std::collections::BTreeMap<String, f64>,
}

/// What each party learned, and the guarantees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacyRecord {
    /// `secure-aggregation` or `threshold-he`.
    pub protection: String,
    /// What the hub observed.
    pub hub_saw: String,
    /// What the researcher receives.
    pub researcher_sees: String,
    /// Nodes whose contributions are in the result.
    pub nodes: Vec<String>,
    /// Nodes that dropped out (their data is not in the result).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
    /// Minimum number of contributions needed (secure aggregation threshold t, or all for HE).
    pub threshold: usize,
    /// The smallest cell count released (cells below are suppressed).
    pub min_cell_count: u64,
    /// How many cells were suppressed before release.
    pub suppressed_cells: usize,
    /// Patients excluded because their consent did not cover this purpose (suppressed
    /// to `null` when below the minimum cell count).
    pub consent_excluded: Option<u64>,
    /// Differential privacy, when the study asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<DpRecord>,
    /// Approximations and caveats the researcher must know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
}
