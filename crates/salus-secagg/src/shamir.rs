//! Shamir secret sharing over the Ed25519 scalar field (prime order
//! l = 2^252 + 27742317777372353535851937790883648493), with curve25519-dalek's constant-time
//! `Scalar` arithmetic. The same field and polynomial convention as RFC 9591 (FROST), whose
//! published participant shares we reproduce in `tests/shamir_frost_vectors.rs`.
//!
//! A secret s is the constant term of a random polynomial f of degree t - 1; holder x gets
//! f(x). Any t shares give s by Lagrange interpolation at 0; fewer reveal nothing.

use curve25519_dalek::Scalar;
use rand::{CryptoRng, Rng};

/// A uniformly random scalar (64 random bytes reduced mod l: bias below 2^-250).
pub fn random_scalar<R: Rng + CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// The polynomial with the given coefficients (constant term first) evaluated at `x`.
pub fn evaluate(coefficients: &[Scalar], x: u32) -> Scalar {
    let x = Scalar::from(u64::from(x));
    coefficients
        .iter()
        .rev()
        .fold(Scalar::ZERO, |acc, c| acc * x + c)
}

/// Shares `secret` with threshold `threshold` among holders at `xs` (distinct, non-zero).
/// Returns one share per x, in the order of `xs`.
pub fn share<R: Rng + CryptoRng + ?Sized>(
    secret: Scalar,
    threshold: usize,
    xs: &[u32],
    rng: &mut R,
) -> Vec<Scalar> {
    let mut coefficients = Vec::with_capacity(threshold.max(1));
    coefficients.push(secret);
    for _ in 1..threshold {
        coefficients.push(random_scalar(rng));
    }
    let shares = xs.iter().map(|&x| evaluate(&coefficients, x)).collect();
    zeroize::Zeroize::zeroize(&mut coefficients);
    shares
}

/// Lagrange coefficients at 0 for the holders `xs` (distinct, non-zero):
/// lambda_i = prod_{j != i} x_j / (x_j - x_i). One batch inversion for all of them.
pub fn lagrange_at_zero(xs: &[u32]) -> Vec<Scalar> {
    let points: Vec<Scalar> = xs.iter().map(|&x| Scalar::from(u64::from(x))).collect();
    let mut numerators = Vec::with_capacity(points.len());
    let mut denominators = Vec::with_capacity(points.len());
    for (i, xi) in points.iter().enumerate() {
        let mut numerator = Scalar::ONE;
        let mut denominator = Scalar::ONE;
        for (j, xj) in points.iter().enumerate() {
            if i != j {
                numerator *= xj;
                denominator *= xj - xi;
            }
        }
        numerators.push(numerator);
        denominators.push(denominator);
    }
    Scalar::invert_batch_alloc(&mut denominators);
    numerators
        .iter()
        .zip(&denominators)
        .map(|(n, d)| n * d)
        .collect()
}

/// The secret from `threshold` or more shares `(x, f(x))`. Uses the first `threshold`
/// shares and checks that every further share lies on the same polynomial; returns `None`
/// if there are too few shares, duplicate x's, or an inconsistent extra share.
pub fn reconstruct(shares: &[(u32, Scalar)], threshold: usize) -> Option<Scalar> {
    if threshold == 0 || shares.len() < threshold {
        return None;
    }
    let mut xs: Vec<u32> = shares.iter().map(|(x, _)| *x).collect();
    xs.sort_unstable();
    if xs.windows(2).any(|w| w[0] == w[1]) || xs.first() == Some(&0) {
        return None;
    }
    let (base, extra) = shares.split_at(threshold);
    let base_xs: Vec<u32> = base.iter().map(|(x, _)| *x).collect();
    let secret = interpolate_at(base, &base_xs, 0);
    let consistent = extra
        .iter()
        .all(|(x, y)| interpolate_at(base, &base_xs, *x) == *y);
    consistent.then_some(secret)
}

/// Interpolates the polynomial through `points` (with x-coordinates `xs`) at `at`.
fn interpolate_at(points: &[(u32, Scalar)], xs: &[u32], at: u32) -> Scalar {
    if at == 0 {
        let lambdas = lagrange_at_zero(xs);
        return points.iter().zip(&lambdas).map(|((_, y), l)| y * l).sum();
    }
    let target = Scalar::from(u64::from(at));
    let mut total = Scalar::ZERO;
    for (i, (xi, yi)) in points.iter().enumerate() {
        let xi = Scalar::from(u64::from(*xi));
        let mut numerator = Scalar::ONE;
        let mut denominator = Scalar::ONE;
        for (j, xj) in xs.iter().enumerate() {
            if i != j {
                let xj = Scalar::from(u64::from(*xj));
                numerator *= target - xj;
                denominator *= xi - xj;
            }
        }
        total += yi * numerator * denominator.invert();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn any_threshold_subset_reconstructs() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let secret = random_scalar(&mut rng);
        let xs = [3, 7, 9, 12, 20];
        let shares = share(secret, 3, &xs, &mut rng);
        let points: Vec<(u32, Scalar)> = xs.iter().copied().zip(shares).collect();
        for subset in [[0, 1, 2], [1, 3, 4], [4, 2, 0]] {
            let chosen: Vec<_> = subset.iter().map(|&i| points[i]).collect();
            assert_eq!(reconstruct(&chosen, 3), Some(secret));
        }
        assert_eq!(reconstruct(&points, 3), Some(secret));
        assert_eq!(reconstruct(&points[..2], 3), None);
    }

    #[test]
    fn an_inconsistent_extra_share_is_detected() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let secret = random_scalar(&mut rng);
        let xs = [1, 2, 3, 4];
        let mut points: Vec<(u32, Scalar)> = xs
            .iter()
            .copied()
            .zip(share(secret, 2, &xs, &mut rng))
            .collect();
        points[3].1 += Scalar::ONE;
        assert_eq!(reconstruct(&points, 2), None);
        points[3].0 = 1; // duplicate x
        assert_eq!(
            reconstruct(
                &points[..2]
                    .iter()
                    .chain(&points[3..])
                    .copied()
                    .collect::<Vec<_>>(),
                2
            ),
            None
        );
    }
}
