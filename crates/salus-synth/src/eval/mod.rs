//! The evaluation report of `salus synth evaluate`: fidelity, utility, privacy and bias of a
//! synthetic table against the real one (and an optional holdout of real rows the
//! synthesizer never saw). Deterministic for a given seed.
//!
//! The JSON has exactly four sections, `{"fidelity", "utility", "privacy", "bias"}`; a
//! section that cannot be computed (no `--target`, ...) is `{"computed": false, "reason"}`.

mod bias;
mod discretize;
mod fidelity;
mod html;
mod logistic;
mod privacy;
mod utility;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_table::Table;
use serde::{Deserialize, Serialize};

pub use bias::{Bias, Difference, GroupRates};
pub use fidelity::{ColumnFidelity, Fidelity, PairFidelity};
pub use privacy::{AttackOutcome, DistanceToClosest, MembershipInference, Privacy};
pub use utility::{Scores, Utility};

use crate::error::Result;

/// What to evaluate and how hard.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Outcome column for utility and bias.
    pub target: Option<String>,
    /// Protected attribute for bias.
    pub protected: Option<String>,
    /// Seed of every random choice (splits, samples, attacks).
    pub seed: u64,
    /// Most k-subsets evaluated per k (a seeded sample beyond).
    pub max_subsets: usize,
    /// Numeric columns with at most this many distinct values are compared value by value;
    /// others by the real data's deciles.
    pub max_exact_values: usize,
    /// Rows per side for the detection classifier.
    pub detection_rows: usize,
    /// Run the privacy attacks.
    pub privacy: bool,
    /// Attacks per singling-out and linkability evaluation.
    pub attacks: usize,
    /// Attacks per attribute-inference secret.
    pub inference_attacks: usize,
    /// Members and non-members attacked by membership inference.
    pub membership_targets: usize,
    /// Sampled rows for distance to closest record.
    pub dcr_rows: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            target: None,
            protected: None,
            seed: 0,
            max_subsets: 1000,
            max_exact_values: 20,
            detection_rows: 10_000,
            privacy: true,
            attacks: 500,
            inference_attacks: 200,
            membership_targets: 100,
            dcr_rows: 1000,
        }
    }
}

/// A section, or why it was not computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Section<T> {
    /// The computed section.
    Computed(T),
    /// Not computed.
    Skipped {
        /// Always false.
        computed: bool,
        /// Why.
        reason: String,
    },
}

impl<T> Section<T> {
    fn skipped(reason: impl Into<String>) -> Self {
        Section::Skipped {
            computed: false,
            reason: reason.into(),
        }
    }

    /// The section, if computed.
    pub fn computed(&self) -> Option<&T> {
        match self {
            Section::Computed(t) => Some(t),
            Section::Skipped { .. } => None,
        }
    }
}

/// Table sizes and columns, kept inside the fidelity section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Rows of the real table.
    pub real_rows: usize,
    /// Rows of the synthetic table.
    pub synthetic_rows: usize,
    /// Rows of the holdout.
    pub holdout_rows: Option<usize>,
    /// Columns evaluated.
    pub columns: Vec<String>,
    /// Real columns the synthetic table lacks (not evaluated).
    pub missing_in_synthetic: Vec<String>,
}

/// Fidelity plus coverage (flattened into one JSON object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FidelitySection {
    /// The measures.
    #[serde(flatten)]
    pub measures: Fidelity,
    /// What was compared.
    pub coverage: Coverage,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// How close the distributions are.
    pub fidelity: FidelitySection,
    /// Train on synthetic, test on real.
    pub utility: Section<Utility>,
    /// Attacks.
    pub privacy: Section<Privacy>,
    /// Group fairness.
    pub bias: Section<Bias>,
}

/// Evaluates `synthetic` against `real` (and `holdout`).
pub fn evaluate(
    real: &Table,
    synthetic: &Table,
    holdout: Option<&Table>,
    options: &EvalOptions,
) -> Result<Evaluation> {
    let data = discretize::discretise(real, synthetic, holdout, options.max_exact_values, 10)?;
    let rng = |salt: u64| {
        ChaCha20Rng::seed_from_u64(options.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    };
    let measures = fidelity::fidelity(
        real,
        synthetic,
        &data,
        options.max_subsets,
        options.detection_rows,
        &mut rng(1),
    );
    let coverage = Coverage {
        real_rows: real.nrows(),
        synthetic_rows: synthetic.nrows(),
        holdout_rows: holdout.map(Table::nrows),
        columns: data.columns.iter().map(|c| c.name.clone()).collect(),
        missing_in_synthetic: data.missing_in_synthetic.clone(),
    };
    let (utility, bias) = match &options.target {
        None => (
            Section::skipped("no --target column given"),
            Section::skipped("needs --target and --protected"),
        ),
        Some(target) => {
            let (utility, predictions) = utility::utility(&data, target, &mut rng(2))?;
            let bias = match &options.protected {
                None => Section::skipped("no --protected column given"),
                Some(p) => Section::Computed(bias::bias(&data, p, target, &predictions)?),
            };
            (Section::Computed(utility), bias)
        }
    };
    let privacy = if options.privacy {
        let settings = privacy::PrivacySettings {
            attacks: options.attacks,
            inference_attacks: options.inference_attacks,
            membership_targets: options.membership_targets,
            dcr_rows: options.dcr_rows,
        };
        Section::Computed(privacy::privacy(
            real,
            synthetic,
            holdout,
            &data,
            &settings,
            &mut rng(3),
        ))
    } else {
        Section::skipped("privacy attacks were switched off")
    };
    Ok(Evaluation {
        fidelity: FidelitySection { measures, coverage },
        utility,
        privacy,
        bias,
    })
}

impl Evaluation {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// A self-contained HTML report with inline SVG charts (no external assets).
    pub fn to_html(&self) -> String {
        html::render(self)
    }
}
