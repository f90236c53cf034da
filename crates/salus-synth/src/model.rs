//! The fitted synthesizer and its file format (JSON, versioned).
//!
//! A model holds the public domain, the cell compression, the junction tree and its
//! calibrated clique marginals (estimated from noisy measurements only), and the privacy
//! record: what was measured, with which noise, and the rho charged per step. It never holds
//! a record or a raw count.

use serde::{Deserialize, Serialize};

use crate::accountant::Step;
use crate::compress::AttributeCompression;
use crate::domain::{Domain, DomainSource};
use crate::error::{Result, SynthError};
use crate::estimate::Fitted;
use crate::factor::Clique;
use crate::inference::Engine;
use crate::junction::JunctionTree;

/// Identifies model files.
pub const MODEL_FORMAT: &str = "salus-synth-model";
/// The model file version this build reads and writes.
pub const MODEL_VERSION: u32 = 1;

/// What protected the model, for the release statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacyRecord {
    /// The (epsilon, delta) promise, when the budget was given that way.
    pub epsilon: Option<f64>,
    /// Its delta.
    pub delta: Option<f64>,
    /// The zCDP budget.
    pub rho_budget: f64,
    /// The composed rho of all steps (rounded up).
    pub rho_spent: f64,
    /// Every charged step.
    pub steps: Vec<Step>,
    /// The neighbouring relation the guarantee is stated for.
    pub neighbouring: String,
    /// Columns whose categories were read from the data and treated as public.
    pub data_derived_domains: Vec<String>,
}

impl PrivacyRecord {
    pub(crate) fn new(
        epsilon: Option<f64>,
        delta: Option<f64>,
        rho_budget: f64,
        steps: Vec<Step>,
        domain: &Domain,
    ) -> Self {
        let rhos: Vec<f64> = steps.iter().map(|s| s.rho).collect();
        let data_derived_domains = domain
            .attributes()
            .iter()
            .filter(|a| a.source == DomainSource::Data)
            .map(|a| a.name.clone())
            .collect();
        PrivacyRecord {
            epsilon,
            delta,
            rho_budget,
            rho_spent: salus_dp::zcdp::compose(&rhos),
            steps,
            neighbouring: "add or remove one record".to_string(),
            data_derived_domains,
        }
    }
}

/// One measured marginal as recorded in the model (no counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredClique {
    /// Attribute names.
    pub columns: Vec<String>,
    /// Noise standard deviation per cell.
    pub sigma: f64,
}

/// A fitted synthesizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    format: String,
    version: u32,
    /// `mst`, `aim` or `federated-mst`.
    pub method: String,
    /// The modelled columns.
    pub domain: Domain,
    /// Cell merging per attribute (original cell -> model cell).
    pub compression: Vec<AttributeCompression>,
    /// The privacy statement.
    pub privacy: PrivacyRecord,
    /// What was measured.
    pub measured: Vec<MeasuredClique>,
    /// Junction-tree cliques (attribute indices) ...
    pub cliques: Vec<Clique>,
    /// ... their parent links (root first) ...
    pub parents: Vec<Option<usize>>,
    /// ... and their estimated marginals over model cells (each sums to `total`).
    pub marginals: Vec<Vec<f64>>,
    /// Estimated number of records.
    pub total: f64,
    /// Optimiser iterations of the final fit.
    pub iterations: usize,
    /// Field delimiter of the training CSV, so samples can be written in the same format
    /// (set by the caller; not used by the library).
    #[serde(default)]
    pub csv_delimiter: Option<char>,
    /// Final weighted squared loss of the estimator (sum over cells of (mu - y)^2 / (2 var)).
    pub loss: f64,
}

impl Model {
    pub(crate) fn from_fit(
        method: &str,
        domain: Domain,
        compression: Vec<AttributeCompression>,
        privacy: PrivacyRecord,
        measured: Vec<MeasuredClique>,
        fitted: Fitted,
    ) -> Self {
        Model {
            format: MODEL_FORMAT.to_string(),
            version: MODEL_VERSION,
            method: method.to_string(),
            domain,
            compression,
            privacy,
            measured,
            cliques: fitted.engine.tree.cliques.clone(),
            parents: fitted.engine.tree.parent.clone(),
            marginals: fitted.beliefs,
            total: fitted.total,
            iterations: fitted.iterations,
            loss: fitted.loss,
            csv_delimiter: None,
        }
    }

    /// Cells per attribute in the model (after compression).
    pub fn model_sizes(&self) -> Vec<usize> {
        self.compression.iter().map(|c| c.size).collect()
    }

    /// Serialises to pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| SynthError::ModelFile(e.to_string()))
    }

    /// Reads and validates a model file's JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        let model: Model = serde_json::from_str(text).map_err(|e| {
            SynthError::ModelFile(format!(
                "not a valid model ({e}); was it written by `salus synth fit`?"
            ))
        })?;
        model.validate()?;
        Ok(model)
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(SynthError::ModelFile(what.to_string()));
        if self.format != MODEL_FORMAT {
            return bad("this is not a salus-synth model file");
        }
        if self.version != MODEL_VERSION {
            return Err(SynthError::ModelFile(format!(
                "model version {} is not supported by this build (expects {MODEL_VERSION}); refit the model",
                self.version
            )));
        }
        let domain = Domain::new(self.domain.attributes().to_vec())?;
        if self.compression.len() != domain.len() {
            return bad("the compression does not match the domain");
        }
        for (c, size) in self.compression.iter().zip(domain.sizes()) {
            let rare_ok = c
                .rare
                .iter()
                .all(|(cell, w)| (*cell as usize) < size && w.is_finite() && *w >= 0.0);
            if c.size == 0 {
                return bad("an attribute's compression has no cells");
            }
            let mut covered = vec![false; c.size];
            c.map
                .iter()
                .filter(|&&m| (m as usize) < c.size)
                .for_each(|&m| covered[m as usize] = true);
            let rare_merged = c
                .rare
                .iter()
                .all(|(cell, _)| c.map.get(*cell as usize) == Some(&((c.size - 1) as u32)));
            let consistent = c.map.len() == size
                && c.map.iter().all(|&m| (m as usize) < c.size)
                && covered.iter().all(|&x| x)
                && rare_ok
                && rare_merged;
            if !consistent {
                return bad("an attribute's compression map is inconsistent");
            }
        }
        if self.engine().is_none() {
            return bad("the junction tree is malformed");
        }
        let sizes = self.model_sizes();
        let cells_ok = self.marginals.len() == self.cliques.len()
            && self
                .cliques
                .iter()
                .zip(&self.marginals)
                .all(|(c, m)| c.cells(&sizes) == m.len())
            && self
                .marginals
                .iter()
                .flatten()
                .all(|v| v.is_finite() && *v >= 0.0);
        if !(cells_ok && self.total.is_finite() && self.total > 0.0) {
            return bad("the stored marginals do not match the cliques");
        }
        Ok(())
    }

    /// The inference engine over the stored junction tree.
    pub(crate) fn engine(&self) -> Option<Engine> {
        let tree = JunctionTree::from_parts(
            self.cliques.clone(),
            self.parents.clone(),
            self.domain.len(),
        )?;
        Some(Engine::new(&self.model_sizes(), tree))
    }

    /// The model's marginal over the named columns, over model cells, summing to `total`.
    pub fn marginal(&self, columns: &[&str]) -> Result<Vec<f64>> {
        let attrs = columns
            .iter()
            .map(|c| self.domain.index_of(c))
            .collect::<Result<Vec<_>>>()?;
        let engine = self
            .engine()
            .ok_or_else(|| SynthError::ModelFile("malformed junction tree".to_string()))?;
        Ok(engine.marginal(&self.marginals, &Clique::new(attrs)).values)
    }
}
