//! DG1 → Condition, AL1 → AllergyIntolerance, RXA (+RXR) → Immunization
//! (v2-to-FHIR IG "DG1[Condition]", "AL1[AllergyIntolerance]", "RXA[Immunization]").

use serde_json::{Value, json};

use super::context::Ctx;
use super::order::amount;
use crate::Segment;
use crate::datatypes::{codeable_concept, comp};

pub(super) fn map_dg1(ctx: &mut Ctx<'_, '_>, dg1: &Segment<'_>) {
    // Before v2.5 the coding method sat in DG1-2 and the description in DG1-4.
    let method = dg1.text(2).map(|s| s.into_owned());
    let Some(mut code) = codeable_concept(&dg1.field(3), method.as_deref()) else {
        ctx.error(
            dg1,
            Some("DG1-3"),
            "DG1-3 (diagnosis code) is empty; the diagnosis is skipped",
        );
        return;
    };
    if code.get("text").is_none()
        && let Some(description) = dg1.text(4)
    {
        code["text"] = description.into_owned().into();
    }
    let mut c = ctx.resource("Condition", ctx.id_for(dg1));
    let mut category = vec![json!({ "coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
        "code": "encounter-diagnosis" }] })];
    if let Some(kind) = dg1.text(6) {
        category.push(json!({ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0052", "code": kind }] }));
    }
    c.insert("category".into(), Value::Array(category));
    c.insert("code".into(), code);
    ctx.link_patient(&mut c, "subject", dg1);
    ctx.link_encounter(&mut c);
    if let Some(when) = ctx.datetime(dg1, 5) {
        c.insert("onsetDateTime".into(), when.into());
    }
    let index = ctx.push(dg1, c);
    ctx.last = Some(index);
}

pub(super) fn map_al1(ctx: &mut Ctx<'_, '_>, al1: &Segment<'_>) {
    let Some(code) = codeable_concept(&al1.field(3), None) else {
        ctx.error(
            al1,
            Some("AL1-3"),
            "AL1-3 (allergen) is empty; the allergy is skipped",
        );
        return;
    };
    let mut a = ctx.resource("AllergyIntolerance", ctx.id_for(al1));
    a.insert(
        "clinicalStatus".into(),
        json!({ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "code": "active" }] }),
    );
    // AL1-2 allergen type (table 0127).
    let category = match al1.field(2).component(1).text().as_deref() {
        Some("DA") => Some("medication"),
        Some("FA") => Some("food"),
        Some("EA") | Some("AA") | Some("PA") | Some("LA") => Some("environment"),
        _ => None,
    };
    if let Some(cat) = category {
        a.insert("category".into(), json!([cat]));
    }
    // AL1-4 severity (table 0128).
    let criticality = match al1.field(4).component(1).text().as_deref() {
        Some("SV") => Some("high"),
        Some("MO") | Some("MI") => Some("low"),
        Some("U") => Some("unable-to-assess"),
        _ => None,
    };
    if let Some(level) = criticality {
        a.insert("criticality".into(), level.into());
    }
    a.insert("code".into(), code);
    ctx.link_patient(&mut a, "patient", al1);
    let reactions: Vec<Value> = al1
        .field(5)
        .repetitions()
        .filter_map(|r| r.value().map(|v| json!({ "text": v })))
        .collect();
    if !reactions.is_empty() {
        a.insert("reaction".into(), json!([{ "manifestation": reactions }]));
    }
    if let Some(when) = ctx.datetime(al1, 6) {
        a.insert("onsetDateTime".into(), when.into());
    }
    let index = ctx.push(al1, a);
    ctx.last = Some(index);
}

pub(super) fn map_rxa(ctx: &mut Ctx<'_, '_>, rxa: &Segment<'_>) {
    let Some(vaccine) = codeable_concept(&rxa.field(5), None) else {
        ctx.error(
            rxa,
            Some("RXA-5"),
            "RXA-5 (administered code) is empty; the immunization is skipped",
        );
        return;
    };
    let mut i = ctx.resource("Immunization", ctx.id_for(rxa));
    i.insert("status".into(), immunization_status(rxa).into());
    if let Some(reason) = codeable_concept(&rxa.field(18), None) {
        i.insert("statusReason".into(), reason);
    }
    i.insert("vaccineCode".into(), vaccine);
    ctx.link_patient(&mut i, "patient", rxa);
    ctx.link_encounter(&mut i);
    match ctx.datetime(rxa, 3) {
        Some(when) => {
            i.insert("occurrenceDateTime".into(), when.into());
        }
        None => ctx.warn(
            rxa,
            Some("RXA-3"),
            "RXA-3 (administration date) is missing or invalid; FHIR requires it",
        ),
    }
    if let Some(lot) = rxa.field(15).repetitions().find_map(|r| r.text()) {
        i.insert("lotNumber".into(), lot.into_owned().into());
    }
    if let Some(exp) = ctx.date(rxa, 16) {
        i.insert("expirationDate".into(), exp.into());
    }
    if let Some(maker) = comp(&rxa.field(17), 2).or_else(|| comp(&rxa.field(17), 1)) {
        i.insert("manufacturer".into(), json!({ "display": maker }));
    }
    // 999 is the CDC convention for "amount unknown".
    if let Some(dose) = amount(rxa, 6, 7).filter(|q| q["value"] != json!(999)) {
        i.insert("doseQuantity".into(), dose);
    }
    let index = ctx.push(rxa, i);
    ctx.last = Some(index);
}

/// RXA-21 action code D (delete) wins; else RXA-20 completion status (table 0322).
fn immunization_status(rxa: &Segment<'_>) -> &'static str {
    if rxa.text(21).as_deref() == Some("D") {
        return "entered-in-error";
    }
    match rxa.text(20).as_deref() {
        Some("RE") | Some("NA") => "not-done",
        _ => "completed",
    }
}

/// RXR after RXA, RXO or RXE: route (RXR-1) and, for immunizations, site (RXR-2).
pub(super) fn map_route(ctx: &mut Ctx<'_, '_>, rxr: &Segment<'_>) {
    let Some(index) = ctx.last else {
        return;
    };
    let route = codeable_concept(&rxr.field(1), Some("HL70162"));
    let site = codeable_concept(&rxr.field(2), Some("HL70163"));
    let resource = &mut ctx.out.resources[index].resource;
    match resource["resourceType"].as_str() {
        Some("Immunization") => {
            if let Some(r) = route {
                resource["route"] = r;
            }
            if let Some(s) = site {
                resource["site"] = s;
            }
        }
        Some("MedicationRequest") => {
            if let (Some(r), Some(list)) = (route, resource["dosageInstruction"].as_array_mut()) {
                if let Some(first) = list.first_mut() {
                    first["route"] = r;
                }
            } else if let Some(r) = codeable_concept(&rxr.field(1), Some("HL70162")) {
                resource["dosageInstruction"] = json!([{ "route": r }]);
            }
        }
        _ => {}
    }
}
