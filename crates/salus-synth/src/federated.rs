//! Federated MST: synthetic data for the union of several sites without any site sharing a
//! record. The functions here are the hub's and the nodes' halves; the study layer moves
//! the vectors (through secure aggregation) and charges each node's ledger.
//!
//! Protocol (two aggregation rounds; the hub only ever sees noisy sums):
//! 1. The study fixes the public [`Domain`] and calls [`plan_federated_mst`] with the rho
//!    budget. Round 1 cliques: every one-way marginal and every pair.
//! 2. Each node computes [`local_marginal_counts`](crate::local_marginal_counts) for the
//!    round-1 cliques, adds its noise share (salus-dp distributed noise, calibrated so the
//!    SUM carries the plan's sigma per clique) and submits to secure aggregation. The hub
//!    learns only the noisy sums and splits them with
//!    [`split_measurements`](crate::split_measurements).
//! 3. The hub calls [`select_tree`] (post-processing of the noisy sums): one-way marginals
//!    give the cell compression and an independence model; each pair is scored by its
//!    L1 distance to that model, less the expected L1 of its noise; Kruskal keeps the best
//!    spanning tree.
//! 4. Round 2: nodes measure the d - 1 tree pairs with `round_two_sigma`, aggregated the same
//!    way.
//! 5. The hub calls [`fit_from_measurements`] on [`mst_measurements`] (one-way and tree pairs
//!    of round 1, plus round 2) and hands the model to the researcher.
//!
//! Budget split: a third each for round-1 one-way marginals, round-1 pairs, round-2 pairs.
//! Every node's ledger is charged the plan's rho (zCDP composition of the two rounds) before
//! round 1. Compared with central MST, selection uses noisy pair marginals instead of the
//! exponential mechanism, because L1 scores against the pooled data are not sums of per-site
//! values; the extra cost is that the selection third is spread over all pairs.

use serde::{Deserialize, Serialize};

use crate::accountant::PLAN_SAFETY;
use crate::accountant::Step;
use crate::compress::{AttributeCompression, compress_measurement};
use crate::domain::Domain;
use crate::error::{Result, SynthError};
use crate::estimate::{Observation, estimate, estimate_total};
use crate::factor::Clique;
use crate::fit::FitOptions;
use crate::junction::DisjointSets;
use crate::measure::{Measurement, check_clique};
use crate::model::{MeasuredClique, Model, PrivacyRecord};

/// The measurement plan of a federated MST study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FederatedMstPlan {
    /// Round-1 cliques: all one-way marginals, then all pairs.
    pub round_one: Vec<Clique>,
    /// Total noise sigma per round-1 clique (what the aggregated sum must carry).
    pub round_one_sigmas: Vec<f64>,
    /// Total noise sigma for each round-2 (tree) pair.
    pub round_two_sigma: f64,
    /// rho of round 1 (composed).
    pub round_one_rho: f64,
    /// rho of round 2 (composed over the d - 1 tree pairs).
    pub round_two_rho: f64,
}

impl FederatedMstPlan {
    /// rho of the whole study (what each node's ledger is charged).
    pub fn total_rho(&self) -> f64 {
        salus_dp::zcdp::compose(&[self.round_one_rho, self.round_two_rho])
    }
}

/// Plans a federated MST within `rho` (zCDP) over `domain` (at least two columns).
pub fn plan_federated_mst(domain: &Domain, rho: f64) -> Result<FederatedMstPlan> {
    let d = domain.len();
    if d < 2 {
        return Err(SynthError::Privacy(
            "federated MST needs at least two columns".to_string(),
        ));
    }
    if !(rho.is_finite() && rho > 0.0) {
        return Err(SynthError::Privacy(format!(
            "rho must be positive; got {rho}"
        )));
    }
    let third = rho * PLAN_SAFETY / 3.0;
    let pairs = d * (d - 1) / 2;
    let sigma_one = salus_dp::zcdp::sigma_for_rho(1.0, third / d as f64);
    let sigma_pair = salus_dp::zcdp::sigma_for_rho(1.0, third / pairs as f64);
    let round_two_sigma = salus_dp::zcdp::sigma_for_rho(1.0, third / (d - 1) as f64);
    let mut round_one: Vec<Clique> = (0..d).map(|a| Clique::new(vec![a])).collect();
    let mut round_one_sigmas = vec![sigma_one; d];
    for a in 0..d {
        for b in a + 1..d {
            round_one.push(Clique::new(vec![a, b]));
            round_one_sigmas.push(sigma_pair);
        }
    }
    let cost = |sigma: f64, count: usize| {
        salus_dp::zcdp::compose(&vec![
            salus_dp::zcdp::rho_discrete_gaussian(1.0, sigma);
            count
        ])
    };
    let round_one_rho = salus_dp::zcdp::compose(&[cost(sigma_one, d), cost(sigma_pair, pairs)]);
    Ok(FederatedMstPlan {
        round_one,
        round_one_sigmas,
        round_two_sigma,
        round_one_rho,
        round_two_rho: cost(round_two_sigma, d - 1),
    })
}

/// The compression implied by the most precise one-way measurement of each attribute.
fn compression_from(
    domain: &Domain,
    measurements: &[Measurement],
    compress: bool,
) -> Vec<AttributeCompression> {
    domain
        .sizes()
        .iter()
        .enumerate()
        .map(|(a, &size)| {
            let best = measurements
                .iter()
                .filter(|m| m.clique.attrs() == [a])
                .min_by(|x, y| x.sigma.total_cmp(&y.sigma));
            match best {
                Some(m) if compress => AttributeCompression::from_noisy(&m.noisy_counts, m.sigma),
                _ => AttributeCompression::identity(size),
            }
        })
        .collect()
}

fn validate(domain: &Domain, measurements: &[Measurement]) -> Result<()> {
    let sizes = domain.sizes();
    for (index, m) in measurements.iter().enumerate() {
        check_clique(&m.clique, domain).map_err(|_| SynthError::Measurement {
            index,
            reason: "names an attribute outside the domain".to_string(),
        })?;
        let cells = m.clique.cells(&sizes);
        if m.noisy_counts.len() != cells {
            return Err(SynthError::Measurement {
                index,
                reason: format!(
                    "has {} values but its clique has {cells} cells",
                    m.noisy_counts.len()
                ),
            });
        }
        if !(m.sigma.is_finite() && m.sigma > 0.0) || m.noisy_counts.iter().any(|v| !v.is_finite())
        {
            return Err(SynthError::Measurement {
                index,
                reason: "sigma and counts must be finite, sigma > 0".to_string(),
            });
        }
    }
    Ok(())
}

/// Chooses the tree from round-1 noisy sums (one-way marginals and pairs).
pub fn select_tree(domain: &Domain, round_one: &[Measurement]) -> Result<Vec<Clique>> {
    validate(domain, round_one)?;
    let compression = compression_from(domain, round_one, true);
    let original_sizes = domain.sizes();
    let sizes: Vec<usize> = compression.iter().map(|c| c.size).collect();
    let compressed: Vec<Observation> = round_one
        .iter()
        .map(|m| compress_measurement(m, &original_sizes, &compression))
        .collect();
    let one_way: Vec<Observation> = compressed
        .iter()
        .filter(|o| o.clique.len() == 1)
        .cloned()
        .collect();
    let fit = estimate(
        &sizes,
        &one_way,
        estimate_total(&one_way),
        &Default::default(),
        &[],
        usize::MAX,
    )?;
    let mut scored: Vec<(f64, Clique)> = compressed
        .iter()
        .filter(|o| o.clique.len() == 2)
        .map(|o| {
            let independent = fit.engine.marginal(&fit.beliefs, &o.clique).values;
            let l1: f64 =
                o.y.iter()
                    .zip(&independent)
                    .map(|(y, x)| (y - x).abs())
                    .sum();
            let noise_l1: f64 = o
                .weight
                .iter()
                .map(|w| (2.0 / std::f64::consts::PI / w).sqrt())
                .sum();
            (l1 - noise_l1, o.clique.clone())
        })
        .collect();
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
    let mut components = DisjointSets::new(domain.len());
    Ok(scored
        .into_iter()
        .filter(|(_, c)| components.union(c.attrs()[0], c.attrs()[1]))
        .map(|(_, c)| c)
        .collect())
}

/// The measurements to fit a tree model on: round-1 one-way marginals and tree pairs, and
/// every round-2 measurement.
pub fn mst_measurements(
    round_one: &[Measurement],
    tree: &[Clique],
    round_two: &[Measurement],
) -> Vec<Measurement> {
    round_one
        .iter()
        .filter(|m| m.clique.len() == 1 || tree.contains(&m.clique))
        .chain(round_two)
        .cloned()
        .collect()
}

/// Fits a model to aggregated noisy measurements (federated synthesis, or any caller that
/// measured elsewhere). The privacy record lists each measurement at its central-equivalent
/// rho, 1 / (2 sigma^2); the study layer may replace it with its ledger entries.
pub fn fit_from_measurements(
    domain: &Domain,
    measurements: &[Measurement],
    options: &FitOptions,
) -> Result<Model> {
    validate(domain, measurements)?;
    if measurements.is_empty() {
        return Err(SynthError::Measurement {
            index: 0,
            reason: "no measurements to fit".to_string(),
        });
    }
    let compression = compression_from(domain, measurements, options.compress);
    let original_sizes = domain.sizes();
    let sizes: Vec<usize> = compression.iter().map(|c| c.size).collect();
    let observations: Vec<Observation> = measurements
        .iter()
        .map(|m| compress_measurement(m, &original_sizes, &compression))
        .collect();
    let fitted = estimate(
        &sizes,
        &observations,
        estimate_total(&observations),
        &options.estimation,
        &[],
        options.max_model_cells,
    )?;
    let names = |c: &Clique| {
        c.attrs()
            .iter()
            .map(|&a| domain.attributes()[a].name.clone())
            .collect::<Vec<_>>()
    };
    let steps: Vec<Step> = measurements
        .iter()
        .map(|m| Step {
            label: format!("measure:{}", names(&m.clique).join(",")),
            rho: salus_dp::zcdp::rho_discrete_gaussian(1.0, m.sigma),
        })
        .collect();
    let rho: f64 = salus_dp::zcdp::compose(&steps.iter().map(|s| s.rho).collect::<Vec<_>>());
    let privacy = PrivacyRecord::new(None, None, rho, steps, domain);
    let measured = measurements
        .iter()
        .map(|m| MeasuredClique {
            columns: names(&m.clique),
            sigma: m.sigma,
        })
        .collect();
    Ok(Model::from_fit(
        "federated",
        domain.clone(),
        compression,
        privacy,
        measured,
        fitted,
    ))
}
