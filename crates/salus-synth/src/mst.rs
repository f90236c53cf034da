//! MST (McKenna, Miklau, Sheldon 2021, winner of the NIST 2018 challenge), centrally:
//!
//! 1. a third of the budget measures every one-way marginal; rare cells are merged
//!    ([`crate::compress`]);
//! 2. a third selects a maximum spanning tree of pairs: each pair is scored by the L1 distance
//!    between its true marginal and the independence model fitted to the noisy one-way
//!    marginals, and Kruskal's algorithm picks each of the d - 1 edges with the (exact)
//!    exponential mechanism among the pairs that join two components;
//! 3. a third measures the chosen pair marginals.
//!
//! Every selection and measurement is charged to the accountant before it runs.

use rand::{CryptoRng, Rng};

use crate::accountant::{Accountant, PLAN_SAFETY};
use crate::compress::{AttributeCompression, compress_measurement};
use crate::domain::{Domain, Encoded};
use crate::error::Result;
use crate::estimate::{EstimationOptions, Observation, estimate, estimate_total};
use crate::exact::{epsilon_for_rho, exponential_mechanism, exponential_rho};
use crate::factor::Clique;
use crate::junction::DisjointSets;
use crate::measure::{Measurement, add_noise, marginal_counts, sigma_and_cost};
use crate::model::MeasuredClique;

/// What a selection procedure hands to the final estimation.
pub(crate) struct Selection {
    pub compression: Vec<AttributeCompression>,
    pub observations: Vec<Observation>,
    pub measured: Vec<MeasuredClique>,
    /// Potentials of the last intermediate fit (warm start), if any.
    pub warm: Vec<(Clique, Vec<f64>)>,
}

/// Shared state of a central (local) fit: the data in original and in model cells.
pub(crate) struct Central<'a> {
    pub domain: &'a Domain,
    pub encoded: &'a Encoded,
    pub compress: bool,
    pub max_model_cells: usize,
}

impl Central<'_> {
    /// Measures every one-way marginal with `rho_each`, and derives the compression.
    pub fn measure_one_way<R: Rng + CryptoRng + ?Sized>(
        &self,
        rho_each: f64,
        accountant: &mut Accountant,
        rng: &mut R,
    ) -> Result<(
        Vec<AttributeCompression>,
        Vec<Observation>,
        Vec<MeasuredClique>,
    )> {
        let sizes = self.domain.sizes();
        let (sigma, cost) = sigma_and_cost(rho_each)?;
        let mut measurements = Vec::with_capacity(sizes.len());
        for (a, attribute) in self.domain.attributes().iter().enumerate() {
            accountant.charge(format!("one-way:{}", attribute.name), cost)?;
            let clique = Clique::new(vec![a]);
            let noisy_counts =
                add_noise(&marginal_counts(self.encoded, &sizes, &clique), sigma, rng)?;
            measurements.push(Measurement {
                clique,
                noisy_counts,
                sigma,
            });
        }
        let compression: Vec<AttributeCompression> = measurements
            .iter()
            .zip(&sizes)
            .map(|(m, &size)| {
                if self.compress {
                    AttributeCompression::from_noisy(&m.noisy_counts, sigma)
                } else {
                    AttributeCompression::identity(size)
                }
            })
            .collect();
        let observations = measurements
            .iter()
            .map(|m| compress_measurement(m, &sizes, &compression))
            .collect();
        let measured = measurements
            .iter()
            .map(|m| self.record(&m.clique, sigma))
            .collect();
        Ok((compression, observations, measured))
    }

    /// The data recoded to model cells.
    pub fn recode(&self, compression: &[AttributeCompression]) -> Encoded {
        let codes = self
            .encoded
            .codes
            .iter()
            .zip(compression)
            .map(|(column, c)| column.iter().map(|&code| c.map[code as usize]).collect())
            .collect();
        Encoded {
            codes,
            rows: self.encoded.rows,
        }
    }

    /// Measures `clique` over model cells with `rho`.
    pub fn measure<R: Rng + CryptoRng + ?Sized>(
        &self,
        model_data: &Encoded,
        model_sizes: &[usize],
        clique: &Clique,
        rho: f64,
        accountant: &mut Accountant,
        rng: &mut R,
    ) -> Result<(Observation, MeasuredClique)> {
        let (sigma, cost) = sigma_and_cost(rho)?;
        accountant.charge(format!("measure:{}", self.names(clique).join(",")), cost)?;
        let y = add_noise(
            &marginal_counts(model_data, model_sizes, clique),
            sigma,
            rng,
        )?;
        let weight = vec![1.0 / (sigma * sigma); y.len()];
        Ok((
            Observation {
                clique: clique.clone(),
                y,
                weight,
            },
            self.record(clique, sigma),
        ))
    }

    pub fn names(&self, clique: &Clique) -> Vec<String> {
        clique
            .attrs()
            .iter()
            .map(|&a| self.domain.attributes()[a].name.clone())
            .collect()
    }

    fn record(&self, clique: &Clique, sigma: f64) -> MeasuredClique {
        MeasuredClique {
            columns: self.names(clique),
            sigma,
        }
    }
}

/// Runs MST with everything the accountant has left.
pub(crate) fn run_mst<R: Rng + CryptoRng + ?Sized>(
    central: &Central<'_>,
    accountant: &mut Accountant,
    rng: &mut R,
) -> Result<Selection> {
    let d = central.domain.len();
    let rho = accountant.remaining() * PLAN_SAFETY;
    let (rho_one, rho_select, rho_two) = match d {
        1 => (rho, 0.0, 0.0),
        2 => (rho / 2.0, 0.0, rho / 2.0),
        _ => (rho / 3.0, rho / 3.0, rho / 3.0),
    };
    let (compression, mut observations, mut measured) =
        central.measure_one_way(rho_one / d as f64, accountant, rng)?;
    let model_sizes: Vec<usize> = compression.iter().map(|c| c.size).collect();
    let model_data = central.recode(&compression);
    let edges = match d {
        0 | 1 => Vec::new(),
        2 => vec![Clique::new(vec![0, 1])],
        _ => select_tree(
            &model_data,
            &model_sizes,
            &observations,
            rho_select,
            accountant,
            rng,
        )?,
    };
    for edge in &edges {
        let (observation, record) = central.measure(
            &model_data,
            &model_sizes,
            edge,
            rho_two / edges.len() as f64,
            accountant,
            rng,
        )?;
        observations.push(observation);
        measured.push(record);
    }
    Ok(Selection {
        compression,
        observations,
        measured,
        warm: Vec::new(),
    })
}

/// Kruskal with the exponential mechanism over L1 scores against the independence model.
fn select_tree<R: Rng + CryptoRng + ?Sized>(
    data: &Encoded,
    sizes: &[usize],
    one_way: &[Observation],
    rho: f64,
    accountant: &mut Accountant,
    rng: &mut R,
) -> Result<Vec<Clique>> {
    let d = sizes.len();
    let scores = independence_scores(data, sizes, one_way)?;
    let epsilon = epsilon_for_rho(rho / (d - 1) as f64);
    let mut components = DisjointSets::new(d);
    let mut edges = Vec::with_capacity(d - 1);
    for round in 1..d {
        let candidates: Vec<&(Clique, f64)> = scores
            .iter()
            .filter(|(c, _)| components.find(c.attrs()[0]) != components.find(c.attrs()[1]))
            .collect();
        accountant.charge(format!("select:edge-{round}"), exponential_rho(epsilon))?;
        let values: Vec<f64> = candidates.iter().map(|(_, s)| *s).collect();
        let chosen = candidates[exponential_mechanism(&values, epsilon, 1.0, rng)?]
            .0
            .clone();
        components.union(chosen.attrs()[0], chosen.attrs()[1]);
        edges.push(chosen);
    }
    Ok(edges)
}

/// For every pair, || true marginal - independence estimate ||_1 (sensitivity 1: the
/// estimate only depends on noisy measurements).
fn independence_scores(
    data: &Encoded,
    sizes: &[usize],
    one_way: &[Observation],
) -> Result<Vec<(Clique, f64)>> {
    let total = estimate_total(one_way);
    let options = EstimationOptions {
        max_iterations: 500,
        ..EstimationOptions::default()
    };
    let fit = estimate(sizes, one_way, total, &options, &[], usize::MAX)?;
    let mut scores = Vec::new();
    for a in 0..sizes.len() {
        for b in a + 1..sizes.len() {
            let clique = Clique::new(vec![a, b]);
            let truth = marginal_counts(data, sizes, &clique);
            let estimate = fit.engine.marginal(&fit.beliefs, &clique).values;
            let l1 = truth
                .iter()
                .zip(&estimate)
                .map(|(&t, e)| (t as f64 - e).abs())
                .sum();
            scores.push((clique, l1));
        }
    }
    Ok(scores)
}
