//! Linear regression by the normal equations, from sums that add over sites.
//!
//! A site sends `[n, sum y, sum y^2, X'y (p), X'X (packed lower triangle)]`
//! ([`local_sums`]); the hub adds them and solves ([`from_sums`]). The result is the
//! ordinary least-squares fit of the pooled rows. Standard errors use
//! `sigma^2 = RSS / (n - p)` and the `z` field holds the t statistic, with p-values
//! from the t distribution on `n - p` degrees of freedom (as statsmodels OLS reports).

use serde::{Deserialize, Serialize};

use crate::design::Design;
use crate::error::{Result, StatsError};
use crate::glm::gaussian_loglik;
use crate::linalg::{SpdFactor, add_outer, packed_len, unpack};
use crate::summary::{Coefficient, student_t_two_sided_p};

/// Length of the sums vector for `p` columns.
pub fn sums_len(p: usize) -> usize {
    3 + p + packed_len(p)
}

/// A site's sufficient statistics.
pub fn local_sums(design: &Design, y: &[f64]) -> Result<Vec<f64>> {
    let p = design.ncols();
    if y.len() != design.nrows() {
        return Err(StatsError::Shape {
            what: "outcome values (one per design row)",
            expected: design.nrows(),
            actual: y.len(),
        });
    }
    let mut sums = vec![0.0; sums_len(p)];
    for (i, &yi) in y.iter().enumerate() {
        if !yi.is_finite() {
            return Err(StatsError::NonFinite {
                what: "outcome".into(),
                row: i,
            });
        }
        let x = design.row(i);
        sums[0] += 1.0;
        sums[1] += yi;
        sums[2] += yi * yi;
        for (s, &v) in sums[3..3 + p].iter_mut().zip(x) {
            *s += yi * v;
        }
        add_outer(&mut sums[3 + p..], x, 1.0);
    }
    Ok(sums)
}

/// An ordinary least-squares fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinregFit {
    /// Observations.
    pub n: usize,
    /// Gaussian log-likelihood at the estimate (`sigma^2 = RSS / n`).
    pub loglik: f64,
    /// Coefficients; `z` is the t statistic.
    pub coefficients: Vec<Coefficient>,
    /// Residual sum of squares.
    pub rss: f64,
    /// Residual standard error `sqrt(RSS / (n - p))`.
    pub sigma: f64,
    /// Residual degrees of freedom.
    pub df_resid: f64,
    /// Coefficient of determination (centred when the first column is `intercept`).
    pub r_squared: f64,
    /// Covariance of the coefficients, `p x p` row-major.
    pub covariance: Vec<f64>,
}

/// The fit from summed sums; `names` are the design's column names.
pub fn from_sums(summed: &[f64], names: &[String]) -> Result<LinregFit> {
    let p = names.len();
    if summed.len() != sums_len(p) {
        return Err(StatsError::BadSums(format!(
            "linear regression sums for {p} columns must have {} values, got {}",
            sums_len(p),
            summed.len()
        )));
    }
    let (n, sum_y, yy) = (summed[0], summed[1], summed[2]);
    let xty = &summed[3..3 + p];
    let xtx = unpack(&summed[3 + p..], p);
    if n <= p as f64 {
        return Err(StatsError::NoData(format!(
            "{n} observations cannot fit {p} coefficients with a residual variance"
        )));
    }
    let factor = SpdFactor::new(&xtx, p).map_err(|s| {
        let reason = match s {
            crate::linalg::Singularity::NoVariation { column } => {
                crate::newton::FailureReason::NoVariation { column }
            }
            crate::linalg::Singularity::Combination { column, of } => {
                crate::newton::FailureReason::Collinear { column, of }
            }
        };
        crate::newton::FitFailure { reason, last: None }.to_error(names)
    })?;
    let beta = factor.solve(xty);
    let rss = (yy - beta.iter().zip(xty).map(|(b, v)| b * v).sum::<f64>()).max(0.0);
    let df_resid = n - p as f64;
    let sigma2 = rss / df_resid;
    let mut covariance = factor.inverse();
    covariance.iter_mut().for_each(|c| *c *= sigma2);
    let coefficients = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let se = covariance[j * p + j].sqrt();
            let t = beta[j] / se;
            Coefficient {
                name: name.clone(),
                coef: beta[j],
                se,
                z: t,
                p: student_t_two_sided_p(t, df_resid),
            }
        })
        .collect();
    let centred = names.first().is_some_and(|n| n == "intercept");
    let tss = if centred { yy - sum_y * sum_y / n } else { yy };
    Ok(LinregFit {
        n: n.round() as usize,
        loglik: gaussian_loglik(rss, n),
        coefficients,
        rss,
        sigma: sigma2.sqrt(),
        df_resid,
        r_squared: 1.0 - rss / tss,
        covariance,
    })
}

/// Ordinary least squares on local data.
pub fn fit(design: &Design, y: &[f64]) -> Result<LinregFit> {
    from_sums(&local_sums(design, y)?, design.names())
}
