//! Small numerical helpers: normal quantiles, binomial confidence intervals and the
//! log-gamma function. Hand-written because they are a few dozen lines each and a
//! statistics crate would add far more to the build than it saves.

use serde::{Deserialize, Serialize};

/// A proportion with a two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    /// Point estimate in [0, 1].
    pub value: f64,
    /// Lower end of the confidence interval.
    pub lower: f64,
    /// Upper end of the confidence interval.
    pub upper: f64,
}

/// Quantile of the standard normal distribution (Wichura's AS 241, relative error
/// about 1e-16). `p` must be in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        let r = r - 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 { -x } else { x }
}

fn poly(coefficients: &[f64; 8], x: f64) -> f64 {
    coefficients.iter().rev().fold(0.0, |acc, c| acc * x + c)
}

const A: [f64; 8] = [
    3.387_132_872_796_366_5,
    1.331_416_678_917_843_8e2,
    1.971_590_950_306_551_3e3,
    1.373_169_376_550_946e4,
    4.592_195_393_154_987e4,
    6.726_577_092_700_87e4,
    3.343_057_558_358_813e4,
    2.509_080_928_730_122_7e3,
];
const B: [f64; 8] = [
    1.0,
    4.231_333_070_160_091e1,
    6.871_870_074_920_579e2,
    5.394_196_021_424_751e3,
    2.121_379_430_158_659_7e4,
    3.930_789_580_009_271e4,
    2.872_908_573_572_194_3e4,
    5.226_495_278_852_545e3,
];
const C: [f64; 8] = [
    1.423_437_110_749_683_5,
    4.630_337_846_156_546,
    5.769_497_221_460_691,
    3.647_848_324_763_204_5,
    1.270_458_252_452_368_4,
    2.417_807_251_774_506e-1,
    2.272_384_498_926_918_4e-2,
    7.745_450_142_783_414e-4,
];
const D: [f64; 8] = [
    1.0,
    2.053_191_626_637_759,
    1.676_384_830_183_803_8,
    6.897_673_349_851e-1,
    1.481_039_764_274_800_8e-1,
    1.519_866_656_361_645_7e-2,
    5.475_938_084_995_345e-4,
    1.050_750_071_644_416_9e-9,
];
const E: [f64; 8] = [
    6.657_904_643_501_103,
    5.463_784_911_164_114,
    1.784_826_539_917_291_3,
    2.965_605_718_285_048_7e-1,
    2.653_218_952_657_612_4e-2,
    1.242_660_947_388_078_4e-3,
    2.711_555_568_743_487_6e-5,
    2.010_334_399_292_288_1e-7,
];
const F: [f64; 8] = [
    1.0,
    5.998_322_065_558_88e-1,
    1.369_298_809_227_358e-1,
    1.487_536_129_085_061_5e-2,
    7.868_691_311_456_133e-4,
    1.846_318_317_510_054_8e-5,
    1.421_511_758_316_446e-7,
    2.044_263_103_389_939_7e-15,
];

/// The z value of a two-sided interval with the given confidence (0.95 -> 1.96).
pub fn z_for_confidence(confidence: f64) -> f64 {
    normal_quantile(0.5 * (1.0 + confidence))
}

/// Wilson score interval for `successes` out of `trials`.
///
/// The point estimate is the plain proportion `successes / trials` (the interval is
/// Wilson's); with no trials the interval is the uninformative [0, 1].
pub fn wilson(successes: f64, trials: f64, confidence: f64) -> Proportion {
    if trials <= 0.0 {
        return Proportion {
            value: 0.0,
            lower: 0.0,
            upper: 1.0,
        };
    }
    let z = z_for_confidence(confidence);
    let z2 = z * z;
    let p = (successes / trials).clamp(0.0, 1.0);
    let denominator = 1.0 + z2 / trials;
    let centre = (p + z2 / (2.0 * trials)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)).sqrt();
    Proportion {
        value: p,
        lower: (centre - half).clamp(0.0, 1.0),
        upper: (centre + half).clamp(0.0, 1.0),
    }
}

/// Anonymeter's success-rate estimate (Wilson centre and half-width), used where we
/// reproduce its risk formula: returns `(rate, error)`.
pub fn wilson_centre(successes: f64, trials: f64, confidence: f64) -> (f64, f64) {
    if trials <= 0.0 {
        return (0.0, 1.0);
    }
    let z = z_for_confidence(confidence);
    let z2 = z * z;
    let variance = successes * (trials - successes) / trials;
    let denominator = trials + z2;
    let rate = (successes + 0.5 * z2) / denominator;
    let error = z / denominator * (variance.max(0.0) + 0.25 * z2).sqrt();
    (rate, error)
}

/// Exact (Clopper-Pearson) interval for `successes` out of `trials`.
pub fn clopper_pearson(successes: u64, trials: u64, confidence: f64) -> Proportion {
    if trials == 0 {
        return Proportion {
            value: 0.0,
            lower: 0.0,
            upper: 1.0,
        };
    }
    let alpha = 1.0 - confidence;
    let k = successes as f64;
    let n = trials as f64;
    let lower = if successes == 0 {
        0.0
    } else {
        beta_quantile(alpha / 2.0, k, n - k + 1.0)
    };
    let upper = if successes == trials {
        1.0
    } else {
        beta_quantile(1.0 - alpha / 2.0, k + 1.0, n - k)
    };
    Proportion {
        value: k / n,
        lower,
        upper,
    }
}

/// Natural log of the gamma function (Lanczos, g = 7, n = 9; about 15 digits).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the approximation in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularized incomplete beta function I_x(a, b) by Lentz's continued fraction.
pub fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    // The continued fraction converges fast only below the mean; use symmetry above it.
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    ln_front.exp() * beta_fraction(x, a, b) / a
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        for numerator in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + numerator * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + numerator / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Quantile of the Beta(a, b) distribution by bisection on the incomplete beta function.
pub fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if incomplete_beta(mid, a, b) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_tables() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile(0.5)).abs() < 1e-15);
        assert!((normal_quantile(1e-10) + 6.361_340_902_404_056).abs() < 1e-9);
    }

    #[test]
    fn wilson_matches_published_example() {
        // Wilson interval for 8/10 at 95 %: [0.4902, 0.9433] (Newcombe 1998, table I).
        let w = wilson(8.0, 10.0, 0.95);
        assert!((w.lower - 0.4902).abs() < 1e-4 && (w.upper - 0.9433).abs() < 1e-4);
    }

    #[test]
    fn clopper_pearson_matches_published_example() {
        // Exact interval for 8/10 at 95 %: [0.4439, 0.9748] (Newcombe 1998, table I).
        let c = clopper_pearson(8, 10, 0.95);
        assert!((c.lower - 0.4439).abs() < 1e-4 && (c.upper - 0.9748).abs() < 1e-4);
        let zero = clopper_pearson(0, 10, 0.95);
        assert!(zero.lower == 0.0 && (zero.upper - 0.3085).abs() < 1e-4);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }
}
