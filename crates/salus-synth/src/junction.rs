//! Junction trees: triangulate the graph of the measured cliques (greedy elimination that
//! keeps the created cliques small), keep the maximal elimination cliques, and join them by a
//! maximum spanning tree on separator size, which has the running-intersection property.
//! Disconnected parts are joined by empty separators, so one rooted tree always results.
//!
//! For MST models the measured cliques already form a tree, and the junction tree is that
//! tree (one clique per edge): exact inference costs one pass over the pair tables.

use crate::factor::Clique;

/// A rooted junction tree over the attributes `0..n`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JunctionTree {
    /// Maximal cliques.
    pub cliques: Vec<Clique>,
    /// Parent of each clique (`None` for the root).
    pub parent: Vec<Option<usize>>,
    /// Separator with the parent (empty for the root).
    pub separator: Vec<Clique>,
    /// Cliques in breadth-first order from the root: parents before children.
    pub order: Vec<usize>,
}

impl JunctionTree {
    /// Builds a junction tree covering every attribute (unmeasured ones become singletons).
    pub fn build(sizes: &[usize], measured: &[Clique]) -> Self {
        let cliques = maximal_cliques(sizes, measured);
        let edges = spanning_tree(&cliques);
        root_tree(cliques, &edges)
    }

    /// Rebuilds a tree from stored cliques and parent links; `None` when the links do not
    /// form one tree rooted at clique 0 or a clique names an attribute outside `0..n`.
    pub fn from_parts(cliques: Vec<Clique>, parent: Vec<Option<usize>>, n: usize) -> Option<Self> {
        let count = cliques.len();
        let valid = count > 0
            && parent.len() == count
            && parent[0].is_none()
            && parent.iter().skip(1).all(|p| p.is_some_and(|p| p < count))
            && cliques.iter().all(|c| c.attrs().iter().all(|&a| a < n));
        if !valid {
            return None;
        }
        let edges: Vec<(usize, usize)> = parent
            .iter()
            .enumerate()
            .filter_map(|(k, p)| p.map(|p| (p, k)))
            .collect();
        let tree = root_tree(cliques, &edges);
        (tree.order.len() == count && tree.parent == parent).then_some(tree)
    }

    /// Total cells of all cliques (the model size).
    pub fn cells(&self, sizes: &[usize]) -> usize {
        self.cliques
            .iter()
            .map(|c| c.cells(sizes))
            .fold(0usize, usize::saturating_add)
    }

    /// The first clique containing `target`, if any.
    pub fn containing(&self, target: &Clique) -> Option<usize> {
        self.cliques.iter().position(|c| target.is_subset_of(c))
    }

    /// Children of each clique.
    pub fn children(&self) -> Vec<Vec<usize>> {
        let mut children = vec![Vec::new(); self.cliques.len()];
        for (child, parent) in self.parent.iter().enumerate() {
            if let Some(p) = parent {
                children[*p].push(child);
            }
        }
        children
    }
}

/// Total cells of the junction tree that `measured` would need (for AIM's size limit).
pub(crate) fn model_cells(sizes: &[usize], measured: &[Clique]) -> usize {
    maximal_cliques(sizes, measured)
        .iter()
        .map(|c| c.cells(sizes))
        .fold(0usize, usize::saturating_add)
}

/// Greedy elimination: repeatedly eliminate the vertex whose neighbourhood clique has the
/// fewest cells (ties to the lowest index), recording each elimination clique.
fn maximal_cliques(sizes: &[usize], measured: &[Clique]) -> Vec<Clique> {
    let n = sizes.len();
    let mut adjacent = vec![vec![false; n]; n];
    for clique in measured {
        for &a in clique.attrs() {
            for &b in clique.attrs() {
                if a != b {
                    adjacent[a][b] = true;
                }
            }
        }
    }
    let mut alive = vec![true; n];
    let mut found: Vec<Clique> = Vec::new();
    for _ in 0..n {
        let best = (0..n)
            .filter(|&v| alive[v])
            .min_by_key(|&v| {
                let cells = (0..n)
                    .filter(|&u| alive[u] && adjacent[v][u])
                    .fold(sizes[v] as u128, |acc, u| {
                        acc.saturating_mul(sizes[u] as u128)
                    });
                (cells, v)
            })
            .unwrap_or(0);
        let neighbours: Vec<usize> = (0..n).filter(|&u| alive[u] && adjacent[best][u]).collect();
        for &a in &neighbours {
            for &b in &neighbours {
                if a != b {
                    adjacent[a][b] = true;
                }
            }
        }
        alive[best] = false;
        let mut members = neighbours;
        members.push(best);
        found.push(Clique::new(members));
    }
    // Keep maximal cliques only, in a deterministic order.
    found.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    let mut maximal: Vec<Clique> = Vec::new();
    for clique in found {
        if !maximal.iter().any(|m| clique.is_subset_of(m)) {
            maximal.push(clique);
        }
    }
    maximal
}

/// Kruskal's maximum spanning tree on separator sizes (including zero, to join components).
fn spanning_tree(cliques: &[Clique]) -> Vec<(usize, usize)> {
    let mut candidates = Vec::new();
    for i in 0..cliques.len() {
        for j in i + 1..cliques.len() {
            candidates.push((cliques[i].intersection(&cliques[j]).len(), i, j));
        }
    }
    candidates.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| (x.1, x.2).cmp(&(y.1, y.2))));
    let mut components = DisjointSets::new(cliques.len());
    candidates
        .into_iter()
        .filter(|&(_, i, j)| components.union(i, j))
        .map(|(_, i, j)| (i, j))
        .collect()
}

fn root_tree(cliques: Vec<Clique>, edges: &[(usize, usize)]) -> JunctionTree {
    let n = cliques.len();
    let mut neighbours = vec![Vec::new(); n];
    for &(a, b) in edges {
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    let mut parent = vec![None; n];
    let mut separator = vec![Clique::new(Vec::new()); n];
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    if n > 0 {
        seen[0] = true;
        order.push(0);
    }
    let mut next = 0;
    while next < order.len() {
        let current = order[next];
        next += 1;
        for &child in &neighbours[current] {
            if !seen[child] {
                seen[child] = true;
                parent[child] = Some(current);
                separator[child] = cliques[child].intersection(&cliques[current]);
                order.push(child);
            }
        }
    }
    JunctionTree {
        cliques,
        parent,
        separator,
        order,
    }
}

/// Union-find with path halving.
pub(crate) struct DisjointSets {
    parent: Vec<usize>,
}

impl DisjointSets {
    pub fn new(n: usize) -> Self {
        DisjointSets {
            parent: (0..n).collect(),
        }
    }

    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b`; false if they were already joined.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        self.parent[ra.max(rb)] = ra.min(rb);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: &[usize]) -> Clique {
        Clique::new(v.to_vec())
    }

    fn assert_running_intersection(tree: &JunctionTree, n: usize) {
        // For every attribute, the cliques holding it form a connected subtree: exactly one
        // of them has a parent without the attribute (or no parent).
        for attr in 0..n {
            let holders: Vec<usize> = (0..tree.cliques.len())
                .filter(|&i| tree.cliques[i].attrs().contains(&attr))
                .collect();
            assert!(!holders.is_empty(), "attribute {attr} not covered");
            let tops = holders
                .iter()
                .filter(|&&i| {
                    tree.parent[i].is_none_or(|p| !tree.cliques[p].attrs().contains(&attr))
                })
                .count();
            assert_eq!(tops, 1, "attribute {attr} in a disconnected set of cliques");
        }
    }

    #[test]
    fn a_tree_of_pairs_is_its_own_junction_tree() {
        let sizes = [3, 4, 5, 2, 6];
        let tree = JunctionTree::build(&sizes, &[c(&[0, 1]), c(&[1, 2]), c(&[1, 3]), c(&[3, 4])]);
        assert_eq!(tree.cliques.len(), 4);
        assert!(tree.cliques.iter().all(|q| q.len() == 2));
        assert_eq!(tree.cells(&sizes), 12 + 20 + 8 + 12);
        assert_running_intersection(&tree, 5);
    }

    #[test]
    fn a_cycle_is_triangulated_and_isolated_attributes_are_kept() {
        let sizes = [2, 2, 2, 2, 3];
        let tree = JunctionTree::build(&sizes, &[c(&[0, 1]), c(&[1, 2]), c(&[2, 3]), c(&[0, 3])]);
        assert!(tree.cliques.iter().all(|q| q.len() <= 3));
        assert!(tree.cliques.contains(&c(&[4])));
        assert_running_intersection(&tree, 5);
        assert_eq!(tree.order.len(), tree.cliques.len());
    }
}
