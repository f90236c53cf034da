//! PV1 → Encounter (v2-to-FHIR IG "PV1[Encounter]").
//!
//! The Encounter id is a hash of the patient's identity and the PV1-19 visit number
//! when there is one, so an admission (A01) and its later update (A08) are one
//! Encounter; without a visit number it is the message id + segment position.

use serde_json::{Value, json};

use super::context::{Ctx, hash_id};
use crate::Segment;
use crate::datatypes::{authority_text, codeable_concept, comp, identifier, person_reference};

pub(super) fn map_pv1<'m, 'a>(ctx: &mut Ctx<'m, 'a>, pv1: &'m Segment<'a>) {
    let visit = pv1.field(19);
    let id = match (comp(&visit, 1), &ctx.patient_key) {
        (Some(number), Some(patient)) => {
            let authority = authority_text(&visit).unwrap_or_default();
            hash_id(&["PV1-19", patient, &authority, &number], 20)
        }
        _ => ctx.id_for(pv1),
    };
    let mut e = ctx.resource("Encounter", id.clone());
    let end = ctx.datetime(pv1, 45);
    let status = if end.is_some() {
        "finished"
    } else {
        match ctx.msg.message_type().code.as_str() {
            "ADT" => "in-progress",
            _ => "unknown",
        }
    };
    e.insert("status".into(), status.into());
    e.insert("class".into(), patient_class(pv1));
    if let Some(v) = identifier(&visit) {
        e.insert("identifier".into(), json!([v]));
    }
    ctx.link_patient(&mut e, "subject", pv1);
    if let Some(t) = codeable_concept(&pv1.field(4), Some("HL70007")) {
        e.insert("type".into(), json!([t]));
    }
    if let Some(s) = codeable_concept(&pv1.field(10), Some("HL70069")) {
        e.insert("serviceType".into(), s);
    }
    let start = ctx.datetime(pv1, 44);
    if start.is_some() || end.is_some() {
        let mut period = serde_json::Map::new();
        if let Some(s) = start {
            period.insert("start".into(), s.into());
        }
        if let Some(en) = end {
            period.insert("end".into(), en.into());
        }
        e.insert("period".into(), Value::Object(period));
    }
    let participants = participants(pv1);
    if !participants.is_empty() {
        e.insert("participant".into(), Value::Array(participants));
    }
    if let Some(loc) = location_display(pv1) {
        e.insert(
            "location".into(),
            json!([{ "location": { "display": loc } }]),
        );
    }
    hospitalization(pv1, &mut e);
    ctx.push(pv1, e);
    ctx.encounter = Some(format!("Encounter/{id}"));
}

/// PV1-2 (table 0004) to Encounter.class (v3 ActCode), as the IG's PatientClass map.
fn patient_class(pv1: &Segment<'_>) -> Value {
    let v3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    let code = pv1.field(2).component(1).text();
    let (system, code, display) = match code.as_deref() {
        Some("E") => (v3, "EMER", "emergency"),
        Some("I") => (v3, "IMP", "inpatient encounter"),
        Some("O") => (v3, "AMB", "ambulatory"),
        Some("P") => (v3, "PRENC", "pre-admission"),
        Some("R") => (v3, "AMB", "ambulatory"),
        Some("B") => (v3, "IMP", "inpatient encounter"),
        Some(other) => {
            return json!({ "system": "http://terminology.hl7.org/CodeSystem/v2-0004", "code": other });
        }
        None => {
            return json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK" });
        }
    };
    json!({ "system": system, "code": code, "display": display })
}

/// PV1-7 attending, PV1-8 referring, PV1-9 consulting, PV1-17 admitting doctors.
fn participants(pv1: &Segment<'_>) -> Vec<Value> {
    let roles = [(7, "ATND"), (8, "REF"), (9, "CON"), (17, "ADM")];
    let mut out = Vec::new();
    for (field, role) in roles {
        for rep in pv1.field(field).repetitions() {
            if let Some(who) = person_reference(&rep) {
                out.push(json!({
                    "type": [{ "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": role }] }],
                    "individual": who
                }));
            }
        }
    }
    out
}

/// PV1-3 (PL: point of care, room, bed, facility) as a location display text.
fn location_display(pv1: &Segment<'_>) -> Option<String> {
    let pl = pv1.field(3);
    let parts: Vec<String> = [1, 2, 3, 4]
        .iter()
        .filter_map(|&n| {
            pl.component(n)
                .subcomponent(1)
                .text()
                .map(|s| s.into_owned())
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// PV1-14 admit source and PV1-36 discharge disposition.
fn hospitalization(pv1: &Segment<'_>, e: &mut serde_json::Map<String, Value>) {
    let mut h = serde_json::Map::new();
    if let Some(src) = codeable_concept(&pv1.field(14), Some("HL70023")) {
        h.insert("admitSource".into(), src);
    }
    if let Some(d) = codeable_concept(&pv1.field(36), Some("HL70112")) {
        h.insert("dischargeDisposition".into(), d);
    }
    if !h.is_empty() {
        e.insert("hospitalization".into(), Value::Object(h));
    }
}
