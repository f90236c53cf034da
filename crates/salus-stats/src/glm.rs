//! Generalised linear models fitted by Newton-Raphson (IRLS): logistic regression
//! and the Gaussian model, with per-site [`NewtonTerms`] for federated fits.
//!
//! Logistic: `l = sum y eta - log(1 + exp(eta))`, gradient `X'(y - mu)`, information
//! `X' diag(mu (1 - mu)) X`. Gaussian: the Newton terms use `l = -RSS / 2` (unit
//! variance), which has the least-squares maximum; the reported log-likelihood and
//! standard errors use the estimated variance `RSS / (n - p)` as GLM software does.

use salus_table::Table;
use serde::{Deserialize, Serialize};

use crate::columns::{binary_at, binary_spec, numeric_at};
use crate::design::{Design, DesignSpec};
use crate::error::{Result, StatsError};
use crate::newton::{
    FailureReason, FitFailure, FitSummary, NewtonDriver, NewtonOptions, NewtonTerms, run_local,
};
use crate::summary::{Coefficient, LrTest, coefficient_table};

/// The response distribution of a GLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Binary outcome, logit link.
    Logistic,
    /// Continuous outcome, identity link.
    Gaussian,
}

/// Newton terms of one site's data at `beta`.
pub fn local_terms(
    design: &Design,
    y: &[f64],
    beta: &[f64],
    family: Family,
) -> Result<NewtonTerms> {
    check(design, y, beta)?;
    let p = design.ncols();
    let mut terms = NewtonTerms::zeros(p);
    let mut info = vec![0.0; crate::linalg::packed_len(p)];
    for (i, &yi) in y.iter().enumerate() {
        let x = design.row(i);
        let eta: f64 = x.iter().zip(beta).map(|(a, b)| a * b).sum();
        let (ll, resid, weight) = match family {
            Family::Logistic => {
                let mu = sigmoid(eta);
                let e = (-eta.abs()).exp();
                (
                    yi * eta - log1p_exp(eta),
                    yi - mu,
                    e / ((1.0 + e) * (1.0 + e)),
                )
            }
            Family::Gaussian => {
                let r = yi - eta;
                (-0.5 * r * r, r, 1.0)
            }
        };
        terms.loglik += ll;
        for (g, &v) in terms.gradient.iter_mut().zip(x) {
            *g += resid * v;
        }
        crate::linalg::add_outer(&mut info, x, weight);
    }
    terms.information = crate::linalg::unpack(&info, p);
    Ok(terms)
}

fn check(design: &Design, y: &[f64], beta: &[f64]) -> Result<()> {
    if y.len() != design.nrows() {
        return Err(StatsError::Shape {
            what: "outcome values (one per design row)",
            expected: design.nrows(),
            actual: y.len(),
        });
    }
    if beta.len() != design.ncols() {
        return Err(StatsError::Shape {
            what: "coefficients",
            expected: design.ncols(),
            actual: beta.len(),
        });
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite {
            what: "outcome".into(),
            row,
        });
    }
    Ok(())
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(eta))` without overflow.
fn log1p_exp(eta: f64) -> f64 {
    if eta > 0.0 {
        eta + (-eta).exp().ln_1p()
    } else {
        eta.exp().ln_1p()
    }
}

/// Log-likelihood of the intercept-only logistic model with `sum_y` ones among `n`.
pub fn logistic_null_loglik(n: f64, sum_y: f64) -> f64 {
    let xlogx = |a: f64, b: f64| if a > 0.0 { a * (a / b).ln() } else { 0.0 };
    xlogx(sum_y, n) + xlogx(n - sum_y, n)
}

/// A fitted GLM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlmFit {
    /// Response family.
    pub family: Family,
    /// Observations used.
    pub n: usize,
    /// Log-likelihood at the estimate.
    pub loglik: f64,
    /// Log-likelihood of the intercept-only model (all-zero coefficients without intercept).
    pub null_loglik: f64,
    /// Newton steps taken.
    pub iterations: usize,
    /// Whether Newton-Raphson converged.
    pub converged: bool,
    /// Coefficient table (normal reference distribution).
    pub coefficients: Vec<Coefficient>,
    /// Likelihood-ratio test against the null model.
    pub lr_test: LrTest,
    /// Covariance of the coefficients, `p x p` row-major.
    pub covariance: Vec<f64>,
    /// Dispersion: 1 for logistic, `RSS / (n - p)` for Gaussian.
    pub dispersion: f64,
    /// Problems worth telling the user (e.g. separation).
    pub warnings: Vec<String>,
}

/// Fits a GLM to local data with the same driver federated fits use.
pub fn fit(design: &Design, y: &[f64], family: Family, options: &NewtonOptions) -> Result<GlmFit> {
    if design.nrows() == 0 {
        return Err(StatsError::NoData("no observations are left to fit".into()));
    }
    if family == Family::Logistic
        && let Some(row) = y.iter().position(|&v| v != 0.0 && v != 1.0)
    {
        return Err(StatsError::NotBinary {
            column: "outcome".into(),
            row,
        });
    }
    let driver = NewtonDriver::new(design.ncols(), options.clone());
    let outcome = run_local(driver, |beta| local_terms(design, y, beta, family))?;
    let stats = OutcomeStats::of(design, y);
    match outcome {
        Ok(summary) => Ok(summarize(design.names(), &summary, family, stats)),
        Err(failure) => summarize_failure(design.names(), &failure, family, stats),
    }
}

/// What the summary needs to know about the outcome besides the Newton state:
/// `n`, `sum y`, `sum y^2` (all sums over sites in a federated fit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OutcomeStats {
    /// Number of observations.
    pub n: f64,
    /// Sum of the outcome.
    pub sum_y: f64,
    /// Sum of the squared outcome.
    pub sum_y2: f64,
    /// Whether the design has an intercept (its null model is intercept-only).
    pub intercept: bool,
}

impl OutcomeStats {
    /// The statistics of local data.
    pub fn of(design: &Design, y: &[f64]) -> Self {
        OutcomeStats {
            n: y.len() as f64,
            sum_y: y.iter().sum(),
            sum_y2: y.iter().map(|v| v * v).sum(),
            intercept: design.names().first().is_some_and(|n| n == "intercept"),
        }
    }
}

/// The result of a converged GLM fit (local or federated).
pub fn summarize(
    names: &[String],
    summary: &FitSummary,
    family: Family,
    stats: OutcomeStats,
) -> GlmFit {
    let p = names.len();
    let (loglik, null_loglik, dispersion) = match family {
        Family::Logistic => {
            let null = if stats.intercept {
                logistic_null_loglik(stats.n, stats.sum_y)
            } else {
                summary.initial_loglik
            };
            (summary.loglik, null, 1.0)
        }
        Family::Gaussian => {
            let rss = -2.0 * summary.loglik;
            let null_rss = if stats.intercept {
                stats.sum_y2 - stats.sum_y * stats.sum_y / stats.n
            } else {
                stats.sum_y2
            };
            let df = (stats.n - p as f64).max(1.0);
            (
                gaussian_loglik(rss, stats.n),
                gaussian_loglik(null_rss, stats.n),
                rss / df,
            )
        }
    };
    let mut scaled = summary.clone();
    scaled.covariance.iter_mut().for_each(|c| *c *= dispersion);
    let tested = p - usize::from(stats.intercept);
    GlmFit {
        family,
        n: stats.n.round() as usize,
        loglik,
        null_loglik,
        iterations: summary.iterations,
        converged: true,
        coefficients: coefficient_table(names, &scaled),
        lr_test: LrTest::new(loglik, null_loglik, tested),
        covariance: scaled.covariance,
        dispersion,
        warnings: Vec::new(),
    }
}

/// Maximised Gaussian log-likelihood with `sigma^2 = rss / n`.
pub(crate) fn gaussian_loglik(rss: f64, n: f64) -> f64 {
    -0.5 * n * ((2.0 * std::f64::consts::PI * rss / n).ln() + 1.0)
}

/// A failed GLM fit: an error for collinearity and the like, or a non-converged fit
/// with a warning naming the covariates for separation.
pub fn summarize_failure(
    names: &[String],
    failure: &FitFailure,
    family: Family,
    stats: OutcomeStats,
) -> Result<GlmFit> {
    let error = failure.to_error(names);
    match (&failure.reason, &failure.last) {
        (FailureReason::Diverging { .. } | FailureReason::NotConverged, Some(last)) => {
            let mut fit = summarize(names, last, family, stats);
            fit.converged = false;
            fit.warnings.push(error.to_string());
            Ok(fit)
        }
        _ => Err(error),
    }
}

/// A GLM's data read from a table with listwise deletion: design (with intercept
/// when the spec asks for it), outcome, dropped row count.
pub fn read_table(
    table: &Table,
    outcome: &str,
    spec: &DesignSpec,
    family: Family,
) -> Result<(Design, Vec<f64>, usize)> {
    let (column, _) = binary_spec(table, outcome);
    let (design, dropped) = Design::build(table, spec, &[column])?;
    let rows = design.source_rows();
    let y = match family {
        Family::Logistic => binary_at(table, outcome, rows)?
            .into_iter()
            .map(|b| f64::from(u8::from(b)))
            .collect(),
        Family::Gaussian => numeric_at(table, outcome, rows)?,
    };
    Ok((design, y, dropped))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stable_helpers() {
        assert!((log1p_exp(800.0) - 800.0).abs() < 1e-12);
        assert!(log1p_exp(-800.0) >= 0.0 && log1p_exp(-800.0) < 1e-300);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-16);
        assert!(
            (logistic_null_loglik(4.0, 1.0) - (0.25f64.ln() + 3.0 * 0.75f64.ln())).abs() < 1e-15
        );
    }
}
