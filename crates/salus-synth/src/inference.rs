//! Exact inference on a junction tree: two-pass belief propagation (Hugin style, in
//! probability space with per-message normalisation, so one `exp` per cell and no underflow)
//! and marginals of attribute sets that no single clique holds (variable elimination over the
//! smallest subtree that covers them).

use crate::factor::{Clique, Factor, index_map};
use crate::junction::JunctionTree;

/// A junction tree with the index maps belief propagation needs, built once per structure.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    pub sizes: Vec<usize>,
    pub tree: JunctionTree,
    children: Vec<Vec<usize>>,
    /// For each non-root clique K: cells of K -> cells of its separator.
    up_map: Vec<Vec<u32>>,
    /// For each non-root clique K: cells of parent(K) -> cells of K's separator.
    down_map: Vec<Vec<u32>>,
}

impl Engine {
    pub fn new(sizes: &[usize], tree: JunctionTree) -> Self {
        let shape = |c: &Clique| -> Vec<usize> { c.attrs().iter().map(|&a| sizes[a]).collect() };
        let n = tree.cliques.len();
        let mut up_map = vec![Vec::new(); n];
        let mut down_map = vec![Vec::new(); n];
        for k in 0..n {
            if let Some(p) = tree.parent[k] {
                let sep = &tree.separator[k];
                up_map[k] = index_map(&tree.cliques[k], &shape(&tree.cliques[k]), sep, sizes);
                down_map[k] = index_map(&tree.cliques[p], &shape(&tree.cliques[p]), sep, sizes);
            }
        }
        let children = tree.children();
        Engine {
            sizes: sizes.to_vec(),
            tree,
            children,
            up_map,
            down_map,
        }
    }

    /// Number of cells of separator `k`.
    fn separator_cells(&self, k: usize) -> usize {
        self.tree.separator[k].cells(&self.sizes)
    }

    /// Calibrated beliefs (clique marginals summing to `total`) from log-potentials, one per
    /// clique. Returns `None` when the potentials give the whole space probability zero.
    pub fn calibrate(&self, log_potentials: &[Vec<f64>], total: f64) -> Option<Vec<Vec<f64>>> {
        let n = self.tree.cliques.len();
        // psi_C times the messages from C's children, filled leaves first.
        let mut partial: Vec<Vec<f64>> = log_potentials
            .iter()
            .map(|theta| exponentiate(theta))
            .collect();
        let mut up: Vec<Vec<f64>> = vec![Vec::new(); n];
        for &k in self.tree.order.iter().rev() {
            for &child in &self.children[k] {
                multiply_in(&mut partial[k], &up[child], &self.down_map[child]);
            }
            if self.tree.parent[k].is_some() {
                let mut message = vec![0.0; self.separator_cells(k)];
                for (value, &to) in partial[k].iter().zip(&self.up_map[k]) {
                    message[to as usize] += value;
                }
                normalise(&mut message);
                up[k] = message;
            }
        }
        // Downward pass: beliefs of parents are final before their children.
        let mut beliefs = partial;
        for &k in &self.tree.order {
            let Some(p) = self.tree.parent[k] else {
                continue;
            };
            let mut message = vec![0.0; self.separator_cells(k)];
            for (value, &to) in beliefs[p].iter().zip(&self.down_map[k]) {
                message[to as usize] += value;
            }
            for (m, &u) in message.iter_mut().zip(&up[k]) {
                *m = if u > 0.0 { *m / u } else { 0.0 };
            }
            normalise(&mut message);
            multiply_in(&mut beliefs[k], &message, &self.up_map[k]);
        }
        for belief in &mut beliefs {
            let sum: f64 = belief.iter().sum();
            if !(sum > 0.0 && sum.is_finite()) {
                return None;
            }
            let scale = total / sum;
            belief.iter_mut().for_each(|v| *v *= scale);
        }
        Some(beliefs)
    }

    /// The marginal over `target` of the model with calibrated `beliefs` (scaled to the
    /// beliefs' total).
    pub fn marginal(&self, beliefs: &[Vec<f64>], target: &Clique) -> Factor {
        let cliques = &self.tree.cliques;
        let factor =
            |k: usize| Factor::with_values(cliques[k].clone(), &self.sizes, beliefs[k].clone());
        if let Some(k) = self.tree.containing(target) {
            return factor(k).sum_to(target, &self.sizes);
        }
        let total: f64 = beliefs.first().map_or(0.0, |b| b.iter().sum());
        let keep = self.steiner_subtree(target);
        let top = *self.tree.order.iter().find(|&&k| keep[k]).unwrap_or(&0);
        // Messages flow from the bottom of the subtree to its top.
        let mut messages: Vec<Option<Factor>> = vec![None; cliques.len()];
        for &k in self.tree.order.iter().rev().filter(|&&k| keep[k]) {
            let mut current = if k == top {
                probability(factor(k))
            } else {
                self.conditional(factor(k), k)
            };
            for &child in self.children[k].iter().filter(|&&c| keep[c]) {
                if let Some(m) = messages[child].take() {
                    current = current.product(&m, &self.sizes);
                }
            }
            if k == top {
                let mut out = current.sum_to(target, &self.sizes);
                out.normalise_to(total);
                return out;
            }
            let retained = self.tree.separator[k].union(&current.clique.intersection(target));
            messages[k] = Some(current.sum_to(&retained, &self.sizes));
        }
        Factor::filled(target.clone(), &self.sizes, 0.0)
    }

    /// P(K \ S | S) for clique `k` with separator S, from its belief (0/0 = 0).
    fn conditional(&self, belief: Factor, k: usize) -> Factor {
        let sep = &self.tree.separator[k];
        let marginal = belief.sum_to(sep, &self.sizes);
        let mut out = belief;
        for (value, &s) in out.values.iter_mut().zip(&self.up_map[k]) {
            let m = marginal.values[s as usize];
            *value = if m > 0.0 { *value / m } else { 0.0 };
        }
        out
    }

    /// Cliques of the smallest subtree that contains every attribute of `target`.
    fn steiner_subtree(&self, target: &Clique) -> Vec<bool> {
        let cliques = &self.tree.cliques;
        let n = cliques.len();
        // Terminals: for each target attribute, the first clique holding it.
        let mut terminal = vec![false; n];
        for &a in target.attrs() {
            if let Some(k) = cliques.iter().position(|c| c.attrs().contains(&a)) {
                terminal[k] = true;
            }
        }
        let mut keep = vec![true; n];
        let mut degree = vec![0usize; n];
        for k in 0..n {
            if let Some(p) = self.tree.parent[k] {
                degree[k] += 1;
                degree[p] += 1;
            }
        }
        // Prune non-terminal leaves until none is left.
        let mut stack: Vec<usize> = (0..n).filter(|&k| degree[k] <= 1 && !terminal[k]).collect();
        while let Some(k) = stack.pop() {
            if !keep[k] || terminal[k] {
                continue;
            }
            keep[k] = false;
            let neighbours = self.tree.parent[k]
                .into_iter()
                .chain(self.children[k].iter().copied());
            for other in neighbours {
                if keep[other] {
                    degree[other] -= 1;
                    if degree[other] <= 1 && !terminal[other] {
                        stack.push(other);
                    }
                }
            }
        }
        keep
    }
}

fn probability(mut factor: Factor) -> Factor {
    factor.normalise_to(1.0);
    factor
}

fn exponentiate(theta: &[f64]) -> Vec<f64> {
    let max = theta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return vec![0.0; theta.len()];
    }
    theta.iter().map(|&t| (t - max).exp()).collect()
}

fn multiply_in(target: &mut [f64], message: &[f64], map: &[u32]) {
    for (value, &from) in target.iter_mut().zip(map) {
        *value *= message[from as usize];
    }
}

fn normalise(values: &mut [f64]) {
    let sum: f64 = values.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        values.iter_mut().for_each(|v| *v /= sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: &[usize]) -> Clique {
        Clique::new(v.to_vec())
    }

    /// Brute-force joint of a model given as potentials over cliques.
    fn brute_force(
        sizes: &[usize],
        potentials: &[(Clique, Vec<f64>)],
        target: &Clique,
    ) -> Vec<f64> {
        let all = c(&(0..sizes.len()).collect::<Vec<_>>());
        let mut joint = Factor::filled(all.clone(), sizes, 1.0);
        for (clique, theta) in potentials {
            let f = Factor::with_values(
                clique.clone(),
                sizes,
                theta.iter().map(|t| t.exp()).collect(),
            );
            joint = joint.product(&f, sizes);
        }
        let mut out = joint.sum_to(target, sizes);
        out.normalise_to(1.0);
        out.values
    }

    #[test]
    fn belief_propagation_matches_brute_force_on_a_loopy_model() {
        let sizes = [2, 3, 2, 2];
        let measured = vec![c(&[0, 1]), c(&[1, 2]), c(&[2, 3]), c(&[0, 3])];
        let thetas: Vec<Vec<f64>> = measured
            .iter()
            .enumerate()
            .map(|(i, q)| {
                (0..q.cells(&sizes))
                    .map(|j| ((i * 7 + j * 3) % 5) as f64 * 0.3)
                    .collect()
            })
            .collect();
        let tree = JunctionTree::build(&sizes, &measured);
        let engine = Engine::new(&sizes, tree.clone());
        let mut log_potentials: Vec<Vec<f64>> = tree
            .cliques
            .iter()
            .map(|q| vec![0.0; q.cells(&sizes)])
            .collect();
        for (q, theta) in measured.iter().zip(&thetas) {
            let home = tree.containing(q).unwrap();
            let shape: Vec<usize> = tree.cliques[home]
                .attrs()
                .iter()
                .map(|&a| sizes[a])
                .collect();
            let map = index_map(&tree.cliques[home], &shape, q, &sizes);
            for (cell, &m) in map.iter().enumerate() {
                log_potentials[home][cell] += theta[m as usize];
            }
        }
        let beliefs = engine.calibrate(&log_potentials, 1.0).unwrap();
        let pairs: Vec<(Clique, Vec<f64>)> = measured.iter().cloned().zip(thetas).collect();
        for target in [
            c(&[0, 1]),
            c(&[1, 3]),
            c(&[0, 2]),
            c(&[0, 1, 2, 3]),
            c(&[2]),
        ] {
            let expected = brute_force(&sizes, &pairs, &target);
            let got = engine.marginal(&beliefs, &target).values;
            for (e, g) in expected.iter().zip(&got) {
                assert!((e - g).abs() < 1e-12, "{target:?}: {e} vs {g}");
            }
        }
    }

    #[test]
    fn impossible_evidence_is_reported() {
        let sizes = [2, 2];
        let tree = JunctionTree::build(&sizes, &[c(&[0, 1])]);
        let engine = Engine::new(&sizes, tree);
        assert!(
            engine
                .calibrate(&[vec![f64::NEG_INFINITY; 4]], 1.0)
                .is_none()
        );
    }
}
