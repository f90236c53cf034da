//! Checks a resource against FHIR R4 for the resource types Salus analyses
//! (Patient, Encounter, Condition, Observation, Procedure, MedicationRequest,
//! Immunization, Consent): required elements, JSON types, cardinality, required
//! code sets, date formats, and elements R4 does not define. Findings are
//! warnings; the resource is still imported (views see what is there).
//! Messages name elements, never their values.

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::fhirpath::{Temporal, choice_type};
use crate::resources::{ElementDef, Kind, definition};

/// Elements every DomainResource may have.
const COMMON: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
];

/// Appends the findings about `resource` (labelled `label`) to `out`.
pub fn check_resource(resource: &Value, label: &str, out: &mut Vec<Diagnostic>) {
    let Some(obj) = resource.as_object() else {
        out.push(Diagnostic::error(label, "a resource must be a JSON object"));
        return;
    };
    let rt = obj
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    check_id(obj, label, out);
    if obj.contains_key("modifierExtension") {
        out.push(Diagnostic::warning(
            format!("{label} {rt}.modifierExtension"),
            "modifier extensions change the meaning of a resource and are not interpreted; review this resource",
        ));
    }
    let Some(elements) = definition(rt) else {
        return;
    };
    for def in elements {
        check_element(obj, rt, def, label, out);
    }
    for key in obj.keys() {
        if !is_known(key, elements) {
            out.push(Diagnostic::warning(
                format!("{label} {rt}.{key}"),
                format!("element not defined in FHIR R4 {rt}; kept, visible to views by name"),
            ));
        }
    }
}

fn check_id(obj: &Map<String, Value>, label: &str, out: &mut Vec<Diagnostic>) {
    match obj.get("id") {
        None => {}
        Some(Value::String(id))
            if (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') => {}
        Some(_) => out.push(Diagnostic::warning(
            format!("{label} id"),
            "id must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'",
        )),
    }
}

fn is_known(key: &str, elements: &[ElementDef]) -> bool {
    let name = key.strip_prefix('_').unwrap_or(key);
    COMMON.contains(&name)
        || elements.iter().any(|d| {
            if d.choices.is_empty() {
                d.name == name
            } else {
                name.strip_prefix(d.name)
                    .is_some_and(|suffix| d.choices.iter().any(|(s, _)| *s == suffix))
            }
        })
}

/// The values present for an element: the element itself, or for a choice
/// element every typed variant present (`valueQuantity`, ...).
fn present<'v>(obj: &'v Map<String, Value>, def: &ElementDef) -> Vec<(&'v str, &'v Value, Kind)> {
    if def.choices.is_empty() {
        return obj
            .get(def.name)
            .map(|v| (def.name, v, def.kind))
            .into_iter()
            .collect();
    }
    obj.iter()
        .filter_map(|(key, v)| {
            let suffix = key.strip_prefix(def.name)?;
            let (_, kind) = def.choices.iter().find(|(s, _)| *s == suffix)?;
            Some((key.as_str(), v, *kind))
        })
        .collect()
}

fn check_element(
    obj: &Map<String, Value>,
    rt: &str,
    def: &ElementDef,
    label: &str,
    out: &mut Vec<Diagnostic>,
) {
    let found = present(obj, def);
    let path = |key: &str| format!("{label} {rt}.{key}");
    if found.is_empty() {
        if def.required {
            let name = if def.choices.is_empty() {
                def.name.to_string()
            } else {
                format!("{}[x]", def.name)
            };
            out.push(Diagnostic::warning(
                path(&name),
                "required element missing (R4 minimum cardinality 1)",
            ));
        }
        return;
    }
    if found.len() > 1 {
        out.push(Diagnostic::warning(
            path(&format!("{}[x]", def.name)),
            "several types given for a choice element; only one is allowed",
        ));
    }
    for (key, value, kind) in found {
        match (value, def.many) {
            (Value::Array(items), true) => {
                for (i, item) in items.iter().enumerate() {
                    check_value(item, kind, &|| path(&format!("{key}[{i}]")), out);
                }
            }
            (Value::Array(_), false) => {
                out.push(Diagnostic::warning(
                    path(key),
                    "must be a single value, not an array",
                ));
            }
            (single, true) => {
                out.push(Diagnostic::warning(
                    path(key),
                    "must be an array (R4 cardinality 0..*); read as one item",
                ));
                check_value(single, kind, &|| path(key), out);
            }
            (single, false) => check_value(single, kind, &|| path(key), out),
        }
    }
}

/// Checks one value; `path` is only rendered when there is something to report.
fn check_value(value: &Value, kind: Kind, path: &dyn Fn() -> String, out: &mut Vec<Diagnostic>) {
    let problem = match kind {
        Kind::String => string_problem(value),
        Kind::Code(codes) => match value.as_str() {
            None => Some("must be a code (a JSON string)".to_string()),
            Some(c) if !codes.is_empty() && !codes.contains(&c) => {
                Some(format!("is not one of the R4 codes ({})", codes.join(", ")))
            }
            Some(_) => None,
        },
        Kind::Boolean => (!value.is_boolean()).then(|| "must be true or false".to_string()),
        Kind::Integer => {
            (!(value.is_i64() || value.is_u64())).then(|| "must be an integer".to_string())
        }
        Kind::Decimal => (!value.is_number()).then(|| "must be a number".to_string()),
        Kind::Date => temporal_problem(
            value,
            Temporal::parse_date,
            "a date (YYYY, YYYY-MM or YYYY-MM-DD)",
        ),
        Kind::DateTime => temporal_problem(
            value,
            Temporal::parse_datetime,
            "a dateTime (YYYY-MM-DDThh:mm:ss+zz:zz)",
        ),
        Kind::Time => temporal_problem(value, Temporal::parse_time, "a time (hh:mm:ss, no zone)"),
        Kind::Complex | Kind::Reference | Kind::CodeableConcept | Kind::Quantity | Kind::Period => {
            return check_complex(value, kind, path, out);
        }
    };
    if let Some(message) = problem {
        out.push(Diagnostic::warning(path(), message));
    }
}

fn string_problem(value: &Value) -> Option<String> {
    match value.as_str() {
        None => Some("must be a string".into()),
        Some(s) if s.trim().is_empty() => Some("must not be empty".into()),
        Some(_) => None,
    }
}

fn temporal_problem(
    value: &Value,
    parse: fn(&str) -> Option<Temporal>,
    what: &str,
) -> Option<String> {
    match value.as_str() {
        Some(s) if parse(s).is_some() => None,
        _ => Some(format!("must be {what}")),
    }
}

fn check_complex(value: &Value, kind: Kind, path: &dyn Fn() -> String, out: &mut Vec<Diagnostic>) {
    let Some(obj) = value.as_object() else {
        out.push(Diagnostic::warning(path(), "must be a JSON object"));
        return;
    };
    let field = |name: &str, k: Kind, out: &mut Vec<Diagnostic>| {
        if let Some(v) = obj.get(name) {
            check_value(v, k, &|| format!("{}.{name}", path()), out);
        }
    };
    match kind {
        Kind::Reference => field("reference", Kind::String, out),
        Kind::Quantity => {
            field("value", Kind::Decimal, out);
            field("unit", Kind::String, out);
            field("code", Kind::Code(&[]), out);
        }
        Kind::Period => {
            field("start", Kind::DateTime, out);
            field("end", Kind::DateTime, out);
            let start = obj
                .get("start")
                .and_then(Value::as_str)
                .and_then(Temporal::parse_datetime);
            let end = obj
                .get("end")
                .and_then(Value::as_str)
                .and_then(Temporal::parse_datetime);
            if let (Some(s), Some(e)) = (start, end)
                && s.compare(&e) == Some(std::cmp::Ordering::Greater)
            {
                out.push(Diagnostic::warning(path(), "period ends before it starts"));
            }
        }
        Kind::CodeableConcept => match obj.get("coding") {
            None => {}
            Some(Value::Array(codings)) => {
                for (i, c) in codings.iter().enumerate() {
                    let p = || format!("{}.coding[{i}]", path());
                    match c.as_object() {
                        None => {
                            out.push(Diagnostic::warning(p(), "a Coding must be a JSON object"))
                        }
                        Some(c) => {
                            for (name, k) in [
                                ("system", Kind::String),
                                ("code", Kind::Code(&[])),
                                ("display", Kind::String),
                            ] {
                                if let Some(v) = c.get(name) {
                                    check_value(v, k, &|| format!("{}.{name}", p()), out);
                                }
                            }
                        }
                    }
                }
            }
            Some(_) => out.push(Diagnostic::warning(
                format!("{}.coding", path()),
                "must be an array of Codings",
            )),
        },
        _ => {}
    }
}

/// True when `suffix` names a FHIR type a choice element may take.
pub fn is_choice_suffix(suffix: &str) -> bool {
    choice_type(suffix).is_some()
}
