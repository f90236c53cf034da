//! Import of FHIR R4 `Consent` resources (JSON values in, records out).
//!
//! # Mapping
//!
//! - Only `status: active` consents are imported; others are reported and skipped.
//! - `patient.reference` `Patient/<id>` gives the pseudonym `<id>`; `dateTime`
//!   gives `recorded_at`; the record id is `Consent/<id>`, the source `fhir:Consent/<id>`.
//! - Root decision: `provision.type` if present; otherwise the opposite of the
//!   nested provisions' type when they all state the same one (they are
//!   exceptions to it); otherwise `policyRule` (`OPTIN`/`OPTINR` permit,
//!   `OPTOUT`/`OPTOUTE` deny). Nested provisions without a type take the
//!   opposite of their parent.
//! - `provision.purpose` (v3 ActReason) maps to [`Purpose`] (TREAT, ETREAT,
//!   CAREMGT... treatment; HRESCH, CLINTRCH, BIORCH... research; PUBHLTH public
//!   health; HMARKT commercial; HOPERAT, HPAYMT... operations); a coding with
//!   system [`STUDY_SYSTEM`] names a study; other codes are kept as `other:<code>`.
//!   A root without purposes takes one from `scope` (`research`, `treatment`).
//! - `provision.class` (FHIR resource types) maps to [`DataCategory`]
//!   (Patient: demographics, Condition: diagnoses, Observation: labs, ...);
//!   codes of system [`CATEGORY_SYSTEM`] name a category directly.
//! - `provision.period` is the validity period (a partial date covers its whole span).
//! - `actor`, `securityLabel`, `data`, `code` and `dataPeriod` cannot be checked
//!   by Salus: they are kept as `conditions`, which makes a permit grant nothing
//!   and a deny apply to every use (deny when in doubt). `action` is ignored:
//!   every Salus use is a computation on the data.

use serde_json::Value;

use crate::error::ConsentError;
use crate::model::{ConsentRecord, DataCategory, Decision, Period, Provision, Purpose};
use crate::time::parse_interval;

/// Coding system for a named study as purpose of use (code = study id).
pub const STUDY_SYSTEM: &str = "urn:salus:study";
/// Coding system for Salus data categories (code = category name).
pub const CATEGORY_SYSTEM: &str = "urn:salus:category";

/// Result of importing resources: good records plus one diagnostic per problem.
#[derive(Debug, Clone, Default)]
pub struct FhirImport {
    /// Records ready for the registry.
    pub records: Vec<ConsentRecord>,
    /// Skipped resources and approximations, one line each (no patient data).
    pub diagnostics: Vec<String>,
}

/// Imports a `Consent` resource, a `Bundle` of them, or an array of either.
pub fn import_fhir(value: &Value) -> FhirImport {
    let mut out = FhirImport::default();
    collect(value, &mut out);
    out
}

fn collect(value: &Value, out: &mut FhirImport) {
    match value.get("resourceType").and_then(Value::as_str) {
        Some("Consent") => match import_consent(value) {
            Ok((record, notes)) => {
                out.records.push(record);
                out.diagnostics.extend(notes);
            }
            Err(e) => out.diagnostics.push(e.to_string()),
        },
        Some("Bundle") => {
            for entry in value
                .get("entry")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(resource) = entry.get("resource") {
                    collect(resource, out);
                }
            }
        }
        Some(_) => {}
        None => match value.as_array() {
            Some(items) => items.iter().for_each(|v| collect(v, out)),
            None => out
                .diagnostics
                .push("input is not a FHIR resource (no resourceType)".into()),
        },
    }
}

/// Imports one `Consent` resource; also returns notes on approximations.
pub fn import_consent(resource: &Value) -> Result<(ConsentRecord, Vec<String>), ConsentError> {
    let id = resource
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("(no id)")
        .to_owned();
    let err = |reason: &str| ConsentError::Fhir {
        resource: format!("Consent/{id}"),
        reason: reason.to_owned(),
    };
    if resource.get("resourceType").and_then(Value::as_str) != Some("Consent") {
        return Err(err("not a Consent resource"));
    }
    match resource.get("status").and_then(Value::as_str) {
        Some("active") => {}
        Some(other) => {
            return Err(err(&format!(
                "status is {other:?}, only active consents are imported"
            )));
        }
        None => return Err(err("no status")),
    }
    let patient = resource
        .pointer("/patient/reference")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("Patient/"))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| err("no patient reference of the form Patient/<id>"))?;
    let recorded = resource
        .get("dateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| err("no dateTime (when the consent was recorded)"))?;
    let recorded_at = parse_interval(recorded).map_err(|e| err(&e.to_string()))?.0;
    let mut notes = Vec::new();
    let root = resource.get("provision").cloned().unwrap_or(Value::Null);
    let base = root_decision(resource, &root).ok_or_else(|| {
        err("cannot tell permit from deny: no provision.type, no typed exceptions, no OPTIN/OPTOUT policyRule")
    })?;
    let mut provision =
        map_provision(&root, base, &format!("Consent/{id}"), &mut notes).map_err(|r| err(&r))?;
    if provision.purposes.is_empty() {
        provision.purposes = scope_purposes(resource);
    }
    let record = ConsentRecord::new(
        &format!("Consent/{id}"),
        patient,
        recorded_at,
        &format!("fhir:Consent/{id}"),
        provision,
    );
    record.validate().map_err(|e| err(&e.to_string()))?;
    Ok((record, notes))
}

fn decision_of(code: Option<&str>) -> Option<Decision> {
    match code {
        Some("permit") => Some(Decision::Permit),
        Some("deny") => Some(Decision::Deny),
        _ => None,
    }
}

fn root_decision(resource: &Value, root: &Value) -> Option<Decision> {
    if let Some(d) = decision_of(root.get("type").and_then(Value::as_str)) {
        return Some(d);
    }
    let nested: Vec<Option<Decision>> = root
        .get("provision")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| decision_of(p.get("type").and_then(Value::as_str)))
        .collect();
    if let Some(Some(first)) = nested.first()
        && nested.iter().all(|d| *d == Some(*first))
    {
        return Some(first.opposite());
    }
    codes(resource.get("policyRule")).find_map(|(_, code)| match code {
        "OPTIN" | "OPTINR" => Some(Decision::Permit),
        "OPTOUT" | "OPTOUTE" => Some(Decision::Deny),
        _ => None,
    })
}

/// (system, code) pairs of a CodeableConcept, a Coding, or an array of either.
fn codes(value: Option<&Value>) -> Box<dyn Iterator<Item = (&str, &str)> + '_> {
    match value {
        None => Box::new(std::iter::empty()),
        Some(Value::Array(items)) => Box::new(items.iter().flat_map(|v| codes(Some(v)))),
        Some(v) => match v.get("coding") {
            Some(coding) => codes(Some(coding)),
            None => Box::new(
                v.get("code")
                    .and_then(Value::as_str)
                    .map(|code| (v.get("system").and_then(Value::as_str).unwrap_or(""), code))
                    .into_iter(),
            ),
        },
    }
}

fn scope_purposes(resource: &Value) -> Vec<Purpose> {
    codes(resource.get("scope"))
        .filter_map(|(_, code)| match code {
            "research" => Some(Purpose::Research),
            "treatment" => Some(Purpose::Treatment),
            _ => None,
        })
        .collect()
}

fn map_provision(
    p: &Value,
    decision: Decision,
    context: &str,
    notes: &mut Vec<String>,
) -> Result<Provision, String> {
    let mut period = Period::ALWAYS;
    if let Some(start) = p.pointer("/period/start").and_then(Value::as_str) {
        period.start = Some(parse_interval(start).map_err(|e| e.to_string())?.0);
    }
    if let Some(end) = p.pointer("/period/end").and_then(Value::as_str) {
        period.end = Some(parse_interval(end).map_err(|e| e.to_string())?.1);
    }
    let conditions: Vec<String> = ["actor", "securityLabel", "data", "code", "dataPeriod"]
        .into_iter()
        .filter(|field| p.get(*field).is_some_and(|v| !v.is_null()))
        .map(str::to_owned)
        .collect();
    if !conditions.is_empty() {
        let effect = match decision {
            Decision::Permit => "this permit grants nothing to federated analysis",
            Decision::Deny => "this deny is applied to every use",
        };
        let note = format!(
            "{context}: provision limited by {} which Salus cannot check; {effect}",
            conditions.join(", ")
        );
        // Sibling exceptions often repeat the same limitation: report it once.
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    let mut exceptions = Vec::new();
    for child in p
        .get("provision")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let d =
            decision_of(child.get("type").and_then(Value::as_str)).unwrap_or(decision.opposite());
        exceptions.push(map_provision(child, d, context, notes)?);
    }
    Ok(Provision {
        decision,
        purposes: codes(p.get("purpose"))
            .map(|(s, c)| purpose_of(s, c))
            .collect(),
        categories: codes(p.get("class"))
            .map(|(s, c)| category_of(s, c))
            .collect(),
        period,
        conditions,
        exceptions,
    })
}

fn purpose_of(system: &str, code: &str) -> Purpose {
    if system == STUDY_SYSTEM {
        return Purpose::Study(code.to_owned());
    }
    match code {
        "TREAT" | "ETREAT" | "CAREMGT" | "BTG" | "ERTREAT" => Purpose::Treatment,
        "HRESCH" | "CLINTRCH" | "BIORCH" | "RESCH" => Purpose::Research,
        "PUBHLTH" | "POPHLTH" | "DISASTER" | "THREAT" | "HPRGRP" => Purpose::PublicHealth,
        "HMARKT" => Purpose::Commercial,
        "HOPERAT" | "HPAYMT" | "HQUALIMP" | "HSYSADMIN" | "HDM" | "HACCRED" | "HCOMPL"
        | "HLEGAL" => Purpose::Operations,
        other => other
            .parse()
            .unwrap_or_else(|_| Purpose::Other(other.to_owned())),
    }
}

fn category_of(system: &str, code: &str) -> DataCategory {
    if system == CATEGORY_SYSTEM
        && let Ok(c) = code.parse()
    {
        return c;
    }
    match code {
        "Patient" | "RelatedPerson" => DataCategory::Demographics,
        "Condition" | "AllergyIntolerance" | "FamilyMemberHistory" => DataCategory::Diagnoses,
        "Observation" | "DiagnosticReport" | "Specimen" => DataCategory::Labs,
        "MedicationRequest"
        | "MedicationStatement"
        | "MedicationAdministration"
        | "MedicationDispense"
        | "Medication"
        | "Immunization" => DataCategory::Medications,
        "Procedure" => DataCategory::Procedures,
        "Encounter" | "EpisodeOfCare" => DataCategory::Encounters,
        "MolecularSequence" => DataCategory::Genomics,
        "ImagingStudy" | "Media" => DataCategory::Imaging,
        other => DataCategory::Other(other.to_owned()),
    }
}
