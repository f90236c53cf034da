//! Fitting a synthesizer on one table (central DP): domain, selection and measurement
//! (MST or AIM), then the final Private-PGM estimation.

use rand::{CryptoRng, Rng};
use salus_table::Table;

use crate::accountant::Accountant;
use crate::aim::{AimOptions, run_aim};
use crate::error::{Result, SynthError};
use crate::estimate::{EstimationOptions, estimate, estimate_total};
use crate::infer::{DomainOptions, infer_domain};
use crate::model::{Model, PrivacyRecord};
use crate::mst::{Central, run_mst};

/// Which selection procedure to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Maximum spanning tree of pairs (McKenna et al. 2021).
    #[default]
    Mst,
    /// Adaptive, workload-aware selection (McKenna et al. 2022).
    Aim,
}

impl Method {
    /// `mst` or `aim`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Mst => "mst",
            Method::Aim => "aim",
        }
    }
}

/// The privacy budget of a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// The zCDP budget.
    pub rho: f64,
    /// The (epsilon, delta) it honours, when given that way.
    pub epsilon: Option<f64>,
    /// The delta of that promise.
    pub delta: Option<f64>,
}

impl Budget {
    /// The largest rho whose (epsilon, delta) conversion (salus-dp, CKS20) is at most `epsilon`.
    pub fn from_epsilon_delta(epsilon: f64, delta: f64) -> Result<Self> {
        let rho = salus_dp::zcdp::epsilon_delta_to_rho(epsilon, delta)?;
        Ok(Budget {
            rho,
            epsilon: Some(epsilon),
            delta: Some(delta),
        })
    }

    /// A plain zCDP budget.
    pub fn from_rho(rho: f64) -> Self {
        Budget {
            rho,
            epsilon: None,
            delta: None,
        }
    }
}

/// Everything that shapes a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// MST or AIM.
    pub method: Method,
    /// How columns become attributes.
    pub domain: DomainOptions,
    /// Share of the budget for DP bounds of numeric/date columns without public bounds
    /// (charged only when some column needs it).
    pub bounds_fraction: f64,
    /// Merge rare cells after the one-way measurements (MST's domain compression).
    pub compress: bool,
    /// Stopping rules of the final estimation.
    pub estimation: EstimationOptions,
    /// Largest junction tree (total cells) the model may have.
    pub max_model_cells: usize,
    /// AIM settings.
    pub aim: AimOptions,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            method: Method::Mst,
            domain: DomainOptions::default(),
            bounds_fraction: 0.05,
            compress: true,
            estimation: EstimationOptions::default(),
            max_model_cells: 2_000_000,
            aim: AimOptions::default(),
        }
    }
}

/// Fits a synthesizer to `table` within `budget`. The randomness must be cryptographically
/// secure for a real release (a fixed seed is for tests and benchmarks only).
pub fn fit<R: Rng + CryptoRng + ?Sized>(
    table: &Table,
    budget: &Budget,
    options: &FitOptions,
    rng: &mut R,
) -> Result<Model> {
    let mut accountant = Accountant::new(budget.rho)?;
    if !(0.0..1.0).contains(&options.bounds_fraction) {
        return Err(SynthError::Privacy(
            "bounds_fraction must be in [0, 1)".to_string(),
        ));
    }
    if table.nrows() == 0 {
        return Err(SynthError::Evaluation(
            "the input has no rows to learn from".to_string(),
        ));
    }
    let bounds_rho = budget.rho * options.bounds_fraction;
    let domain = infer_domain(table, &options.domain, &mut accountant, bounds_rho, rng)?;
    if domain.is_empty() {
        return Err(SynthError::Evaluation(
            "no columns to model; check --columns".to_string(),
        ));
    }
    let encoded = domain.encode(table)?;
    let central = Central {
        domain: &domain,
        encoded: &encoded,
        compress: options.compress,
        max_model_cells: options.max_model_cells,
    };
    let selection = match options.method {
        Method::Mst => run_mst(&central, &mut accountant, rng)?,
        Method::Aim => run_aim(
            &central,
            &options.aim,
            &options.estimation,
            &mut accountant,
            rng,
        )?,
    };
    let sizes: Vec<usize> = selection.compression.iter().map(|c| c.size).collect();
    let total = estimate_total(&selection.observations);
    let fitted = estimate(
        &sizes,
        &selection.observations,
        total,
        &options.estimation,
        &selection.warm,
        options.max_model_cells,
    )?;
    let privacy = PrivacyRecord::new(
        budget.epsilon,
        budget.delta,
        budget.rho,
        accountant.steps().to_vec(),
        &domain,
    );
    Ok(Model::from_fit(
        options.method.name(),
        domain,
        selection.compression,
        privacy,
        selection.measured,
        fitted,
    ))
}
