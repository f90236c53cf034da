//! Disclosure control applied by the hub before a result reaches the researcher.
//!
//! Primary suppression hides every cell whose count is positive but below the
//! minimum. Because totals are released, a group with a single hidden cell would let
//! the researcher recover it by subtraction; secondary suppression then also hides the
//! smallest remaining positive cell of that group.

/// Suppresses small cells of one group of counts that sum to a released total.
/// Returns the released values (`None` = suppressed) and how many were suppressed.
pub fn suppress_group(counts: &[f64], min_cell: u64) -> (Vec<Option<f64>>, usize) {
    let min = min_cell as f64;
    let mut out: Vec<Option<f64>> = counts
        .iter()
        .map(|&c| {
            let c = c.max(0.0).round();
            (c == 0.0 || c >= min).then_some(c)
        })
        .collect();
    let mut suppressed = out.iter().filter(|c| c.is_none()).count();
    if suppressed == 1 {
        let smallest = out
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.filter(|&v| v > 0.0).map(|v| (i, v)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = smallest {
            out[i] = None;
            suppressed += 1;
        }
    }
    (out, suppressed)
}

/// A single count released under the minimum: `None` when positive and below it.
pub fn release_count(count: f64, min_cell: u64) -> Option<u64> {
    let c = count.max(0.0).round();
    (c == 0.0 || c >= min_cell as f64).then_some(c as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_and_secondary_suppression() {
        let (out, n) = suppress_group(&[10.0, 3.0, 0.0, 7.0, 20.0], 5);
        assert_eq!(out, vec![Some(10.0), None, Some(0.0), None, Some(20.0)]);
        assert_eq!(n, 2);
        let (out, n) = suppress_group(&[10.0, 3.0, 2.0, 7.0], 5);
        assert_eq!(out, vec![Some(10.0), None, None, Some(7.0)]);
        assert_eq!(n, 2);
        let (out, n) = suppress_group(&[10.0, 6.0], 5);
        assert_eq!(out, vec![Some(10.0), Some(6.0)]);
        assert_eq!(n, 0);
    }

    #[test]
    fn single_counts() {
        assert_eq!(release_count(4.0, 5), None);
        assert_eq!(release_count(0.0, 5), Some(0));
        assert_eq!(release_count(5.0, 5), Some(5));
    }
}
