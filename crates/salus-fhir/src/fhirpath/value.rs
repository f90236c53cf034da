//! The values FHIRPath computes with: nodes of the resource's JSON (with the FHIR
//! type when the element name tells it, as in `valueQuantity`) and system values
//! (booleans, numbers, strings, temporals, quantities), plus equality, ordering
//! and type tests between them.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::temporal::{Temporal, TemporalKind};

/// A JSON element of the resource, with its FHIR type when known.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// The element's JSON.
    pub json: &'a Value,
    /// FHIR type name (`Quantity`, `dateTime`, `Patient`...) when known.
    pub ty: Option<&'a str>,
}

/// One item of a FHIRPath collection.
#[derive(Debug, Clone)]
pub enum Item<'a> {
    Node(Node<'a>),
    Boolean(bool),
    Integer(i64),
    Decimal(f64),
    String(Cow<'a, str>),
    Temporal(Temporal),
    Quantity(f64, Cow<'a, str>),
}

/// FHIR data types that can appear as the suffix of a choice element
/// (`value[x]` written `valueQuantity`), with their FHIR type names.
const CHOICE_TYPES: &[(&str, &str)] = &[
    ("Base64Binary", "base64Binary"),
    ("Boolean", "boolean"),
    ("Canonical", "canonical"),
    ("Code", "code"),
    ("Date", "date"),
    ("DateTime", "dateTime"),
    ("Decimal", "decimal"),
    ("Id", "id"),
    ("Instant", "instant"),
    ("Integer", "integer"),
    ("Integer64", "integer64"),
    ("Markdown", "markdown"),
    ("Oid", "oid"),
    ("PositiveInt", "positiveInt"),
    ("String", "string"),
    ("Time", "time"),
    ("UnsignedInt", "unsignedInt"),
    ("Uri", "uri"),
    ("Url", "url"),
    ("Uuid", "uuid"),
    ("Address", "Address"),
    ("Age", "Age"),
    ("Annotation", "Annotation"),
    ("Attachment", "Attachment"),
    ("CodeableConcept", "CodeableConcept"),
    ("CodeableReference", "CodeableReference"),
    ("Coding", "Coding"),
    ("ContactDetail", "ContactDetail"),
    ("ContactPoint", "ContactPoint"),
    ("Contributor", "Contributor"),
    ("Count", "Count"),
    ("DataRequirement", "DataRequirement"),
    ("Distance", "Distance"),
    ("Dosage", "Dosage"),
    ("Duration", "Duration"),
    ("Expression", "Expression"),
    ("HumanName", "HumanName"),
    ("Identifier", "Identifier"),
    ("Meta", "Meta"),
    ("Money", "Money"),
    ("ParameterDefinition", "ParameterDefinition"),
    ("Period", "Period"),
    ("Quantity", "Quantity"),
    ("Range", "Range"),
    ("Ratio", "Ratio"),
    ("RatioRange", "RatioRange"),
    ("Reference", "Reference"),
    ("RelatedArtifact", "RelatedArtifact"),
    ("SampledData", "SampledData"),
    ("Signature", "Signature"),
    ("Timing", "Timing"),
    ("TriggerDefinition", "TriggerDefinition"),
    ("UsageContext", "UsageContext"),
];

/// FHIR type name for a choice suffix (`DateTime` -> `dateTime`).
pub fn choice_type(suffix: &str) -> Option<&'static str> {
    CHOICE_TYPES
        .iter()
        .find(|(s, _)| *s == suffix)
        .map(|(_, t)| *t)
}

/// Types whose values are FHIR strings in JSON.
const STRING_TYPES: &[&str] = &[
    "string",
    "code",
    "id",
    "markdown",
    "uri",
    "url",
    "canonical",
    "oid",
    "uuid",
    "base64Binary",
    "xhtml",
];

/// The parent type of a FHIR type (R4 type hierarchy, primitives and Quantity kinds).
fn parent_type(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "code" | "id" | "markdown" => "string",
        "url" | "canonical" | "oid" | "uuid" => "uri",
        "positiveInt" | "unsignedInt" => "integer",
        "Age" | "Count" | "Distance" | "Duration" | "MoneyQuantity" | "SimpleQuantity" => {
            "Quantity"
        }
        _ => return None,
    })
}

/// True when `actual` is `wanted` or derives from it.
fn derives_from(actual: &str, wanted: &str) -> bool {
    let mut t = Some(actual);
    while let Some(ty) = t {
        if ty == wanted {
            return true;
        }
        t = parent_type(ty);
    }
    false
}

/// Maps a System type name (`String`, `Integer`...) to the FHIR primitive it covers.
fn system_to_fhir(name: &str) -> &str {
    match name {
        "Boolean" => "boolean",
        "String" => "string",
        "Integer" => "integer",
        "Decimal" => "decimal",
        "Date" => "date",
        "DateTime" => "dateTime",
        "Time" => "time",
        other => other,
    }
}

fn temporal_kind(ty: &str) -> Option<TemporalKind> {
    match ty {
        "date" => Some(TemporalKind::Date),
        "dateTime" | "instant" => Some(TemporalKind::DateTime),
        "time" => Some(TemporalKind::Time),
        _ => None,
    }
}

impl<'a> Item<'a> {
    /// A node of JSON with an optional type.
    pub fn node(json: &'a Value, ty: Option<&'a str>) -> Self {
        Item::Node(Node { json, ty })
    }

    /// The system value of a primitive node (`"2010"` typed `date` -> a date,
    /// `12` -> 12); objects and arrays stay nodes.
    pub fn primitive(&self) -> Item<'a> {
        let Item::Node(node) = self else {
            return self.clone();
        };
        match node.json {
            Value::Bool(b) => Item::Boolean(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) if node.ty != Some("decimal") => Item::Integer(i),
                _ => Item::Decimal(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => {
                let parsed = node
                    .ty
                    .and_then(temporal_kind)
                    .and_then(|k| Temporal::parse(k, s));
                match parsed {
                    Some(t) => Item::Temporal(t),
                    None => Item::String(Cow::Borrowed(s.as_str())),
                }
            }
            _ => self.clone(),
        }
    }

    /// The text of a string-like item (temporals in their FHIR form).
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        match self {
            Item::Node(Node {
                json: Value::String(s),
                ..
            }) => Some(Cow::Borrowed(s.as_str())),
            Item::String(s) => Some(s.clone()),
            Item::Temporal(t) => Some(Cow::Owned(t.format())),
            _ => None,
        }
    }

    /// The boolean value, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.primitive() {
            Item::Boolean(b) => Some(b),
            _ => None,
        }
    }

    /// The integer value, if this is an integer.
    pub fn as_integer(&self) -> Option<i64> {
        match self.primitive() {
            Item::Integer(i) => Some(i),
            _ => None,
        }
    }

    /// The numeric value of an integer or decimal.
    pub fn as_number(&self) -> Option<f64> {
        match self.primitive() {
            Item::Integer(i) => Some(i as f64),
            Item::Decimal(d) => Some(d),
            _ => None,
        }
    }

    /// The JSON object behind a node, if it is one.
    pub fn as_object(&self) -> Option<&'a serde_json::Map<String, Value>> {
        match self {
            Item::Node(Node {
                json: Value::Object(m),
                ..
            }) => Some(m),
            _ => None,
        }
    }

    /// A short type name for messages (never the value).
    pub fn type_name(&self) -> &'static str {
        match self.primitive() {
            Item::Node(n) => match n.json {
                Value::Object(_) => "an object",
                Value::Array(_) => "an array",
                _ => "null",
            },
            Item::Boolean(_) => "a boolean",
            Item::Integer(_) => "an integer",
            Item::Decimal(_) => "a decimal",
            Item::String(_) => "a string",
            Item::Temporal(t) => match t.kind {
                TemporalKind::Date => "a date",
                TemporalKind::DateTime => "a dateTime",
                TemporalKind::Time => "a time",
            },
            Item::Quantity(..) => "a quantity",
        }
    }

    /// FHIRPath `is(type)`: is this item of `wanted` (a FHIR or System type name)?
    pub fn is_type(&self, wanted: &str) -> bool {
        let wanted_fhir = system_to_fhir(wanted);
        match self {
            Item::Node(node) => node_is_type(node, wanted, wanted_fhir),
            Item::Boolean(_) => wanted_fhir == "boolean",
            Item::Integer(_) => wanted_fhir == "integer",
            Item::Decimal(_) => wanted_fhir == "decimal",
            Item::String(_) => wanted_fhir == "string",
            Item::Temporal(t) => {
                let name = match t.kind {
                    TemporalKind::Date => "date",
                    TemporalKind::DateTime => "dateTime",
                    TemporalKind::Time => "time",
                };
                wanted_fhir == name
            }
            Item::Quantity(..) => wanted == "Quantity",
        }
    }
}

fn node_is_type(node: &Node<'_>, wanted: &str, wanted_fhir: &str) -> bool {
    if let Some(ty) = node.ty {
        return derives_from(ty, wanted) || derives_from(ty, wanted_fhir);
    }
    // No type known (not a choice element): judge by the JSON shape.
    match node.json {
        Value::Bool(_) => wanted_fhir == "boolean",
        Value::Number(n) => match wanted_fhir {
            "decimal" => true,
            "integer" | "positiveInt" | "unsignedInt" | "integer64" => n.is_i64() || n.is_u64(),
            _ => false,
        },
        Value::String(s) => match temporal_kind(wanted_fhir) {
            Some(kind) => Temporal::parse(kind, s).is_some(),
            None => STRING_TYPES.contains(&wanted_fhir),
        },
        Value::Object(m) => match m.get("resourceType").and_then(Value::as_str) {
            Some(rt) => rt == wanted || matches!(wanted, "Resource" | "DomainResource"),
            // An element of unknown type: only complex type names can match.
            None => wanted.starts_with(|c: char| c.is_ascii_uppercase()) && !is_system_name(wanted),
        },
        _ => false,
    }
}

fn is_system_name(name: &str) -> bool {
    matches!(
        name,
        "Boolean" | "String" | "Integer" | "Decimal" | "Date" | "DateTime" | "Time"
    )
}

/// FHIRPath `=` between two items; `None` when the answer is unknown
/// (temporals of different precision).
pub fn equals(a: &Item<'_>, b: &Item<'_>) -> Option<bool> {
    let (pa, pb) = (a.primitive(), b.primitive());
    match (&pa, &pb) {
        (Item::Node(x), Item::Node(y)) => Some(x.json == y.json),
        (Item::Boolean(x), Item::Boolean(y)) => Some(x == y),
        (Item::String(x), Item::String(y)) => Some(x == y),
        (Item::Quantity(x, u), Item::Quantity(y, v)) => Some(x == y && u == v),
        _ => match compare_values(&pa, &pb) {
            Some(ord) => ord.map(|o| o == Ordering::Equal),
            None => Some(false),
        },
    }
}

/// FHIRPath `~`: like `=` but case- and whitespace-insensitive for strings,
/// never unknown.
pub fn equivalent(a: &Item<'_>, b: &Item<'_>) -> bool {
    let (pa, pb) = (a.primitive(), b.primitive());
    match (&pa, &pb) {
        (Item::String(x), Item::String(y)) => normalize(x) == normalize(y),
        (Item::Decimal(_), _) | (_, Item::Decimal(_)) => match (pa.as_number(), pb.as_number()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            _ => false,
        },
        _ => equals(&pa, &pb).unwrap_or(false),
    }
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Orders two items. `None` = not comparable types; `Some(None)` = comparable
/// but unknown (temporals of different precision).
pub fn compare_values(a: &Item<'_>, b: &Item<'_>) -> Option<Option<Ordering>> {
    let (pa, pb) = (a.primitive(), b.primitive());
    match (&pa, &pb) {
        (Item::Integer(x), Item::Integer(y)) => Some(Some(x.cmp(y))),
        (Item::Integer(_) | Item::Decimal(_), Item::Integer(_) | Item::Decimal(_)) => {
            let (x, y) = (pa.as_number()?, pb.as_number()?);
            Some(x.partial_cmp(&y))
        }
        (Item::String(x), Item::String(y)) => Some(Some(x.cmp(y))),
        (Item::Temporal(x), Item::Temporal(y)) => Some(x.compare(y)),
        (Item::Temporal(x), Item::String(s)) => {
            let y = Temporal::parse(x.kind, s)?;
            Some(x.compare(&y))
        }
        (Item::String(s), Item::Temporal(y)) => {
            let x = Temporal::parse(y.kind, s)?;
            Some(x.compare(y))
        }
        (Item::Quantity(x, u), Item::Quantity(y, v)) if u == v => Some(x.partial_cmp(y)),
        (Item::Boolean(x), Item::Boolean(y)) => Some(Some(x.cmp(y))),
        _ => None,
    }
}
