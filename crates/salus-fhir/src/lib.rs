//! FHIR R4 in, tables out: reading Bundles and Bulk Data NDJSON, a FHIRPath
//! engine, and SQL on FHIR v2 ViewDefinitions that turn resources into
//! [`salus_table::Table`]s, with diagnostics that never contain patient values.
//!
//! Resources stay `serde_json::Value` (no giant generated model to compile): the
//! FHIRPath engine navigates the JSON directly, choice elements included, and the
//! R4 definitions of the resources Salus analyses (Patient, Encounter, Condition,
//! Observation, Procedure, MedicationRequest, Immunization, Consent) drive the
//! checks in [`validate`]. Unknown elements and extensions are kept (views can
//! read them) and reported as warnings; nothing in the input can crash an import.
//!
//! # API at a glance (stable; the HL7 v2 and OMOP importers build on it)
//!
//! * [`Located<T>`] `{ location: String, value: T }`: a resource with where it came
//!   from (`file.ndjson:12`, `bundle.json entry[3]`, `msg.hl7 #2`).
//! * [`Diagnostic`] `{ severity: Severity, location, message }`, serde-serializable;
//!   [`Severity`] is `error` (something skipped), `warning` (imported, but not
//!   valid R4), `info`.
//! * [`ViewDefinition::from_json`] / [`ViewDefinition::from_slice`] load and check a
//!   view; [`ViewDefinition::run`] gives [`ViewRows`] (rows of [`Cell`]s),
//!   [`ViewRows::to_table`] a table.
//! * [`builtin::builtin_views`]`(&BuiltinOptions)`: the ready-made `patients`,
//!   `conditions`, `observations`, `encounters`, `medications`, `procedures`,
//!   `immunizations`, `consents` views.
//! * [`import::import`]`(impl IntoIterator<Item = Located<Value>>, &[ViewDefinition])
//!   -> Result<ImportOutput>`; [`import::ImportOutput`] `{ resources:
//!   BTreeMap<String, u64>, tables: BTreeMap<String, Table>, diagnostics }` serializes
//!   as `{"resources":{..},"tables":{"patients":rows,..},"diagnostics":[..]}`.
//! * [`import::Importer`]: the same as a stream (`push`, `read_json`,
//!   `read_ndjson`, `take_tables` to drain rows in chunks, `finish`).
//! * [`reader::read_json`] / [`reader::read_ndjson`]: bytes or a reader in,
//!   located resources out (Bundle references by `fullUrl` resolved to `Type/id`).
//! * [`survival::survival_table`]`(&tables, &SurvivalSpec)`: `patient_id, time,
//!   event` (+ `age_at_index`, `sex`) from an index event, an outcome and a
//!   censoring date.
//! * [`fhirpath::FhirPath::compile`] / `evaluate` for FHIRPath on its own.
//!
//! # Example
//!
//! ```
//! use salus_fhir::builtin::{builtin_views, BuiltinOptions};
//! use salus_fhir::import::Importer;
//!
//! let bundle = br#"{"resourceType": "Bundle", "type": "collection", "entry": [
//!   {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1",
//!     "gender": "female", "birthDate": "1970-06-15"}},
//!   {"resource": {"resourceType": "Observation", "id": "o1", "status": "final",
//!     "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
//!     "subject": {"reference": "urn:uuid:p1"},
//!     "effectiveDateTime": "2020-01-02",
//!     "valueQuantity": {"value": 170.5, "unit": "cm"}}}
//! ]}"#;
//! let options = BuiltinOptions { reference_date: Some("2020-06-30".into()) };
//! let mut importer = Importer::new(builtin_views(&options).unwrap(), Default::default());
//! importer.read_json(bundle, "example.json");
//! let out = importer.finish().unwrap();
//! assert_eq!(out.resources["Patient"], 1);
//! let patients = &out.tables["patients"];
//! assert_eq!(patients.text("sex").unwrap()[0].as_deref(), Some("female"));
//! assert_eq!(patients.numeric("age").unwrap()[0], Some(50.0));
//! let obs = &out.tables["observations"];
//! assert_eq!(obs.text("patient_id").unwrap()[0].as_deref(), Some("p1"));
//! assert_eq!(obs.numeric("value").unwrap()[0], Some(170.5));
//! let json = serde_json::to_value(&out).unwrap();
//! assert_eq!(json["tables"]["observations"], 1);
//! ```

pub mod builtin;
pub mod diagnostic;
pub mod error;
pub mod fhirpath;
pub mod import;
pub mod reader;
pub mod resources;
pub mod survival;
pub mod validate;
pub mod view;

pub use diagnostic::{Diagnostic, Located, Severity};
pub use error::{FhirError, Result};
pub use import::{ImportOptions, ImportOutput, ImportSummary, Importer, import};
pub use view::{Cell, ColumnInfo, ViewDefinition, ViewRows};
pub mod typed;
