//! Counting marginals and measuring them with the discrete Gaussian.
//!
//! A marginal over a clique is the vector of record counts per cell (row-major over the
//! clique's attributes). Adding or removing one record changes one cell by one, so every
//! marginal has L2 sensitivity 1 and measuring it with noise of scale sigma costs
//! rho = 1 / (2 sigma^2) (`salus_dp::zcdp::rho_discrete_gaussian`). Noise is exact integer
//! noise from `salus_dp::DiscreteGaussian`: no floating-point sampling touches the data.

use rand::{CryptoRng, Rng};
use salus_table::Table;
use serde::{Deserialize, Serialize};

use crate::domain::{Domain, Encoded};
use crate::error::{Result, SynthError};
use crate::factor::{Clique, strides};

/// A noisy marginal: what the estimator consumes. For federated synthesis `noisy_counts` is
/// the securely aggregated sum of the nodes' noisy counts and `sigma` the standard deviation
/// of the total noise in each cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The attributes (indices into the domain).
    pub clique: Clique,
    /// One noisy count per cell of the clique, row-major over the domain's cell sizes.
    pub noisy_counts: Vec<f64>,
    /// Noise standard deviation per cell.
    pub sigma: f64,
}

/// Counts of every cell of `clique` in encoded data.
pub(crate) fn marginal_counts(encoded: &Encoded, sizes: &[usize], clique: &Clique) -> Vec<u64> {
    let mut counts = vec![0u64; clique.cells(sizes)];
    let strides = strides(clique, sizes);
    let columns: Vec<&[u32]> = clique
        .attrs()
        .iter()
        .map(|&a| encoded.codes[a].as_slice())
        .collect();
    for row in 0..encoded.rows {
        let cell: usize = columns
            .iter()
            .zip(&strides)
            .map(|(c, s)| c[row] as usize * s)
            .sum();
        counts[cell] += 1;
    }
    counts
}

/// The flat count vector a node contributes for `cliques`: the marginal of each clique over
/// the domain's cells, concatenated in order (lengths from [`marginal_lengths`]). The node
/// adds its noise share (salus-dp) before secure aggregation.
pub fn local_marginal_counts(
    table: &Table,
    domain: &Domain,
    cliques: &[Clique],
) -> Result<Vec<u64>> {
    let encoded = domain.encode(table)?;
    let sizes = domain.sizes();
    let mut out = Vec::new();
    for clique in cliques {
        check_clique(clique, domain)?;
        out.extend(marginal_counts(&encoded, &sizes, clique));
    }
    Ok(out)
}

/// Number of cells of each clique's marginal, in order.
pub fn marginal_lengths(domain: &Domain, cliques: &[Clique]) -> Vec<usize> {
    let sizes = domain.sizes();
    cliques.iter().map(|c| c.cells(&sizes)).collect()
}

/// Splits a flat (aggregated) vector into one [`Measurement`] per clique.
pub fn split_measurements(
    domain: &Domain,
    cliques: &[Clique],
    flat: &[f64],
    sigmas: &[f64],
) -> Result<Vec<Measurement>> {
    let lengths = marginal_lengths(domain, cliques);
    let expected: usize = lengths.iter().sum();
    if flat.len() != expected || sigmas.len() != cliques.len() {
        return Err(SynthError::Measurement {
            index: 0,
            reason: format!(
                "expected {expected} values and {} sigmas, got {} and {}",
                cliques.len(),
                flat.len(),
                sigmas.len()
            ),
        });
    }
    let mut offset = 0;
    Ok(cliques
        .iter()
        .zip(lengths)
        .zip(sigmas)
        .map(|((clique, len), &sigma)| {
            let noisy_counts = flat[offset..offset + len].to_vec();
            offset += len;
            Measurement {
                clique: clique.clone(),
                noisy_counts,
                sigma,
            }
        })
        .collect())
}

pub(crate) fn check_clique(clique: &Clique, domain: &Domain) -> Result<()> {
    if clique.attrs().iter().any(|&a| a >= domain.len()) {
        return Err(SynthError::Measurement {
            index: 0,
            reason: format!(
                "clique {:?} names an attribute outside the domain of {}",
                clique.attrs(),
                domain.len()
            ),
        });
    }
    Ok(())
}

/// Adds exact discrete Gaussian noise of scale `sigma` to every count.
pub(crate) fn add_noise<R: Rng + CryptoRng + ?Sized>(
    counts: &[u64],
    sigma: f64,
    rng: &mut R,
) -> Result<Vec<f64>> {
    let noise = salus_dp::DiscreteGaussian::new(sigma)?;
    Ok(counts
        .iter()
        .map(|&c| (c as i64).saturating_add(noise.sample(rng)) as f64)
        .collect())
}

/// The noise scale for measuring one marginal with `rho`, and the rho it really costs
/// (rounded up by salus-dp).
pub(crate) fn sigma_and_cost(rho: f64) -> Result<(f64, f64)> {
    let sigma = salus_dp::zcdp::sigma_for_rho(1.0, rho);
    if !sigma.is_finite() {
        return Err(SynthError::Privacy(format!(
            "cannot measure with rho = {rho}; it must be positive"
        )));
    }
    Ok((sigma, salus_dp::zcdp::rho_discrete_gaussian(1.0, sigma)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_row_major_cells() {
        let encoded = Encoded {
            codes: vec![vec![0, 1, 1, 0], vec![2, 0, 2, 2]],
            rows: 4,
        };
        let sizes = [2, 3];
        let counts = marginal_counts(&encoded, &sizes, &Clique::new(vec![0, 1]));
        assert_eq!(counts, vec![0, 0, 2, 1, 0, 1]);
        assert_eq!(
            marginal_counts(&encoded, &sizes, &Clique::new(vec![1])),
            vec![1, 0, 3]
        );
        assert_eq!(
            marginal_counts(&encoded, &sizes, &Clique::new(vec![])),
            vec![4]
        );
    }

    #[test]
    fn measurement_noise_is_the_discrete_gaussian() {
        // The noise MST adds to Adult at epsilon 1 has sigma about 28; test a nearby scale
        // against the exact pmf with a chi-square test on 21 bins (|x| <= 2 sigma per bin).
        use rand::SeedableRng;
        let sigma = 3.0;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let n = 20_000;
        let noisy = add_noise(&vec![1000u64; n], sigma, &mut rng).unwrap();
        let pmf = salus_dp::DiscreteGaussian::new(sigma).unwrap();
        let mut observed = [0usize; 21];
        for y in &noisy {
            let x = (*y as i64 - 1000).clamp(-10, 10);
            observed[(x + 10) as usize] += 1;
        }
        let mut chi2 = 0.0;
        for (bin, &o) in observed.iter().enumerate() {
            let x = bin as i64 - 10;
            let p = match x {
                -10 => (-200..=-10).map(|k| pmf.pmf(k)).sum(),
                10 => (10..=200).map(|k| pmf.pmf(k)).sum(),
                _ => pmf.pmf(x),
            };
            let e = p * n as f64;
            chi2 += (o as f64 - e).powi(2) / e;
        }
        // 20 degrees of freedom: P(chi2 > 45.3) = 0.001.
        assert!(chi2 < 45.3, "chi2 = {chi2}");
        let mean = noisy.iter().sum::<f64>() / n as f64 - 1000.0;
        assert!(mean.abs() < 5.0 * sigma / (n as f64).sqrt(), "mean {mean}");
        let (s, c) = sigma_and_cost(0.5).unwrap();
        assert!((s - 1.0).abs() < 1e-9 && c <= 0.5);
    }
}
