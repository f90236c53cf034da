//! Newton-Raphson as a sans-I/O state machine, with summable per-site terms.
//!
//! Every model in this crate maximises a log-likelihood that is a *sum over sites*:
//! Cox stratified by site, Cox on a public time grid, logistic and Gaussian GLMs.
//! A site evaluates [`NewtonTerms`] (log-likelihood, gradient, information) at the
//! coefficient vector it is given; terms from different sites are added element-wise;
//! the [`NewtonDriver`] turns the sum into the next coefficient vector to evaluate,
//! halves steps that lower the log-likelihood, and decides convergence. Local fits in
//! this crate run the very same driver over local terms, so a federated fit follows
//! the same path as the pooled one and stops at the same iteration.
//!
//! Convergence rule: at an accepted point with log-likelihood `l`, gradient `g` and
//! information `I`, the Newton decrement `g' I^-1 g` must be at most
//! `tolerance * max(1, |l|)`. The default tolerance (1e-20) puts every coefficient
//! within about `1e-10 * sqrt(|l|)` standard errors of the maximum, which is what
//! 1e-6 relative agreement with reference software needs. Newton converges
//! quadratically, so the tight rule costs one extra iteration at most.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError};
use crate::linalg::{Singularity, SpdFactor, pack, packed_len, unpack};

/// Log-likelihood, gradient and information at one coefficient vector.
///
/// `information` is the **negative** Hessian of the log-likelihood (the observed
/// information), `p x p`, row-major. All three parts are sums over observations, so
/// the terms of several sites add up to the terms of the pooled data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewtonTerms {
    /// Log-likelihood (for Cox: log partial likelihood).
    pub loglik: f64,
    /// Gradient of the log-likelihood, length `p`.
    pub gradient: Vec<f64>,
    /// Negative Hessian of the log-likelihood, `p x p` row-major.
    pub information: Vec<f64>,
}

impl NewtonTerms {
    /// Terms of no observations: the neutral element of [`NewtonTerms::add`].
    pub fn zeros(p: usize) -> Self {
        NewtonTerms {
            loglik: 0.0,
            gradient: vec![0.0; p],
            information: vec![0.0; p * p],
        }
    }

    /// Number of coefficients.
    pub fn dim(&self) -> usize {
        self.gradient.len()
    }

    /// Adds another site's terms element-wise.
    pub fn add(&mut self, other: &NewtonTerms) -> Result<()> {
        if other.gradient.len() != self.gradient.len()
            || other.information.len() != self.information.len()
        {
            return Err(StatsError::BadSums(format!(
                "cannot add Newton terms of {} coefficients to terms of {}",
                other.dim(),
                self.dim()
            )));
        }
        self.loglik += other.loglik;
        add_into(&mut self.gradient, &other.gradient);
        add_into(&mut self.information, &other.information);
        Ok(())
    }

    /// Sums the terms of several sites (at least one).
    pub fn sum<'a>(terms: impl IntoIterator<Item = &'a NewtonTerms>) -> Result<NewtonTerms> {
        let mut iter = terms.into_iter();
        let first = iter
            .next()
            .ok_or_else(|| StatsError::BadSums("no Newton terms to sum".into()))?;
        let mut total = first.clone();
        for t in iter {
            total.add(t)?;
        }
        Ok(total)
    }

    /// Length of the flat form for `p` coefficients: `1 + p + p(p+1)/2`.
    pub fn flat_len(p: usize) -> usize {
        1 + p + packed_len(p)
    }

    /// Flat form for secure aggregation: `[loglik, gradient.., lower triangle of
    /// information row by row..]`. Flat vectors of several sites add up to the flat
    /// form of the summed terms.
    pub fn to_flat(&self) -> Vec<f64> {
        let p = self.dim();
        let mut flat = Vec::with_capacity(Self::flat_len(p));
        flat.push(self.loglik);
        flat.extend_from_slice(&self.gradient);
        flat.extend(pack(&self.information, p));
        flat
    }

    /// Inverse of [`NewtonTerms::to_flat`].
    pub fn from_flat(flat: &[f64], p: usize) -> Result<Self> {
        if flat.len() != Self::flat_len(p) {
            return Err(StatsError::BadSums(format!(
                "flat Newton terms for {p} coefficients must have {} values, got {}",
                Self::flat_len(p),
                flat.len()
            )));
        }
        Ok(NewtonTerms {
            loglik: flat[0],
            gradient: flat[1..=p].to_vec(),
            information: unpack(&flat[1 + p..], p),
        })
    }

    fn is_finite(&self) -> bool {
        self.loglik.is_finite()
            && self.gradient.iter().all(|v| v.is_finite())
            && self.information.iter().all(|v| v.is_finite())
    }
}

fn add_into(acc: &mut [f64], add: &[f64]) {
    for (a, b) in acc.iter_mut().zip(add) {
        *a += b;
    }
}

/// Tuning of Newton-Raphson; the defaults suit every model in this crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewtonOptions {
    /// Most Newton steps before giving up.
    pub max_iterations: usize,
    /// Convergence when `g' I^-1 g <= tolerance * max(1, |loglik|)`.
    pub tolerance: f64,
    /// Most halvings of one step that lowers the log-likelihood.
    pub max_halvings: usize,
}

impl Default for NewtonOptions {
    fn default() -> Self {
        NewtonOptions {
            max_iterations: 100,
            tolerance: 1e-20,
            max_halvings: 30,
        }
    }
}

/// The state of a finished (or failed) fit at its last accepted point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    /// Coefficients.
    pub beta: Vec<f64>,
    /// Inverse information at `beta`, `p x p` row-major (empty when singular).
    pub covariance: Vec<f64>,
    /// Log-likelihood at `beta`.
    pub loglik: f64,
    /// Log-likelihood at the starting point (zero coefficients unless set).
    pub initial_loglik: f64,
    /// Newton steps taken.
    pub iterations: usize,
    /// Gradient at `beta`.
    pub gradient: Vec<f64>,
    /// Information at `beta`, `p x p` row-major.
    pub information: Vec<f64>,
}

impl FitSummary {
    /// Standard errors: square roots of the covariance diagonal.
    pub fn standard_errors(&self) -> Vec<f64> {
        let p = self.beta.len();
        if self.covariance.len() != p * p {
            return vec![f64::NAN; p];
        }
        (0..p).map(|j| self.covariance[j * p + j].sqrt()).collect()
    }
}

/// Why a fit stopped without converging; columns are coefficient indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FailureReason {
    /// The column carries no information (constant, or constant within strata).
    NoVariation { column: usize },
    /// The column is (nearly) a linear combination of the listed columns.
    Collinear { column: usize, of: Vec<usize> },
    /// These coefficients run off to infinity (monotone likelihood, separation).
    Diverging { columns: Vec<usize> },
    /// The iteration limit was reached.
    NotConverged,
    /// The log-likelihood was not finite even after halving the step.
    NonFinite,
    /// Halving the step never raised the log-likelihood.
    NoProgress,
    /// Terms of the wrong dimension were observed.
    BadTerms { expected: usize, actual: usize },
    /// `observe` was called after the fit had finished.
    Finished,
}

/// A fit that stopped without converging, with its last accepted state if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitFailure {
    /// What went wrong.
    pub reason: FailureReason,
    /// The last accepted point (coefficients may be meaningless for a failure).
    pub last: Option<FitSummary>,
}

impl FitFailure {
    /// A user-facing error naming the covariates involved.
    pub fn to_error(&self, names: &[String]) -> StatsError {
        let name = |j: usize| {
            names
                .get(j)
                .map_or_else(|| format!("coefficient {j}"), |n| format!("`{n}`"))
        };
        let list = |cols: &[usize]| cols.iter().map(|&j| name(j)).collect::<Vec<_>>().join(", ");
        match &self.reason {
            FailureReason::NoVariation { column } => StatsError::Collinear(format!(
                "covariate {} has no variation (it is constant, or constant within every stratum); remove it",
                name(*column)
            )),
            FailureReason::Collinear { column, of } => StatsError::Collinear(format!(
                "covariate {} is (nearly) a linear combination of {}; remove one of them",
                name(*column),
                if of.is_empty() { "earlier covariates".to_string() } else { list(of) }
            )),
            FailureReason::Diverging { columns } => StatsError::Separation(format!(
                "the likelihood keeps increasing as the coefficient(s) of {} go to infinity (monotone likelihood / separation): some level or range of them predicts the outcome perfectly; remove or merge them",
                list(columns)
            )),
            FailureReason::NotConverged => StatsError::NotConverged(format!(
                "Newton-Raphson did not converge in {} iterations; check for extreme covariate values or rescale them",
                self.last.as_ref().map_or(0, |s| s.iterations)
            )),
            FailureReason::NonFinite => StatsError::NotConverged(
                "the log-likelihood is not finite at the starting point or after step halving; rescale covariates with very large values".into(),
            ),
            FailureReason::NoProgress => StatsError::NotConverged(
                "step halving could not raise the log-likelihood; the model may be ill-posed (check for near-collinear covariates)".into(),
            ),
            FailureReason::BadTerms { expected, actual } => StatsError::BadSums(format!(
                "Newton terms have {actual} coefficients, the model has {expected}"
            )),
            FailureReason::Finished => {
                StatsError::BadSums("the fit has already finished; start a new driver".into())
            }
        }
    }
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum NextStep {
    /// Evaluate (and sum over sites) the terms at these coefficients, then `observe`.
    Evaluate(Vec<f64>),
    /// The fit converged.
    Converged(FitSummary),
    /// The fit stopped; the reason names coefficient indices.
    Failed(FitFailure),
}

#[derive(Debug, Clone)]
struct Accepted {
    beta: Vec<f64>,
    terms: NewtonTerms,
}

/// Newton-Raphson with step halving, driven from outside (sans-I/O).
///
/// ```
/// use salus_stats::{NewtonDriver, NewtonOptions, NewtonTerms, NextStep};
/// // Maximise l(b) = -(b - 3)^2: gradient -2(b - 3), information 2.
/// let mut driver = NewtonDriver::new(1, NewtonOptions::default());
/// let mut beta = driver.current_beta().to_vec();
/// let fit = loop {
///     let b = beta[0];
///     let terms = NewtonTerms { loglik: -(b - 3.0).powi(2), gradient: vec![-2.0 * (b - 3.0)], information: vec![2.0] };
///     match driver.observe(&terms) {
///         NextStep::Evaluate(next) => beta = next,
///         NextStep::Converged(fit) => break fit,
///         NextStep::Failed(f) => panic!("{:?}", f.reason),
///     }
/// };
/// assert!((fit.beta[0] - 3.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct NewtonDriver {
    options: NewtonOptions,
    trial: Vec<f64>,
    accepted: Option<Accepted>,
    initial_loglik: f64,
    iterations: usize,
    halvings: usize,
    /// The last few accepted steps, oldest first (for divergence detection).
    steps: Vec<Vec<f64>>,
    /// Diagonal of the information at the starting point.
    initial_diagonal: Vec<f64>,
    finished: bool,
}

/// How many past steps the divergence check looks at.
const DIVERGENCE_WINDOW: usize = 3;

impl NewtonDriver {
    /// A driver for `p` coefficients starting at zero.
    pub fn new(p: usize, options: NewtonOptions) -> Self {
        Self::with_start(vec![0.0; p], options)
    }

    /// A driver starting at `beta`.
    pub fn with_start(beta: Vec<f64>, options: NewtonOptions) -> Self {
        NewtonDriver {
            options,
            trial: beta,
            accepted: None,
            initial_loglik: f64::NAN,
            iterations: 0,
            halvings: 0,
            steps: Vec::new(),
            initial_diagonal: Vec::new(),
            finished: false,
        }
    }

    /// Number of coefficients.
    pub fn dim(&self) -> usize {
        self.trial.len()
    }

    /// The coefficients at which the next terms must be evaluated.
    pub fn current_beta(&self) -> &[f64] {
        &self.trial
    }

    /// Newton steps taken so far.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Feeds the (summed) terms evaluated at [`NewtonDriver::current_beta`].
    pub fn observe(&mut self, terms: &NewtonTerms) -> NextStep {
        if self.finished {
            return self.fail(FailureReason::Finished);
        }
        let p = self.dim();
        if terms.gradient.len() != p || terms.information.len() != p * p {
            return self.fail(FailureReason::BadTerms {
                expected: p,
                actual: terms.gradient.len(),
            });
        }
        match &self.accepted {
            None => {
                if !terms.is_finite() {
                    return self.fail(FailureReason::NonFinite);
                }
                self.initial_loglik = terms.loglik;
                let p = self.dim();
                self.initial_diagonal = (0..p).map(|j| terms.information[j * p + j]).collect();
                self.accept(terms.clone());
            }
            Some(acc) => {
                let slack = 1e-12 * acc.terms.loglik.abs().max(1.0);
                if terms.is_finite() && terms.loglik >= acc.terms.loglik - slack {
                    self.accept(terms.clone());
                } else {
                    return self.halve(!terms.is_finite());
                }
            }
        }
        self.plan()
    }

    fn accept(&mut self, terms: NewtonTerms) {
        if let Some(prev) = &self.accepted {
            let step: Vec<f64> = self
                .trial
                .iter()
                .zip(&prev.beta)
                .map(|(a, b)| a - b)
                .collect();
            self.steps.push(step);
            if self.steps.len() > DIVERGENCE_WINDOW {
                self.steps.remove(0);
            }
        }
        self.accepted = Some(Accepted {
            beta: self.trial.clone(),
            terms,
        });
        self.halvings = 0;
    }

    fn halve(&mut self, non_finite: bool) -> NextStep {
        self.halvings += 1;
        if self.halvings > self.options.max_halvings {
            return self.fail(if non_finite {
                FailureReason::NonFinite
            } else {
                FailureReason::NoProgress
            });
        }
        if let Some(acc) = &self.accepted {
            for (t, b) in self.trial.iter_mut().zip(&acc.beta) {
                *t = 0.5 * (*t + *b);
            }
        }
        NextStep::Evaluate(self.trial.clone())
    }

    /// Decides, at the accepted point, between convergence, failure and a new step.
    fn plan(&mut self) -> NextStep {
        let Some(acc) = self.accepted.clone() else {
            return self.fail(FailureReason::NonFinite);
        };
        let p = self.dim();
        let vanishing = self.vanishing(&acc.terms.information);
        if !vanishing.is_empty() {
            return self.fail(FailureReason::Diverging { columns: vanishing });
        }
        let factor = match SpdFactor::new(&acc.terms.information, p) {
            Ok(f) => f,
            Err(singular) => {
                // A coefficient running to infinity can make the information look
                // singular: report the divergence, the real cause.
                let diverging = match self.steps.last() {
                    Some(last) => self.diverging(&last.clone(), &acc.beta),
                    None => Vec::new(),
                };
                let reason = match singular {
                    _ if !diverging.is_empty() => FailureReason::Diverging { columns: diverging },
                    Singularity::NoVariation { column } => FailureReason::NoVariation { column },
                    Singularity::Combination { column, of } => {
                        FailureReason::Collinear { column, of }
                    }
                };
                return self.fail(reason);
            }
        };
        let step = factor.solve(&acc.terms.gradient);
        let decrement: f64 = step
            .iter()
            .zip(&acc.terms.gradient)
            .map(|(s, g)| s * g)
            .sum();
        let limit = self.options.tolerance * acc.terms.loglik.abs().max(1.0);
        let converged = decrement <= limit;
        if converged || self.iterations >= self.options.max_iterations {
            let diverging = self.diverging(&step, &acc.beta);
            let summary = self.summary(&factor);
            self.finished = true;
            return if !diverging.is_empty() {
                NextStep::Failed(FitFailure {
                    reason: FailureReason::Diverging { columns: diverging },
                    last: Some(summary),
                })
            } else if converged {
                NextStep::Converged(summary)
            } else {
                NextStep::Failed(FitFailure {
                    reason: FailureReason::NotConverged,
                    last: Some(summary),
                })
            };
        }
        self.trial = acc.beta.iter().zip(&step).map(|(b, s)| b + s).collect();
        self.iterations += 1;
        NextStep::Evaluate(self.trial.clone())
    }

    /// Coefficients whose recent steps keep the same direction without shrinking:
    /// Newton converges quadratically on a regular maximum, but on a likelihood that
    /// only approaches its supremum as a coefficient goes to infinity the steps of
    /// that coefficient stay about constant (about 1 on the log-hazard scale).
    fn diverging(&self, pending: &[f64], beta: &[f64]) -> Vec<usize> {
        if self.steps.len() < DIVERGENCE_WINDOW {
            return Vec::new();
        }
        (0..pending.len())
            .filter(|&j| {
                let mut seq: Vec<f64> = self.steps.iter().map(|s| s[j]).collect();
                seq.push(pending[j]);
                let same_sign = seq
                    .iter()
                    .all(|v| v.signum() == pending[j].signum() && *v != 0.0);
                let not_shrinking = seq.windows(2).all(|w| w[1].abs() >= 0.5 * w[0].abs());
                same_sign && not_shrinking && pending[j].abs() > 1e-3 * beta[j].abs()
            })
            .collect()
    }

    /// Coefficients whose information has collapsed (below 1e-8 of its value at the
    /// start) while the last steps kept pushing them the same way: on a regular
    /// likelihood the information changes by modest factors, while for a coefficient
    /// running to infinity it decays like `exp(-|b|)`. Catching this early avoids the
    /// rounding noise of the vanishing information.
    fn vanishing(&self, information: &[f64]) -> Vec<usize> {
        let p = self.dim();
        if self.steps.len() < 2 || self.initial_diagonal.len() != p {
            return Vec::new();
        }
        let last = &self.steps[self.steps.len() - 1];
        let before = &self.steps[self.steps.len() - 2];
        (0..p)
            .filter(|&j| {
                let start = self.initial_diagonal[j];
                let consistent = last[j] != 0.0 && last[j].signum() == before[j].signum();
                start > 0.0 && information[j * p + j] < 1e-8 * start && consistent
            })
            .collect()
    }

    fn summary(&self, factor: &SpdFactor) -> FitSummary {
        let (beta, terms) = match &self.accepted {
            Some(acc) => (acc.beta.clone(), acc.terms.clone()),
            None => (self.trial.clone(), NewtonTerms::zeros(self.dim())),
        };
        FitSummary {
            beta,
            covariance: factor.inverse(),
            loglik: terms.loglik,
            initial_loglik: self.initial_loglik,
            iterations: self.iterations,
            gradient: terms.gradient,
            information: terms.information,
        }
    }

    fn fail(&mut self, reason: FailureReason) -> NextStep {
        self.finished = true;
        let last = self.accepted.as_ref().map(|acc| {
            let p = self.dim();
            FitSummary {
                beta: acc.beta.clone(),
                covariance: SpdFactor::new(&acc.terms.information, p)
                    .map(|f| f.inverse())
                    .unwrap_or_default(),
                loglik: acc.terms.loglik,
                initial_loglik: self.initial_loglik,
                iterations: self.iterations,
                gradient: acc.terms.gradient.clone(),
                information: acc.terms.information.clone(),
            }
        });
        NextStep::Failed(FitFailure { reason, last })
    }
}

/// Runs the driver to the end over a local evaluation function.
pub(crate) fn run_local(
    mut driver: NewtonDriver,
    mut evaluate: impl FnMut(&[f64]) -> Result<NewtonTerms>,
) -> Result<std::result::Result<FitSummary, FitFailure>> {
    let mut terms = evaluate(driver.current_beta())?;
    loop {
        match driver.observe(&terms) {
            NextStep::Evaluate(beta) => terms = evaluate(&beta)?,
            NextStep::Converged(summary) => return Ok(Ok(summary)),
            NextStep::Failed(failure) => return Ok(Err(failure)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flat_form_round_trips_and_adds() {
        let a = NewtonTerms {
            loglik: -3.0,
            gradient: vec![1.0, 2.0],
            information: vec![4.0, 1.0, 1.0, 3.0],
        };
        let b = NewtonTerms {
            loglik: -1.0,
            gradient: vec![0.5, -1.0],
            information: vec![2.0, 0.5, 0.5, 1.0],
        };
        assert_eq!(NewtonTerms::from_flat(&a.to_flat(), 2).unwrap(), a);
        let flat_sum: Vec<f64> = a
            .to_flat()
            .iter()
            .zip(b.to_flat())
            .map(|(x, y)| x + y)
            .collect();
        let sum = NewtonTerms::sum([&a, &b]).unwrap();
        assert_eq!(NewtonTerms::from_flat(&flat_sum, 2).unwrap(), sum);
        assert!(NewtonTerms::from_flat(&flat_sum[1..], 2).is_err());
    }

    #[test]
    fn halves_a_step_that_overshoots() {
        // l(b) = -|b|^1.5-like curve where a full Newton step from 0 overshoots:
        // use l(b) = log(b+1) - b/2 on b > -1 with a deliberately wrong information.
        let mut driver = NewtonDriver::new(1, NewtonOptions::default());
        let eval = |b: f64, info_scale: f64| NewtonTerms {
            loglik: (b + 1.0).ln() - 0.5 * b,
            gradient: vec![1.0 / (b + 1.0) - 0.5],
            information: vec![info_scale / ((b + 1.0) * (b + 1.0))],
        };
        // First evaluation at 0 with information scaled down 10x: the step is 5, too far.
        let NextStep::Evaluate(b1) = driver.observe(&eval(0.0, 0.1)) else {
            panic!("expected a step");
        };
        assert!((b1[0] - 5.0).abs() < 1e-12);
        // l(5) < l(0): the driver must halve towards 0.
        let NextStep::Evaluate(b2) = driver.observe(&eval(b1[0], 1.0)) else {
            panic!("expected a halved step");
        };
        assert!((b2[0] - 2.5).abs() < 1e-12);
    }

    #[test]
    fn reports_collinearity_by_index() {
        let mut driver = NewtonDriver::new(2, NewtonOptions::default());
        let terms = NewtonTerms {
            loglik: -1.0,
            gradient: vec![0.1, 0.2],
            information: vec![1.0, 2.0, 2.0, 4.0],
        };
        let NextStep::Failed(f) = driver.observe(&terms) else {
            panic!("expected failure");
        };
        assert_eq!(
            f.reason,
            FailureReason::Collinear {
                column: 1,
                of: vec![0]
            }
        );
        let msg = f.to_error(&["age".into(), "age2".into()]).to_string();
        assert!(msg.contains("`age2`") && msg.contains("`age`"), "{msg}");
    }

    #[test]
    fn detects_a_coefficient_running_to_infinity() {
        // l(b) = -log(1 + exp(-b)): supremum 0 as b -> infinity (perfect separation).
        let eval = |b: f64| {
            let e = (-b).exp();
            NewtonTerms {
                loglik: -e.ln_1p(),
                gradient: vec![e / (1.0 + e)],
                information: vec![e / ((1.0 + e) * (1.0 + e))],
            }
        };
        let driver = NewtonDriver::new(1, NewtonOptions::default());
        let out = run_local(driver, |b| Ok(eval(b[0]))).unwrap();
        let failure = out.unwrap_err();
        assert_eq!(
            failure.reason,
            FailureReason::Diverging { columns: vec![0] }
        );
    }
}
