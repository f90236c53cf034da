//! Plaintext linear/logistic models for encrypted inference: the model file format and a
//! small ridge-regularised logistic regression fit (Newton/IRLS).
//!
//! The model works on standardised features `z_j = (x_j - mean_j) / scale_j`; the means
//! and scales travel with the model so the data holder standardises before encrypting.
//! Fitting is plaintext and happens at the model owner; the point of this crate is the
//! encrypted evaluation in [`crate::inference`].

use crate::error::{HeError, Result};

/// A linear score `intercept + sum_j weights[j] * z_j` on standardised features.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinearModel {
    /// Feature names, in column order.
    pub feature_names: Vec<String>,
    /// Mean of each raw feature (subtracted before scaling).
    pub means: Vec<f64>,
    /// Scale (standard deviation) of each raw feature.
    pub scales: Vec<f64>,
    /// Weight of each standardised feature.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// How the model was made (data, method, penalty).
    pub provenance: String,
}

impl LinearModel {
    /// Number of features.
    pub fn dim(&self) -> usize {
        self.weights.len()
    }

    /// Checks that all vectors have the model's dimension and all numbers are finite.
    pub fn validate(&self) -> Result<()> {
        let d = self.weights.len();
        let lengths_ok =
            self.means.len() == d && self.scales.len() == d && self.feature_names.len() == d;
        let finite = self
            .weights
            .iter()
            .chain(&self.means)
            .chain([&self.intercept])
            .all(|v| v.is_finite());
        let scales_ok = self.scales.iter().all(|s| s.is_finite() && *s > 0.0);
        if d == 0 || !lengths_ok || !finite || !scales_ok {
            return Err(HeError::Inference(
                "model vectors must be non-empty, of equal length, finite, with positive scales"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Standardises one raw row.
    pub fn standardize(&self, row: &[f64]) -> Result<Vec<f64>> {
        if row.len() != self.dim() {
            return Err(HeError::Inference(format!(
                "row has {} features, the model expects {}",
                row.len(),
                self.dim()
            )));
        }
        Ok(row
            .iter()
            .zip(self.means.iter().zip(&self.scales))
            .map(|(x, (m, s))| (x - m) / s)
            .collect())
    }

    /// The plaintext linear score (logit) of a standardised row.
    pub fn score(&self, z: &[f64]) -> f64 {
        self.intercept + z.iter().zip(&self.weights).map(|(a, b)| a * b).sum::<f64>()
    }

    /// Fits a ridge-penalised logistic regression (penalty `ridge * |w|^2 / 2`, intercept
    /// unpenalised) by Newton's method on standardised features.
    pub fn fit_logistic(
        feature_names: Vec<String>,
        rows: &[Vec<f64>],
        labels: &[bool],
        ridge: f64,
    ) -> Result<Self> {
        let d = feature_names.len();
        if rows.is_empty() || rows.len() != labels.len() || rows.iter().any(|r| r.len() != d) {
            return Err(HeError::Inference(
                "rows and labels must be non-empty and match the feature names".into(),
            ));
        }
        let (means, scales) = column_moments(rows, d);
        let mut model = LinearModel {
            feature_names,
            means,
            scales,
            weights: vec![0.0; d],
            intercept: 0.0,
            provenance: format!(
                "logistic regression, Newton/IRLS, ridge {ridge}, {} rows",
                rows.len()
            ),
        };
        let z: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| model.standardize(r))
            .collect::<Result<_>>()?;
        for _ in 0..50 {
            let step = newton_step(&model, &z, labels, ridge)?;
            model.intercept += step[0];
            for (w, s) in model.weights.iter_mut().zip(&step[1..]) {
                *w += s;
            }
            if step.iter().map(|s| s.abs()).fold(0.0, f64::max) < 1e-10 {
                break;
            }
        }
        model.validate()?;
        Ok(model)
    }
}

fn column_moments(rows: &[Vec<f64>], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len() as f64;
    let means: Vec<f64> = (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let scales = (0..d)
        .map(|j| {
            let var = rows.iter().map(|r| (r[j] - means[j]).powi(2)).sum::<f64>() / n;
            if var > 0.0 { var.sqrt() } else { 1.0 }
        })
        .collect();
    (means, scales)
}

/// One Newton step for (intercept, weights): solves `H * step = gradient`.
fn newton_step(
    model: &LinearModel,
    z: &[Vec<f64>],
    labels: &[bool],
    ridge: f64,
) -> Result<Vec<f64>> {
    let p = model.dim() + 1;
    let mut grad = vec![0.0; p];
    let mut hess = vec![vec![0.0; p]; p];
    for (row, &y) in z.iter().zip(labels) {
        let mu = 1.0 / (1.0 + (-model.score(row)).exp());
        let x: Vec<f64> = std::iter::once(1.0).chain(row.iter().copied()).collect();
        let weight = mu * (1.0 - mu);
        for i in 0..p {
            grad[i] += (f64::from(u8::from(y)) - mu) * x[i];
            for j in 0..p {
                hess[i][j] += weight * x[i] * x[j];
            }
        }
    }
    for i in 1..p {
        grad[i] -= ridge * model.weights[i - 1];
        hess[i][i] += ridge;
    }
    solve(hess, grad)
}

/// Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Result<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        if a[pivot][col].abs() < 1e-12 {
            return Err(HeError::Inference(
                "singular system while fitting; add ridge penalty".into(),
            ));
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[col + 1 + offset] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system() {
        let x = solve(vec![vec![2.0, 1.0], vec![1.0, 3.0]], vec![3.0, 5.0]).expect("solve");
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
    }

    #[test]
    fn fit_recovers_a_separating_direction() {
        let rows: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![i as f64, ((i * 37) % 11) as f64])
            .collect();
        let labels: Vec<bool> = (0..200).map(|i| i >= 100).collect();
        let m = LinearModel::fit_logistic(vec!["a".into(), "b".into()], &rows, &labels, 1.0)
            .expect("fit");
        assert!(m.weights[0] > 1.0 && m.weights[1].abs() < m.weights[0]);
        let correct = rows
            .iter()
            .zip(&labels)
            .filter(|(r, y)| (m.score(&m.standardize(r).expect("z")) > 0.0) == **y)
            .count();
        assert!(correct >= 195);
    }
}
