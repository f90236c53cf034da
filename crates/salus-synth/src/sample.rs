//! Sampling synthetic records from a model, optionally conditioned on fixed values.
//!
//! Records are drawn down the junction tree: the root clique's cells first, then each child
//! clique's new attributes given the separator values already drawn. Within each group the
//! counts are allocated by systematic sampling (every cell gets the floor or the ceiling of
//! its expected count, in random order), as Private-PGM's `synthetic_data` does: the sample's
//! marginals match the model's closely with no extra sampling noise.
//!
//! Conditions (`--given age=70`) set evidence in every clique holding the attribute and
//! re-calibrate the tree, so the other columns follow their conditional distribution.

use std::collections::HashMap;

use rand::Rng;
use rand::seq::SliceRandom;
use salus_table::{Column, Table};

use crate::domain::AttributeKind;
use crate::error::{Result, SynthError};
use crate::factor::{Clique, index_map, strides};
use crate::inference::Engine;
use crate::model::Model;

/// A fixed value for one column (`column=value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Column name.
    pub column: String,
    /// The value as text (a category, a number or a YYYY-MM-DD date; empty = missing).
    pub value: String,
}

impl Condition {
    /// Parses `column=value`.
    pub fn parse(text: &str) -> Result<Self> {
        let (column, value) = text.split_once('=').ok_or_else(|| SynthError::Condition {
            column: text.to_string(),
            reason: "write conditions as column=value, e.g. --given age=70".to_string(),
        })?;
        Ok(Condition {
            column: column.trim().to_string(),
            value: value.to_string(),
        })
    }
}

struct Resolved {
    attribute: usize,
    original_cell: u32,
    model_cell: u32,
}

impl Model {
    /// Samples `rows` synthetic records (columns in domain order, values in the input's
    /// domains) that satisfy every condition.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        rows: usize,
        conditions: &[Condition],
        rng: &mut R,
    ) -> Result<Table> {
        let engine = self
            .engine()
            .ok_or_else(|| SynthError::ModelFile("malformed junction tree".to_string()))?;
        let resolved = conditions
            .iter()
            .map(|c| self.resolve(c))
            .collect::<Result<Vec<_>>>()?;
        let beliefs = if resolved.is_empty() {
            self.marginals.clone()
        } else {
            self.condition(&engine, &resolved).ok_or_else(|| SynthError::Condition {
                column: conditions.iter().map(|c| c.column.as_str()).collect::<Vec<_>>().join(", "),
                reason: "these values have probability zero under the model; choose more common values".to_string(),
            })?
        };
        let model_codes = draw_codes(&engine, &beliefs, rows, rng);
        let mut codes: Vec<Vec<u32>> = model_codes
            .iter()
            .zip(&self.compression)
            .map(|(column, compression)| {
                let inverse = compression.inverse();
                column
                    .iter()
                    .map(|&m| {
                        if compression.rare.is_empty() || m as usize != compression.size - 1 {
                            inverse[m as usize]
                        } else {
                            compression.decode(m, rng)
                        }
                    })
                    .collect()
            })
            .collect();
        for r in &resolved {
            codes[r.attribute]
                .iter_mut()
                .for_each(|c| *c = r.original_cell);
        }
        let mut table = self.domain.decode(&codes, rng)?;
        for (condition, r) in conditions.iter().zip(&resolved) {
            table.set_column(self.constant_column(r.attribute, &condition.value, rows))?;
        }
        Ok(table)
    }

    fn resolve(&self, condition: &Condition) -> Result<Resolved> {
        let attribute =
            self.domain
                .index_of(&condition.column)
                .map_err(|_| SynthError::Condition {
                    column: condition.column.clone(),
                    reason: format!(
                        "not a column of the model; its columns are {}",
                        self.domain.names().join(", ")
                    ),
                })?;
        let original_cell =
            self.domain.attributes()[attribute].cell_of_text(&condition.value)? as u32;
        let model_cell = self.compression[attribute].map[original_cell as usize];
        Ok(Resolved {
            attribute,
            original_cell,
            model_cell,
        })
    }

    /// Calibrated beliefs given evidence.
    fn condition(&self, engine: &Engine, resolved: &[Resolved]) -> Option<Vec<Vec<f64>>> {
        let sizes = self.model_sizes();
        let tree = &engine.tree;
        let mut log_potentials = Vec::with_capacity(tree.cliques.len());
        for (k, clique) in tree.cliques.iter().enumerate() {
            let shape: Vec<usize> = clique.attrs().iter().map(|&a| sizes[a]).collect();
            // Potential of the tree factorisation: mu_K / mu_sep(K) (mu_root for the root).
            let separator = &tree.separator[k];
            let map = index_map(clique, &shape, separator, &sizes);
            let mut sep = vec![0.0; separator.cells(&sizes)];
            for (v, &s) in self.marginals[k].iter().zip(&map) {
                sep[s as usize] += v;
            }
            let mut theta: Vec<f64> = self.marginals[k]
                .iter()
                .zip(&map)
                .map(|(&v, &s)| {
                    if v > 0.0 && tree.parent[k].is_some() {
                        (v / sep[s as usize]).ln()
                    } else {
                        v.ln()
                    }
                })
                .collect();
            for r in resolved {
                if let Ok(position) = clique.attrs().binary_search(&r.attribute) {
                    let stride = strides(clique, &sizes)[position];
                    for (cell, t) in theta.iter_mut().enumerate() {
                        if (cell / stride) % shape[position] != r.model_cell as usize {
                            *t = f64::NEG_INFINITY;
                        }
                    }
                }
            }
            log_potentials.push(theta);
        }
        engine.calibrate(&log_potentials, self.total)
    }

    fn constant_column(&self, attribute: usize, value: &str, rows: usize) -> Column {
        let a = &self.domain.attributes()[attribute];
        let text = value.trim();
        let number = text.parse::<f64>().ok();
        match &a.kind {
            AttributeKind::Numeric { .. }
            | AttributeKind::Categorical {
                numeric_labels: true,
                ..
            } => Column::numeric(a.name.clone(), vec![number; rows]),
            _ => {
                let label = (!text.is_empty()).then(|| text.to_string());
                Column::text(a.name.clone(), vec![label; rows])
            }
        }
    }
}

/// Model cell codes for `rows` records, one vector per attribute.
fn draw_codes<R: Rng + ?Sized>(
    engine: &Engine,
    beliefs: &[Vec<f64>],
    rows: usize,
    rng: &mut R,
) -> Vec<Vec<u32>> {
    let sizes = &engine.sizes;
    let tree = &engine.tree;
    let mut codes = vec![vec![0u32; rows]; sizes.len()];
    for &k in &tree.order {
        let clique = &tree.cliques[k];
        let shape: Vec<usize> = clique.attrs().iter().map(|&a| sizes[a]).collect();
        let separator = &tree.separator[k];
        let to_separator = index_map(clique, &shape, separator, sizes);
        // Cells of the clique grouped by separator cell.
        let mut cells_of: Vec<Vec<usize>> = vec![Vec::new(); separator.cells(sizes)];
        for (cell, &s) in to_separator.iter().enumerate() {
            cells_of[s as usize].push(cell);
        }
        // Rows grouped by their already drawn separator values.
        let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
        let sep_strides = strides(separator, sizes);
        let mut keys_of_rows = vec![0usize; rows];
        for (&a, st) in separator.attrs().iter().zip(&sep_strides) {
            for (key, &code) in keys_of_rows.iter_mut().zip(&codes[a]) {
                *key += code as usize * st;
            }
        }
        for (row, s) in keys_of_rows.into_iter().enumerate() {
            groups.entry(s).or_default().push(row);
        }
        let mut keys: Vec<usize> = groups.keys().copied().collect();
        keys.sort_unstable();
        for s in keys {
            let members = &groups[&s];
            let candidates = &cells_of[s];
            let weights: Vec<f64> = candidates.iter().map(|&c| beliefs[k][c]).collect();
            let mut drawn = allocate(&weights, members.len(), rng)
                .into_iter()
                .enumerate()
                .flat_map(|(i, n)| std::iter::repeat_n(candidates[i], n))
                .collect::<Vec<_>>();
            drawn.shuffle(rng);
            for (&row, &cell) in members.iter().zip(&drawn) {
                write_cell(clique, &shape, cell, row, &mut codes);
            }
        }
    }
    codes
}

fn write_cell(
    clique: &Clique,
    shape: &[usize],
    mut cell: usize,
    row: usize,
    codes: &mut [Vec<u32>],
) {
    for (position, &a) in clique.attrs().iter().enumerate().rev() {
        codes[a][row] = (cell % shape[position]) as u32;
        cell /= shape[position];
    }
}

/// Systematic allocation of `n` draws over cells with `weights`: each cell gets the floor or
/// the ceiling of its expected count, the total is exactly `n`, expectations are exact.
pub(crate) fn allocate<R: Rng + ?Sized>(weights: &[f64], n: usize, rng: &mut R) -> Vec<usize> {
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if !(total > 0.0 && total.is_finite()) {
        // No mass (only reachable through rounding): spread uniformly.
        let mut counts = vec![n / weights.len(); weights.len()];
        for c in counts.iter_mut().take(n % weights.len()) {
            *c += 1;
        }
        return counts;
    }
    let offset: f64 = rng.random_range(0.0..1.0);
    let scale = n as f64 / total;
    let mut counts = Vec::with_capacity(weights.len());
    let (mut cumulative, mut previous, mut given) = (0.0, 0usize, 0usize);
    // The remainder goes to the last cell with mass, so rounding never feeds an empty cell.
    let last = weights
        .iter()
        .rposition(|&w| w > 0.0)
        .unwrap_or(weights.len() - 1);
    for (i, &w) in weights.iter().enumerate() {
        let count = if i == last {
            n - given
        } else if i > last {
            0
        } else {
            cumulative += w.max(0.0);
            let next = ((cumulative * scale + offset).floor() as usize).min(n);
            let count = next.saturating_sub(previous).min(n - given);
            previous = previous.max(next);
            count
        };
        counts.push(count);
        given += count;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn allocation_is_exact_and_close_to_expectation() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        for n in [0usize, 1, 7, 100, 1001] {
            let weights = [0.1, 0.0, 2.5, 1.4, 0.35];
            let counts = allocate(&weights, n, &mut rng);
            assert_eq!(counts.iter().sum::<usize>(), n);
            let total: f64 = weights.iter().sum();
            for (c, w) in counts.iter().zip(weights) {
                let expected = n as f64 * w / total;
                assert!(
                    (*c as f64 - expected).abs() < 1.0 + 1e-9,
                    "{c} vs {expected}"
                );
            }
            assert_eq!(counts[1], 0);
        }
        assert_eq!(allocate(&[0.0, 0.0], 3, &mut rng), vec![2, 1]);
    }
}
