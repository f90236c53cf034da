//! Optimal search over the generalization lattice.
//!
//! Every transformation (one level per quasi-identifier) gets a lower bound of its
//! utility metric that needs no pass over the data: per-attribute generalization loss
//! (ARX's Loss without the suppression term), non-uniform entropy, or n²/classes for the
//! class-size metrics. Bounds never decrease along generalization, so transformations are
//! visited in order of increasing bound and the search stops as soon as the next bound is
//! worse than the best acceptable transformation found so far: the result is the global
//! optimum under the suppression limit, whatever the monotonicity of the privacy models
//! (the exact optimality ARX's tests check). Nodes are evaluated in small parallel batches
//! (two cores here); each evaluation is one pass over the distinct records (cells).

use std::cmp::Ordering;
use std::time::Instant;

use crate::evaluate::{
    Evaluation, Evaluator, Score, aggregate_values, arx_round, loss_factors, normalize_loss,
};
use crate::groupify::{Scratch, groupify};
use crate::model::Metric;
use crate::{AnonError, Result};

/// Largest lattice searched.
pub const MAX_LATTICE: u128 = 4_000_000;

/// Counters of one search, for benchmarks and reports.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SearchStats {
    /// Transformations in the lattice.
    pub transformations: u64,
    /// Transformations whose classes were computed.
    pub evaluated: u64,
    /// Transformations ruled out by the pair suppression bounds without a data pass.
    pub pruned: u64,
    /// Distinct records the evaluations ran over.
    pub cells: u64,
    /// Wall time of the search in milliseconds (bounds, ordering and evaluations).
    pub millis: f64,
}

/// The best transformation found.
pub(crate) struct Optimum {
    pub levels: Vec<usize>,
    pub evaluation: Evaluation,
    pub stats: SearchStats,
}

/// Mixed-radix decoding of a node index into levels.
fn decode(mut index: usize, radix: &[usize], out: &mut [usize]) {
    for (slot, &r) in out.iter_mut().zip(radix) {
        *slot = index % r;
        index /= r;
    }
}

/// Runs the search.
pub(crate) fn search(evaluator: &Evaluator<'_>, threads: usize) -> Result<Optimum> {
    let start = Instant::now();
    let enc = evaluator.enc;
    let size = enc.lattice_size();
    if size > MAX_LATTICE {
        return Err(AnonError::LatticeTooLarge {
            nodes: size,
            limit: MAX_LATTICE,
        });
    }
    let lattice = Lattice::new(enc.qis.iter().map(|q| q.levels()).collect());
    let size = size as usize;
    let pair_bounds = minimal_class_size(evaluator.models)
        .filter(|&k| k >= 2)
        .map(|k| PairBounds::new(enc, k));
    let suppressed_lb: Vec<u32> = match &pair_bounds {
        Some(p) => (0..size)
            .map(|i| p.suppressed_at_least(&lattice.levels(i)))
            .collect(),
        None => vec![0; size],
    };
    let bounds = node_bounds(evaluator, &lattice.radix, size, &suppressed_lb);
    let heights: Vec<usize> = (0..size).map(|i| lattice.levels(i).iter().sum()).collect();
    let mut order: Vec<usize> = (0..size).collect();
    order.sort_by(|&a, &b| {
        bounds[a]
            .compare(&bounds[b])
            .then(heights[a].cmp(&heights[b]))
            .then(a.cmp(&b))
    });

    let mut state = SearchState {
        evaluator,
        lattice: &lattice,
        bounds: &bounds,
        status: vec![UNKNOWN; size],
        cache: std::collections::HashMap::new(),
        scratches: (0..threads.max(1)).map(|_| Scratch::default()).collect(),
        stats: SearchStats {
            transformations: size as u64,
            ..Default::default()
        },
        best: None,
        heights: &heights,
    };
    for (node, &lb) in suppressed_lb.iter().enumerate() {
        if lb as usize > evaluator.max_outliers {
            // Provably more suppression than allowed: not a candidate.
            state.status[node] = NOT_ANONYMOUS;
            state.stats.pruned += 1;
        }
    }
    if privacy_is_monotone(evaluator) {
        state.run_monotone(&order);
    } else {
        state.run_batched(&order);
    }
    let mut stats = state.stats.clone();
    let (node, mut evaluation) = state.best.take().ok_or(AnonError::NoSolution)?;
    let levels = lattice.levels(node);
    if evaluation.per_attribute.is_empty() && exact_bounds(evaluator) {
        // The score came from the bound: evaluate once for the suppression count.
        evaluation = state.evaluate(node);
        stats.evaluated = state.stats.evaluated;
    }
    stats.millis = start.elapsed().as_secs_f64() * 1e3;
    Ok(Optimum {
        levels,
        evaluation,
        stats,
    })
}

const UNKNOWN: u8 = 0;
const ANONYMOUS: u8 = 1;
const NOT_ANONYMOUS: u8 = 2;

/// Node indexing: mixed radix over the quasi-identifiers' level counts.
struct Lattice {
    radix: Vec<usize>,
    strides: Vec<usize>,
}

impl Lattice {
    fn new(radix: Vec<usize>) -> Self {
        let strides = radix
            .iter()
            .scan(1usize, |acc, &r| {
                let s = *acc;
                *acc *= r;
                Some(s)
            })
            .collect();
        Lattice { radix, strides }
    }

    fn levels(&self, node: usize) -> Vec<usize> {
        let mut out = vec![0; self.radix.len()];
        decode(node, &self.radix, &mut out);
        out
    }

    /// Direct generalizations (one attribute one level up).
    fn successors(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.radix.len()).filter_map(move |q| {
            let level = (node / self.strides[q]) % self.radix[q];
            (level + 1 < self.radix[q]).then(|| node + self.strides[q])
        })
    }

    /// Direct specializations (one attribute one level down).
    fn predecessors(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.radix.len()).filter_map(move |q| {
            let level = (node / self.strides[q]) % self.radix[q];
            (level > 0).then(|| node - self.strides[q])
        })
    }
}

/// True when every model keeps holding under generalization with this suppression
/// limit, so one check settles whole up- or down-sets (ARX's monotonicity of privacy).
fn privacy_is_monotone(evaluator: &Evaluator<'_>) -> bool {
    use crate::model::PrivacyModel as M;
    let suppression = evaluator.max_outliers > 0;
    evaluator.models.iter().all(|m| match m {
        M::KAnonymity { .. } => true,
        M::DistinctLDiversity { .. }
        | M::EntropyLDiversity { .. }
        | M::RecursiveClDiversity { .. }
        | M::EqualDistanceTCloseness { .. }
        | M::HierarchicalTCloseness { .. }
        | M::AverageRisk { .. }
        | M::DeltaPresence { .. } => !suppression,
        M::PopulationUniqueness { .. } => false,
    })
}

/// True when the bound is the exact metric value (monotonic non-uniform entropy).
fn exact_bounds(evaluator: &Evaluator<'_>) -> bool {
    matches!(
        evaluator.metric,
        Metric::NonUniformEntropy { monotonic: true }
    )
}

struct SearchState<'e, 'a> {
    evaluator: &'e Evaluator<'a>,
    lattice: &'e Lattice,
    bounds: &'e [Score],
    heights: &'e [usize],
    status: Vec<u8>,
    cache: std::collections::HashMap<usize, Evaluation>,
    scratches: Vec<Scratch>,
    stats: SearchStats,
    best: Option<(usize, Evaluation)>,
}

impl SearchState<'_, '_> {
    fn evaluate(&mut self, node: usize) -> Evaluation {
        let levels = self.lattice.levels(node);
        let with_distributions = !self.evaluator.enc.sensitive.is_empty();
        let classes = groupify(
            self.evaluator.enc,
            &levels,
            with_distributions,
            &mut self.scratches[0],
        );
        self.stats.evaluated += 1;
        self.stats.cells += self.evaluator.enc.cells.len() as u64;
        self.evaluator.evaluate(&levels, &classes)
    }

    fn beyond_best(&self, node: usize) -> bool {
        self.best
            .as_ref()
            .is_some_and(|(_, b)| self.bounds[node].compare(&b.score) == Ordering::Greater)
    }

    fn consider(&mut self, node: usize, evaluation: Evaluation) {
        if !evaluation.anonymous {
            return;
        }
        let better = match &self.best {
            None => true,
            Some((b, e)) => match evaluation.score.compare(&e.score) {
                Ordering::Less => true,
                Ordering::Equal => (self.heights[node], node) < (self.heights[*b], *b),
                Ordering::Greater => false,
            },
        };
        if better {
            self.best = Some((node, evaluation));
        }
    }

    /// Bound-ordered search with parallel batches (any privacy models).
    fn run_batched(&mut self, order: &[usize]) {
        let with_distributions = !self.evaluator.enc.sensitive.is_empty();
        let mut next = 0;
        while next < order.len() {
            let mut batch = Vec::new();
            while next < order.len() && batch.len() < 4 * self.scratches.len() {
                let node = order[next];
                if self.beyond_best(node) {
                    next = order.len();
                    break;
                }
                next += 1;
                if self.status[node] != NOT_ANONYMOUS {
                    batch.push(node);
                }
            }
            if batch.is_empty() {
                break;
            }
            let results = evaluate_batch(
                self.evaluator,
                &self.lattice.radix,
                &batch,
                &mut self.scratches,
                with_distributions,
            );
            self.stats.evaluated += batch.len() as u64;
            self.stats.cells += (batch.len() * self.evaluator.enc.cells.len()) as u64;
            for (node, evaluation) in batch.into_iter().zip(results) {
                self.consider(node, evaluation);
            }
        }
    }

    /// Bound-ordered search for monotonic privacy: each undecided node is settled by a
    /// binary search along a chain of generalizations above it (Flash's idea): an
    /// acceptable node makes all its generalizations acceptable, an unacceptable one all
    /// its specializations unacceptable, so few nodes are ever checked.
    fn run_monotone(&mut self, order: &[usize]) {
        let exact = exact_bounds(self.evaluator);
        for &node in order {
            if self.beyond_best(node) {
                break;
            }
            if self.status[node] == UNKNOWN {
                self.settle(node);
            }
            if self.status[node] != ANONYMOUS {
                continue;
            }
            let evaluation = match self.cache.remove(&node) {
                Some(e) => e,
                None if exact => Evaluation {
                    anonymous: true,
                    suppressed: 0,
                    score: self.bounds[node].clone(),
                    per_attribute: Vec::new(),
                },
                None => self.evaluate(node),
            };
            self.consider(node, evaluation);
        }
    }

    fn settle(&mut self, node: usize) {
        let mut path = vec![node];
        let mut current = node;
        loop {
            let next = self
                .lattice
                .successors(current)
                .filter(|&s| self.status[s] == UNKNOWN)
                .min_by(|&a, &b| self.bounds[a].compare(&self.bounds[b]).then(a.cmp(&b)));
            match next {
                Some(s) => {
                    path.push(s);
                    current = s;
                }
                None => break,
            }
        }
        let mut high = path.len() - 1;
        while self.status[node] == UNKNOWN {
            let probe = path[high / 2];
            if self.status[probe] == ANONYMOUS {
                high = (high / 2).saturating_sub(1);
                continue;
            }
            let evaluation = self.evaluate(probe);
            if evaluation.anonymous {
                self.tag(probe, ANONYMOUS);
                self.cache.insert(probe, evaluation);
                if high / 2 == 0 {
                    break;
                }
                high = high / 2 - 1;
            } else {
                self.tag(probe, NOT_ANONYMOUS);
            }
        }
    }

    /// Marks `node` and all its generalizations (ANONYMOUS) or specializations (NOT).
    fn tag(&mut self, node: usize, status: u8) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if self.status[n] == status {
                continue;
            }
            self.status[n] = status;
            if status == ANONYMOUS {
                stack.extend(
                    self.lattice
                        .successors(n)
                        .filter(|&s| self.status[s] != status),
                );
            } else {
                stack.extend(
                    self.lattice
                        .predecessors(n)
                        .filter(|&s| self.status[s] != status),
                );
            }
        }
    }
}

fn evaluate_batch(
    evaluator: &Evaluator<'_>,
    radix: &[usize],
    batch: &[usize],
    scratches: &mut [Scratch],
    with_distributions: bool,
) -> Vec<Evaluation> {
    let run = |node: usize, scratch: &mut Scratch| {
        let mut levels = vec![0; radix.len()];
        decode(node, radix, &mut levels);
        let classes = groupify(evaluator.enc, &levels, with_distributions, scratch);
        evaluator.evaluate(&levels, &classes)
    };
    if scratches.len() == 1 || batch.len() == 1 {
        return batch.iter().map(|&n| run(n, &mut scratches[0])).collect();
    }
    let chunk = batch.len().div_ceil(scratches.len());
    let run = &run;
    std::thread::scope(|scope| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .zip(scratches.iter_mut())
            .map(|(nodes, scratch)| {
                scope.spawn(move || nodes.iter().map(|&n| run(n, scratch)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Lower bounds of the metric for every node (exact for monotonic non-uniform entropy).
fn node_bounds(
    evaluator: &Evaluator<'_>,
    radix: &[usize],
    size: usize,
    suppressed: &[u32],
) -> Vec<Score> {
    let enc = evaluator.enc;
    let n = enc.released_rows as f64;
    let mut levels = vec![0; radix.len()];
    match &evaluator.metric {
        Metric::Loss {
            gs_factor,
            aggregate,
            ..
        } => {
            let (g, s) = loss_factors(*gs_factor);
            // Per attribute and level: generalization loss of all records, and the least
            // extra loss a suppressed record adds (1 - g * largest share, or s (1 - share)).
            let per_level: Vec<Vec<(f64, f64)>> = enc
                .qis
                .iter()
                .enumerate()
                .map(|(q, qi)| {
                    (0..qi.levels())
                        .map(|l| {
                            let sum: f64 = evaluator.code_counts[q]
                                .iter()
                                .enumerate()
                                .map(|(code0, &a)| a * qi.share[l][qi.up[l][code0] as usize] * g)
                                .sum();
                            let max_share = qi.share[l].iter().copied().fold(0.0, f64::max);
                            let extra = if s == 1.0 {
                                1.0 - g * max_share
                            } else {
                                s * (1.0 - max_share)
                            };
                            (sum, extra.max(0.0))
                        })
                        .collect()
                })
                .collect();
            (0..size)
                .map(|i| {
                    decode(i, radix, &mut levels);
                    let supp = f64::from(suppressed[i]);
                    let values: Vec<f64> = levels
                        .iter()
                        .enumerate()
                        .map(|(q, &l)| {
                            let (sum, extra) = per_level[q][l];
                            normalize_loss(sum + supp * extra, g, n, enc.qis[q].domain_size)
                        })
                        .collect();
                    aggregate_values(&values, &evaluator.weights, *aggregate)
                })
                .collect()
        }
        Metric::NonUniformEntropy { .. } => {
            let per_level: Vec<Vec<f64>> = (0..enc.qis.len())
                .map(|q| {
                    (0..enc.qis[q].levels())
                        .map(|l| {
                            let mut lv = vec![0; radix.len()];
                            lv[q] = l;
                            let v = evaluator.entropy_raw(&lv)[q];
                            arx_round(if v == 0.0 { v } else { -v })
                        })
                        .collect()
                })
                .collect();
            (0..size)
                .map(|i| {
                    decode(i, radix, &mut levels);
                    Score::Value(
                        levels
                            .iter()
                            .enumerate()
                            .map(|(q, &l)| per_level[q][l])
                            .sum(),
                    )
                })
                .collect()
        }
        Metric::Discernibility { monotonic } => (0..size)
            .map(|i| {
                decode(i, radix, &mut levels);
                let classes = class_capacity(enc, &levels, n);
                let supp = if *monotonic {
                    0.0
                } else {
                    n * f64::from(suppressed[i])
                };
                Score::Value((n * n / classes).max(supp))
            })
            .collect(),
        Metric::Aecs => (0..size)
            .map(|i| {
                decode(i, radix, &mut levels);
                Score::Value(n / (class_capacity(enc, &levels, n) + 1.0))
            })
            .collect(),
    }
}

/// Most classes a transformation can have: the product of the label counts, at most n.
fn class_capacity(enc: &crate::encode::Encoded, levels: &[usize], n: f64) -> f64 {
    let cells: f64 = levels
        .iter()
        .enumerate()
        .map(|(q, &l)| enc.qis[q].labels[l].len() as f64)
        .product();
    cells.min(n).max(1.0)
}

/// The class size below which a class is always suppressed: the largest k of
/// k-anonymity and l of the l-diversity models (a class needs at least l records to hold l
/// distinct values).
fn minimal_class_size(models: &[crate::model::PrivacyModel]) -> Option<u32> {
    use crate::model::PrivacyModel as M;
    models
        .iter()
        .filter_map(|m| match m {
            M::KAnonymity { k } => Some(*k as u32),
            M::DistinctLDiversity { l, .. } | M::RecursiveClDiversity { l, .. } => Some(*l as u32),
            M::EntropyLDiversity { l, .. } => Some(l.ceil() as u32),
            _ => None,
        })
        .max()
}

/// Lower bounds on the number of suppressed records, from pairs of quasi-identifiers.
///
/// A class of fewer than `k` records violates k-anonymity (and l-diversity with l > its
/// size), and the classes of a transformation refine those of every more general one. So
/// the records in too-small classes of the transformation that keeps only attributes q
/// and r (all others at their top level) are suppressed in every transformation with the
/// same levels for q and r. These pair counts come from one joint histogram per pair and
/// give both a feasibility test (more than the suppression limit: skip the node unseen)
/// and a suppression term in the Loss bound.
pub(crate) struct PairBounds {
    /// (q, r, levels of r, suppressed[lq * levels_r + lr]).
    pairs: Vec<(usize, usize, usize, Vec<u32>)>,
}

impl PairBounds {
    pub(crate) fn new(enc: &crate::encode::Encoded, k: u32) -> Self {
        let mut pairs = Vec::new();
        let n = enc.qis.len();
        for q in 0..n {
            for r in (q + 1)..n {
                pairs.push(pair_table(enc, q, r, k));
            }
        }
        if n == 1 {
            pairs.push(pair_table(enc, 0, 0, k));
        }
        PairBounds { pairs }
    }

    /// The largest pair bound for a transformation.
    pub(crate) fn suppressed_at_least(&self, levels: &[usize]) -> u32 {
        self.pairs
            .iter()
            .map(|(q, r, width, s)| s[levels[*q] * width + levels[*r]])
            .max()
            .unwrap_or(0)
    }
}

fn pair_table(
    enc: &crate::encode::Encoded,
    q: usize,
    r: usize,
    k: u32,
) -> (usize, usize, usize, Vec<u32>) {
    let mut joint: std::collections::HashMap<(u32, u32), u32> = std::collections::HashMap::new();
    for &(key, count) in &enc.cells {
        if key & enc.subset_bit != 0 {
            *joint
                .entry((enc.qi_code(key, q), enc.qi_code(key, r)))
                .or_insert(0) += count;
        }
    }
    let entries: Vec<((u32, u32), u32)> = joint.into_iter().collect();
    let (qq, rr) = (&enc.qis[q], &enc.qis[r]);
    let width = rr.levels();
    let mut table = vec![0u32; qq.levels() * width];
    let mut grouped: Vec<u32> = Vec::new();
    for lq in 0..qq.levels() {
        for lr in 0..width {
            let cols = rr.labels[lr].len();
            let cells = qq.labels[lq].len() * cols;
            table[lq * width + lr] = if cells <= 1 << 20 {
                grouped.clear();
                grouped.resize(cells, 0);
                for &((a, b), c) in &entries {
                    grouped
                        [qq.up[lq][a as usize] as usize * cols + rr.up[lr][b as usize] as usize] +=
                        c;
                }
                grouped.iter().filter(|&&c| c > 0 && c < k).sum()
            } else {
                let mut sparse: std::collections::HashMap<usize, u32> =
                    std::collections::HashMap::new();
                for &((a, b), c) in &entries {
                    *sparse
                        .entry(
                            qq.up[lq][a as usize] as usize * cols + rr.up[lr][b as usize] as usize,
                        )
                        .or_insert(0) += c;
                }
                sparse.values().filter(|&&c| c < k).sum()
            };
        }
    }
    (q, r, width, table)
}
