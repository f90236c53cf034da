//! Binning of numeric and date columns, calendar arithmetic, and differentially private
//! estimation of bounds when no public bounds are given.
//!
//! Bins are half-open `[e_i, e_{i+1})`; values outside the bounds are clamped into the first
//! or last bin (the usual DP practice: it keeps the sensitivity at one cell per person).
//! Integer columns get one bin per integer when the range is small (`max_unit_bins`), so they
//! are modelled exactly; wider ranges get equal-width bins whose edges are integers.

use rand::{CryptoRng, Rng};

use crate::error::Result;

/// Edges of `bins` equal-width bins over `[lower, upper]` for real numbers.
pub(crate) fn real_edges(lower: f64, upper: f64, bins: usize) -> Vec<f64> {
    let bins = bins.max(1);
    if upper <= lower {
        return vec![lower, lower + 1.0];
    }
    let width = (upper - lower) / bins as f64;
    let mut edges: Vec<f64> = (0..bins).map(|i| lower + width * i as f64).collect();
    edges.push(upper);
    edges
}

/// Edges over the integers `lower..=upper`: one bin per integer when the range has at most
/// `max_unit_bins` values, else about `bins` bins of equal integer width. The last edge is
/// always `upper + 1`.
pub(crate) fn integer_edges(lower: i64, upper: i64, bins: usize, max_unit_bins: usize) -> Vec<i64> {
    let upper = upper.max(lower);
    let span = (upper - lower + 1) as u64;
    let width = if span <= max_unit_bins.max(1) as u64 {
        1
    } else {
        span.div_ceil(bins.max(1) as u64)
    };
    let mut edges = Vec::new();
    let mut edge = lower;
    while edge <= upper {
        edges.push(edge);
        edge = edge.saturating_add(width as i64);
    }
    edges.push(upper + 1);
    edges
}

/// The bin of `x` (clamped into the first or last bin).
pub(crate) fn bin_of(edges: &[f64], x: f64) -> usize {
    let bins = edges.len().saturating_sub(1).max(1);
    // partition_point gives the number of edges <= x; bin = that - 1, clamped.
    let above = edges.partition_point(|&e| e <= x);
    above.saturating_sub(1).min(bins - 1)
}

/// A value drawn uniformly inside bin `bin`; for integer bins a uniform integer of the bin.
pub(crate) fn sample_in_bin<R: Rng + ?Sized>(
    edges: &[f64],
    bin: usize,
    integer: bool,
    rng: &mut R,
) -> f64 {
    let lower = edges[bin];
    let upper = edges[bin + 1];
    if integer {
        let lo = lower.ceil() as i64;
        let hi = (upper.ceil() as i64 - 1).max(lo);
        rng.random_range(lo..=hi) as f64
    } else if upper > lower {
        let x = rng.random_range(lower..upper);
        // Keep the shortest decimal rendering reasonable: 6 significant digits inside the bin.
        round_significant(x, 6).clamp(lower, upper)
    } else {
        lower
    }
}

fn round_significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits - 1 - magnitude);
    (x * scale).round() / scale
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number (H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses an ISO date `YYYY-MM-DD` (nothing else) into a day number.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i64 = text.get(0..4)?.parse().ok()?;
    let month: u32 = text.get(5..7)?.parse().ok()?;
    let day: u32 = text.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Formats a day number as `YYYY-MM-DD`.
pub(crate) fn format_date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The data-independent grid used to estimate numeric bounds privately: 0 and
/// +-m * 10^k for mantissas m of a 1-1.2-1.5-... series and k in -4..=15.
fn numeric_grid() -> Vec<f64> {
    const MANTISSAS: [f64; 14] = [
        1.0, 1.2, 1.5, 1.7, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0,
    ];
    let mut positive = Vec::new();
    for k in -4..=15 {
        for m in MANTISSAS {
            // Parse the decimal so that grid points are the exact doubles users type (17, 0.15).
            let value: f64 = format!("{m}e{k}").parse().unwrap_or(m * 10f64.powi(k));
            positive.push(value);
        }
    }
    let mut grid: Vec<f64> = positive.iter().rev().map(|v| -v).collect();
    grid.push(0.0);
    grid.extend(positive);
    grid
}

/// Bounds estimated with the discrete Gaussian: a histogram over a fixed grid of buckets,
/// noise of scale `sigma` per bucket (sensitivity 1: one person is in one bucket, so the
/// caller charges rho = 1 / (2 sigma^2)), and the outermost buckets whose noisy count exceeds
/// `5 sigma` give the bounds. With ~560 buckets, a false bucket passes with probability
/// about 2e-4. Returns `None` when no bucket passes (too little data for the budget).
pub(crate) fn dp_numeric_bounds<R: Rng + CryptoRng + ?Sized>(
    values: &[f64],
    sigma: f64,
    rng: &mut R,
) -> Result<Option<(f64, f64)>> {
    let grid = numeric_grid();
    // Bucket 0 is (-inf, grid[0]); bucket i is [grid[i-1], grid[i]); the last is [grid[last], inf).
    let mut counts = vec![0i64; grid.len() + 1];
    for &x in values {
        counts[grid.partition_point(|&e| e <= x)] += 1;
    }
    let Some((first, last)) = noisy_support(&counts, sigma, rng)? else {
        return Ok(None);
    };
    let lower = if first == 0 { grid[0] } else { grid[first - 1] };
    let upper = if last >= grid.len() {
        grid[grid.len() - 1]
    } else {
        grid[last]
    };
    Ok(Some((lower, upper)))
}

/// Date bounds estimated like [`dp_numeric_bounds`] over calendar-year buckets 1800..=2200
/// (dates outside fall in the end buckets). Returns day numbers of Jan 1 and Dec 31.
pub(crate) fn dp_date_bounds<R: Rng + CryptoRng + ?Sized>(
    days: &[i64],
    sigma: f64,
    rng: &mut R,
) -> Result<Option<(i64, i64)>> {
    const FIRST_YEAR: i64 = 1800;
    const LAST_YEAR: i64 = 2200;
    let mut counts = vec![0i64; (LAST_YEAR - FIRST_YEAR + 1) as usize];
    for &d in days {
        let year = civil_from_days(d).0.clamp(FIRST_YEAR, LAST_YEAR);
        counts[(year - FIRST_YEAR) as usize] += 1;
    }
    let Some((first, last)) = noisy_support(&counts, sigma, rng)? else {
        return Ok(None);
    };
    let lower = days_from_civil(FIRST_YEAR + first as i64, 1, 1);
    let upper = days_from_civil(FIRST_YEAR + last as i64, 12, 31);
    Ok(Some((lower, upper)))
}

/// Indices of the first and last bucket whose noisy count exceeds 5 sigma.
fn noisy_support<R: Rng + CryptoRng + ?Sized>(
    counts: &[i64],
    sigma: f64,
    rng: &mut R,
) -> Result<Option<(usize, usize)>> {
    let noise = salus_dp::DiscreteGaussian::new(sigma)?;
    let threshold = 5.0 * sigma;
    let passing: Vec<usize> = counts
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| ((c + noise.sample(rng)) as f64 > threshold).then_some(i))
        .collect();
    Ok(passing.first().copied().zip(passing.last().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn calendar_round_trips_and_matches_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-2-1"), None);
        for d in [-800_000, -1, 0, 59, 10_000, 2_000_000] {
            assert_eq!(parse_date(&format_date(d)), Some(d));
        }
    }

    #[test]
    fn integer_edges_are_unit_for_small_ranges() {
        assert_eq!(integer_edges(17, 20, 32, 100), vec![17, 18, 19, 20, 21]);
        let wide = integer_edges(0, 999, 10, 100);
        assert_eq!(wide.first(), Some(&0));
        assert_eq!(wide.last(), Some(&1000));
        assert_eq!(wide.len(), 11);
    }

    #[test]
    fn bins_clamp_and_samples_stay_inside() {
        let edges = real_edges(0.0, 10.0, 5);
        assert_eq!(bin_of(&edges, -3.0), 0);
        assert_eq!(bin_of(&edges, 10.0), 4);
        assert_eq!(bin_of(&edges, 4.0), 2);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..100 {
            let x = sample_in_bin(&edges, 2, false, &mut rng);
            assert!((4.0..=6.0).contains(&x));
            let unit: Vec<f64> = integer_edges(3, 9, 3, 2)
                .iter()
                .map(|&e| e as f64)
                .collect();
            let k = sample_in_bin(&unit, 1, true, &mut rng);
            assert_eq!(k.fract(), 0.0);
            assert!(k >= unit[1] && k < unit[2]);
        }
    }

    #[test]
    fn dp_bounds_cover_the_bulk_of_the_data() {
        let values: Vec<f64> = (0..3000).map(|i| 17.0 + f64::from(i % 74)).collect();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let (lo, hi) = dp_numeric_bounds(&values, 5.0, &mut rng).unwrap().unwrap();
        assert!((15.0..=17.0).contains(&lo), "{lo}");
        assert!((90.0..=100.0).contains(&hi), "{hi}");
        let none = dp_numeric_bounds(&values[..3], 50.0, &mut rng).unwrap();
        assert!(none.is_none());
    }
}
