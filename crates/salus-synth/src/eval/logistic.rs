//! L2-regularised logistic regression on one-hot features, fitted by Newton's method, and
//! the ROC AUC. Small and deterministic: enough for the detection test (real vs synthetic)
//! and train-on-synthetic / test-on-real utility.
//!
//! Every row activates one feature per column (its code) plus an intercept, so the data are
//! stored as lists of active feature indices and the Hessian is accumulated sparsely.

/// Feature layout: column `c`'s code `k` is feature `offsets[c] + k`; the last feature is the
/// intercept.
#[derive(Debug, Clone)]
pub(crate) struct Design {
    offsets: Vec<usize>,
    width: usize,
}

impl Design {
    pub fn new(cardinalities: &[usize]) -> Self {
        let mut offsets = Vec::with_capacity(cardinalities.len());
        let mut width = 0;
        for &c in cardinalities {
            offsets.push(width);
            width += c;
        }
        Design {
            offsets,
            width: width + 1,
        }
    }

    /// Active features of `row` using `columns` (indices into `codes`).
    pub fn row(&self, codes: &[Vec<u32>], columns: &[usize], row: usize) -> Vec<u32> {
        let mut active: Vec<u32> = columns
            .iter()
            .map(|&c| (self.offsets[c] + codes[c][row] as usize) as u32)
            .collect();
        active.push((self.width - 1) as u32);
        active
    }
}

/// A fitted model.
#[derive(Debug, Clone)]
pub(crate) struct Logistic {
    weights: Vec<f64>,
}

impl Logistic {
    /// Fits on rows of active features with boolean labels; `lambda` penalises every weight
    /// but the intercept.
    pub fn train(design: &Design, rows: &[Vec<u32>], labels: &[bool], lambda: f64) -> Self {
        let p = design.width;
        let mut weights = vec![0.0; p];
        for _ in 0..30 {
            let mut gradient = vec![0.0; p];
            let mut hessian = vec![0.0; p * p];
            for (active, &label) in rows.iter().zip(labels) {
                let prob = sigmoid(active.iter().map(|&j| weights[j as usize]).sum());
                let residual = prob - f64::from(u8::from(label));
                let curvature = (prob * (1.0 - prob)).max(1e-12);
                for &j in active {
                    gradient[j as usize] += residual;
                    for &k in active {
                        hessian[j as usize * p + k as usize] += curvature;
                    }
                }
            }
            for j in 0..p - 1 {
                gradient[j] += lambda * weights[j];
                hessian[j * p + j] += lambda;
            }
            hessian[(p - 1) * p + (p - 1)] += 1e-9;
            let Some(step) = cholesky_solve(&mut hessian, &gradient, p) else {
                break;
            };
            let mut largest = 0.0f64;
            for (w, s) in weights.iter_mut().zip(&step) {
                *w -= s;
                largest = largest.max(s.abs());
            }
            if largest < 1e-7 {
                break;
            }
        }
        Logistic { weights }
    }

    /// P(label = true) for a row.
    pub fn probability(&self, active: &[u32]) -> f64 {
        sigmoid(active.iter().map(|&j| self.weights[j as usize]).sum())
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Solves A x = b for symmetric positive definite A (overwritten by its factor).
fn cholesky_solve(a: &mut [f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut diagonal = a[j * n + j];
        for k in 0..j {
            diagonal -= a[j * n + k] * a[j * n + k];
        }
        if diagonal <= 0.0 || !diagonal.is_finite() {
            return None;
        }
        let diagonal = diagonal.sqrt();
        a[j * n + j] = diagonal;
        for i in j + 1..n {
            let mut value = a[i * n + j];
            for k in 0..j {
                value -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = value / diagonal;
        }
    }
    let mut y = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            y[i] -= a[i * n + k] * y[k];
        }
        y[i] /= a[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            y[i] -= a[k * n + i] * y[k];
        }
        y[i] /= a[i * n + i];
    }
    Some(y)
}

/// Area under the ROC curve (Mann-Whitney, ties counted half). `None` without both classes.
pub(crate) fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += (i..=j).filter(|&k| labels[order[k]]).count() as f64 * average_rank;
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_hand_computation() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(auc(&[0.5], &[true]), None);
    }

    #[test]
    fn logistic_regression_recovers_a_planted_rule() {
        // Column 0 decides the label 90% of the time; column 1 is noise.
        let codes = vec![
            (0..1000).map(|i| (i % 2) as u32).collect::<Vec<_>>(),
            (0..1000).map(|i| (i % 3) as u32).collect(),
        ];
        let labels: Vec<bool> = (0..1000).map(|i| (i % 2 == 1) != (i % 20 < 2)).collect();
        let design = Design::new(&[2, 3]);
        let rows: Vec<Vec<u32>> = (0..1000).map(|r| design.row(&codes, &[0, 1], r)).collect();
        let model = Logistic::train(&design, &rows, &labels, 1.0);
        let p_one = model.probability(&design.row(&codes, &[0, 1], 1));
        let p_zero = model.probability(&design.row(&codes, &[0, 1], 2));
        assert!(
            (p_one - 0.9).abs() < 0.03 && (p_zero - 0.1).abs() < 0.03,
            "{p_one} {p_zero}"
        );
        let scores: Vec<f64> = rows.iter().map(|r| model.probability(r)).collect();
        assert!((auc(&scores, &labels).unwrap() - 0.9).abs() < 0.02);
    }
}
