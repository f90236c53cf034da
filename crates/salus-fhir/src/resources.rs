//! The FHIR R4 element definitions Salus checks (for Patient, Encounter,
//! Condition, Observation, Procedure, MedicationRequest, Immunization, Consent)
//! and typed, zero-copy accessors over `serde_json::Value` for them.
//!
//! The definitions list every top-level element of the R4 (4.0.1) resource with
//! its cardinality and type, and the required code sets of status-like elements.

/// The type of an element, as far as the checks need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// string, markdown, uri...
    String,
    /// A code; when the list is not empty, one of these (required binding).
    Code(&'static [&'static str]),
    Boolean,
    Integer,
    Decimal,
    Date,
    /// dateTime or instant.
    DateTime,
    Time,
    Reference,
    CodeableConcept,
    Quantity,
    Period,
    /// Any other complex type (checked to be an object).
    Complex,
}

/// One element of a resource.
#[derive(Debug, Clone, Copy)]
pub struct ElementDef {
    /// Name (for a choice element, without `[x]`).
    pub name: &'static str,
    /// Type (unused for choice elements).
    pub kind: Kind,
    /// `0..*` / `1..*`.
    pub many: bool,
    /// Minimum cardinality 1.
    pub required: bool,
    /// For choice elements (`value[x]`): allowed type suffixes.
    pub choices: &'static [(&'static str, Kind)],
}

const fn opt(name: &'static str, kind: Kind) -> ElementDef {
    ElementDef {
        name,
        kind,
        many: false,
        required: false,
        choices: &[],
    }
}

const fn req(name: &'static str, kind: Kind) -> ElementDef {
    ElementDef {
        required: true,
        ..opt(name, kind)
    }
}

const fn list(name: &'static str, kind: Kind) -> ElementDef {
    ElementDef {
        many: true,
        ..opt(name, kind)
    }
}

const fn req_list(name: &'static str, kind: Kind) -> ElementDef {
    ElementDef {
        many: true,
        required: true,
        ..opt(name, kind)
    }
}

const fn choice(
    name: &'static str,
    required: bool,
    choices: &'static [(&'static str, Kind)],
) -> ElementDef {
    ElementDef {
        required,
        choices,
        ..opt(name, Kind::Complex)
    }
}

use Kind::{
    Boolean, CodeableConcept as CC, Complex, Date, DateTime, Decimal, Integer, Period, Quantity,
    Reference as Ref, String as Str,
};

const GENDER: Kind = Kind::Code(&["male", "female", "other", "unknown"]);
const ANY_CODE: Kind = Kind::Code(&[]);

const PATIENT: &[ElementDef] = &[
    list("identifier", Complex),
    opt("active", Boolean),
    list("name", Complex),
    list("telecom", Complex),
    opt("gender", GENDER),
    opt("birthDate", Date),
    choice(
        "deceased",
        false,
        &[("Boolean", Boolean), ("DateTime", DateTime)],
    ),
    list("address", Complex),
    opt("maritalStatus", CC),
    choice(
        "multipleBirth",
        false,
        &[("Boolean", Boolean), ("Integer", Integer)],
    ),
    list("photo", Complex),
    list("contact", Complex),
    list("communication", Complex),
    list("generalPractitioner", Ref),
    opt("managingOrganization", Ref),
    list("link", Complex),
];

const ENCOUNTER: &[ElementDef] = &[
    list("identifier", Complex),
    req(
        "status",
        Kind::Code(&[
            "planned",
            "arrived",
            "triaged",
            "in-progress",
            "onleave",
            "finished",
            "cancelled",
            "entered-in-error",
            "unknown",
        ]),
    ),
    list("statusHistory", Complex),
    req("class", Complex),
    list("classHistory", Complex),
    list("type", CC),
    opt("serviceType", CC),
    opt("priority", CC),
    opt("subject", Ref),
    list("episodeOfCare", Ref),
    list("basedOn", Ref),
    list("participant", Complex),
    list("appointment", Ref),
    opt("period", Period),
    opt("length", Quantity),
    list("reasonCode", CC),
    list("reasonReference", Ref),
    list("diagnosis", Complex),
    list("account", Ref),
    opt("hospitalization", Complex),
    list("location", Complex),
    opt("serviceProvider", Ref),
    opt("partOf", Ref),
];

const ONSET: &[(&str, Kind)] = &[
    ("DateTime", DateTime),
    ("Age", Quantity),
    ("Period", Period),
    ("Range", Complex),
    ("String", Str),
];

const CONDITION: &[ElementDef] = &[
    list("identifier", Complex),
    opt("clinicalStatus", CC),
    opt("verificationStatus", CC),
    list("category", CC),
    opt("severity", CC),
    opt("code", CC),
    list("bodySite", CC),
    req("subject", Ref),
    opt("encounter", Ref),
    choice("onset", false, ONSET),
    choice("abatement", false, ONSET),
    opt("recordedDate", DateTime),
    opt("recorder", Ref),
    opt("asserter", Ref),
    list("stage", Complex),
    list("evidence", Complex),
    list("note", Complex),
];

/// Types an Observation (or component) value may take.
pub const OBSERVATION_VALUE: &[(&str, Kind)] = &[
    ("Quantity", Quantity),
    ("CodeableConcept", CC),
    ("String", Str),
    ("Boolean", Boolean),
    ("Integer", Integer),
    ("Range", Complex),
    ("Ratio", Complex),
    ("SampledData", Complex),
    ("Time", Kind::Time),
    ("DateTime", DateTime),
    ("Period", Period),
];

const OBSERVATION: &[ElementDef] = &[
    list("identifier", Complex),
    list("basedOn", Ref),
    list("partOf", Ref),
    req(
        "status",
        Kind::Code(&[
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        ]),
    ),
    list("category", CC),
    req("code", CC),
    opt("subject", Ref),
    list("focus", Ref),
    opt("encounter", Ref),
    choice(
        "effective",
        false,
        &[
            ("DateTime", DateTime),
            ("Period", Period),
            ("Timing", Complex),
            ("Instant", DateTime),
        ],
    ),
    opt("issued", DateTime),
    list("performer", Ref),
    choice("value", false, OBSERVATION_VALUE),
    opt("dataAbsentReason", CC),
    list("interpretation", CC),
    list("note", Complex),
    opt("bodySite", CC),
    opt("method", CC),
    opt("specimen", Ref),
    opt("device", Ref),
    list("referenceRange", Complex),
    list("hasMember", Ref),
    list("derivedFrom", Ref),
    list("component", Complex),
];

const PROCEDURE: &[ElementDef] = &[
    list("identifier", Complex),
    list("instantiatesCanonical", Str),
    list("instantiatesUri", Str),
    list("basedOn", Ref),
    list("partOf", Ref),
    req(
        "status",
        Kind::Code(&[
            "preparation",
            "in-progress",
            "not-done",
            "on-hold",
            "stopped",
            "completed",
            "entered-in-error",
            "unknown",
        ]),
    ),
    opt("statusReason", CC),
    opt("category", CC),
    opt("code", CC),
    req("subject", Ref),
    opt("encounter", Ref),
    choice(
        "performed",
        false,
        &[
            ("DateTime", DateTime),
            ("Period", Period),
            ("String", Str),
            ("Age", Quantity),
            ("Range", Complex),
        ],
    ),
    opt("recorder", Ref),
    opt("asserter", Ref),
    list("performer", Complex),
    opt("location", Ref),
    list("reasonCode", CC),
    list("reasonReference", Ref),
    list("bodySite", CC),
    opt("outcome", CC),
    list("report", Ref),
    list("complication", CC),
    list("complicationDetail", Ref),
    list("followUp", CC),
    list("note", Complex),
    list("focalDevice", Complex),
    list("usedReference", Ref),
    list("usedCode", CC),
];

const MEDICATION_REQUEST: &[ElementDef] = &[
    list("identifier", Complex),
    req(
        "status",
        Kind::Code(&[
            "active",
            "on-hold",
            "cancelled",
            "completed",
            "entered-in-error",
            "stopped",
            "draft",
            "unknown",
        ]),
    ),
    opt("statusReason", CC),
    req(
        "intent",
        Kind::Code(&[
            "proposal",
            "plan",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        ]),
    ),
    list("category", CC),
    opt("priority", ANY_CODE),
    opt("doNotPerform", Boolean),
    choice(
        "reported",
        false,
        &[("Boolean", Boolean), ("Reference", Ref)],
    ),
    choice(
        "medication",
        true,
        &[("CodeableConcept", CC), ("Reference", Ref)],
    ),
    req("subject", Ref),
    opt("encounter", Ref),
    list("supportingInformation", Ref),
    opt("authoredOn", DateTime),
    opt("requester", Ref),
    opt("performer", Ref),
    opt("performerType", CC),
    opt("recorder", Ref),
    list("reasonCode", CC),
    list("reasonReference", Ref),
    list("instantiatesCanonical", Str),
    list("instantiatesUri", Str),
    list("basedOn", Ref),
    opt("groupIdentifier", Complex),
    opt("courseOfTherapyType", CC),
    list("insurance", Ref),
    list("note", Complex),
    list("dosageInstruction", Complex),
    opt("dispenseRequest", Complex),
    opt("substitution", Complex),
    opt("priorPrescription", Ref),
    list("detectedIssue", Ref),
    list("eventHistory", Ref),
];

const IMMUNIZATION: &[ElementDef] = &[
    list("identifier", Complex),
    req(
        "status",
        Kind::Code(&["completed", "entered-in-error", "not-done"]),
    ),
    opt("statusReason", CC),
    req("vaccineCode", CC),
    req("patient", Ref),
    opt("encounter", Ref),
    choice(
        "occurrence",
        true,
        &[("DateTime", DateTime), ("String", Str)],
    ),
    opt("recorded", DateTime),
    opt("primarySource", Boolean),
    opt("reportOrigin", CC),
    opt("location", Ref),
    opt("manufacturer", Ref),
    opt("lotNumber", Str),
    opt("expirationDate", Date),
    opt("site", CC),
    opt("route", CC),
    opt("doseQuantity", Quantity),
    list("performer", Complex),
    list("note", Complex),
    list("reasonCode", CC),
    list("reasonReference", Ref),
    opt("isSubpotent", Boolean),
    list("subpotentReason", CC),
    list("education", Complex),
    list("programEligibility", CC),
    opt("fundingSource", CC),
    list("reaction", Complex),
    list("protocolApplied", Complex),
];

const CONSENT: &[ElementDef] = &[
    list("identifier", Complex),
    req(
        "status",
        Kind::Code(&[
            "draft",
            "proposed",
            "active",
            "rejected",
            "inactive",
            "entered-in-error",
        ]),
    ),
    req("scope", CC),
    req_list("category", CC),
    opt("patient", Ref),
    opt("dateTime", DateTime),
    list("performer", Ref),
    list("organization", Ref),
    choice(
        "source",
        false,
        &[("Attachment", Complex), ("Reference", Ref)],
    ),
    list("policy", Complex),
    opt("policyRule", CC),
    list("verification", Complex),
    opt("provision", Complex),
];

/// The R4 element definitions of a resource type Salus checks, if any.
pub fn definition(resource_type: &str) -> Option<&'static [ElementDef]> {
    Some(match resource_type {
        "Patient" => PATIENT,
        "Encounter" => ENCOUNTER,
        "Condition" => CONDITION,
        "Observation" => OBSERVATION,
        "Procedure" => PROCEDURE,
        "MedicationRequest" => MEDICATION_REQUEST,
        "Immunization" => IMMUNIZATION,
        "Consent" => CONSENT,
        _ => return None,
    })
}

#[allow(unused_imports)]
use {Decimal as _, Str as _};
