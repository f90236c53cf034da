//! Mapping of parsed messages to FHIR R4 resources (as `serde_json::Value`),
//! following the HL7 v2-to-FHIR mapping IG's segment maps where it speaks:
//! PID→Patient, PV1→Encounter, OBR→DiagnosticReport (results) or ServiceRequest
//! (orders), OBX→Observation, ORC+RXO/RXE→MedicationRequest, DG1→Condition,
//! AL1→AllergyIntolerance, RXA→Immunization.
//!
//! Ids are deterministic: a Patient's id is a hash of its PID-3 identifier and
//! assigning authority (so the same person in several messages is one Patient), an
//! Encounter's a hash of the patient and PV1-19 visit number when there is one, and
//! every other resource's `<hash of MSH-3, MSH-4, MSH-10>-<segment position>`.
//! Re-reading the same message therefore yields the same ids, and [`ResourceSet`]
//! merges them instead of duplicating.

mod clinical;
mod context;
mod encounter;
mod observation;
mod order;
mod patient;

use serde_json::Value;

use crate::{Diagnostic, Location, Message};
use context::Ctx;

/// One mapped resource and the segment it came from.
#[derive(Clone)]
pub struct MappedResource {
    /// The FHIR R4 resource (JSON), with `resourceType` and `id`.
    pub resource: Value,
    /// The message and segment it was mapped from.
    pub location: Location,
}

impl std::fmt::Debug for MappedResource {
    /// Shows the type, id and origin, never the content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedResource")
            .field("type", &self.resource_type())
            .field("id", &self.id())
            .field("location", &self.location.to_string())
            .finish()
    }
}

impl MappedResource {
    /// The `resourceType`.
    pub fn resource_type(&self) -> &str {
        self.resource["resourceType"].as_str().unwrap_or("")
    }

    /// The `id`.
    pub fn id(&self) -> &str {
        self.resource["id"].as_str().unwrap_or("")
    }
}

/// The resources and diagnostics of a mapping.
#[derive(Debug, Default)]
pub struct Mapping {
    /// Resources, in segment order.
    pub resources: Vec<MappedResource>,
    /// What could not be mapped, or was mapped with loss.
    pub diagnostics: Vec<Diagnostic>,
}

/// Message types this crate maps on purpose (others are mapped segment by segment,
/// with an informational diagnostic).
pub const SUPPORTED_MESSAGES: [(&str, &str); 5] = [
    ("ADT", "A01"),
    ("ADT", "A04"),
    ("ADT", "A08"),
    ("ORU", "R01"),
    ("ORM", "O01"),
];

/// Maps one message. `ordinal` is its 1-based position in the input (used in
/// diagnostics only).
pub fn map_message(message: &Message<'_>, ordinal: usize) -> Mapping {
    let mut ctx = Ctx::new(message, ordinal);
    let kind = message.message_type();
    let known = SUPPORTED_MESSAGES
        .iter()
        .any(|(c, t)| *c == kind.code && *t == kind.trigger);
    if !known && !kind.code.is_empty() {
        ctx.info(
            message.msh(),
            Some("MSH-9"),
            format!("message type {kind} is not one of ADT^A01/A04/A08, ORU^R01, ORM^O01; its segments are mapped where a segment map exists"),
        );
    }
    let results = kind.code == "ORU";
    for segment in message.segments() {
        match segment.id() {
            "PID" => patient::map_pid(&mut ctx, segment),
            "PV1" => encounter::map_pv1(&mut ctx, segment),
            "ORC" => ctx.start_order(segment),
            "OBR" if results => observation::map_report(&mut ctx, segment),
            "OBR" => order::map_service_request(&mut ctx, segment),
            "OBX" => observation::map_obx(&mut ctx, segment),
            "NTE" => observation::map_note(&mut ctx, segment),
            "RXO" | "RXE" => order::map_medication_request(&mut ctx, segment),
            "RXR" => clinical::map_route(&mut ctx, segment),
            "DG1" => clinical::map_dg1(&mut ctx, segment),
            "AL1" => clinical::map_al1(&mut ctx, segment),
            "RXA" => clinical::map_rxa(&mut ctx, segment),
            _ => {}
        }
    }
    ctx.finish()
}

/// Maps every message of an input into one [`ResourceSet`].
pub fn map_messages(messages: &[Message<'_>]) -> (ResourceSet, Vec<Diagnostic>) {
    let mut set = ResourceSet::default();
    let mut diagnostics = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let mapping = map_message(message, i + 1);
        diagnostics.extend(mapping.diagnostics);
        set.extend(mapping.resources);
    }
    (set, diagnostics)
}

/// Resources keyed by `(resourceType, id)`, in first-seen order. A resource seen
/// again (the same patient in a later message, an ADT^A08 update, a message sent
/// twice) is merged: the later message's elements replace the earlier ones, and
/// identifiers are the union of both.
#[derive(Debug, Default)]
pub struct ResourceSet {
    resources: Vec<MappedResource>,
    index: std::collections::HashMap<(String, String), usize>,
}

impl ResourceSet {
    /// Adds or merges one resource; true when it was new.
    pub fn insert(&mut self, resource: MappedResource) -> bool {
        let key = (
            resource.resource_type().to_owned(),
            resource.id().to_owned(),
        );
        match self.index.get(&key) {
            Some(&i) => {
                merge(&mut self.resources[i].resource, resource.resource);
                false
            }
            None => {
                self.index.insert(key, self.resources.len());
                self.resources.push(resource);
                true
            }
        }
    }

    /// Adds or merges many resources.
    pub fn extend(&mut self, resources: impl IntoIterator<Item = MappedResource>) {
        for r in resources {
            self.insert(r);
        }
    }

    /// The resources, in first-seen order.
    pub fn resources(&self) -> &[MappedResource] {
        &self.resources
    }

    /// Takes the resources out.
    pub fn into_resources(self) -> Vec<MappedResource> {
        self.resources
    }

    /// How many resources of each type, sorted by type.
    pub fn counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for r in &self.resources {
            *counts.entry(r.resource_type().to_owned()).or_insert(0) += 1;
        }
        counts
    }
}

/// Later elements win; `identifier` lists are united (no duplicates).
fn merge(into: &mut Value, from: Value) {
    let (Some(target), Value::Object(source)) = (into.as_object_mut(), from) else {
        return;
    };
    for (key, value) in source {
        if key == "identifier" {
            let list = target
                .entry("identifier")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let (Some(list), Value::Array(new)) = (list.as_array_mut(), value) {
                for id in new {
                    if !list.contains(&id) {
                        list.push(id);
                    }
                }
            }
        } else {
            target.insert(key, value);
        }
    }
}
