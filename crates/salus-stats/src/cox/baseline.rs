//! Baseline cumulative hazard (Breslow estimator) of a fitted Cox model.
//!
//! At each event time the hazard increment is `d / sum_{risk set} exp((x - r) b)`,
//! with `r` the reference point the baseline refers to (the column means for local
//! fits, as lifelines and R report it; the study's public reference for grid fits).
//! The same estimator is used for both tie methods, as lifelines does.

use serde::{Deserialize, Serialize};

use crate::cox::data::CoxData;
use crate::cox::local::{Sweep, TiedEvents, WeightedSums, check_beta};
use crate::error::Result;

/// The baseline cumulative hazard of one stratum, at its event times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineHazard {
    /// Stratum index.
    pub stratum: usize,
    /// Event times (or grid points with events), increasing.
    pub times: Vec<f64>,
    /// Number of events at each time.
    pub events: Vec<f64>,
    /// Hazard increment at each time.
    pub hazard: Vec<f64>,
    /// Cumulative hazard at each time.
    pub cumulative_hazard: Vec<f64>,
    /// The covariate values the baseline refers to.
    pub reference: Vec<f64>,
}

impl BaselineHazard {
    pub(crate) fn from_increments(
        stratum: usize,
        times: Vec<f64>,
        events: Vec<f64>,
        hazard: Vec<f64>,
        reference: Vec<f64>,
    ) -> Self {
        let mut total = 0.0;
        let cumulative_hazard = hazard
            .iter()
            .map(|h| {
                total += h;
                total
            })
            .collect();
        BaselineHazard {
            stratum,
            times,
            events,
            hazard,
            cumulative_hazard,
            reference,
        }
    }

    /// Baseline survival `exp(-H(t))` at each time.
    pub fn survival(&self) -> Vec<f64> {
        self.cumulative_hazard.iter().map(|h| (-h).exp()).collect()
    }

    /// The cumulative hazard at time `t` (a right-continuous step function).
    pub fn cumulative_hazard_at(&self, t: f64) -> f64 {
        let k = self.times.partition_point(|&s| s <= t);
        if k == 0 {
            0.0
        } else {
            self.cumulative_hazard[k - 1]
        }
    }

    /// Survival at time `t` for covariates `x` under coefficients `beta`.
    pub fn survival_for(&self, x: &[f64], beta: &[f64], t: f64) -> f64 {
        let shift: f64 = x
            .iter()
            .zip(&self.reference)
            .zip(beta)
            .map(|((xi, ri), b)| (xi - ri) * b)
            .sum();
        (-self.cumulative_hazard_at(t) * shift.exp()).exp()
    }
}

/// The Breslow baseline cumulative hazard of each stratum at `beta`, referred to
/// covariate values `reference` (e.g. [`CoxData::column_means`]).
pub fn baseline_hazard(
    data: &CoxData,
    beta: &[f64],
    reference: &[f64],
) -> Result<Vec<BaselineHazard>> {
    check_beta(data, beta)?;
    let p = data.ncols();
    let mut sweep = Sweep::new(data, beta);
    let mut risk = WeightedSums::new(p);
    let mut events = TiedEvents::new(p);
    let mut out = Vec::with_capacity(data.n_strata());
    let center = data.prepared().center.clone();
    for stratum in 0..data.n_strata() {
        // exp((x - r) b) = exp((x - c) b - m) * exp(m + (c - r) b).
        let shift: f64 = (0..p)
            .map(|j| (center[stratum * p + j] - reference[j]) * sweep.beta()[j])
            .sum();
        let (mut times, mut counts, mut hazard) = (Vec::new(), Vec::new(), Vec::new());
        sweep.run(
            stratum as u32,
            &mut risk,
            &mut events,
            |t, risk, events, log_scale| {
                times.push(t);
                counts.push(events.d);
                hazard.push(events.d / (risk.s0 * (log_scale + shift).exp()));
            },
        );
        times.reverse();
        counts.reverse();
        hazard.reverse();
        out.push(BaselineHazard::from_increments(
            stratum,
            times,
            counts,
            hazard,
            reference.to_vec(),
        ));
    }
    Ok(out)
}
