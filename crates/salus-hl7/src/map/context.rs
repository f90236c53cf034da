//! The state carried while mapping one message: ids, the current patient, encounter
//! and order, and helpers that read typed values and report problems with positions.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{MappedResource, Mapping};
use crate::datetime::{self, DateError};
use crate::{Diagnostic, Location, Message, Segment};

/// The order group (ORC and the OBR that follows) the next segments belong to.
#[derive(Default)]
pub(super) struct Order<'m, 'a> {
    pub orc: Option<&'m Segment<'a>>,
    pub obr: Option<&'m Segment<'a>>,
    /// Index in `Ctx::out.resources` of the DiagnosticReport of this OBR, if any.
    pub report: Option<usize>,
}

pub(super) struct Ctx<'m, 'a> {
    pub msg: &'m Message<'a>,
    ordinal: usize,
    prefix: String,
    /// `Patient/<id>` of the last PID.
    pub patient: Option<String>,
    /// The hashed identity of the last PID, used to key encounters.
    pub patient_key: Option<String>,
    /// `Encounter/<id>` of the last PV1.
    pub encounter: Option<String>,
    pub order: Order<'m, 'a>,
    /// Index of the last resource a following NTE or RXR may refine.
    pub last: Option<usize>,
    pub out: Mapping,
}

/// First `n` hex digits of SHA-256 over the parts (separated by 0x1F).
pub(super) fn hash_id(parts: &[&str], n: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..n.min(hex.len())].to_owned()
}

impl<'m, 'a> Ctx<'m, 'a> {
    pub fn new(msg: &'m Message<'a>, ordinal: usize) -> Self {
        let msh = msg.msh();
        let prefix = match msg.control_id() {
            Some(control) => {
                let app = msh.text(3).unwrap_or_default();
                let facility = msh.text(4).unwrap_or_default();
                hash_id(&["MSH", &app, &facility, &control], 16)
            }
            None => {
                // No control id: fall back to the message content itself.
                let raw: Vec<&str> = msg
                    .segments()
                    .iter()
                    .flat_map(|s| (0..=s.field_count()).map(|n| s.field(n).raw()))
                    .collect();
                hash_id(&raw, 16)
            }
        };
        Ctx {
            msg,
            ordinal,
            prefix,
            patient: None,
            patient_key: None,
            encounter: None,
            order: Order::default(),
            last: None,
            out: Mapping::default(),
        }
    }

    pub fn finish(self) -> Mapping {
        self.out
    }

    /// The id of the resource mapped from `segment`: message prefix + position.
    pub fn id_for(&self, segment: &Segment<'_>) -> String {
        let index = segment.position() + 1 - self.msg.msh().position();
        format!("{}-{}", self.prefix, index)
    }

    pub fn location(&self, segment: &Segment<'_>, field: Option<&str>) -> Location {
        let loc = Location::segment(segment.position(), segment.id()).in_message(self.ordinal);
        match field {
            Some(f) => loc.with_field(f),
            None => loc,
        }
    }

    pub fn warn(&mut self, segment: &Segment<'_>, field: Option<&str>, message: impl Into<String>) {
        let loc = self.location(segment, field);
        self.out.diagnostics.push(Diagnostic::warning(loc, message));
    }

    pub fn error(
        &mut self,
        segment: &Segment<'_>,
        field: Option<&str>,
        message: impl Into<String>,
    ) {
        let loc = self.location(segment, field);
        self.out.diagnostics.push(Diagnostic::error(loc, message));
    }

    pub fn info(&mut self, segment: &Segment<'_>, field: Option<&str>, message: impl Into<String>) {
        let loc = self.location(segment, field);
        self.out.diagnostics.push(Diagnostic::info(loc, message));
    }

    /// Adds a resource; returns its index for later refinement (NTE, RXR, results).
    pub fn push(&mut self, segment: &Segment<'_>, resource: Map<String, Value>) -> usize {
        let location = self.location(segment, None);
        self.out.resources.push(MappedResource {
            resource: Value::Object(resource),
            location,
        });
        self.out.resources.len() - 1
    }

    /// A new resource object with `resourceType` and `id`.
    pub fn resource(&self, kind: &str, id: String) -> Map<String, Value> {
        let mut r = Map::new();
        r.insert("resourceType".into(), kind.into());
        r.insert("id".into(), id.into());
        r
    }

    /// Sets `subject` (or another key) to the current patient, warning when the
    /// message has no PID before this segment.
    pub fn link_patient(&mut self, r: &mut Map<String, Value>, key: &str, segment: &Segment<'_>) {
        match &self.patient {
            Some(p) => {
                r.insert(key.into(), serde_json::json!({ "reference": p }));
            }
            None => self.warn(
                segment,
                None,
                format!(
                    "no PID before this {} segment: the resource has no patient",
                    segment.id()
                ),
            ),
        }
    }

    /// Sets `encounter` to the current encounter, if any.
    pub fn link_encounter(&self, r: &mut Map<String, Value>) {
        if let Some(e) = &self.encounter {
            r.insert("encounter".into(), serde_json::json!({ "reference": e }));
        }
    }

    /// Field `n` of `segment` as a FHIR dateTime; a warning names the field if the
    /// value is not a valid v2 date/time.
    pub fn datetime(&mut self, segment: &Segment<'_>, n: usize) -> Option<String> {
        let text = segment.field(n).component(1).text()?;
        self.checked(segment, n, datetime::to_fhir_datetime(&text))
    }

    /// Field `n` of `segment` as a FHIR date.
    pub fn date(&mut self, segment: &Segment<'_>, n: usize) -> Option<String> {
        let text = segment.field(n).component(1).text()?;
        self.checked(segment, n, datetime::to_fhir_date(&text))
    }

    fn checked(
        &mut self,
        segment: &Segment<'_>,
        n: usize,
        r: Result<String, DateError>,
    ) -> Option<String> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let field = format!("{}-{n}", segment.id());
                self.warn(
                    segment,
                    Some(&field),
                    format!("{field} {}; left out", e.describe()),
                );
                None
            }
        }
    }

    pub fn start_order(&mut self, orc: &'m Segment<'a>) {
        self.order = Order {
            orc: Some(orc),
            ..Order::default()
        };
    }
}
