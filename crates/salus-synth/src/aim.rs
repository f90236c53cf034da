//! AIM (McKenna, Mullins, Sheldon, Miklau 2022): adaptive, workload-aware selection.
//!
//! The workload is every marginal of `degree` columns (at most `max_marginal_cells` cells);
//! candidates are the workload and all its subsets, weighted by their overlap with it.
//! After measuring all one-way marginals, each round spends rho on
//! - selection (10%): the exact exponential mechanism over
//!   `w_r (||M_r(D) - M_r(model)||_1 - sqrt(2/pi) sigma n_r)`, sensitivity `max w_r`, among
//!   candidates that keep the junction tree under a size limit growing with the budget used;
//! - measurement (90%): the discrete Gaussian on the chosen marginal;
//!
//! then refits the model (warm start). When a measurement barely changed the model, sigma is
//! halved (and epsilon doubled). The last round spends whatever remains. Rounds: 16 d at the
//! initial scale, as in the paper.

use std::collections::HashMap;

use rand::{CryptoRng, Rng};

use crate::accountant::{Accountant, PLAN_SAFETY};
use crate::error::Result;
use crate::estimate::{EstimationOptions, estimate, estimate_total};
use crate::exact::{epsilon_for_rho, exponential_mechanism, exponential_rho};
use crate::factor::Clique;
use crate::junction::model_cells;
use crate::measure::marginal_counts;
use crate::mst::{Central, Selection};

/// Settings of the AIM mode.
#[derive(Debug, Clone, PartialEq)]
pub struct AimOptions {
    /// Workload: all marginals of this many columns.
    pub degree: usize,
    /// Workload marginals with more cells are left out.
    pub max_marginal_cells: usize,
    /// Rounds at the initial noise scale (default 16 x columns).
    pub rounds: Option<usize>,
    /// Optimiser iterations of each intermediate refit.
    pub round_iterations: usize,
}

impl Default for AimOptions {
    fn default() -> Self {
        AimOptions {
            degree: 2,
            max_marginal_cells: 10_000,
            rounds: None,
            round_iterations: 150,
        }
    }
}

const MEASURE_SHARE: f64 = 0.9;

/// Runs AIM with everything the accountant has left.
pub(crate) fn run_aim<R: Rng + CryptoRng + ?Sized>(
    central: &Central<'_>,
    options: &AimOptions,
    estimation: &EstimationOptions,
    accountant: &mut Accountant,
    rng: &mut R,
) -> Result<Selection> {
    let d = central.domain.len();
    let rho = accountant.remaining() * PLAN_SAFETY;
    let start = accountant.spent();
    let rounds = options.rounds.unwrap_or(16 * d).max(1) as f64;
    let mut rho_measure = MEASURE_SHARE * rho / rounds;
    let mut rho_select = (1.0 - MEASURE_SHARE) * rho / rounds;
    let (compression, mut observations, mut measured) =
        central.measure_one_way(rho_measure, accountant, rng)?;
    let sizes: Vec<usize> = compression.iter().map(|c| c.size).collect();
    let data = central.recode(&compression);
    let candidates = workload_candidates(&sizes, options);
    let mut truth: HashMap<Clique, Vec<f64>> = HashMap::new();
    let round_options = EstimationOptions {
        max_iterations: options.round_iterations,
        ..*estimation
    };
    let total = estimate_total(&observations);
    let mut fit = estimate(
        &sizes,
        &observations,
        total,
        &round_options,
        &[],
        central.max_model_cells,
    )?;
    let mut round = 0usize;
    loop {
        round += 1;
        let used = accountant.spent() - start;
        let left = rho - used;
        let last = left < 2.0 * (rho_measure + rho_select);
        if last {
            rho_measure = MEASURE_SHARE * left;
            rho_select = (1.0 - MEASURE_SHARE) * left;
        }
        if rho_measure <= 0.0 || rho_select <= 0.0 {
            break;
        }
        let sigma = salus_dp::zcdp::sigma_for_rho(1.0, rho_measure);
        let epsilon = epsilon_for_rho(rho_select);
        let limit_share = ((used + rho_measure + rho_select) / rho).min(1.0);
        let size_limit = (limit_share * central.max_model_cells as f64) as usize;
        let measured_cliques: Vec<Clique> = observations.iter().map(|o| o.clique.clone()).collect();
        let eligible: Vec<&(Clique, f64)> = candidates
            .iter()
            .filter(|(c, _)| {
                fit.engine.tree.containing(c).is_some() || {
                    let mut with = measured_cliques.clone();
                    with.push(c.clone());
                    model_cells(&sizes, &with) <= size_limit
                }
            })
            .collect();
        if eligible.is_empty() {
            break;
        }
        let scores: Vec<f64> = eligible
            .iter()
            .map(|(c, w)| {
                let x = truth.entry(c.clone()).or_insert_with(|| {
                    marginal_counts(&data, &sizes, c)
                        .into_iter()
                        .map(|v| v as f64)
                        .collect()
                });
                let estimate = fit.engine.marginal(&fit.beliefs, c).values;
                let l1: f64 = x.iter().zip(&estimate).map(|(a, b)| (a - b).abs()).sum();
                w * (l1 - (2.0 / std::f64::consts::PI).sqrt() * sigma * c.cells(&sizes) as f64)
            })
            .collect();
        let sensitivity = eligible
            .iter()
            .map(|(_, w)| w.abs())
            .fold(0.0, f64::max)
            .max(1.0);
        accountant.charge(format!("select:round-{round}"), exponential_rho(epsilon))?;
        let chosen = eligible[exponential_mechanism(&scores, epsilon, sensitivity, rng)?]
            .0
            .clone();
        let (observation, record) =
            central.measure(&data, &sizes, &chosen, rho_measure, accountant, rng)?;
        let before = fit.engine.marginal(&fit.beliefs, &chosen).values;
        observations.push(observation);
        measured.push(record);
        fit = estimate(
            &sizes,
            &observations,
            estimate_total(&observations),
            &round_options,
            &fit.potentials,
            central.max_model_cells,
        )?;
        let after = fit.engine.marginal(&fit.beliefs, &chosen).values;
        let change: f64 = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).sum();
        if last {
            break;
        }
        if change <= (2.0 / std::f64::consts::PI).sqrt() * sigma * chosen.cells(&sizes) as f64 {
            // Halving sigma and doubling epsilon both cost four times the rho.
            rho_measure *= 4.0;
            rho_select *= 4.0;
        }
    }
    Ok(Selection {
        compression,
        observations,
        measured,
        warm: fit.potentials,
    })
}

/// The workload's downward closure with AIM's weights w_r = sum over workload s of |r & s|.
fn workload_candidates(sizes: &[usize], options: &AimOptions) -> Vec<(Clique, f64)> {
    let d = sizes.len();
    let degree = options.degree.clamp(1, d.max(1));
    let workload: Vec<Clique> = combinations(d, degree)
        .into_iter()
        .map(Clique::new)
        .filter(|c| c.cells(sizes) <= options.max_marginal_cells)
        .collect();
    let mut closure: Vec<Clique> = Vec::new();
    for w in &workload {
        for size in 1..=w.len() {
            for subset in combinations(w.len(), size) {
                let clique = Clique::new(subset.iter().map(|&i| w.attrs()[i]).collect());
                if !closure.contains(&clique) {
                    closure.push(clique);
                }
            }
        }
    }
    closure.sort();
    closure
        .into_iter()
        .map(|r| {
            let weight = workload
                .iter()
                .map(|s| r.intersection(s).len() as f64)
                .sum();
            (r, weight)
        })
        .collect()
}

/// All `k`-subsets of `0..n`, in lexicographic order.
pub(crate) fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if k > n {
        return out;
    }
    let mut current: Vec<usize> = (0..k).collect();
    loop {
        out.push(current.clone());
        let Some(i) = (0..k).rev().find(|&i| current[i] < n - k + i) else {
            break;
        };
        current[i] += 1;
        for j in i + 1..k {
            current[j] = current[j - 1] + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_and_weights() {
        assert_eq!(combinations(4, 2).len(), 6);
        assert_eq!(combinations(3, 3), vec![vec![0, 1, 2]]);
        assert_eq!(combinations(5, 0), vec![Vec::<usize>::new()]);
        let candidates = workload_candidates(&[2, 3, 4], &AimOptions::default());
        // Three pairs and three singletons; a singleton overlaps two pairs, a pair itself (2) and two others (1 each).
        assert_eq!(candidates.len(), 6);
        for (c, w) in &candidates {
            assert_eq!(*w, if c.len() == 1 { 2.0 } else { 4.0 });
        }
    }
}
