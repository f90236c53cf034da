//! Patient consent for Salus nodes: records shaped after FHIR Consent (patient
//! pseudonym, permit or deny, purposes of use, data categories, validity period,
//! nested exceptions), importable from FHIR R4 `Consent` resources; a
//! [`Registry`] that evaluates the effective decision at a time and filters the
//! rows of an analysis at compute time; and signed, chained consent receipts
//! whose hashes go into the audit log. Pure: no I/O, no clock, no RNG.
//!
//! The precedence rules are documented in [`registry`]; the FHIR mapping in [`fhir`].
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use salus_consent::*;
//!
//! # fn main() -> Result<(), ConsentError> {
//! // Opt-in node: no record means no use.
//! let mut registry = Registry::new(ConsentPolicy::opt_in());
//! let mut issuer = ReceiptIssuer::new("hospital-a", SigningKey::from_bytes(&[3; 32]), ChainState::default());
//!
//! // Patient p1 permits research on everything except genomics.
//! let permit = ConsentRecord::new("c-1", "p1", 1_000, "patient-api", Provision {
//!     exceptions: vec![Provision::all(Decision::Deny).for_categories(vec![DataCategory::Genomics])],
//!     ..Provision::all(Decision::Permit).for_purposes(vec![Purpose::Research])
//! });
//! registry.add(permit.clone())?;
//! let receipt = issuer.issue(&permit, 1_000)?;      // give to the patient
//! let receipt_hash = verify_receipt(&receipt, &SigningKey::from_bytes(&[3; 32]).verifying_key())?; // log this
//!
//! let study = Purpose::Study("cardio-7".into());
//! let out = registry.filter(&["p1", "p2"], &study, &[DataCategory::Labs], 2_000);
//! assert_eq!((out.allowed(), out.excluded()), (&[0][..], 1));
//! assert!(!registry.is_permitted("p1", &study, &[DataCategory::Genomics], 2_000));
//!
//! // Withdrawal applies to every later evaluation, not to earlier ones.
//! let withdrawal = registry.withdraw("c-2", "p1", vec![Purpose::Research], 3_000, "patient-api")?;
//! issuer.issue(&withdrawal, 3_000)?;
//! assert!(!registry.is_permitted("p1", &study, &[DataCategory::Labs], 3_000));
//! assert!(registry.is_permitted("p1", &study, &[DataCategory::Labs], 2_999));
//! # let _ = receipt_hash; Ok(()) }
//! ```

pub mod error;
pub mod fhir;
pub mod model;
pub mod receipt;
pub mod registry;
pub mod time;

pub use error::ConsentError;
pub use fhir::{FhirImport, import_consent, import_fhir};
pub use model::{ConsentRecord, DataCategory, Decision, Period, Provision, Purpose};
pub use receipt::{
    ChainState, ConsentReceipt, RECEIPT_FORMAT, ReceiptBody, ReceiptIssuer, public_key_from_hex,
    signing_key_from_hex, verify_receipt, verify_receipt_chain,
};
pub use registry::{ConsentPolicy, DefaultRule, Evaluation, FilterOutcome, Registry};
