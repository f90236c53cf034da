//! Coefficient tables, p-values and likelihood-ratio tests shared by all models.
//!
//! Two-sided normal p-values use `erfc(|z| / sqrt 2)` from `libm` (accurate to about
//! one ulp), which keeps full relative precision far into the tail (`1 - Phi(z)` would
//! round to 0 beyond z = 8); the chi-square and Student t tails come from `statrs`
//! (regularised incomplete gamma and beta functions, about 1e-13 relative here).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF, StudentsT};

use crate::newton::FitSummary;

/// The 97.5% quantile of the standard normal distribution (95% two-sided intervals).
pub const Z_975: f64 = 1.959_963_984_540_054;

/// One row of a regression coefficient table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// Covariate name (`intercept`, `age`, `tgrade[T.II]`, ...).
    pub name: String,
    /// Estimate.
    pub coef: f64,
    /// Standard error.
    pub se: f64,
    /// Wald statistic `coef / se` (a t statistic for linear regression).
    pub z: f64,
    /// Two-sided p-value of the Wald statistic.
    pub p: f64,
}

/// One row of a Cox coefficient table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoxCoefficient {
    /// Covariate name.
    pub name: String,
    /// Log hazard ratio.
    pub coef: f64,
    /// Standard error of the log hazard ratio.
    pub se: f64,
    /// Hazard ratio `exp(coef)`.
    pub hr: f64,
    /// Lower end of the 95% confidence interval of the hazard ratio.
    pub hr_lower: f64,
    /// Upper end of the 95% confidence interval of the hazard ratio.
    pub hr_upper: f64,
    /// Wald statistic `coef / se`.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// A likelihood-ratio test of the fitted model against a nested null model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrTest {
    /// `2 (loglik - null loglik)`.
    pub statistic: f64,
    /// Degrees of freedom (number of tested coefficients).
    pub df: usize,
    /// Upper tail probability of the chi-square distribution.
    pub p: f64,
}

impl LrTest {
    /// The test of `loglik` against `null_loglik` with `df` degrees of freedom.
    pub fn new(loglik: f64, null_loglik: f64, df: usize) -> Self {
        let statistic = 2.0 * (loglik - null_loglik);
        LrTest {
            statistic,
            df,
            p: chi_square_sf(statistic, df as f64),
        }
    }
}

/// Two-sided p-value of a standard normal statistic.
pub fn normal_two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Upper tail `P(X > x)` of a chi-square distribution with `df` degrees of freedom.
pub fn chi_square_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || df.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(df) {
        Ok(dist) => dist.sf(x),
        Err(_) => f64::NAN,
    }
}

/// Two-sided p-value of a Student t statistic with `df` degrees of freedom.
pub fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => 2.0 * dist.sf(t.abs()),
        Err(_) => f64::NAN,
    }
}

/// The coefficient table of a GLM fit (normal reference distribution).
pub fn coefficient_table(names: &[String], fit: &FitSummary) -> Vec<Coefficient> {
    let se = fit.standard_errors();
    names
        .iter()
        .zip(fit.beta.iter().zip(se))
        .map(|(name, (&coef, se))| {
            let z = coef / se;
            Coefficient {
                name: name.clone(),
                coef,
                se,
                z,
                p: normal_two_sided_p(z),
            }
        })
        .collect()
}

/// The coefficient table of a Cox fit, with hazard ratios and 95% intervals.
pub fn cox_coefficient_table(names: &[String], fit: &FitSummary) -> Vec<CoxCoefficient> {
    coefficient_table(names, fit)
        .into_iter()
        .map(|c| CoxCoefficient {
            hr: c.coef.exp(),
            hr_lower: (c.coef - Z_975 * c.se).exp(),
            hr_upper: (c.coef + Z_975 * c.se).exp(),
            name: c.name,
            coef: c.coef,
            se: c.se,
            z: c.z,
            p: c.p,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs()
    }

    fn close_statrs(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-10 * b.abs()
    }

    #[test]
    fn p_values_match_reference_values() {
        // Reference values from scipy 1.17 (2 * norm.sf, chi2.sf, 2 * t.sf).
        assert!(close(normal_two_sided_p(1.959963984540054), 0.05));
        assert!(close(normal_two_sided_p(-3.0), 0.0026997960632601866));
        assert!(close(normal_two_sided_p(10.0), 1.523970604832094e-23));
        assert!(close_statrs(
            chi_square_sf(3.841458820694124, 1.0),
            0.04999999999999989
        ));
        assert!(close_statrs(chi_square_sf(10.0, 3.0), 0.01856613546304325));
        assert!(close_statrs(
            student_t_two_sided_p(2.0, 10.0),
            0.07338803477074037
        ));
        assert_eq!(chi_square_sf(0.0, 2.0), 1.0);
        assert!(normal_two_sided_p(f64::NAN).is_nan());
    }
}
