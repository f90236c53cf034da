//! Private-PGM-style estimation (McKenna, Sheldon, Miklau 2019): find the graphical model
//! whose marginals best explain the noisy measurements, by mirror descent on the marginal
//! polytope. Each step moves the log-potentials of every measured clique against the
//! gradient of the weighted squared loss and recomputes consistent marginals by belief
//! propagation; the step size doubles every iteration and is halved until the Armijo
//! condition holds (the schedule of Private-PGM's `mirror_descent`).
//!
//! The result is consistent (all clique marginals agree), non-negative, and sums to the
//! estimated total; the estimator only sees noisy measurements (post-processing).

use crate::error::{Result, SynthError};
use crate::factor::{Clique, index_map};
use crate::inference::Engine;
use crate::junction::JunctionTree;

/// One noisy linear observation of a clique marginal: `y[i]` estimates cell `i` with
/// variance `1 / weight[i]` (merged cells of a compressed domain have larger variance).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    pub clique: Clique,
    pub y: Vec<f64>,
    pub weight: Vec<f64>,
}

/// Stopping rules of the optimiser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimationOptions {
    /// Most mirror-descent iterations.
    pub max_iterations: usize,
    /// Stop when the loss improved by less than this fraction over `patience` iterations.
    pub tolerance: f64,
    /// Window of the tolerance test.
    pub patience: usize,
}

impl Default for EstimationOptions {
    fn default() -> Self {
        EstimationOptions {
            max_iterations: 3000,
            tolerance: 1e-7,
            patience: 50,
        }
    }
}

/// A fitted model: calibrated beliefs on a junction tree, and the potentials that produced
/// them (kept for warm starts).
#[derive(Debug, Clone)]
pub(crate) struct Fitted {
    pub engine: Engine,
    pub beliefs: Vec<Vec<f64>>,
    pub total: f64,
    pub potentials: Vec<(Clique, Vec<f64>)>,
    pub iterations: usize,
    pub loss: f64,
}

/// The minimum-variance estimate of the number of records from the sums of the observations.
pub(crate) fn estimate_total(observations: &[Observation]) -> f64 {
    let (mut precision, mut weighted) = (0.0, 0.0);
    for o in observations {
        let variance: f64 = o.weight.iter().map(|w| 1.0 / w).sum();
        if variance > 0.0 && variance.is_finite() {
            precision += 1.0 / variance;
            weighted += o.y.iter().sum::<f64>() / variance;
        }
    }
    if precision > 0.0 {
        (weighted / precision).max(1.0)
    } else {
        1.0
    }
}

struct Problem<'a> {
    engine: Engine,
    uniques: Vec<Clique>,
    /// Junction-tree clique holding each unique clique, and the map from its cells.
    home: Vec<usize>,
    home_map: Vec<Vec<u32>>,
    observations: &'a [Observation],
    /// Unique clique of each observation.
    of_observation: Vec<usize>,
    total: f64,
}

/// Fits a model to `observations` over a domain with `sizes`. `warm` gives starting
/// potentials for some cliques (from an earlier fit).
pub(crate) fn estimate(
    sizes: &[usize],
    observations: &[Observation],
    total: f64,
    options: &EstimationOptions,
    warm: &[(Clique, Vec<f64>)],
    max_cells: usize,
) -> Result<Fitted> {
    let problem = Problem::new(sizes, observations, total, max_cells)?;
    let mut theta: Vec<Vec<f64>> = problem
        .uniques
        .iter()
        .map(|u| match warm.iter().find(|(c, _)| c == u) {
            Some((_, values)) => values.clone(),
            None => vec![0.0; u.cells(sizes)],
        })
        .collect();
    let mut beliefs = problem.beliefs(&theta)?;
    let (mut loss, mut gradient) = problem.loss(&beliefs);
    let mut alpha = 1.0 / (total * total).max(1.0);
    let mut history = vec![loss];
    let mut iterations = 0;
    for _ in 0..options.max_iterations {
        iterations += 1;
        alpha *= 2.0;
        let mut accepted = false;
        for _ in 0..30 {
            let candidate: Vec<Vec<f64>> = theta
                .iter()
                .zip(&gradient)
                .map(|(t, g)| t.iter().zip(g).map(|(t, g)| t - alpha * g).collect())
                .collect();
            let new_beliefs = problem.beliefs(&candidate)?;
            let (new_loss, new_gradient) = problem.loss(&new_beliefs);
            // Armijo: sufficient decrease measured on the marginals, as Private-PGM does.
            let decrease = problem.directional(&gradient, &beliefs, &new_beliefs);
            if loss - new_loss >= 0.5 * alpha * decrease {
                theta = candidate;
                beliefs = new_beliefs;
                loss = new_loss;
                gradient = new_gradient;
                accepted = true;
                break;
            }
            alpha *= 0.5;
        }
        history.push(loss);
        if !accepted || converged(&history, options) {
            break;
        }
    }
    let potentials = problem.uniques.iter().cloned().zip(theta).collect();
    Ok(Fitted {
        engine: problem.engine,
        beliefs,
        total,
        potentials,
        iterations,
        loss,
    })
}

fn converged(history: &[f64], options: &EstimationOptions) -> bool {
    let n = history.len();
    if n <= options.patience {
        return false;
    }
    let (before, now) = (history[n - 1 - options.patience], history[n - 1]);
    before - now <= options.tolerance * before.abs().max(1e-300)
}

impl<'a> Problem<'a> {
    fn new(
        sizes: &[usize],
        observations: &'a [Observation],
        total: f64,
        max_cells: usize,
    ) -> Result<Self> {
        let mut uniques: Vec<Clique> = Vec::new();
        let mut of_observation = Vec::with_capacity(observations.len());
        for (index, o) in observations.iter().enumerate() {
            if o.y.len() != o.clique.cells(sizes) || o.weight.len() != o.y.len() {
                return Err(SynthError::Measurement {
                    index,
                    reason: format!(
                        "{} values for a clique of {} cells",
                        o.y.len(),
                        o.clique.cells(sizes)
                    ),
                });
            }
            let position = uniques
                .iter()
                .position(|u| *u == o.clique)
                .unwrap_or_else(|| {
                    uniques.push(o.clique.clone());
                    uniques.len() - 1
                });
            of_observation.push(position);
        }
        let tree = JunctionTree::build(sizes, &uniques);
        let cells = tree.cells(sizes);
        if cells > max_cells {
            return Err(SynthError::ModelTooLarge {
                cells,
                limit: max_cells,
            });
        }
        let engine = Engine::new(sizes, tree);
        let mut home = Vec::with_capacity(uniques.len());
        let mut home_map = Vec::with_capacity(uniques.len());
        for u in &uniques {
            let k = engine.tree.containing(u).unwrap_or(0);
            let clique = &engine.tree.cliques[k];
            let shape: Vec<usize> = clique.attrs().iter().map(|&a| sizes[a]).collect();
            home.push(k);
            home_map.push(index_map(clique, &shape, u, sizes));
        }
        Ok(Problem {
            engine,
            uniques,
            home,
            home_map,
            observations,
            of_observation,
            total,
        })
    }

    fn beliefs(&self, theta: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let sizes = &self.engine.sizes;
        let mut log_potentials: Vec<Vec<f64>> = self
            .engine
            .tree
            .cliques
            .iter()
            .map(|c| vec![0.0; c.cells(sizes)])
            .collect();
        for (u, values) in theta.iter().enumerate() {
            let target = &mut log_potentials[self.home[u]];
            for (cell, &from) in target.iter_mut().zip(&self.home_map[u]) {
                *cell += values[from as usize];
            }
        }
        self.engine
            .calibrate(&log_potentials, self.total)
            .ok_or_else(|| {
                SynthError::Evaluation(
                    "the model lost all probability mass during estimation".to_string(),
                )
            })
    }

    /// Marginal of unique clique `u` from the beliefs.
    fn unique_marginal(&self, beliefs: &[Vec<f64>], u: usize) -> Vec<f64> {
        let mut out = vec![0.0; self.uniques[u].cells(&self.engine.sizes)];
        for (value, &to) in beliefs[self.home[u]].iter().zip(&self.home_map[u]) {
            out[to as usize] += value;
        }
        out
    }

    /// Loss 1/2 sum w (mu - y)^2 and its gradient with respect to each unique marginal.
    fn loss(&self, beliefs: &[Vec<f64>]) -> (f64, Vec<Vec<f64>>) {
        let marginals: Vec<Vec<f64>> = (0..self.uniques.len())
            .map(|u| self.unique_marginal(beliefs, u))
            .collect();
        let mut gradient: Vec<Vec<f64>> = marginals.iter().map(|m| vec![0.0; m.len()]).collect();
        let mut loss = 0.0;
        for (o, &u) in self.observations.iter().zip(&self.of_observation) {
            for (i, (&mu, (&y, &w))) in marginals[u]
                .iter()
                .zip(o.y.iter().zip(&o.weight))
                .enumerate()
            {
                let diff = mu - y;
                loss += 0.5 * w * diff * diff;
                gradient[u][i] += w * diff;
            }
        }
        (loss, gradient)
    }

    /// gradient . (mu_old - mu_new) over the unique marginals.
    fn directional(&self, gradient: &[Vec<f64>], old: &[Vec<f64>], new: &[Vec<f64>]) -> f64 {
        (0..self.uniques.len())
            .map(|u| {
                let (a, b) = (self.unique_marginal(old, u), self.unique_marginal(new, u));
                gradient[u]
                    .iter()
                    .zip(a.iter().zip(&b))
                    .map(|(g, (x, y))| g * (x - y))
                    .sum::<f64>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_consistent_measurements_are_recovered() {
        // True joint over (a, b, c) = a tree a-b, b-c.
        let sizes = [2, 3, 2];
        let ab = vec![100.0, 300.0, 50.0, 200.0, 250.0, 100.0];
        let b: Vec<f64> = (0..3).map(|j| ab[j] + ab[3 + j]).collect();
        let bc = vec![
            b[0] * 0.2,
            b[0] * 0.8,
            b[1] * 0.5,
            b[1] * 0.5,
            b[2] * 0.9,
            b[2] * 0.1,
        ];
        let obs = |clique: Vec<usize>, y: Vec<f64>| Observation {
            weight: vec![1.0; y.len()],
            clique: Clique::new(clique),
            y,
        };
        let observations = vec![obs(vec![0, 1], ab.clone()), obs(vec![1, 2], bc.clone())];
        let total = estimate_total(&observations);
        assert!((total - 1000.0).abs() < 1e-9);
        let options = EstimationOptions {
            max_iterations: 5000,
            tolerance: 1e-12,
            patience: 50,
        };
        let fit = estimate(&sizes, &observations, total, &options, &[], 1 << 20).unwrap();
        let got_ab = fit
            .engine
            .marginal(&fit.beliefs, &Clique::new(vec![0, 1]))
            .values;
        let got_bc = fit
            .engine
            .marginal(&fit.beliefs, &Clique::new(vec![1, 2]))
            .values;
        for (g, e) in got_ab.iter().zip(&ab).chain(got_bc.iter().zip(&bc)) {
            assert!((g - e).abs() < 0.5, "{g} vs {e}");
        }
    }

    #[test]
    fn negative_noisy_counts_give_non_negative_consistent_marginals() {
        let sizes = [3, 2];
        let y = vec![-5.0, 40.0, 30.0, -2.0, 20.0, 17.0];
        let observations = vec![
            Observation {
                clique: Clique::new(vec![0, 1]),
                weight: vec![0.1; 6],
                y,
            },
            Observation {
                clique: Clique::new(vec![0]),
                weight: vec![0.1; 3],
                y: vec![30.0, 65.0, 5.0],
            },
        ];
        let total = estimate_total(&observations);
        let fit = estimate(
            &sizes,
            &observations,
            total,
            &EstimationOptions::default(),
            &[],
            1 << 20,
        )
        .unwrap();
        let joint = fit.engine.marginal(&fit.beliefs, &Clique::new(vec![0, 1]));
        assert!(joint.values.iter().all(|&v| v >= 0.0));
        assert!((joint.total() - total).abs() < 1e-6 * total);
        let a = fit.engine.marginal(&fit.beliefs, &Clique::new(vec![0]));
        let from_joint = joint.sum_to(&Clique::new(vec![0]), &sizes);
        for (x, y) in a.values.iter().zip(&from_joint.values) {
            assert!((x - y).abs() < 1e-9);
        }
    }
}
