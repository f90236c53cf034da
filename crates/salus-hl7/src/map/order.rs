//! Orders: ORC+OBR (in order messages) → ServiceRequest, ORC+RXO/RXE →
//! MedicationRequest (v2-to-FHIR IG "ORC[ServiceRequest]", "OBR[ServiceRequest]",
//! "RXO[MedicationRequest]", "RXE[MedicationRequest]").

use serde_json::{Map, Value, json};

use super::context::Ctx;
use crate::Segment;
use crate::datatypes::{codeable_concept, comp, number, person_reference};

/// Placer (ORC-2/OBR-2) and filler (ORC-3/OBR-3) order numbers as identifiers.
pub(super) fn order_identifiers(
    orc: Option<&Segment<'_>>,
    obr: Option<&Segment<'_>>,
) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for (n, kind) in [(2, "PLAC"), (3, "FILL")] {
        let value = orc
            .and_then(|s| comp(&s.field(n), 1))
            .or_else(|| obr.and_then(|s| comp(&s.field(n), 1)));
        if let Some(v) = value {
            out.push(json!({
                "type": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": kind }] },
                "value": v
            }));
        }
    }
    out
}

/// ORC-5 order status (table 0038), else ORC-1 order control (table 0119), to a
/// request status. `cancelled` is the word MedicationRequest uses, `revoked`
/// ServiceRequest's.
fn request_status(orc: Option<&Segment<'_>>, cancelled: &'static str) -> &'static str {
    let Some(orc) = orc else {
        return "unknown";
    };
    match orc.text(5).as_deref() {
        Some("A") | Some("IP") | Some("SC") => return "active",
        Some("CA") | Some("DC") | Some("RP") => return cancelled,
        Some("CM") => return "completed",
        Some("ER") => return "entered-in-error",
        Some("HD") => return "on-hold",
        _ => {}
    }
    match orc.text(1).as_deref() {
        Some("NW") | Some("XO") | Some("SC") | Some("SN") | Some("RL") => "active",
        Some("CA") | Some("DC") | Some("OC") | Some("OD") | Some("CR") | Some("DR") => cancelled,
        Some("HD") | Some("OH") => "on-hold",
        _ => "unknown",
    }
}

pub(super) fn map_service_request<'m, 'a>(ctx: &mut Ctx<'m, 'a>, obr: &'m Segment<'a>) {
    let orc = ctx.order.orc.filter(|_| ctx.order.obr.is_none());
    let mut r = ctx.resource("ServiceRequest", ctx.id_for(obr));
    let ids = order_identifiers(orc, Some(obr));
    if !ids.is_empty() {
        r.insert("identifier".into(), Value::Array(ids));
    }
    r.insert("status".into(), request_status(orc, "revoked").into());
    r.insert("intent".into(), "order".into());
    match codeable_concept(&obr.field(4), None) {
        Some(code) => {
            r.insert("code".into(), code);
        }
        None => ctx.warn(
            obr,
            Some("OBR-4"),
            "OBR-4 (universal service identifier) is empty; the ServiceRequest has no code",
        ),
    }
    ctx.link_patient(&mut r, "subject", obr);
    ctx.link_encounter(&mut r);
    if let Some(when) = ctx.datetime(obr, 6).or_else(|| ctx.datetime(obr, 7)) {
        r.insert("occurrenceDateTime".into(), when.into());
    }
    if let Some(when) = orc.and_then(|o| ctx.datetime(o, 9)) {
        r.insert("authoredOn".into(), when.into());
    }
    let requester = orc
        .and_then(|o| person_reference(&o.field(12)))
        .or_else(|| person_reference(&obr.field(16)));
    if let Some(who) = requester {
        r.insert("requester".into(), who);
    }
    let reasons: Vec<Value> = obr
        .field(31)
        .repetitions()
        .filter_map(|x| codeable_concept(&x, None))
        .collect();
    if !reasons.is_empty() {
        r.insert("reasonCode".into(), Value::Array(reasons));
    }
    let index = ctx.push(obr, r);
    ctx.order.orc = orc;
    ctx.order.obr = Some(obr);
    ctx.order.report = None;
    ctx.last = Some(index);
}

/// Field numbers of the parts of RXO and RXE that a MedicationRequest uses.
struct RxFields {
    code: usize,
    dose: usize,
    dose_unit: usize,
    dispense: usize,
    dispense_unit: usize,
    refills: usize,
}

const RXO: RxFields = RxFields {
    code: 1,
    dose: 2,
    dose_unit: 4,
    dispense: 11,
    dispense_unit: 12,
    refills: 13,
};
const RXE: RxFields = RxFields {
    code: 2,
    dose: 3,
    dose_unit: 5,
    dispense: 10,
    dispense_unit: 11,
    refills: 12,
};

pub(super) fn map_medication_request<'m, 'a>(ctx: &mut Ctx<'m, 'a>, rx: &'m Segment<'a>) {
    let f = if rx.id() == "RXE" { RXE } else { RXO };
    let field = |n: usize| format!("{}-{n}", rx.id());
    let Some(medication) = codeable_concept(&rx.field(f.code), None) else {
        let name = field(f.code);
        ctx.error(
            rx,
            Some(&name),
            format!("{name} (the medication) is empty; the order is skipped"),
        );
        return;
    };
    let orc = ctx.order.orc;
    let mut r = ctx.resource("MedicationRequest", ctx.id_for(rx));
    let ids = order_identifiers(orc, None);
    if !ids.is_empty() {
        r.insert("identifier".into(), Value::Array(ids));
    }
    r.insert("status".into(), request_status(orc, "cancelled").into());
    r.insert("intent".into(), "order".into());
    r.insert("medicationCodeableConcept".into(), medication);
    ctx.link_patient(&mut r, "subject", rx);
    ctx.link_encounter(&mut r);
    if let Some(when) = orc.and_then(|o| ctx.datetime(o, 9)) {
        r.insert("authoredOn".into(), when.into());
    }
    if let Some(who) = orc.and_then(|o| person_reference(&o.field(12))) {
        r.insert("requester".into(), who);
    }
    if let Some(dose) = amount(rx, f.dose, f.dose_unit) {
        r.insert(
            "dosageInstruction".into(),
            json!([{ "doseAndRate": [{ "doseQuantity": dose }] }]),
        );
    }
    let mut dispense = Map::new();
    if let Some(q) = amount(rx, f.dispense, f.dispense_unit) {
        dispense.insert("quantity".into(), q);
    }
    if let Some(n) = rx.text(f.refills).and_then(|t| t.parse::<u32>().ok()) {
        dispense.insert("numberOfRepeatsAllowed".into(), n.into());
    }
    if !dispense.is_empty() {
        r.insert("dispenseRequest".into(), Value::Object(dispense));
    }
    let index = ctx.push(rx, r);
    ctx.last = Some(index);
}

/// A number field with a CWE unit field, as a Quantity.
pub(super) fn amount(seg: &Segment<'_>, value: usize, unit: usize) -> Option<Value> {
    let v = seg.field(value).text().as_deref().and_then(number)?;
    let mut q = Map::new();
    q.insert("value".into(), v);
    let u = seg.field(unit);
    if let Some(text) = comp(&u, 2).or_else(|| comp(&u, 1)) {
        q.insert("unit".into(), text.into());
    }
    if comp(&u, 3).is_some_and(|s| s.eq_ignore_ascii_case("UCUM"))
        && let Some(code) = comp(&u, 1)
    {
        q.insert("system".into(), "http://unitsofmeasure.org".into());
        q.insert("code".into(), code.into());
    }
    Some(Value::Object(q))
}
