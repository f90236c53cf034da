//! A public time grid: the only times that leave a site in grid-based studies.
//!
//! Rounding rule (used by grid Cox and grid Kaplan-Meier alike): a time `t` maps to
//! the first grid point `>= t` (rounding *up*, like `ceil(t / width) * width` on a
//! regular grid). Event, exit and entry times all round up, so (start, stop]
//! intervals of one subject stay adjacent and a subject is at risk at grid point `g`
//! exactly when `round(start) < g <= round(stop)`. A time after the last grid point is
//! censored there (administrative censoring at the end of the grid). Choose a grid that
//! starts at or before the earliest entry time (typically 0).

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError};

/// Strictly increasing, finite time points chosen by a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeGrid {
    points: Vec<f64>,
}

impl TimeGrid {
    /// A grid from its points (strictly increasing, finite, at least one).
    pub fn new(points: Vec<f64>) -> Result<Self> {
        if points.is_empty() {
            return Err(StatsError::InvalidOption(
                "a time grid needs at least one point".into(),
            ));
        }
        if points.iter().any(|t| !t.is_finite()) || points.windows(2).any(|w| w[0] >= w[1]) {
            return Err(StatsError::InvalidOption(
                "time grid points must be finite and strictly increasing".into(),
            ));
        }
        Ok(TimeGrid { points })
    }

    /// `count` points `start, start + step, ...` (each computed as `start + k * step`).
    pub fn regular(start: f64, step: f64, count: usize) -> Result<Self> {
        if step.is_nan() || step <= 0.0 {
            return Err(StatsError::InvalidOption(
                "the grid step must be positive".into(),
            ));
        }
        Self::new((0..count).map(|k| start + k as f64 * step).collect())
    }

    /// The grid points.
    pub fn points(&self) -> &[f64] {
        &self.points
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Always false: a grid has at least one point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Index of the first point `>= t`, or `None` when `t` is after the last point.
    pub fn index_up(&self, t: f64) -> Option<usize> {
        let k = self.points.partition_point(|&g| g < t);
        (k < self.points.len()).then_some(k)
    }

    /// A follow-up time and event flag on the grid: the index of the rounded time and
    /// whether the event is kept (events after the last point are censored there).
    pub fn round_exit(&self, t: f64, event: bool) -> (usize, bool) {
        match self.index_up(t) {
            Some(k) => (k, event),
            None => (self.points.len() - 1, false),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_and_censors_at_the_end() {
        let grid = TimeGrid::regular(0.0, 7.0, 4).unwrap();
        assert_eq!(grid.points(), [0.0, 7.0, 14.0, 21.0]);
        assert_eq!(grid.index_up(-1.0), Some(0));
        assert_eq!(grid.index_up(7.0), Some(1));
        assert_eq!(grid.index_up(7.5), Some(2));
        assert_eq!(grid.index_up(21.5), None);
        assert_eq!(grid.round_exit(21.5, true), (3, false));
        assert_eq!(grid.round_exit(20.0, true), (3, true));
        assert!(TimeGrid::new(vec![1.0, 1.0]).is_err());
        assert!(TimeGrid::new(vec![]).is_err());
    }
}
