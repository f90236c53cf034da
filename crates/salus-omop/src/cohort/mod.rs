//! The cohort builder: index event, washout, outcome and end of follow-up to a
//! time-to-event table (`patient_id, index_date, end_date, time, event, age, sex`)
//! ready for Kaplan-Meier and Cox.
//!
//! # Rules (all dates are calendar days; time is in days)
//! 1. **Index date**: the earliest start date of any index event (condition start,
//!    drug exposure start, procedure date) whose concept is in the index set, the set
//!    being expanded through CONCEPT_ANCESTOR when `include_descendants` is true and
//!    the table was given. Only the first occurrence in the whole record counts.
//! 2. **Observation**: the index date must lie inside an observation period
//!    (`start <= index <= end`); that period is the one used below.
//! 3. **Washout**: `index - period start >= prior_observation_days`.
//! 4. **Age** at index, in whole years (exact when the birth date is complete, else
//!    the difference of years), must lie in `[min_age, max_age]` when given.
//! 5. **Prior outcome**: with `exclude_prior` (default), persons with an outcome
//!    event on or before the index date are dropped. Without it, such events are
//!    ignored. Either way only outcomes strictly after the index date can be events.
//! 6. **End of follow-up** = the earliest of: the observation period's end,
//!    `index + max_days`, and the date of death (when death is not itself the outcome).
//!    Persons whose follow-up ends on the index date (no time at risk) are dropped.
//! 7. **Event**: the first outcome strictly after the index date and no later than
//!    the end of follow-up; `event = 1`, `time = outcome - index`. Otherwise
//!    `event = 0`, `time = end - index` (censored). So `time >= 1` always.
//!
//! These are the conventions of OHDSI's CohortMethod with a risk window starting
//! the day after index and ending at the end of observation.

mod build;
mod spec;

pub use build::{AttritionStep, Cohort, CohortRow, build_cohort};
pub use spec::{CohortSpec, ConceptSet, FollowUpSpec, IndexSpec, OutcomeSpec, WashoutSpec};
