//! Dense factors over small sets of attributes: the tables that marginals, potentials and
//! junction-tree beliefs are made of, plus the index maps that make the hot loops of
//! inference plain array walks.
//!
//! A factor over attributes `[a, b, c]` (ascending) with sizes `[na, nb, nc]` stores its
//! values row-major: cell `(i, j, k)` is at `(i * nb + j) * nc + k`.

use serde::{Deserialize, Serialize};

/// A set of attributes (indices into the domain), kept sorted and without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Clique(Vec<usize>);

impl Clique {
    /// A clique from attribute indices (sorted and de-duplicated).
    pub fn new(mut attrs: Vec<usize>) -> Self {
        attrs.sort_unstable();
        attrs.dedup();
        Clique(attrs)
    }

    /// The attribute indices, ascending.
    pub fn attrs(&self) -> &[usize] {
        &self.0
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty clique.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of cells given the domain sizes (saturating).
    pub fn cells(&self, sizes: &[usize]) -> usize {
        self.0
            .iter()
            .fold(1usize, |acc, &a| acc.saturating_mul(sizes[a]))
    }

    /// True when every attribute of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Clique) -> bool {
        self.0.iter().all(|a| other.0.binary_search(a).is_ok())
    }

    /// Attributes in both.
    pub fn intersection(&self, other: &Clique) -> Clique {
        Clique(
            self.0
                .iter()
                .copied()
                .filter(|a| other.0.binary_search(a).is_ok())
                .collect(),
        )
    }

    /// Attributes in either.
    pub fn union(&self, other: &Clique) -> Clique {
        Clique::new(self.0.iter().chain(&other.0).copied().collect())
    }
}

/// Values over the cells of a clique.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Factor {
    pub clique: Clique,
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl Factor {
    /// A factor filled with `fill`.
    pub fn filled(clique: Clique, sizes: &[usize], fill: f64) -> Self {
        let shape: Vec<usize> = clique.attrs().iter().map(|&a| sizes[a]).collect();
        let cells = shape.iter().product();
        Factor {
            clique,
            shape,
            values: vec![fill; cells],
        }
    }

    /// A factor with given values (length must match).
    pub fn with_values(clique: Clique, sizes: &[usize], values: Vec<f64>) -> Self {
        let shape: Vec<usize> = clique.attrs().iter().map(|&a| sizes[a]).collect();
        debug_assert_eq!(values.len(), shape.iter().product::<usize>());
        Factor {
            clique,
            shape,
            values,
        }
    }

    /// Sum of all values.
    pub fn total(&self) -> f64 {
        self.values.iter().sum()
    }

    /// Sums out every attribute not in `target` (which must be a subset).
    pub fn sum_to(&self, target: &Clique, sizes: &[usize]) -> Factor {
        let map = index_map(&self.clique, &self.shape, target, sizes);
        let mut out = Factor::filled(target.clone(), sizes, 0.0);
        for (value, &to) in self.values.iter().zip(&map) {
            out.values[to as usize] += value;
        }
        out
    }

    /// The product of two factors over the union of their cliques.
    pub fn product(&self, other: &Factor, sizes: &[usize]) -> Factor {
        let clique = self.clique.union(&other.clique);
        let mut out = Factor::filled(clique, sizes, 0.0);
        let left = index_map(&out.clique, &out.shape, &self.clique, sizes);
        let right = index_map(&out.clique, &out.shape, &other.clique, sizes);
        for (cell, value) in out.values.iter_mut().enumerate() {
            *value = self.values[left[cell] as usize] * other.values[right[cell] as usize];
        }
        out
    }

    /// Scales the values to sum to `total` (uniform if they sum to zero).
    pub fn normalise_to(&mut self, total: f64) {
        let sum = self.total();
        if sum > 0.0 && sum.is_finite() {
            let scale = total / sum;
            self.values.iter_mut().for_each(|v| *v *= scale);
        } else {
            let uniform = total / self.values.len() as f64;
            self.values.iter_mut().for_each(|v| *v = uniform);
        }
    }
}

/// For every cell of a factor over `source` (with `shape`), the index of the matching cell of
/// a factor over `target` (a subset of `source`).
pub(crate) fn index_map(
    source: &Clique,
    shape: &[usize],
    target: &Clique,
    sizes: &[usize],
) -> Vec<u32> {
    // Stride in the target for each source dimension (0 when the target lacks it).
    let target_strides = strides(target, sizes);
    let steps: Vec<usize> = source
        .attrs()
        .iter()
        .map(|a| {
            target
                .attrs()
                .binary_search(a)
                .map_or(0, |pos| target_strides[pos])
        })
        .collect();
    let cells: usize = shape.iter().product();
    let mut map = Vec::with_capacity(cells);
    let mut counter = vec![0usize; shape.len()];
    let mut index = 0usize;
    for _ in 0..cells {
        map.push(index as u32);
        // Odometer increment, keeping `index` in step.
        for dim in (0..shape.len()).rev() {
            counter[dim] += 1;
            index += steps[dim];
            if counter[dim] < shape[dim] {
                break;
            }
            index -= steps[dim] * shape[dim];
            counter[dim] = 0;
        }
    }
    map
}

/// Row-major strides of a clique's cells.
pub(crate) fn strides(clique: &Clique, sizes: &[usize]) -> Vec<usize> {
    let mut out = vec![1usize; clique.len()];
    for i in (0..clique.len().saturating_sub(1)).rev() {
        out[i] = out[i + 1] * sizes[clique.attrs()[i + 1]];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_products_agree_with_hand_computation() {
        let sizes = [2, 3, 2];
        let abc = Clique::new(vec![2, 0, 1]);
        assert_eq!(abc.attrs(), &[0, 1, 2]);
        let f = Factor::with_values(abc.clone(), &sizes, (0..12).map(f64::from).collect());
        let ac = f.sum_to(&Clique::new(vec![0, 2]), &sizes);
        // a=0: b sums 0+2+4, 1+3+5; a=1: 6+8+10, 7+9+11.
        assert_eq!(ac.values, vec![6.0, 9.0, 24.0, 27.0]);
        let empty = f.sum_to(&Clique::new(vec![]), &sizes);
        assert_eq!(empty.values, vec![66.0]);
        let a = Factor::with_values(Clique::new(vec![0]), &sizes, vec![1.0, 2.0]);
        let b = Factor::with_values(Clique::new(vec![1]), &sizes, vec![1.0, 10.0, 100.0]);
        let ab = a.product(&b, &sizes);
        assert_eq!(ab.values, vec![1.0, 10.0, 100.0, 2.0, 20.0, 200.0]);
        assert_eq!(
            ab.sum_to(&Clique::new(vec![1]), &sizes).values,
            vec![3.0, 30.0, 300.0]
        );
    }
}
