//! The public shape of a contribution vector: named segments, each either counts
//! (non-negative integers with a declared per-node maximum, encoded exactly) or real
//! numbers (encoded in wide fixed point).

use serde::{Deserialize, Serialize};

/// How a segment's values are encoded for aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SegmentKind {
    /// Non-negative integers, at most `max` per node (e.g. the dataset's row count bound).
    Count { max: u64 },
    /// Real numbers (sums, gradients, Hessians).
    Real,
}

/// A named run of values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub name: String,
    pub len: usize,
    #[serde(flatten)]
    pub kind: SegmentKind,
}

/// The whole vector's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Layout {
    pub segments: Vec<Segment>,
}

/// The largest count a node may contribute per cell (2^40, about 10^12 rows): far
/// above any real dataset, and small enough that sums over 2^20 nodes fit in 64 bits.
pub const MAX_COUNT: u64 = 1 << 40;

impl Layout {
    /// Adds a segment of counts.
    pub fn counts(mut self, name: &str, len: usize) -> Self {
        self.segments.push(Segment {
            name: name.to_string(),
            len,
            kind: SegmentKind::Count { max: MAX_COUNT },
        });
        self
    }

    /// Adds a segment of real numbers.
    pub fn reals(mut self, name: &str, len: usize) -> Self {
        self.segments.push(Segment {
            name: name.to_string(),
            len,
            kind: SegmentKind::Real,
        });
        self
    }

    /// Total number of values.
    pub fn len(&self) -> usize {
        self.segments.iter().map(|s| s.len).sum()
    }

    /// True when the layout has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The offset range of a named segment.
    pub fn range(&self, name: &str) -> Option<std::ops::Range<usize>> {
        let mut start = 0;
        for s in &self.segments {
            if s.name == name {
                return Some(start..start + s.len);
            }
            start += s.len;
        }
        None
    }

    /// Checks that every count segment holds non-negative integers within its maximum.
    pub fn check(&self, values: &[f64]) -> Result<(), String> {
        if values.len() != self.len() {
            return Err(format!(
                "vector has {} values, layout needs {}",
                values.len(),
                self.len()
            ));
        }
        let mut start = 0;
        for s in &self.segments {
            let part = &values[start..start + s.len];
            match s.kind {
                SegmentKind::Count { max } => {
                    if let Some(bad) = part
                        .iter()
                        .find(|v| !(v.fract() == 0.0 && **v >= 0.0 && **v <= max as f64))
                    {
                        return Err(format!(
                            "segment `{}` holds {bad}, which is not a count in [0, {max}]",
                            s.name
                        ));
                    }
                }
                SegmentKind::Real => {
                    if part.iter().any(|v| !v.is_finite()) {
                        return Err(format!("segment `{}` holds a non-finite value", s.name));
                    }
                }
            }
            start += s.len;
        }
        Ok(())
    }
}
