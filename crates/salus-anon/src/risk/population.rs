//! Population-uniqueness estimators for a sample of a larger population, following
//! ARX's `RiskModelPopulationUniqueness` and its models:
//!
//! * Pitman (Hoshino 2001): maximum-likelihood fit of the Pitman sampling formula,
//!   uniques = Γ(θ+1)/Γ(θ+α) · N^α;
//! * Zayatz (1991): the share of sample uniques that are population uniques, from
//!   hypergeometric probabilities;
//! * SNB (Chen & Keller-McNulty 1998): slide negative binomial with Haas-Stokes/Shlosser
//!   estimate of the number of non-empty population classes;
//! * Dankar et al. (2012)'s decision rule: Pitman when the sampling fraction is at most
//!   10 % (Zayatz if Pitman fails), otherwise the smaller of Zayatz and SNB.

use serde::{Deserialize, Serialize};

use crate::stats::ln_gamma;

/// Which estimator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopulationModel {
    /// Pitman's model.
    Pitman,
    /// Zayatz's model.
    Zayatz,
    /// The slide negative binomial model.
    Snb,
    /// Dankar et al.'s decision rule over the three.
    Dankar,
}

/// An estimate of population uniques.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UniquesEstimate {
    /// Estimated number of population-unique records.
    pub count: f64,
    /// `count / population`, ARX's reported fraction.
    pub fraction: f64,
    /// The model that produced the estimate (for Dankar: the one the rule picked).
    pub model: PopulationModel,
}

/// The histogram of class sizes of a sample: (size, number of classes).
struct Histogram {
    entries: Vec<(u64, u64)>,
    classes: f64,
    records: f64,
}

impl Histogram {
    fn new(class_sizes: &[u32]) -> Self {
        let mut sizes: Vec<u64> = class_sizes
            .iter()
            .filter(|&&s| s > 0)
            .map(|&s| u64::from(s))
            .collect();
        sizes.sort_unstable();
        let mut entries: Vec<(u64, u64)> = Vec::new();
        for s in sizes {
            match entries.last_mut() {
                Some((size, count)) if *size == s => *count += 1,
                _ => entries.push((s, 1)),
            }
        }
        let classes = entries.iter().map(|e| e.1 as f64).sum();
        let records = entries.iter().map(|e| (e.0 * e.1) as f64).sum();
        Histogram {
            entries,
            classes,
            records,
        }
    }

    fn of_size(&self, size: u64) -> f64 {
        self.entries
            .iter()
            .find(|e| e.0 == size)
            .map_or(0.0, |e| e.1 as f64)
    }
}

/// Estimates the population uniques of a sample with the given class sizes drawn from a
/// population of `population` records.
pub fn estimate_uniques(
    class_sizes: &[u32],
    population: f64,
    model: PopulationModel,
) -> UniquesEstimate {
    let h = Histogram::new(class_sizes);
    let population = population.max(h.records);
    let done = |count: f64, model| UniquesEstimate {
        count,
        fraction: if population > 0.0 {
            count / population
        } else {
            0.0
        },
        model,
    };
    if h.of_size(1) == 0.0 {
        return done(0.0, model);
    }
    let valid = |x: f64| x.is_finite() && x != 0.0;
    let f = h.records / population;
    match model {
        PopulationModel::Pitman => done(or_zero(pitman(&h, population)), model),
        PopulationModel::Zayatz => done(or_zero(zayatz(&h, population)), model),
        PopulationModel::Snb => done(or_zero(snb(&h, f)), model),
        PopulationModel::Dankar => {
            if f <= 0.1 {
                let p = pitman(&h, population);
                if valid(p) {
                    done(p, PopulationModel::Pitman)
                } else {
                    done(or_zero(zayatz(&h, population)), PopulationModel::Zayatz)
                }
            } else {
                let z = zayatz(&h, population);
                let s = snb(&h, f);
                if valid(s) && s <= z {
                    done(s, PopulationModel::Snb)
                } else {
                    done(or_zero(z), PopulationModel::Zayatz)
                }
            }
        }
    }
}

fn or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// Pitman's model fitted by Newton-Raphson from ARX's starting point.
fn pitman(h: &Histogram, population: f64) -> f64 {
    let (c1, u, n) = (h.of_size(1), h.classes, h.records);
    let c2 = if h.of_size(2) != 0.0 {
        h.of_size(2)
    } else {
        1.0
    };
    let c = c1 * (c1 - 1.0) / c2;
    let mut t = (n * u * c - c1 * (n - 1.0) * (2.0 * u + c)) / (2.0 * c1 * u + c1 * c - n * c);
    let mut a = (t * (c1 - n) + (n - 1.0) * c1) / (n * u);
    let ui = u as u64;
    let ni = n as u64;
    for _ in 0..500 {
        let (mut o1, mut o3, mut d1, mut d3, mut d5) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 1..ui {
            let i = i as f64;
            let v = t + i * a;
            o1 += 1.0 / v;
            o3 += i / v;
            d1 += 1.0 / (v * v);
            d5 += i / (v * v);
            d3 += i * i / (v * v);
        }
        let (mut o2, mut d2) = (0.0, 0.0);
        for i in 1..ni {
            let v = t + i as f64;
            o2 += 1.0 / v;
            d2 += 1.0 / (v * v);
        }
        let (mut o4, mut d4) = (0.0, 0.0);
        for &(size, count) in &h.entries {
            if size == 1 {
                continue;
            }
            let (mut s1, mut s2) = (0.0, 0.0);
            for j in 1..size {
                let v = j as f64 - a;
                s1 += 1.0 / v;
                s2 += 1.0 / (v * v);
            }
            o4 += count as f64 * s1;
            d4 += count as f64 * s2;
        }
        let (f1, f2) = (o1 - o2, o3 - o4);
        let (j11, j12, j21, j22) = (d2 - d1, -d5, -d5, -d3 - d4);
        let det = j11 * j22 - j12 * j21;
        if !det.is_finite() || det == 0.0 {
            return f64::NAN;
        }
        let dt = (f1 * j22 - f2 * j12) / det;
        let da = (j11 * f2 - j21 * f1) / det;
        t -= dt;
        a -= da;
        if !(t.is_finite() && a.is_finite()) {
            return f64::NAN;
        }
        if dt.abs() <= 1e-12 * t.abs().max(1.0) && da.abs() <= 1e-14 {
            break;
        }
    }
    if a == 0.0 {
        return f64::NAN;
    }
    let result = (ln_gamma(t + 1.0) - ln_gamma(t + a)).exp() * population.powf(a);
    if result >= 0.0 && result <= population {
        result
    } else {
        f64::NAN
    }
}

/// ln P(X = 1) for a hypergeometric draw of `n` from `population` with `k` successes.
fn ln_hypergeometric_one(population: f64, k: u64, n: f64) -> f64 {
    // k * C(N-k, n-1) / C(N, n) = k n prod_{j<k-1}(N-n-j) / prod_{j<k}(N-j)
    let mut ln = (k as f64).ln() + n.ln();
    for j in 0..k.saturating_sub(1) {
        let x = population - n - j as f64;
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        ln += x.ln();
    }
    for j in 0..k {
        ln -= (population - j as f64).ln();
    }
    ln
}

/// Zayatz's estimate as implemented by ARX (sample class sizes stand in for population
/// class sizes in the hypergeometric probabilities).
fn zayatz(h: &Histogram, population: f64) -> f64 {
    let (c1, u, n) = (h.of_size(1), h.classes, h.records);
    let mut temp = 0.0;
    for &(size, count) in &h.entries {
        temp += count as f64 / u * ln_hypergeometric_one(population, size, n).exp();
    }
    let cond = (c1 / u * ln_hypergeometric_one(population, 1, n).exp()) / temp;
    c1 * cond / (n / population)
}

/// The SNB model: K (non-empty population classes, Shlosser's estimator as in ARX), then
/// (α, β) solving the expected numbers of sample uniques and doubles.
fn snb(h: &Histogram, f: f64) -> f64 {
    let (c1, c2, u) = (h.of_size(1), h.of_size(2), h.classes);
    let (mut v1, mut v2, mut v3, mut v4) = (0.0, 0.0, 0.0, 0.0);
    for &(size, count) in &h.entries {
        let (k, c) = (size as f64, count as f64);
        let val2 = (1.0 - f).powf(k) * c;
        v1 += k * f * f * (1.0 - f * f).powf(k - 1.0) * c;
        v2 += val2 * (1.0 + f).powf(k) - 1.0;
        v3 += val2;
        v4 += k * f * (1.0 - f).powf(k - 1.0) * c;
    }
    let big_k = u + c1 * (v1 / v2) * (v3 / v4) * (v3 / v4);
    let objective = |a: f64, b: f64| {
        let d = (1.0 - f) * (1.0 - b);
        let e1 = big_k * f * (b / (1.0 - d)).powf(a) * (a * d / (1.0 - d) + 1.0) - c1;
        let e2 = big_k * a * b.powf(a) * f * f * (1.0 - b) / 2.0 / (1.0 - d).powf(a + 2.0)
            * (2.0 - (1.0 - a) * d)
            - c2;
        (e1, e2)
    };
    for &(a0, b0) in &[(1.0, 0.5), (0.5, 0.1), (2.0, 0.9), (0.1, 0.01), (5.0, 0.5)] {
        if let Some((a, b)) = newton_2d(objective, a0, b0)
            && a > 0.0
            && b > 0.0
            && b < 1.0
        {
            return big_k * b.powf(a);
        }
    }
    f64::NAN
}

/// Newton-Raphson in two unknowns with a finite-difference Jacobian.
fn newton_2d(f: impl Fn(f64, f64) -> (f64, f64), mut x: f64, mut y: f64) -> Option<(f64, f64)> {
    for _ in 0..200 {
        let (f1, f2) = f(x, y);
        if !(f1.is_finite() && f2.is_finite()) {
            return None;
        }
        if f1.abs() < 1e-9 && f2.abs() < 1e-9 {
            return Some((x, y));
        }
        let hx = 1e-7 * x.abs().max(1e-7);
        let hy = 1e-7 * y.abs().max(1e-7);
        let (a1, a2) = f(x + hx, y);
        let (b1, b2) = f(x, y + hy);
        let (j11, j21) = ((a1 - f1) / hx, (a2 - f2) / hx);
        let (j12, j22) = ((b1 - f1) / hy, (b2 - f2) / hy);
        let det = j11 * j22 - j12 * j21;
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        x -= (f1 * j22 - f2 * j12) / det;
        y -= (j11 * f2 - j21 * f1) / det;
    }
    let (f1, f2) = f(x, y);
    (f1.abs() < 1e-6 && f2.abs() < 1e-6).then_some((x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_population_uniques_are_sample_uniques() {
        let sizes = [1, 1, 1, 2, 3, 5];
        let e = estimate_uniques(&sizes, 13.0, PopulationModel::Zayatz);
        assert!((e.count - 3.0).abs() < 1e-9);
        let d = estimate_uniques(&sizes, 13.0, PopulationModel::Dankar);
        assert!((d.fraction - 3.0 / 13.0).abs() < 1e-9);
    }

    #[test]
    fn no_sample_uniques_means_no_population_uniques() {
        let e = estimate_uniques(&[2, 3, 4], 1000.0, PopulationModel::Dankar);
        assert_eq!(e.count, 0.0);
    }
}
