//! The ready-made views (`--views builtin`): the analysis tables a node needs,
//! written as ordinary SQL on FHIR v2 ViewDefinitions (`src/views/*.json`, read
//! them for the exact columns).
//!
//! | table | resource | key columns |
//! | --- | --- | --- |
//! | `patients` | Patient | `patient_id`, `birth_date`, `sex`, `deceased`, `deceased_date`, `age` (with a reference date), race, ethnicity |
//! | `conditions` | Condition | `patient_id`, `code`, `system`, `display`, `onset`, `abatement`, `clinical_status` |
//! | `observations` | Observation | `patient_id`, `code`, `loinc`, `value`, `unit`, `effective`, components flattened (`panel_code`) |
//! | `encounters` | Encounter | `patient_id`, `class`, `type_code`, `start`, `end` |
//! | `medications` | MedicationRequest | `patient_id`, `code`, `display`, `authored_on`, `status` |
//! | `procedures` | Procedure | `patient_id`, `code`, `performed_start`, `performed_end` |
//! | `immunizations` | Immunization | `patient_id`, `vaccine_code`, `occurrence` |
//! | `consents` | Consent | `patient_id`, `status`, `scope`, `category`, provision period |
//!
//! `patients` keeps one row per distinct `patient_id` (the first seen).

use serde_json::{Value, json};

use crate::error::{FhirError, Result};
use crate::fhirpath::Temporal;
use crate::view::ViewDefinition;

/// Names of the built-in views, in output order.
pub const BUILTIN_VIEWS: [&str; 8] = [
    "patients",
    "conditions",
    "observations",
    "encounters",
    "medications",
    "procedures",
    "immunizations",
    "consents",
];

fn source(name: &str) -> Option<&'static str> {
    Some(match name {
        "patients" => include_str!("views/patients.json"),
        "conditions" => include_str!("views/conditions.json"),
        "observations" => include_str!("views/observations.json"),
        "encounters" => include_str!("views/encounters.json"),
        "medications" => include_str!("views/medications.json"),
        "procedures" => include_str!("views/procedures.json"),
        "immunizations" => include_str!("views/immunizations.json"),
        "consents" => include_str!("views/consents.json"),
        _ => return None,
    })
}

/// Options of the built-in views.
#[derive(Debug, Clone, Default)]
pub struct BuiltinOptions {
    /// Reference date (`YYYY-MM-DD`) for the `age` column of `patients`: age in
    /// completed years at this date, or at death when the patient died before.
    /// Without it there is no `age` column.
    pub reference_date: Option<String>,
}

/// The ViewDefinition JSON of a built-in view.
pub fn builtin_view_json(name: &str, options: &BuiltinOptions) -> Result<Value> {
    let text = source(name).ok_or_else(|| {
        FhirError::view(
            "(builtin)",
            format!(
                "no built-in view `{name}`; choose from {}",
                BUILTIN_VIEWS.join(", ")
            ),
        )
    })?;
    let mut json: Value =
        serde_json::from_str(text).map_err(|e| FhirError::view(name, e.to_string()))?;
    if name == "patients"
        && let Some(date) = &options.reference_date
    {
        add_age(&mut json, date)?;
    }
    Ok(json)
}

/// All built-in views.
pub fn builtin_views(options: &BuiltinOptions) -> Result<Vec<ViewDefinition>> {
    BUILTIN_VIEWS
        .iter()
        .map(|n| builtin_view(n, options))
        .collect()
}

/// One built-in view by name.
pub fn builtin_view(name: &str, options: &BuiltinOptions) -> Result<ViewDefinition> {
    let view = ViewDefinition::from_json(&builtin_view_json(name, options)?)?;
    if name == "patients" {
        view.with_unique_key("patient_id")
    } else {
        Ok(view)
    }
}

/// Years completed between the birth date and `at` (a dateTime or date path).
fn years_between(at_year: &str, at_month_day: &str) -> String {
    format!(
        "{at_year} - birthDate.toString().substring(0, 4).toInteger() \
         - iif(birthDate.toString().substring(5, 5) > {at_month_day}, 1, 0)"
    )
}

fn add_age(view: &mut Value, date: &str) -> Result<()> {
    let parsed = Temporal::parse_date(date)
        .filter(|t| t.precision == crate::fhirpath::Precision::Day)
        .ok_or_else(|| FhirError::view("reference_date", "must be a full date YYYY-MM-DD"))?;
    let death = "deceased.ofType(dateTime).toString()";
    let at_death = years_between(
        &format!("{death}.substring(0, 4).toInteger()"),
        &format!("{death}.substring(5, 5)"),
    );
    let at_reference = years_between("%reference_year", "%reference_month_day");
    let path = format!(
        "iif(birthDate.exists(), iif(deceased.ofType(dateTime).exists(), {at_death}, {at_reference}))"
    );
    view["constant"] = json!([
        {"name": "reference_year", "valueInteger": parsed.year},
        {"name": "reference_month_day", "valueString": &date[5..10]},
    ]);
    let columns = view["select"][0]["column"]
        .as_array_mut()
        .ok_or_else(|| FhirError::view("patients", "built-in view has no columns"))?;
    columns.insert(3, json!({"name": "age", "path": path, "type": "integer"}));
    Ok(())
}
