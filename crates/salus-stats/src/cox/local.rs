//! Local Cox terms: one reverse-time sweep over the risk sets of each stratum.
//!
//! Rows are visited in decreasing stop time; a row joins the risk-set sums at its
//! stop time and (counting-process data) leaves them once the sweep passes its start
//! time, so every iteration costs `O(n p^2)` after one sort. Covariates are centred
//! per stratum and `exp(x b)` is scaled by the stratum's largest linear predictor;
//! both leave the terms unchanged and keep the sums well-conditioned.

use crate::cox::Ties;
use crate::cox::data::CoxData;
use crate::error::{Result, StatsError};
use crate::linalg::{add_outer, packed_len, unpack};
use crate::newton::NewtonTerms;

/// Sums of `w`, `w x` and `w x x'` (packed) over a set of rows.
#[derive(Clone)]
pub(crate) struct WeightedSums {
    pub(crate) s0: f64,
    pub(crate) s1: Vec<f64>,
    pub(crate) s2: Vec<f64>,
}

impl WeightedSums {
    pub(crate) fn new(p: usize) -> Self {
        WeightedSums {
            s0: 0.0,
            s1: vec![0.0; p],
            s2: vec![0.0; packed_len(p)],
        }
    }

    pub(crate) fn clear(&mut self) {
        self.s0 = 0.0;
        self.s1.iter_mut().for_each(|v| *v = 0.0);
        self.s2.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Adds (`sign = 1`) or removes (`sign = -1`) a row with weight `w`.
    #[inline]
    pub(crate) fn update(&mut self, w: f64, x: &[f64], sign: f64) {
        let ws = sign * w;
        self.s0 += ws;
        for (a, &v) in self.s1.iter_mut().zip(x) {
            *a += ws * v;
        }
        add_outer(&mut self.s2, x, ws);
    }
}

/// The events tied at one time: count, sums over them, and `sum(x b)`.
pub(crate) struct TiedEvents {
    pub(crate) d: f64,
    pub(crate) eta: f64,
    pub(crate) x: Vec<f64>,
    pub(crate) weighted: WeightedSums,
}

impl TiedEvents {
    pub(crate) fn new(p: usize) -> Self {
        TiedEvents {
            d: 0.0,
            eta: 0.0,
            x: vec![0.0; p],
            weighted: WeightedSums::new(p),
        }
    }

    fn clear(&mut self) {
        self.d = 0.0;
        self.eta = 0.0;
        self.x.iter_mut().for_each(|v| *v = 0.0);
        self.weighted.clear();
    }

    fn add(&mut self, w: f64, x: &[f64], eta: f64) {
        self.d += 1.0;
        self.eta += eta;
        for (a, &v) in self.x.iter_mut().zip(x) {
            *a += v;
        }
        self.weighted.update(w, x, 1.0);
    }
}

/// Accumulates log-likelihood, gradient and packed information.
pub(crate) struct TermsAccumulator {
    pub(crate) loglik: f64,
    pub(crate) gradient: Vec<f64>,
    pub(crate) information: Vec<f64>,
    a1: Vec<f64>,
}

impl TermsAccumulator {
    pub(crate) fn new(p: usize) -> Self {
        TermsAccumulator {
            loglik: 0.0,
            gradient: vec![0.0; p],
            information: vec![0.0; packed_len(p)],
            a1: vec![0.0; p],
        }
    }

    /// Adds the contribution of `events` tied at one time with risk set `risk`;
    /// `log_scale` is added to every log denominator (the weights were divided by
    /// `exp(log_scale)`).
    pub(crate) fn add_time(
        &mut self,
        risk: &WeightedSums,
        events: &TiedEvents,
        ties: Ties,
        log_scale: f64,
    ) {
        let d = events.d;
        if d <= 0.0 {
            return;
        }
        self.loglik += events.eta;
        for (g, &v) in self.gradient.iter_mut().zip(&events.x) {
            *g += v;
        }
        match ties {
            Ties::Breslow => self.add_denominator(risk, None, 0.0, d, log_scale),
            Ties::Efron => {
                // Efron: the l-th of d tied deaths removes l/d of the dying rows' weight.
                let count = d.round() as usize;
                for l in 0..count {
                    let f = l as f64 / d;
                    self.add_denominator(risk, Some(&events.weighted), f, 1.0, log_scale);
                }
            }
        }
    }

    /// Adds `times * [log D, A1 / D, A2 / D - A1 A1' / D^2]` with
    /// `D = S0 - f E0`, `A1 = S1 - f E1`, `A2 = S2 - f E2`.
    fn add_denominator(
        &mut self,
        risk: &WeightedSums,
        tied: Option<&WeightedSums>,
        f: f64,
        times: f64,
        log_scale: f64,
    ) {
        let (mut d0, a1) = (risk.s0, &mut self.a1);
        a1.copy_from_slice(&risk.s1);
        if let Some(e) = tied {
            d0 -= f * e.s0;
            for (a, &v) in a1.iter_mut().zip(&e.s1) {
                *a -= f * v;
            }
        }
        self.loglik -= times * (d0.ln() + log_scale);
        let inv = 1.0 / d0;
        for (g, &a) in self.gradient.iter_mut().zip(a1.iter()) {
            *g -= times * a * inv;
        }
        let mut k = 0;
        for i in 0..a1.len() {
            for j in 0..=i {
                let mut a2 = risk.s2[k];
                if let Some(e) = tied {
                    a2 -= f * e.s2[k];
                }
                self.information[k] += times * (a2 * inv - a1[i] * a1[j] * inv * inv);
                k += 1;
            }
        }
    }

    pub(crate) fn finish(self, p: usize) -> NewtonTerms {
        NewtonTerms {
            loglik: self.loglik,
            gradient: self.gradient,
            information: unpack(&self.information, p),
        }
    }
}

pub(crate) fn check_beta(data: &CoxData, beta: &[f64]) -> Result<()> {
    if beta.len() != data.ncols() {
        return Err(StatsError::Shape {
            what: "coefficients",
            expected: data.ncols(),
            actual: beta.len(),
        });
    }
    Ok(())
}

/// Newton terms of the Cox partial likelihood at `beta`, stratified by the data's
/// strata. The terms of sites that are separate strata add up to the terms of the
/// pooled data stratified by (site, stratum).
pub fn local_terms(data: &CoxData, beta: &[f64], ties: Ties) -> Result<NewtonTerms> {
    check_beta(data, beta)?;
    let p = data.ncols();
    let mut acc = TermsAccumulator::new(p);
    let mut sweep = Sweep::new(data, beta);
    let mut risk = WeightedSums::new(p);
    let mut events = TiedEvents::new(p);
    for stratum in 0..data.n_strata() {
        sweep.run(
            stratum as u32,
            &mut risk,
            &mut events,
            |_, risk, events, log_scale| {
                acc.add_time(risk, events, ties, log_scale);
            },
        );
    }
    Ok(acc.finish(p))
}

/// The reverse-time sweep over one stratum at a time.
pub(crate) struct Sweep<'a> {
    data: &'a CoxData,
    beta: &'a [f64],
    /// Centred covariates of every row (row-major).
    xc: Vec<f64>,
    /// Linear predictor of every row (centred covariates).
    eta: Vec<f64>,
    /// Start positions of each stratum in `by_stop` / `by_start`.
    stop_bounds: Vec<usize>,
    start_bounds: Vec<usize>,
}

impl<'a> Sweep<'a> {
    pub(crate) fn new(data: &'a CoxData, beta: &'a [f64]) -> Self {
        let p = data.ncols();
        let center = &data.prepared().center;
        let mut xc = Vec::with_capacity(data.nrows() * p);
        let mut eta = Vec::with_capacity(data.nrows());
        for i in 0..data.nrows() {
            let s = data.strata()[i] as usize;
            let mut e = 0.0;
            for (j, &v) in data.row(i).iter().enumerate() {
                let c = v - center[s * p + j];
                xc.push(c);
                e += c * beta[j];
            }
            eta.push(e);
        }
        let prepared = data.prepared();
        let stop_bounds = bounds(&prepared.by_stop, data.strata(), data.n_strata());
        let start_bounds = bounds(&prepared.by_start, data.strata(), data.n_strata());
        Sweep {
            data,
            beta,
            xc,
            eta,
            stop_bounds,
            start_bounds,
        }
    }

    pub(crate) fn beta(&self) -> &[f64] {
        self.beta
    }

    /// Calls `at_event(time, risk, events, log_scale)` at each distinct event time of the
    /// stratum, in decreasing time order, with the risk set and tied events there.
    pub(crate) fn run(
        &mut self,
        stratum: u32,
        risk: &mut WeightedSums,
        events: &mut TiedEvents,
        mut at_event: impl FnMut(f64, &WeightedSums, &TiedEvents, f64),
    ) {
        let p = self.data.ncols();
        let s = stratum as usize;
        let prepared = self.data.prepared();
        let rows = &prepared.by_stop[self.stop_bounds[s]..self.stop_bounds[s + 1]];
        let leaving = if prepared.by_start.is_empty() {
            &[][..]
        } else {
            &prepared.by_start[self.start_bounds[s]..self.start_bounds[s + 1]]
        };
        // Scale weights by the largest linear predictor: exp never overflows.
        let log_scale = rows
            .iter()
            .map(|&i| self.eta[i])
            .fold(f64::NEG_INFINITY, f64::max);
        let (stop, event, start) = (self.data.stop(), self.data.event(), self.data.start());
        risk.clear();
        let (mut i, mut k) = (0, 0);
        while i < rows.len() {
            let t = stop[rows[i]];
            if let Some(start) = start {
                while k < leaving.len() && start[leaving[k]] >= t {
                    let r = leaving[k];
                    risk.update(
                        (self.eta[r] - log_scale).exp(),
                        &self.xc[r * p..(r + 1) * p],
                        -1.0,
                    );
                    k += 1;
                }
            }
            events.clear();
            while i < rows.len() && stop[rows[i]] == t {
                let r = rows[i];
                let w = (self.eta[r] - log_scale).exp();
                let x = &self.xc[r * p..(r + 1) * p];
                risk.update(w, x, 1.0);
                if event[r] {
                    events.add(w, x, self.eta[r]);
                }
                i += 1;
            }
            if events.d > 0.0 {
                at_event(t, risk, events, log_scale);
            }
        }
    }
}

/// `bounds[s]..bounds[s + 1]` is the range of stratum `s` in an order sorted by stratum.
fn bounds(order: &[usize], strata: &[u32], n_strata: usize) -> Vec<usize> {
    let mut bounds = vec![0; n_strata + 1];
    for &i in order {
        bounds[strata[i] as usize + 1] += 1;
    }
    for s in 0..n_strata {
        bounds[s + 1] += bounds[s];
    }
    bounds
}
