//! The log-rank test of equal survival across groups, optionally stratified, locally
//! and from counts summed over sites on a public time grid.
//!
//! Per stratum and time with `n_j` at risk and `d_j` events in group `j`
//! (`n`, `d` in total): `O_j - E_j = d_j - d n_j / n` and the hypergeometric covariance
//! `V_jk = d (n - d) / (n - 1) * n_j / n * (delta_jk - n_k / n)`. Both are summed over
//! times and strata; the statistic `U' V^-1 U` on the first `K - 1` groups is
//! chi-square with `K - 1` degrees of freedom (R `survdiff`, lifelines
//! `multivariate_logrank_test`).

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError};
use crate::linalg::SpdFactor;
use crate::summary::chi_square_sf;
use crate::timegrid::TimeGrid;

/// Result of a log-rank test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRankTest {
    /// Chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom (groups - 1).
    pub df: usize,
    /// p-value.
    pub p: f64,
    /// Observed events per group.
    pub observed: Vec<f64>,
    /// Expected events per group under equal survival.
    pub expected: Vec<f64>,
}

/// Accumulates `O - E` and `V` over times.
struct Accumulator {
    k: usize,
    observed: Vec<f64>,
    expected: Vec<f64>,
    variance: Vec<f64>,
}

impl Accumulator {
    fn new(k: usize) -> Self {
        Accumulator {
            k,
            observed: vec![0.0; k],
            expected: vec![0.0; k],
            variance: vec![0.0; k * k],
        }
    }

    /// Adds one time point with per-group at-risk and event counts.
    fn add(&mut self, at_risk: &[f64], events: &[f64]) {
        let n: f64 = at_risk.iter().sum();
        let d: f64 = events.iter().sum();
        if d <= 0.0 || n <= 0.0 {
            return;
        }
        for j in 0..self.k {
            self.observed[j] += events[j];
            self.expected[j] += d * at_risk[j] / n;
        }
        if n <= 1.0 {
            return;
        }
        let factor = d * (n - d) / (n - 1.0);
        for j in 0..self.k {
            for l in 0..self.k {
                let delta = if j == l { 1.0 } else { 0.0 };
                self.variance[j * self.k + l] += factor * at_risk[j] / n * (delta - at_risk[l] / n);
            }
        }
    }

    fn finish(self) -> Result<LogRankTest> {
        let m = self.k - 1;
        let u: Vec<f64> = (0..m)
            .map(|j| self.observed[j] - self.expected[j])
            .collect();
        let v: Vec<f64> = (0..m * m)
            .map(|idx| self.variance[(idx / m) * self.k + idx % m])
            .collect();
        let factor = SpdFactor::new(&v, m).map_err(|_| {
            StatsError::NoData(
                "the log-rank variance is singular: some group has no subject at risk at any event time".into(),
            )
        })?;
        let statistic: f64 = factor.solve(&u).iter().zip(&u).map(|(a, b)| a * b).sum();
        Ok(LogRankTest {
            statistic,
            df: m,
            p: chi_square_sf(statistic, m as f64),
            observed: self.observed,
            expected: self.expected,
        })
    }
}

/// Labels of the rows: group codes `< n_groups` and optional stratum codes.
#[derive(Debug, Clone, Copy)]
pub struct Groups<'a> {
    /// Group code of each row.
    pub group: &'a [u32],
    /// Number of groups (at least 2).
    pub n_groups: usize,
    /// Stratum code of each row, if stratified.
    pub stratum: Option<&'a [u32]>,
    /// Number of strata.
    pub n_strata: usize,
}

impl Groups<'_> {
    fn check(&self, n: usize) -> Result<()> {
        if self.n_groups < 2 {
            return Err(StatsError::InvalidOption(
                "the log-rank test needs at least two groups".into(),
            ));
        }
        if self.group.len() != n || self.stratum.is_some_and(|s| s.len() != n) {
            return Err(StatsError::Shape {
                what: "group/stratum codes (one per row)",
                expected: n,
                actual: self.group.len(),
            });
        }
        let bad_group = self.group.iter().any(|&g| g as usize >= self.n_groups);
        let bad_stratum = self
            .stratum
            .is_some_and(|s| s.iter().any(|&c| c as usize >= self.n_strata));
        if bad_group || bad_stratum {
            return Err(StatsError::InvalidOption(
                "a group or stratum code is out of range".into(),
            ));
        }
        Ok(())
    }

    fn stratum_of(&self, i: usize) -> usize {
        self.stratum.map_or(0, |s| s[i] as usize)
    }

    fn strata(&self) -> usize {
        if self.stratum.is_some() {
            self.n_strata.max(1)
        } else {
            1
        }
    }
}

/// The (stratified) log-rank test on right-censored data.
pub fn test(times: &[f64], events: &[bool], groups: Groups<'_>) -> Result<LogRankTest> {
    if times.len() != events.len() {
        return Err(StatsError::Shape {
            what: "event flags (one per time)",
            expected: times.len(),
            actual: events.len(),
        });
    }
    groups.check(times.len())?;
    let k = groups.n_groups;
    let mut acc = Accumulator::new(k);
    for s in 0..groups.strata() {
        let mut rows: Vec<usize> = (0..times.len())
            .filter(|&i| groups.stratum_of(i) == s)
            .collect();
        rows.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
        let mut at_risk = vec![0.0; k];
        for &i in &rows {
            at_risk[groups.group[i] as usize] += 1.0;
        }
        let mut i = 0;
        while i < rows.len() {
            let t = times[rows[i]];
            let mut d = vec![0.0; k];
            let mut leaving = vec![0.0; k];
            while i < rows.len() && times[rows[i]] == t {
                let g = groups.group[rows[i]] as usize;
                leaving[g] += 1.0;
                d[g] += f64::from(u8::from(events[rows[i]]));
                i += 1;
            }
            acc.add(&at_risk, &d);
            for (a, l) in at_risk.iter_mut().zip(leaving) {
                *a -= l;
            }
        }
    }
    acc.finish()
}

/// A site's grid counts for the log-rank test: for each stratum, for each group, the
/// Kaplan-Meier grid counts ([`crate::km::grid_local_counts`]) of that group's rows.
/// Length `strata x groups x 2 x grid points`.
pub fn grid_local_counts(
    times: &[f64],
    events: &[bool],
    groups: Groups<'_>,
    grid: &TimeGrid,
) -> Result<Vec<f64>> {
    groups.check(times.len())?;
    let block = 2 * grid.len();
    let mut out = vec![0.0; groups.strata() * groups.n_groups * block];
    for s in 0..groups.strata() {
        for g in 0..groups.n_groups {
            let rows: Vec<usize> = (0..times.len())
                .filter(|&i| groups.stratum_of(i) == s && groups.group[i] as usize == g)
                .collect();
            let t: Vec<f64> = rows.iter().map(|&i| times[i]).collect();
            let e: Vec<bool> = rows.iter().map(|&i| events[i]).collect();
            let counts = crate::km::grid_local_counts(&t, &e, grid)?;
            let at = (s * groups.n_groups + g) * block;
            out[at..at + block].copy_from_slice(&counts);
        }
    }
    Ok(out)
}

/// The log-rank test from summed grid counts of `n_groups` groups (the number of
/// strata follows from the length).
pub fn from_grid_counts(summed: &[f64], grid: &TimeGrid, n_groups: usize) -> Result<LogRankTest> {
    let g = grid.len();
    let per_stratum = n_groups * 2 * g;
    if n_groups < 2 || summed.is_empty() || !summed.len().is_multiple_of(per_stratum) {
        return Err(StatsError::BadSums(format!(
            "log-rank grid counts must hold a multiple of {per_stratum} values ({n_groups} groups x 2 x {g} points), got {}",
            summed.len()
        )));
    }
    let mut acc = Accumulator::new(n_groups);
    for stratum in summed.chunks(per_stratum) {
        for k in 0..g {
            let at_risk: Vec<f64> = (0..n_groups).map(|j| stratum[j * 2 * g + k]).collect();
            let events: Vec<f64> = (0..n_groups).map(|j| stratum[j * 2 * g + g + k]).collect();
            acc.add(&at_risk, &events);
        }
    }
    acc.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn two_group_statistic_by_hand() {
        // Group 0: deaths at 1, 3; group 1: death at 2, censored at 4.
        let times = [1.0, 3.0, 2.0, 4.0];
        let events = [true, true, true, false];
        let groups = Groups {
            group: &[0, 0, 1, 1],
            n_groups: 2,
            stratum: None,
            n_strata: 1,
        };
        let r = test(&times, &events, groups).unwrap();
        // t=1: n=(2,2), d=(1,0): E0=0.5, V=0.25; t=2: n=(1,2), d=(0,1): E0=1/3, V=2/9;
        // t=3: n=(1,1), d=(1,0): E0=0.5, V=0.25. O0=2, E0=4/3, V=13/18.
        let u: f64 = 2.0 - 4.0 / 3.0;
        assert!((r.statistic - u * u / (13.0 / 18.0)).abs() < 1e-12);
        assert_eq!(r.df, 1);
    }
}
