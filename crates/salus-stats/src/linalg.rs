//! Small dense linear algebra on top of `faer`: packed symmetric storage, and a
//! Cholesky factor of an information matrix that explains *why* it fails.
//!
//! The information matrix is first scaled to unit diagonal (a correlation-like
//! matrix), so the Cholesky pivots are `1 - R²` of each column regressed on the
//! columns before it. A pivot near zero therefore means "this column is (nearly)
//! a linear combination of those", which is what the user needs to hear; the
//! combination itself comes from a solve with the leading block.

use faer::linalg::solvers::{DenseSolveCore, Llt, Solve};
use faer::{Mat, Side};

/// Squared Cholesky pivots of the unit-diagonal matrix below this are treated as
/// exact collinearity (`R² > 1 - 1e-11`).
const PIVOT_TOLERANCE: f64 = 1e-11;

/// Length of the packed lower triangle of a `p x p` symmetric matrix.
pub(crate) fn packed_len(p: usize) -> usize {
    p * (p + 1) / 2
}

/// Index of element `(i, j)`, `j <= i`, in packed lower-triangular storage.
#[inline]
pub(crate) fn packed_index(i: usize, j: usize) -> usize {
    i * (i + 1) / 2 + j
}

/// Expands a packed lower triangle into a full row-major `p x p` matrix.
pub(crate) fn unpack(packed: &[f64], p: usize) -> Vec<f64> {
    let mut full = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let v = packed[packed_index(i, j)];
            full[i * p + j] = v;
            full[j * p + i] = v;
        }
    }
    full
}

/// Packs the lower triangle of a full row-major `p x p` matrix.
pub(crate) fn pack(full: &[f64], p: usize) -> Vec<f64> {
    let mut packed = Vec::with_capacity(packed_len(p));
    for i in 0..p {
        for j in 0..=i {
            packed.push(full[i * p + j]);
        }
    }
    packed
}

/// Adds `weight * v v'` to a packed lower triangle.
#[inline]
pub(crate) fn add_outer(packed: &mut [f64], v: &[f64], weight: f64) {
    let mut k = 0;
    for (i, &vi) in v.iter().enumerate() {
        let wi = weight * vi;
        for &vj in &v[..=i] {
            packed[k] += wi * vj;
            k += 1;
        }
    }
}

/// Why an information matrix cannot be inverted, by column index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Singularity {
    /// The column carries no information (constant, or constant within strata).
    NoVariation { column: usize },
    /// The column is (nearly) a linear combination of the listed earlier columns.
    Combination { column: usize, of: Vec<usize> },
}

/// Cholesky factor of a symmetric positive definite matrix `H = S C S`, where
/// `S = diag(sqrt(H_jj))` and `C` has unit diagonal.
pub(crate) struct SpdFactor {
    llt: Llt<f64>,
    /// `1 / sqrt(H_jj)`.
    inv_scale: Vec<f64>,
}

impl SpdFactor {
    /// Factors a full row-major `p x p` symmetric matrix.
    pub(crate) fn new(full: &[f64], p: usize) -> Result<Self, Singularity> {
        let mut inv_scale = Vec::with_capacity(p);
        for j in 0..p {
            let d = full[j * p + j];
            // NaN is not finite, so this also catches NaN.
            if !d.is_finite() || d <= 0.0 {
                return Err(Singularity::NoVariation { column: j });
            }
            inv_scale.push(1.0 / d.sqrt());
        }
        let c = Mat::from_fn(p, p, |i, j| full[i * p + j] * inv_scale[i] * inv_scale[j]);
        let llt = match c.llt(Side::Lower) {
            Ok(llt) => llt,
            Err(_) => return Err(explain_singularity(&c)),
        };
        let l = llt.L();
        if (0..p).any(|j| l[(j, j)] * l[(j, j)] < PIVOT_TOLERANCE) {
            return Err(explain_singularity(&c));
        }
        Ok(SpdFactor { llt, inv_scale })
    }

    /// Solves `H x = rhs`.
    pub(crate) fn solve(&self, rhs: &[f64]) -> Vec<f64> {
        let p = self.inv_scale.len();
        let mut b = Mat::from_fn(p, 1, |i, _| rhs[i] * self.inv_scale[i]);
        self.llt.solve_in_place(b.as_mut());
        (0..p).map(|i| b[(i, 0)] * self.inv_scale[i]).collect()
    }

    /// `H^-1` as a full row-major matrix.
    pub(crate) fn inverse(&self) -> Vec<f64> {
        let p = self.inv_scale.len();
        let inv = self.llt.inverse();
        let mut out = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                // Symmetrise: the two triangles can differ in the last bit.
                let v = 0.5 * (inv[(i, j)] + inv[(j, i)]);
                out[i * p + j] = v * self.inv_scale[i] * self.inv_scale[j];
            }
        }
        out
    }
}

/// Finds the first column whose squared pivot is (nearly) zero and the earlier
/// columns it is a combination of.
fn explain_singularity(c: &Mat<f64>) -> Singularity {
    let p = c.nrows();
    for j in 1..p {
        let lead = c.submatrix(0, 0, j + 1, j + 1).to_owned();
        let bad = match lead.llt(Side::Lower) {
            Err(_) => true,
            Ok(llt) => {
                let l = llt.L();
                l[(j, j)] * l[(j, j)] < PIVOT_TOLERANCE
            }
        };
        if bad {
            return Singularity::Combination {
                column: j,
                of: combination_of(c, j),
            };
        }
    }
    // Only reachable for p == 1 (a positive diagonal factors): report column 0.
    Singularity::NoVariation { column: 0 }
}

/// Regresses column `j` of the unit-diagonal matrix on columns `0..j` and lists
/// the columns with a non-negligible weight.
fn combination_of(c: &Mat<f64>, j: usize) -> Vec<usize> {
    let lead = c.submatrix(0, 0, j, j).to_owned();
    let Ok(llt) = lead.llt(Side::Lower) else {
        return (0..j).collect();
    };
    let mut a = Mat::from_fn(j, 1, |i, _| c[(i, j)]);
    llt.solve_in_place(a.as_mut());
    let weights: Vec<f64> = (0..j).map(|i| a[(i, 0)].abs()).collect();
    let largest = weights.iter().copied().fold(0.0, f64::max);
    if largest.is_nan() || largest <= 0.0 {
        return (0..j).collect();
    }
    (0..j).filter(|&i| weights[i] > 1e-3 * largest).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips() {
        let full = vec![4.0, 1.0, 2.0, 1.0, 5.0, 3.0, 2.0, 3.0, 6.0];
        let packed = pack(&full, 3);
        assert_eq!(packed, vec![4.0, 1.0, 5.0, 2.0, 3.0, 6.0]);
        assert_eq!(unpack(&packed, 3), full);
    }

    #[test]
    fn solve_and_inverse_match_known_answer() {
        // H = [[4, 2], [2, 3]], H^-1 = [[3, -2], [-2, 4]] / 8.
        let f = SpdFactor::new(&[4.0, 2.0, 2.0, 3.0], 2).unwrap();
        let x = f.solve(&[2.0, 1.0]);
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15);
        let inv = f.inverse();
        let want = [0.375, -0.25, -0.25, 0.5];
        for (a, b) in inv.iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
    }

    #[test]
    fn names_the_dependent_column() {
        // Columns: a, b, c = a + b, d.
        let rows = [
            [1.0, 0.0, 1.0, 2.0],
            [0.0, 1.0, 1.0, -1.0],
            [1.0, 1.0, 2.0, 0.5],
            [2.0, -1.0, 1.0, 1.0],
            [0.5, 3.0, 3.5, 0.0],
        ];
        let mut h = vec![0.0; 16];
        for r in &rows {
            for i in 0..4 {
                for j in 0..4 {
                    h[i * 4 + j] += r[i] * r[j];
                }
            }
        }
        let err = SpdFactor::new(&h, 4).err().unwrap();
        assert_eq!(
            err,
            Singularity::Combination {
                column: 2,
                of: vec![0, 1]
            }
        );
    }

    #[test]
    fn zero_diagonal_is_no_variation() {
        let err = SpdFactor::new(&[1.0, 0.0, 0.0, 0.0], 2).err().unwrap();
        assert_eq!(err, Singularity::NoVariation { column: 1 });
    }
}
