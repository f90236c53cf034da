//! OMOP CDM v5.3/5.4: import of the CSV tables, analysis tables, a cohort builder
//! with time-to-event endpoints, and FHIR R4 → OMOP conversion.
//!
//! [`read_cdm`] reads named CSV readers (PERSON required, the rest optional) into a
//! typed [`Cdm`], checking required columns and value types and reporting every bad
//! cell as `file:line:column`. [`analysis_tables`] turns it into `patients`,
//! `conditions`, `drugs`, `measurements`, `observations`, `procedures`, `visits`,
//! `deaths` and `observation_periods`. [`build_cohort`] applies a [`CohortSpec`]
//! (index event, washout, outcome, follow-up end; rules in [`cohort`]) and yields
//! `patient_id, index_date, end_date, time, event, age, sex`.
//!
//! ```
//! use salus_omop::{CohortSpec, CsvInput, analysis_tables, build_cohort, read_cdm};
//!
//! let person = "person_id,gender_concept_id,year_of_birth,race_concept_id,ethnicity_concept_id\n\
//!               1,8507,1950,0,0\n2,8532,1960,0,0\n";
//! let period = "observation_period_id,person_id,observation_period_start_date,observation_period_end_date,period_type_concept_id\n\
//!               1,1,2000-01-01,2010-12-31,0\n2,2,2000-01-01,2010-12-31,0\n";
//! let drugs = "drug_exposure_id,person_id,drug_concept_id,drug_exposure_start_date,drug_exposure_end_date,drug_type_concept_id\n\
//!              1,1,1118084,2005-01-01,2005-01-31,0\n2,2,1118084,2006-01-01,2006-01-31,0\n";
//! let conditions = "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_type_concept_id\n\
//!                   1,1,192671,2005-03-02,0\n";
//! let input = |table: &str, text: &'static str| CsvInput {
//!     table: table.into(), name: format!("{table}.csv"), reader: text.as_bytes(),
//! };
//! let import = read_cdm([
//!     input("person", person), input("observation_period", period),
//!     input("drug_exposure", drugs), input("condition_occurrence", conditions),
//! ]).unwrap();
//! assert_eq!(import.counts["person"], 2);
//! let tables = analysis_tables(&import.cdm).unwrap();
//! assert_eq!(tables["patients"].text("sex").unwrap()[1].as_deref(), Some("female"));
//!
//! let spec = CohortSpec::from_toml(
//!     "[index]\ndrug_concept_ids = [1118084]\n[washout]\nprior_observation_days = 365\n\
//!      [outcome]\ncondition_concept_ids = [192671]\n",
//! ).unwrap();
//! let cohort = build_cohort(&import.cdm, &spec);
//! assert_eq!(cohort.rows.len(), 2);
//! assert_eq!((cohort.rows[0].time, cohort.rows[0].event), (60, true)); // 2005-01-01 → 2005-03-02
//! assert_eq!((cohort.rows[1].time, cohort.rows[1].event), (1825, false)); // censored 2010-12-31
//! ```

mod cdm;
pub mod cohort;
mod csvread;
mod date;
mod diagnostic;
mod error;
mod export;
pub mod fhir;
mod import;
mod tables;
mod vocab;

pub use cdm::{Death, DrugExposure, Event, Measurement, ObservationPeriod, Person};
pub use cohort::{AttritionStep, Cohort, CohortRow, CohortSpec, build_cohort};
pub use date::Date;
pub use diagnostic::{Diagnostic, Severity};
pub use error::OmopError;
pub use export::cdm_tables;
pub use fhir::{FhirConversion, fhir_to_omop};
pub use import::{Cdm, CdmImport, CsvInput, TABLES, read_cdm, read_vocabulary};
pub use tables::{analysis_tables, patients, sex_of};
pub use vocab::{Concept, ConceptAncestor, ConceptRelationship, Vocabulary};
