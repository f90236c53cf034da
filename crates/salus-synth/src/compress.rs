//! Domain compression (MST, McKenna et al. 2021): cells whose noisy one-way count is below
//! three noise standard deviations are merged into one "rare" cell before the higher-order
//! marginals are modelled. This is post-processing of the noisy one-way marginals; it keeps
//! pair tables small and stops noise from spreading mass over empty cells.
//!
//! When sampling, a rare cell is decoded to one of its original cells with probability
//! proportional to their (clipped) noisy one-way counts, uniform if all are zero.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::estimate::Observation;
use crate::factor::{Clique, strides};
use crate::measure::Measurement;

/// The cell mapping of one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeCompression {
    /// Model cell of each original cell.
    pub map: Vec<u32>,
    /// Number of model cells.
    pub size: usize,
    /// Original cells merged into the last model cell, with their decoding weights.
    pub rare: Vec<(u32, f64)>,
}

impl AttributeCompression {
    /// No merging.
    pub fn identity(size: usize) -> Self {
        AttributeCompression {
            map: (0..size as u32).collect(),
            size,
            rare: Vec::new(),
        }
    }

    /// From a noisy one-way marginal with noise `sigma`.
    pub fn from_noisy(noisy: &[f64], sigma: f64) -> Self {
        let threshold = 3.0 * sigma;
        let unsupported = noisy.iter().filter(|&&y| y < threshold).count();
        if unsupported < 2 {
            return Self::identity(noisy.len());
        }
        let mut map = Vec::with_capacity(noisy.len());
        let mut rare = Vec::new();
        let supported = noisy.len() - unsupported;
        let mut next = 0u32;
        for (cell, &y) in noisy.iter().enumerate() {
            if y >= threshold {
                map.push(next);
                next += 1;
            } else {
                map.push(supported as u32);
                rare.push((cell as u32, y.max(0.0)));
            }
        }
        AttributeCompression {
            map,
            size: supported + 1,
            rare,
        }
    }

    /// The original cell for a model cell (drawing among the rare cells when needed).
    pub fn decode<R: Rng + ?Sized>(&self, model_cell: u32, rng: &mut R) -> u32 {
        if self.rare.is_empty() || model_cell as usize != self.size - 1 {
            // Supported cells keep their order, so invert by counting.
            return self
                .map
                .iter()
                .position(|&m| m == model_cell)
                .map_or(model_cell, |p| p as u32);
        }
        let total: f64 = self.rare.iter().map(|(_, w)| w).sum();
        if total <= 0.0 {
            return self.rare[rng.random_range(0..self.rare.len())].0;
        }
        let mut draw = rng.random_range(0.0..total);
        for &(cell, weight) in &self.rare {
            if draw < weight {
                return cell;
            }
            draw -= weight;
        }
        self.rare[self.rare.len() - 1].0
    }

    /// Model cell -> original cell for the supported cells (used to decode quickly).
    pub(crate) fn inverse(&self) -> Vec<u32> {
        let mut inverse = vec![u32::MAX; self.size];
        for (cell, &m) in self.map.iter().enumerate() {
            if inverse[m as usize] == u32::MAX {
                inverse[m as usize] = cell as u32;
            }
        }
        inverse
    }
}

/// Re-expresses a measurement over original cells as an observation over model cells:
/// merged cells are summed and their variances add.
pub(crate) fn compress_measurement(
    measurement: &Measurement,
    original_sizes: &[usize],
    compression: &[AttributeCompression],
) -> Observation {
    let clique = &measurement.clique;
    let model_sizes: Vec<usize> = compression.iter().map(|c| c.size).collect();
    let cells = clique.cells(&model_sizes);
    let mut y = vec![0.0; cells];
    let mut variance = vec![0.0; cells];
    let cell_variance = measurement.sigma * measurement.sigma;
    let map = cell_map(clique, original_sizes, compression);
    for (original, &model) in map.iter().enumerate() {
        y[model as usize] += measurement.noisy_counts[original];
        variance[model as usize] += cell_variance;
    }
    let weight = variance
        .iter()
        .map(|v| if *v > 0.0 { 1.0 / v } else { 0.0 })
        .collect();
    Observation {
        clique: clique.clone(),
        y,
        weight,
    }
}

/// For each original cell of `clique`, its model cell.
pub(crate) fn cell_map(
    clique: &Clique,
    original_sizes: &[usize],
    compression: &[AttributeCompression],
) -> Vec<u32> {
    let model_sizes: Vec<usize> = compression.iter().map(|c| c.size).collect();
    let model_strides = strides(clique, &model_sizes);
    let attrs = clique.attrs();
    let shape: Vec<usize> = attrs.iter().map(|&a| original_sizes[a]).collect();
    let cells: usize = shape.iter().product();
    let mut counter = vec![0usize; attrs.len()];
    let mut out = Vec::with_capacity(cells);
    for _ in 0..cells {
        let model: usize = attrs
            .iter()
            .zip(&counter)
            .zip(&model_strides)
            .map(|((&a, &c), s)| compression[a].map[c] as usize * s)
            .sum();
        out.push(model as u32);
        for dim in (0..attrs.len()).rev() {
            counter[dim] += 1;
            if counter[dim] < shape[dim] {
                break;
            }
            counter[dim] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rare_cells_are_merged_and_decoded_by_weight() {
        let c = AttributeCompression::from_noisy(&[100.0, 2.0, 50.0, -3.0, 6.0], 3.0);
        assert_eq!(c.map, vec![0, 2, 1, 2, 2]);
        assert_eq!(c.size, 3);
        assert_eq!(c.inverse(), vec![0, 2, 1]);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let draws: Vec<u32> = (0..2000).map(|_| c.decode(2, &mut rng)).collect();
        assert!(
            draws.iter().all(|&d| d == 1 || d == 4),
            "cell 3 has weight 0"
        );
        let ones = draws.iter().filter(|&&d| d == 1).count() as f64 / 2000.0;
        assert!((ones - 0.25).abs() < 0.05, "{ones}");
        assert_eq!(c.decode(1, &mut rng), 2);
        let one_rare = AttributeCompression::from_noisy(&[100.0, 2.0, 50.0], 3.0);
        assert_eq!(one_rare, AttributeCompression::identity(3));
    }

    #[test]
    fn measurements_are_summed_over_merged_cells() {
        let compression = vec![
            AttributeCompression::from_noisy(&[100.0, 1.0, 2.0], 1.0),
            AttributeCompression::identity(2),
        ];
        let m = Measurement {
            clique: Clique::new(vec![0, 1]),
            noisy_counts: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            sigma: 2.0,
        };
        let o = compress_measurement(&m, &[3, 2], &compression);
        assert_eq!(o.y, vec![1.0, 2.0, 8.0, 10.0]);
        assert_eq!(o.weight, vec![0.25, 0.25, 0.125, 0.125]);
    }
}
