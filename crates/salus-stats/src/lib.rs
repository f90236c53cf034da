//! Exact survival and regression statistics, each split into *local sufficient
//! statistics* and a *combine* step, so that a federated fit over many sites is the
//! pooled fit.
//!
//! * [`cox`]: Cox proportional hazards (Efron/Breslow ties, strata, `(start, stop]`
//!   rows for time-dependent covariates and left truncation, baseline hazard), fitted
//!   locally, stratified by site ([`cox::local_terms`]) or with a pooled baseline on a
//!   public [`TimeGrid`] ([`cox::grid_local_sums`], [`cox::grid_terms`]).
//! * [`km`] and [`logrank`]: Kaplan-Meier with Greenwood intervals and the (stratified)
//!   log-rank test, locally and from summed grid counts.
//! * [`glm`] and [`linreg`]: logistic and Gaussian GLMs by Newton-Raphson, linear
//!   regression by the normal equations from summed cross-products.
//! * [`Design`]: model matrices from a [`salus_table::Table`] (one-hot categorical
//!   covariates with public level lists, listwise deletion with a dropped count).
//! * [`NewtonDriver`]: the sans-I/O Newton-Raphson loop shared by local and federated
//!   fits; [`NewtonTerms`] add up across sites and flatten for secure aggregation.
//!
//! The crate does no I/O: tables and arrays in, serialisable results out.
//!
//! ```
//! use salus_stats::cox::{self, CoxOptions, CoxSpec};
//! use salus_stats::{DesignSpec, NewtonDriver, NewtonTerms, NextStep, Term, TimeGrid};
//! use salus_table::{CsvOptions, read_csv};
//!
//! let csv = "time,status,age,arm\n5,1,61,A\n8,0,55,B\n3,1,70,A\n9,1,52,B\n4,0,66,A\n\
//!            7,1,59,B\n2,1,53,A\n6,0,48,B\n10,1,50,A\n1,1,77,B\n6,1,64,B\n3,0,58,A\n";
//! let table = read_csv(csv.as_bytes(), &CsvOptions::default()).unwrap();
//! let spec = CoxSpec {
//!     time: "time".into(),
//!     event: "status".into(),
//!     design: DesignSpec::new(vec![Term::numeric("age"), Term::categorical("arm")]),
//!     ..CoxSpec::default()
//! };
//! let input = spec.read(&table).unwrap();
//! let pooled = cox::fit(&input.data, &CoxOptions::default()).unwrap();
//! assert!(pooled.converged);
//! assert_eq!(pooled.coefficients[1].name, "arm[T.B]");
//!
//! // The same rows held by two sites. On a public grid of whole days (the times are
//! // whole days, so rounding changes nothing) each site sends fixed-size sums, the
//! // hub adds them, and the federated fit is the pooled fit.
//! let grid = TimeGrid::regular(0.0, 1.0, 11).unwrap();
//! let reference = input.data.column_means(); // public, e.g. from a federated mean
//! let data = input.data.with_reference(reference).unwrap();
//! let sites = [data.take_rows(&[0, 1, 2, 3, 4, 5]), data.take_rows(&[6, 7, 8, 9, 10, 11])];
//! let mut driver = NewtonDriver::new(2, Default::default());
//! let federated = loop {
//!     let beta = driver.current_beta().to_vec();
//!     let mut summed = vec![0.0; cox::grid_sums_len(&grid, 2, 1)];
//!     for site in &sites {
//!         let sums = cox::grid_local_sums(site, &grid, &beta).unwrap();
//!         summed.iter_mut().zip(sums).for_each(|(a, b)| *a += b);
//!     }
//!     let terms: NewtonTerms = cox::grid_terms(&summed, &grid, 2, Default::default()).unwrap();
//!     match driver.observe(&terms) {
//!         NextStep::Evaluate(_) => continue,
//!         NextStep::Converged(fit) => break fit,
//!         NextStep::Failed(f) => panic!("{}", f.to_error(data.names())),
//!     }
//! };
//! for (fed, pool) in federated.beta.iter().zip(&pooled.coefficients) {
//!     assert!((fed - pool.coef).abs() <= 1e-9 * pool.coef.abs());
//! }
//! ```

pub mod columns;
pub mod cox;
mod design;
mod error;
pub mod glm;
pub mod km;
mod linalg;
pub mod linreg;
pub mod logrank;
mod newton;
pub mod summary;
mod timegrid;

pub use design::{CategoricalLevels, Design, DesignSpec, Term};
pub use error::{Result, StatsError};
pub use newton::{
    FailureReason, FitFailure, FitSummary, NewtonDriver, NewtonOptions, NewtonTerms, NextStep,
};
pub use timegrid::TimeGrid;
