//! Cox with a pooled baseline hazard on a public time grid.
//!
//! Each site rounds its times to the study's [`TimeGrid`] (see its rounding rule) and
//! returns, for every stratum and grid point, a fixed-size block of sums
//! ([`grid_local_sums`]); the hub adds the vectors of all sites and turns the sum into
//! Newton terms ([`grid_terms`]). The vector length depends only on the grid size, the
//! number of covariates and the (public) number of strata, so a site reveals nothing
//! about which grid points hold its events beyond the summed values. The fit equals the
//! pooled fit on grid-rounded times ([`round_to_grid`]), Efron or Breslow.
//!
//! Block layout per (stratum, grid point), with `q = p (p + 1) / 2` packed lower
//! triangles and `w = exp((x - r) b)` for the public reference point `r`:
//! `[d, sum_events (x - r) b, sum_events (x - r) (p), sum_events w,
//!   sum_events w (x - r) (p), sum_events w (x - r)(x - r)' (q),
//!   sum_risk w, sum_risk w (x - r) (p), sum_risk w (x - r)(x - r)' (q)]`.
//!
//! Trade-off: the pooled baseline needs per-time sums; the grid coarsens the event
//! times (ties become Efron-handled ties) in exchange for never releasing a site's own
//! event times. A finer grid approaches the exact fit and reveals more timing detail.

use serde::{Deserialize, Serialize};

use crate::cox::Ties;
use crate::cox::baseline::BaselineHazard;
use crate::cox::data::CoxData;
use crate::cox::local::{TermsAccumulator, TiedEvents, WeightedSums, check_beta};
use crate::error::{Result, StatsError};
use crate::linalg::{add_outer, packed_len};
use crate::newton::NewtonTerms;
use crate::timegrid::TimeGrid;

/// What rounding to the grid did to the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridRounding {
    /// Rows whose interval became empty (entry and exit in the same grid cell, or entry
    /// after the last grid point): they are left out.
    pub dropped_empty: usize,
    /// Rows followed beyond the last grid point: censored at the last point.
    pub censored_at_end: usize,
}

/// Values per (stratum, grid point) block for `p` covariates.
pub fn grid_block_len(p: usize) -> usize {
    4 + 3 * p + 2 * packed_len(p)
}

/// Length of a site's grid sums vector.
pub fn grid_sums_len(grid: &TimeGrid, p: usize, n_strata: usize) -> usize {
    n_strata.max(1) * grid.len() * grid_block_len(p)
}

/// One row on the grid: entry index (if any), exit index, event kept.
enum Rounded {
    Kept {
        entry: Option<usize>,
        exit: usize,
        event: bool,
    },
    Dropped,
}

fn round_row(data: &CoxData, grid: &TimeGrid, i: usize) -> (Rounded, bool) {
    let (exit, event) = grid.round_exit(data.stop()[i], data.event()[i]);
    let censored = grid.index_up(data.stop()[i]).is_none();
    let entry = match data.start() {
        None => None,
        Some(start) => match grid.index_up(start[i]) {
            Some(a) if a < exit => Some(a),
            _ => return (Rounded::Dropped, false),
        },
    };
    (Rounded::Kept { entry, exit, event }, censored)
}

/// The data with every time rounded to the grid: the pooled reference the grid fit
/// reproduces exactly.
pub fn round_to_grid(data: &CoxData, grid: &TimeGrid) -> (CoxData, GridRounding) {
    let mut report = GridRounding::default();
    let (mut keep, mut start, mut stop, mut event) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..data.nrows() {
        match round_row(data, grid, i) {
            (Rounded::Dropped, _) => report.dropped_empty += 1,
            (
                Rounded::Kept {
                    entry,
                    exit,
                    event: e,
                },
                censored,
            ) => {
                report.censored_at_end += usize::from(censored);
                keep.push(i);
                start.push(entry.map_or(f64::NEG_INFINITY, |a| grid.points()[a]));
                stop.push(grid.points()[exit]);
                event.push(e);
            }
        }
    }
    let start = data.start().map(|_| start);
    (data.with_times(&keep, start, stop, event), report)
}

/// A site's grid sums at `beta` (see the module docs for the layout). The sums serve
/// both tie methods.
pub fn grid_local_sums(data: &CoxData, grid: &TimeGrid, beta: &[f64]) -> Result<Vec<f64>> {
    check_beta(data, beta)?;
    let p = data.ncols();
    let (b, g_len) = (grid_block_len(p), grid.len());
    let mut sums = vec![0.0; grid_sums_len(grid, p, data.n_strata())];
    let layout = Layout::new(p);
    let mut xr = vec![0.0; p];
    for i in 0..data.nrows() {
        let Rounded::Kept { entry, exit, event } = round_row(data, grid, i).0 else {
            continue;
        };
        let mut eta = 0.0;
        for (j, (&v, r)) in data.row(i).iter().zip(data.reference()).enumerate() {
            xr[j] = v - r;
            eta += xr[j] * beta[j];
        }
        let w = eta.exp();
        let base = data.strata()[i] as usize * g_len * b;
        let block = &mut sums[base + exit * b..base + (exit + 1) * b];
        layout.add_risk(block, w, &xr, 1.0);
        if event {
            layout.add_event(block, w, &xr, eta);
        }
        if let Some(a) = entry {
            layout.add_risk(&mut sums[base + a * b..base + (a + 1) * b], w, &xr, -1.0);
        }
    }
    // Suffix sums turn entry/exit differences into risk-set sums at each point.
    for stratum in sums.chunks_mut(g_len * b) {
        for g in (0..g_len.saturating_sub(1)).rev() {
            let (head, tail) = stratum.split_at_mut((g + 1) * b);
            let (cur, next) = (&mut head[g * b..], &tail[..b]);
            for k in layout.risk_range() {
                cur[k] += next[k];
            }
        }
    }
    Ok(sums)
}

/// Newton terms of the grid Cox model from the sum of all sites' grid sums.
pub fn grid_terms(summed: &[f64], grid: &TimeGrid, p: usize, ties: Ties) -> Result<NewtonTerms> {
    let layout = Layout::new(p);
    let blocks = check_sums(summed, grid, p)?;
    let mut acc = TermsAccumulator::new(p);
    let mut risk = WeightedSums::new(p);
    let mut events = TiedEvents::new(p);
    for block in blocks {
        if block[0] > 0.5 {
            layout.read(block, &mut risk, &mut events);
            acc.add_time(&risk, &events, ties, 0.0);
        }
    }
    Ok(acc.finish(p))
}

/// Breslow baseline hazard per stratum from summed grid sums evaluated at the fitted
/// coefficients; it refers to the data's public reference point `reference`.
pub fn grid_baseline(
    summed: &[f64],
    grid: &TimeGrid,
    p: usize,
    reference: &[f64],
) -> Result<Vec<BaselineHazard>> {
    let layout = Layout::new(p);
    let blocks: Vec<&[f64]> = check_sums(summed, grid, p)?.collect();
    let mut out = Vec::new();
    for (stratum, chunk) in blocks.chunks(grid.len()).enumerate() {
        let (mut times, mut counts, mut hazard) = (Vec::new(), Vec::new(), Vec::new());
        for (g, block) in chunk.iter().enumerate() {
            if block[0] > 0.5 {
                times.push(grid.points()[g]);
                counts.push(block[0]);
                hazard.push(block[0] / block[layout.risk0]);
            }
        }
        out.push(BaselineHazard::from_increments(
            stratum,
            times,
            counts,
            hazard,
            reference.to_vec(),
        ));
    }
    Ok(out)
}

fn check_sums<'a>(
    summed: &'a [f64],
    grid: &TimeGrid,
    p: usize,
) -> Result<std::slice::ChunksExact<'a, f64>> {
    let per_stratum = grid.len() * grid_block_len(p);
    if summed.is_empty() || !summed.len().is_multiple_of(per_stratum) {
        return Err(StatsError::BadSums(format!(
            "grid sums must hold a multiple of {per_stratum} values ({} grid points x {} per point for {p} covariates), got {}",
            grid.len(),
            grid_block_len(p),
            summed.len()
        )));
    }
    Ok(summed.chunks_exact(grid_block_len(p)))
}

/// Offsets inside one block.
struct Layout {
    p: usize,
    q: usize,
    event_x: usize,
    event0: usize,
    risk0: usize,
}

impl Layout {
    fn new(p: usize) -> Self {
        let q = packed_len(p);
        let event0 = 2 + p;
        Layout {
            p,
            q,
            event_x: 2,
            event0,
            risk0: event0 + 1 + p + q,
        }
    }

    fn risk_range(&self) -> std::ops::Range<usize> {
        self.risk0..self.risk0 + 1 + self.p + self.q
    }

    fn add_weighted(&self, block: &mut [f64], at: usize, w: f64, x: &[f64]) {
        block[at] += w;
        for (a, &v) in block[at + 1..at + 1 + self.p].iter_mut().zip(x) {
            *a += w * v;
        }
        add_outer(&mut block[at + 1 + self.p..at + 1 + self.p + self.q], x, w);
    }

    fn add_risk(&self, block: &mut [f64], w: f64, x: &[f64], sign: f64) {
        self.add_weighted(block, self.risk0, sign * w, x);
    }

    fn add_event(&self, block: &mut [f64], w: f64, x: &[f64], eta: f64) {
        block[0] += 1.0;
        block[1] += eta;
        for (a, &v) in block[self.event_x..self.event_x + self.p].iter_mut().zip(x) {
            *a += v;
        }
        self.add_weighted(block, self.event0, w, x);
    }

    fn read_weighted(&self, block: &[f64], at: usize, out: &mut WeightedSums) {
        out.s0 = block[at];
        out.s1.copy_from_slice(&block[at + 1..at + 1 + self.p]);
        out.s2
            .copy_from_slice(&block[at + 1 + self.p..at + 1 + self.p + self.q]);
    }

    fn read(&self, block: &[f64], risk: &mut WeightedSums, events: &mut TiedEvents) {
        events.d = block[0];
        events.eta = block[1];
        events
            .x
            .copy_from_slice(&block[self.event_x..self.event_x + self.p]);
        self.read_weighted(block, self.event0, &mut events.weighted);
        self.read_weighted(block, self.risk0, risk);
    }
}
