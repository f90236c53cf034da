//! The one error type of `salus-dp`: every message says what was wrong and what to do.

/// Errors from constructing samplers, converting privacy parameters or planning noise.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DpError {
    /// A parameter was NaN, infinite, negative or zero where a positive value is required.
    #[error("{name} must be a finite number {requirement}; got {value}")]
    InvalidParameter {
        /// Which parameter.
        name: &'static str,
        /// What it must satisfy, e.g. "> 0".
        requirement: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// The noise scale is so large that samples would not fit the 64-bit integers we add them to.
    #[error(
        "noise scale {value} is too large for 64-bit samples (limit {limit}); \
         aggregate at a coarser fixed-point scale so the sensitivity is smaller"
    )]
    ScaleTooLarge {
        /// The rejected scale (sigma, or Skellam variance).
        value: f64,
        /// The largest accepted value.
        limit: f64,
    },
    /// A distributed-noise plan was asked for with no honest shares.
    #[error("a distributed noise plan needs at least one honest share (threshold >= 1); got {0}")]
    NoShares(usize),
    /// A privacy target cannot be met by the requested mechanism.
    #[error("cannot reach rho = {rho} with {mechanism}: {reason}")]
    Unreachable {
        /// The requested zCDP rho.
        rho: f64,
        /// The mechanism.
        mechanism: &'static str,
        /// Why.
        reason: &'static str,
    },
}

/// Checks that `value` is finite and > 0.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64, DpError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(DpError::InvalidParameter {
            name,
            requirement: "> 0",
            value,
        })
    }
}

/// Checks that `value` is finite and >= 0.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<f64, DpError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(DpError::InvalidParameter {
            name,
            requirement: ">= 0",
            value,
        })
    }
}

/// Checks that `value` lies strictly between 0 and 1.
pub(crate) fn probability(name: &'static str, value: f64) -> Result<f64, DpError> {
    if value.is_finite() && value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(DpError::InvalidParameter {
            name,
            requirement: "in (0, 1)",
            value,
        })
    }
}
