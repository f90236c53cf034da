//! Kaplan-Meier survival curves with Greenwood confidence intervals, locally and from
//! counts summed over sites on a public time grid.
//!
//! Confidence intervals use the log-log transform ("exponential Greenwood", as
//! lifelines does): with `V = sum d / (n (n - d))`, the bounds are
//! `S^exp(+-z sqrt(V) / log S)`. The median is the first time with `S(t) <= 0.5`
//! (lifelines' rule); `None` when the curve never gets there.
//!
//! Grid mode: each site calls [`grid_local_counts`] (number at risk and number of
//! events at every grid point, after the rounding rule of [`TimeGrid`]); the hub adds
//! the vectors and calls [`from_grid_counts`]. The curve equals the local curve on
//! grid-rounded times. Counts are exposed as they are so small-cell rules can be
//! applied before release.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError};
use crate::summary::Z_975;
use crate::timegrid::TimeGrid;

/// A Kaplan-Meier curve at the times where something happened (event or censoring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmCurve {
    /// Number of subjects.
    pub n: usize,
    /// Total number of events.
    pub events: usize,
    /// Distinct times (increasing).
    pub times: Vec<f64>,
    /// Number at risk just before each time.
    pub at_risk: Vec<f64>,
    /// Number of events at each time.
    pub events_at: Vec<f64>,
    /// Survival just after each time.
    pub survival: Vec<f64>,
    /// Greenwood variance of `log S`: `sum d / (n (n - d))`.
    pub greenwood: Vec<f64>,
    /// Lower end of the 95% confidence interval.
    pub lower: Vec<f64>,
    /// Upper end of the 95% confidence interval.
    pub upper: Vec<f64>,
    /// Median survival time (first time with `S <= 0.5`).
    pub median: Option<f64>,
}

impl KmCurve {
    /// The curve from counts at increasing times (number at risk just before each
    /// time, number of events at it).
    pub fn from_counts(times: Vec<f64>, at_risk: Vec<f64>, events_at: Vec<f64>) -> Result<Self> {
        if at_risk.len() != times.len() || events_at.len() != times.len() {
            return Err(StatsError::Shape {
                what: "Kaplan-Meier counts (one per time)",
                expected: times.len(),
                actual: at_risk.len().min(events_at.len()),
            });
        }
        if at_risk
            .iter()
            .zip(&events_at)
            .any(|(n, d)| *d < 0.0 || n < d)
        {
            return Err(StatsError::BadSums(
                "Kaplan-Meier counts have more events than subjects at risk".into(),
            ));
        }
        let (mut s, mut v) = (1.0, 0.0);
        let (mut survival, mut greenwood, mut lower, mut upper) = (vec![], vec![], vec![], vec![]);
        for (&n, &d) in at_risk.iter().zip(&events_at) {
            if n > 0.0 {
                s *= 1.0 - d / n;
            }
            // lifelines' convention: the term of a time where everyone dies counts 0.
            if n > d {
                v += d / (n * (n - d));
            }
            survival.push(s);
            greenwood.push(v);
            let (lo, hi) = loglog_interval(s, v);
            lower.push(lo);
            upper.push(hi);
        }
        let median = times
            .iter()
            .zip(&survival)
            .find(|(_, s)| **s <= 0.5)
            .map(|(t, _)| *t);
        Ok(KmCurve {
            n: at_risk.first().map_or(0, |&n| n.round() as usize),
            events: events_at.iter().sum::<f64>().round() as usize,
            times,
            at_risk,
            events_at,
            survival,
            greenwood,
            lower,
            upper,
            median,
        })
    }

    /// Survival at time `t` (1 before the first time, the last value after the last).
    pub fn survival_at(&self, t: f64) -> f64 {
        let k = self.times.partition_point(|&s| s <= t);
        if k == 0 { 1.0 } else { self.survival[k - 1] }
    }

    /// The 95% interval at time `t`, as a step function like [`KmCurve::survival_at`].
    pub fn interval_at(&self, t: f64) -> (f64, f64) {
        let k = self.times.partition_point(|&s| s <= t);
        if k == 0 {
            (1.0, 1.0)
        } else {
            (self.lower[k - 1], self.upper[k - 1])
        }
    }
}

fn loglog_interval(s: f64, v: f64) -> (f64, f64) {
    if s >= 1.0 {
        return (1.0, 1.0);
    }
    if s <= 0.0 {
        return (0.0, 0.0);
    }
    let ls = s.ln();
    let half = Z_975 * v.sqrt() / ls;
    let lower = (-((-ls).ln() - half).exp()).exp();
    let upper = (-((-ls).ln() + half).exp()).exp();
    (lower, upper)
}

/// The Kaplan-Meier curve of right-censored data.
pub fn fit(times: &[f64], events: &[bool]) -> Result<KmCurve> {
    check_input(times, events)?;
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
    let (mut out_t, mut out_n, mut out_d) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while i < order.len() {
        let t = times[order[i]];
        let at_risk = (order.len() - i) as f64;
        let mut d = 0.0;
        while i < order.len() && times[order[i]] == t {
            d += f64::from(u8::from(events[order[i]]));
            i += 1;
        }
        out_t.push(t);
        out_n.push(at_risk);
        out_d.push(d);
    }
    KmCurve::from_counts(out_t, out_n, out_d)
}

fn check_input(times: &[f64], events: &[bool]) -> Result<()> {
    if times.len() != events.len() {
        return Err(StatsError::Shape {
            what: "event flags (one per time)",
            expected: times.len(),
            actual: events.len(),
        });
    }
    if let Some(row) = times.iter().position(|t| !t.is_finite()) {
        return Err(StatsError::NonFinite {
            what: "time".into(),
            row,
        });
    }
    Ok(())
}

/// A site's counts on the grid: `[at risk at each point.., events at each point..]`
/// (length `2 x grid points`). Vectors of several sites add up.
pub fn grid_local_counts(times: &[f64], events: &[bool], grid: &TimeGrid) -> Result<Vec<f64>> {
    check_input(times, events)?;
    let g = grid.len();
    let mut counts = vec![0.0; 2 * g];
    for (&t, &e) in times.iter().zip(events) {
        let (k, event) = grid.round_exit(t, e);
        // Exit at point k: at risk at points 0..=k (difference array, summed below).
        counts[k] += 1.0;
        if event {
            counts[g + k] += 1.0;
        }
    }
    for k in (0..g.saturating_sub(1)).rev() {
        counts[k] += counts[k + 1];
    }
    Ok(counts)
}

/// The curve from summed grid counts; its times are the grid points where an event or
/// a censoring happened.
pub fn from_grid_counts(summed: &[f64], grid: &TimeGrid) -> Result<KmCurve> {
    let g = grid.len();
    if summed.len() != 2 * g {
        return Err(StatsError::BadSums(format!(
            "Kaplan-Meier grid counts must have {} values (2 x {g} grid points), got {}",
            2 * g,
            summed.len()
        )));
    }
    let (at_risk, events) = summed.split_at(g);
    let (mut t, mut n, mut d) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..g {
        let next = if k + 1 < g { at_risk[k + 1] } else { 0.0 };
        let leaving = at_risk[k] - next;
        if at_risk[k] > 0.0 && leaving > 0.0 {
            t.push(grid.points()[k]);
            n.push(at_risk[k]);
            d.push(events[k]);
        }
    }
    KmCurve::from_counts(t, n, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn textbook_example() {
        // Times 1, 2+, 3, 3, 4+, 5 (+ = censored): S = 5/6, 5/6, 5/6*2/4, 5/12, 0.
        let times = [1.0, 2.0, 3.0, 3.0, 4.0, 5.0];
        let events = [true, false, true, true, false, true];
        let km = fit(&times, &events).unwrap();
        assert_eq!(km.times, [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(km.at_risk, [6.0, 5.0, 4.0, 2.0, 1.0]);
        let want = [5.0 / 6.0, 5.0 / 6.0, 5.0 / 12.0, 5.0 / 12.0, 0.0];
        for (a, b) in km.survival.iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
        assert_eq!(km.median, Some(3.0));
        assert_eq!(km.survival_at(0.5), 1.0);
        assert!((km.survival_at(3.5) - 5.0 / 12.0).abs() < 1e-15);
        assert!(km.lower[0] < km.survival[0] && km.survival[0] < km.upper[0]);
    }

    #[test]
    fn grid_counts_equal_counts_of_rounded_times() {
        let grid = TimeGrid::regular(0.0, 2.0, 3).unwrap();
        let counts = grid_local_counts(
            &[0.5, 1.0, 2.5, 3.0, 9.0],
            &[true, false, true, true, true],
            &grid,
        )
        .unwrap();
        // Rounded exits: 2, 2, 4, 4, and 9 -> censored at 4.
        assert_eq!(counts, [5.0, 5.0, 3.0, 0.0, 1.0, 2.0]);
        let km = from_grid_counts(&counts, &grid).unwrap();
        let local = fit(
            &[2.0, 2.0, 4.0, 4.0, 4.0],
            &[true, false, true, true, false],
        )
        .unwrap();
        assert_eq!(km, local);
    }
}
