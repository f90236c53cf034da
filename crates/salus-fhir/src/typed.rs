//! Typed, zero-copy accessors over a resource's JSON, for code that maps FHIR
//! to other models (OMOP, HL7 v2 round trips) without writing FHIRPath:
//!
//! ```
//! use salus_fhir::typed::Resource;
//! let json = serde_json::json!({"resourceType": "Observation", "id": "o1",
//!     "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
//!     "subject": {"reference": "Patient/p1"},
//!     "effectiveDateTime": "2020-01-02T10:00:00Z",
//!     "valueQuantity": {"value": 170.5, "unit": "cm"}});
//! let obs = Resource::new(&json).unwrap();
//! assert_eq!(obs.resource_type(), "Observation");
//! assert_eq!(obs.concept("code").code_in("http://loinc.org"), Some("8302-2"));
//! assert_eq!(obs.reference_key("subject", "Patient"), Some("p1"));
//! assert_eq!(obs.choice("value").map(|(ty, _)| ty), Some("Quantity"));
//! assert_eq!(obs.quantity("value").and_then(|q| q.value), Some(170.5));
//! assert_eq!(obs.datetime("effective").map(|t| t.year), Some(2020));
//! ```

use serde_json::Value;

use crate::fhirpath::{Temporal, choice_type, reference_key};

/// A FHIR resource: a JSON object with a `resourceType`.
#[derive(Clone, Copy)]
pub struct Resource<'a> {
    json: &'a Value,
    resource_type: &'a str,
}

// Resources hold patient data: Debug shows only type and id.
impl std::fmt::Debug for Resource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.resource_type, self.id().unwrap_or("?"))
    }
}

/// A Coding's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coding<'a> {
    pub system: Option<&'a str>,
    pub code: Option<&'a str>,
    pub display: Option<&'a str>,
}

/// A CodeableConcept (empty when the element is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Concept<'a> {
    pub codings: Vec<Coding<'a>>,
    pub text: Option<&'a str>,
}

/// A Quantity's parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity<'a> {
    pub value: Option<f64>,
    pub unit: Option<&'a str>,
    pub system: Option<&'a str>,
    pub code: Option<&'a str>,
}

impl<'a> Concept<'a> {
    /// The first code of a coding in `system`.
    pub fn code_in(&self, system: &str) -> Option<&'a str> {
        self.codings
            .iter()
            .find(|c| c.system == Some(system))
            .and_then(|c| c.code)
    }

    /// The first coding.
    pub fn first(&self) -> Option<Coding<'a>> {
        self.codings.first().copied()
    }
}

fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn coding(v: &Value) -> Coding<'_> {
    Coding {
        system: text(v, "system"),
        code: text(v, "code"),
        display: text(v, "display"),
    }
}

/// Reads a CodeableConcept value.
pub fn concept(v: &Value) -> Concept<'_> {
    let codings = match v.get("coding") {
        Some(Value::Array(items)) => items.iter().map(coding).collect(),
        Some(one @ Value::Object(_)) => vec![coding(one)],
        _ => Vec::new(),
    };
    Concept {
        codings,
        text: text(v, "text"),
    }
}

impl<'a> Resource<'a> {
    /// The resource, if `json` is an object with a string `resourceType`.
    pub fn new(json: &'a Value) -> Option<Resource<'a>> {
        let resource_type = json.get("resourceType")?.as_str()?;
        Some(Resource {
            json,
            resource_type,
        })
    }

    /// The JSON.
    pub fn json(&self) -> &'a Value {
        self.json
    }

    /// `resourceType`.
    pub fn resource_type(&self) -> &'a str {
        self.resource_type
    }

    /// `id`.
    pub fn id(&self) -> Option<&'a str> {
        text(self.json, "id")
    }

    /// A string element (`gender`, `status`, `birthDate`...).
    pub fn string(&self, name: &str) -> Option<&'a str> {
        text(self.json, name)
    }

    /// A date or dateTime element, or choice element (`effective`, `onset`).
    pub fn datetime(&self, name: &str) -> Option<Temporal> {
        let s = match self.choice(name) {
            Some((_, v)) => v.as_str()?,
            None => self.string(name)?,
        };
        Temporal::parse_datetime(s)
    }

    /// The typed variant of a choice element: (`Quantity`, value) for `value`.
    pub fn choice(&self, name: &str) -> Option<(&'static str, &'a Value)> {
        self.json.as_object()?.iter().find_map(|(key, v)| {
            let ty = choice_type(key.strip_prefix(name)?)?;
            Some((ty, v))
        })
    }

    /// A CodeableConcept element (first one when it repeats); a choice element
    /// (`medication`) is read from its `CodeableConcept` variant.
    pub fn concept(&self, name: &str) -> Concept<'a> {
        let v = match self.json.get(name) {
            Some(Value::Array(items)) => items.first(),
            Some(v) => Some(v),
            None => self.json.get(format!("{name}CodeableConcept")),
        };
        v.map(concept).unwrap_or_default()
    }

    /// A Quantity element or choice variant (`value` -> `valueQuantity`).
    pub fn quantity(&self, name: &str) -> Option<Quantity<'a>> {
        let v = match self.choice(name) {
            Some(("Quantity" | "Age" | "Duration" | "Count" | "Distance", v)) => v,
            Some(_) => return None,
            None => self.json.get(name)?,
        };
        Some(Quantity {
            value: v.get("value").and_then(Value::as_f64),
            unit: text(v, "unit"),
            system: text(v, "system"),
            code: text(v, "code"),
        })
    }

    /// The key of a Reference element when it points to `target_type`
    /// (`subject` -> the patient's id); `urn:uuid:` references always match.
    pub fn reference_key(&self, name: &str, target_type: &str) -> Option<&'a str> {
        let reference = self.json.get(name)?.get("reference")?.as_str()?;
        reference_key(reference, Some(target_type))
    }

    /// The key of the patient this resource is about (`subject` or `patient`),
    /// or its own id for a Patient.
    pub fn patient_key(&self) -> Option<&'a str> {
        if self.resource_type == "Patient" {
            return self.id();
        }
        self.reference_key("subject", "Patient")
            .or_else(|| self.reference_key("patient", "Patient"))
    }
}
