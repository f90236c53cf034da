//! Cox proportional hazards: local fits and the two federated decompositions.
//!
//! * [`local_terms`]: Newton terms of one site's partial likelihood, stratified by the
//!   site's strata. Summing the terms of all sites gives the fit stratified by
//!   (site, stratum): each site has its own baseline hazard, and no times leave it.
//! * [`grid_local_sums`] + [`grid_terms`]: a pooled baseline hazard on a public
//!   [`TimeGrid`](crate::TimeGrid); exact for grid-rounded times.
//! * [`fit`]: a complete local fit with the same [`NewtonDriver`] the federated fits use.
//!
//! Both tie methods (Efron, the default, and Breslow) and counting-process
//! `(start, stop]` rows (time-dependent covariates, left truncation) work in every mode.

mod baseline;
mod data;
mod grid;
mod local;

pub use baseline::{BaselineHazard, baseline_hazard};
pub use data::{CoxData, CoxInput, CoxSpec};
pub use grid::{
    GridRounding, grid_baseline, grid_block_len, grid_local_sums, grid_sums_len, grid_terms,
    round_to_grid,
};
pub use local::local_terms;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError};
use crate::newton::{
    FailureReason, FitFailure, FitSummary, NewtonDriver, NewtonOptions, run_local,
};
use crate::summary::{CoxCoefficient, LrTest, cox_coefficient_table};

/// How tied event times enter the partial likelihood.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ties {
    /// Efron's approximation (the default, as in R and lifelines).
    #[default]
    Efron,
    /// Breslow's approximation.
    Breslow,
}

impl std::str::FromStr for Ties {
    type Err = StatsError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "efron" => Ok(Ties::Efron),
            "breslow" => Ok(Ties::Breslow),
            other => Err(StatsError::InvalidOption(format!(
                "unknown ties method `{other}`; use efron or breslow"
            ))),
        }
    }
}

/// Options of a Cox fit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoxOptions {
    /// Tie handling.
    pub ties: Ties,
    /// Newton-Raphson settings.
    pub newton: NewtonOptions,
}

/// A fitted Cox model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoxFit {
    /// Rows (intervals) used.
    pub n: usize,
    /// Events.
    pub events: usize,
    /// Log partial likelihood at the estimate.
    pub loglik: f64,
    /// Log partial likelihood at zero coefficients.
    pub null_loglik: f64,
    /// Newton steps taken.
    pub iterations: usize,
    /// Whether Newton-Raphson converged (false with a warning for divergence).
    pub converged: bool,
    /// Tie method.
    pub ties: Ties,
    /// Coefficients with hazard ratios.
    pub coefficients: Vec<CoxCoefficient>,
    /// Likelihood-ratio test against the model without covariates.
    pub lr_test: LrTest,
    /// Covariance of the coefficients, `p x p` row-major.
    pub covariance: Vec<f64>,
    /// Problems worth telling the user (e.g. a diverging coefficient).
    pub warnings: Vec<String>,
}

/// Fits the Cox model to local data.
///
/// Collinear or constant covariates are errors naming them. Diverging coefficients
/// (monotone likelihood) and running out of iterations give a fit with
/// `converged = false` and a warning naming the covariates.
pub fn fit(data: &CoxData, options: &CoxOptions) -> Result<CoxFit> {
    if data.n_events() == 0 {
        return Err(StatsError::NoData(
            "there are no events, so a Cox model cannot be fitted".into(),
        ));
    }
    let driver = NewtonDriver::new(data.ncols(), options.newton.clone());
    let outcome = run_local(driver, |beta| local_terms(data, beta, options.ties))?;
    let (n, events) = (data.nrows(), data.n_events());
    match outcome {
        Ok(summary) => Ok(summarize(data.names(), &summary, n, events, options.ties)),
        Err(failure) => summarize_failure(data.names(), &failure, n, events, options.ties),
    }
}

/// The result of a converged fit (local or federated) as a [`CoxFit`].
pub fn summarize(
    names: &[String],
    summary: &FitSummary,
    n: usize,
    events: usize,
    ties: Ties,
) -> CoxFit {
    CoxFit {
        n,
        events,
        loglik: summary.loglik,
        null_loglik: summary.initial_loglik,
        iterations: summary.iterations,
        converged: true,
        ties,
        coefficients: cox_coefficient_table(names, summary),
        lr_test: LrTest::new(summary.loglik, summary.initial_loglik, names.len()),
        covariance: summary.covariance.clone(),
        warnings: Vec::new(),
    }
}

/// A failed fit (local or federated): an error for collinearity and the like, or a
/// non-converged [`CoxFit`] with a warning for divergence and iteration limits.
pub fn summarize_failure(
    names: &[String],
    failure: &FitFailure,
    n: usize,
    events: usize,
    ties: Ties,
) -> Result<CoxFit> {
    let error = failure.to_error(names);
    match (&failure.reason, &failure.last) {
        (FailureReason::Diverging { .. } | FailureReason::NotConverged, Some(last)) => {
            let mut fit = summarize(names, last, n, events, ties);
            fit.converged = false;
            fit.warnings.push(error.to_string());
            Ok(fit)
        }
        _ => Err(error),
    }
}
