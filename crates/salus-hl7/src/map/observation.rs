//! OBX → Observation, OBR (in results) → DiagnosticReport, NTE → Observation.note
//! (v2-to-FHIR IG "OBX[Observation]", "OBR[DiagnosticReport]").
//!
//! OBX-2 decides the value: NM → valueQuantity (unit from OBX-6), SN → valueQuantity
//! with comparator, valueRange or valueRatio, ST/TX/FT → valueString (repetitions
//! joined by line breaks), CE/CWE/CNE/CF/ID/IS → valueCodeableConcept, TS/DTM/DT →
//! valueDateTime, TM → valueTime. A value that does not fit its declared type is kept
//! as valueString with a warning.

use serde_json::{Map, Value, json};

use super::context::Ctx;
use crate::Segment;
use crate::datatypes::{codeable_concept, comp, number, person_reference};
use crate::datetime;

pub(super) fn map_report<'m, 'a>(ctx: &mut Ctx<'m, 'a>, obr: &'m Segment<'a>) {
    let orc = ctx.order.orc.filter(|_| ctx.order.obr.is_none());
    let mut r = ctx.resource("DiagnosticReport", ctx.id_for(obr));
    let ids = super::order::order_identifiers(orc, Some(obr));
    if !ids.is_empty() {
        r.insert("identifier".into(), Value::Array(ids));
    }
    r.insert(
        "status".into(),
        report_status(obr.text(25).as_deref()).into(),
    );
    match codeable_concept(&obr.field(4), None) {
        Some(code) => {
            r.insert("code".into(), code);
        }
        None => ctx.warn(
            obr,
            Some("OBR-4"),
            "OBR-4 (universal service identifier) is empty; the DiagnosticReport has no code",
        ),
    }
    ctx.link_patient(&mut r, "subject", obr);
    ctx.link_encounter(&mut r);
    if let Some(when) = ctx.datetime(obr, 7) {
        r.insert("effectiveDateTime".into(), when.into());
    }
    r.insert("result".into(), Value::Array(Vec::new()));
    let index = ctx.push(obr, r);
    ctx.order.orc = orc;
    ctx.order.obr = Some(obr);
    ctx.order.report = Some(index);
    ctx.last = None;
}

/// OBR-25 (table 0123) to DiagnosticReport.status.
fn report_status(code: Option<&str>) -> &'static str {
    match code {
        Some("O") | Some("I") => "registered",
        Some("S") | Some("A") | Some("R") => "partial",
        Some("P") => "preliminary",
        Some("C") => "corrected",
        Some("F") => "final",
        Some("X") => "cancelled",
        _ => "unknown",
    }
}

pub(super) fn map_obx<'m, 'a>(ctx: &mut Ctx<'m, 'a>, obx: &'m Segment<'a>) {
    let Some(code) = codeable_concept(&obx.field(3), None) else {
        ctx.error(
            obx,
            Some("OBX-3"),
            "OBX-3 (observation identifier) is empty; the observation is skipped",
        );
        return;
    };
    let id = ctx.id_for(obx);
    let mut o = ctx.resource("Observation", id.clone());
    o.insert(
        "status".into(),
        observation_status(obx.text(11).as_deref()).into(),
    );
    o.insert("code".into(), code);
    ctx.link_patient(&mut o, "subject", obx);
    ctx.link_encounter(&mut o);
    let effective = ctx.datetime(obx, 14).or_else(|| {
        let obr = ctx.order.obr?;
        ctx.datetime(obr, 7)
    });
    if let Some(when) = effective {
        o.insert("effectiveDateTime".into(), when.into());
    }
    value(ctx, obx, &mut o);
    if let Some(range) = reference_range(obx) {
        o.insert("referenceRange".into(), json!([range]));
    }
    let flags: Vec<Value> = obx
        .field(8)
        .repetitions()
        .filter_map(|r| r.component(1).text())
        .map(|c| {
            json!({ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                "code": c }] })
        })
        .collect();
    if !flags.is_empty() {
        o.insert("interpretation".into(), Value::Array(flags));
    }
    let performers: Vec<Value> = obx
        .field(16)
        .repetitions()
        .filter_map(|r| person_reference(&r))
        .collect();
    if !performers.is_empty() {
        o.insert("performer".into(), Value::Array(performers));
    }
    let index = ctx.push(obx, o);
    if let Some(report) = ctx.order.report {
        let reference = json!({ "reference": format!("Observation/{id}") });
        if let Some(list) = ctx.out.resources[report].resource["result"].as_array_mut() {
            list.push(reference);
        }
    }
    ctx.last = Some(index);
}

/// OBX-11 (table 0085) to Observation.status.
fn observation_status(code: Option<&str>) -> &'static str {
    match code {
        Some("C") => "corrected",
        Some("D") | Some("W") => "entered-in-error",
        Some("F") | Some("U") => "final",
        Some("I") | Some("O") => "registered",
        Some("P") | Some("R") | Some("S") => "preliminary",
        Some("X") | Some("N") => "cancelled",
        _ => "unknown",
    }
}

/// Sets value[x] from OBX-2 and OBX-5.
fn value(ctx: &mut Ctx<'_, '_>, obx: &Segment<'_>, o: &mut Map<String, Value>) {
    let field = obx.field(5);
    if field.value().is_none() && field.component(2).value().is_none() {
        return;
    }
    let kind = obx
        .field(2)
        .component(1)
        .text()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let as_text = || {
        let lines: Vec<String> = field
            .repetitions()
            .filter_map(|r| {
                let parts: Vec<String> = r
                    .components()
                    .filter_map(|c| c.value().map(|v| v.into_owned()))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
            .collect();
        lines.join("\n")
    };
    let set = |o: &mut Map<String, Value>, k: &str, v: Value| {
        o.insert(k.into(), v);
    };
    match kind.as_str() {
        "NM" => match field.text().as_deref().and_then(number) {
            Some(n) => set(o, "valueQuantity", quantity(n, obx)),
            None => mismatch(ctx, obx, "NM", o, as_text()),
        },
        "SN" => match structured_numeric(obx) {
            Some((k, v)) => set(o, k, v),
            None => mismatch(ctx, obx, "SN", o, as_text()),
        },
        "ST" | "TX" | "FT" => set(o, "valueString", as_text().into()),
        "CE" | "CWE" | "CNE" | "CF" => match codeable_concept(&field, None) {
            Some(cc) => set(o, "valueCodeableConcept", cc),
            None => mismatch(ctx, obx, &kind, o, as_text()),
        },
        "ID" | "IS" => set(
            o,
            "valueCodeableConcept",
            json!({ "coding": [{ "code": as_text() }] }),
        ),
        "TS" | "DTM" | "DT" => match datetime::to_fhir_datetime(&as_text()) {
            Ok(dt) => set(o, "valueDateTime", dt.into()),
            Err(_) => mismatch(ctx, obx, &kind, o, as_text()),
        },
        "TM" => match datetime::to_fhir_time(&as_text()) {
            Ok(t) => set(o, "valueTime", t.into()),
            Err(_) => mismatch(ctx, obx, "TM", o, as_text()),
        },
        "" => {
            ctx.warn(
                obx,
                Some("OBX-2"),
                "OBX-2 (value type) is empty; OBX-5 kept as valueString",
            );
            set(o, "valueString", as_text().into());
        }
        _ => {
            ctx.warn(obx, Some("OBX-2"), "OBX-2 is not a value type this mapping reads (NM, SN, ST, TX, FT, CE, CWE, CNE, CF, ID, IS, TS, DTM, DT, TM); OBX-5 kept as valueString");
            set(o, "valueString", as_text().into());
        }
    }
}

fn mismatch(
    ctx: &mut Ctx<'_, '_>,
    obx: &Segment<'_>,
    kind: &str,
    o: &mut Map<String, Value>,
    text: String,
) {
    ctx.warn(
        obx,
        Some("OBX-5"),
        format!(
            "OBX-5 does not hold a valid {kind} value (declared in OBX-2); kept as valueString"
        ),
    );
    o.insert("valueString".into(), text.into());
}

/// A Quantity with OBX-6 as its unit (UCUM code and system only when OBX-6.3 says UCUM).
fn quantity(value: Value, obx: &Segment<'_>) -> Value {
    let mut q = Map::new();
    q.insert("value".into(), value);
    let units = obx.field(6);
    if let Some(unit) = comp(&units, 2).or_else(|| comp(&units, 1)) {
        q.insert("unit".into(), unit.into());
    }
    if comp(&units, 3).is_some_and(|s| s.eq_ignore_ascii_case("UCUM"))
        && let Some(code) = comp(&units, 1)
    {
        q.insert("system".into(), "http://unitsofmeasure.org".into());
        q.insert("code".into(), code.into());
    }
    Value::Object(q)
}

/// SN: `comparator ^ num1 ^ separator ^ num2`.
fn structured_numeric(obx: &Segment<'_>) -> Option<(&'static str, Value)> {
    let f = obx.field(5);
    let comparator = comp(&f, 1);
    let n1 = comp(&f, 2).as_deref().and_then(number)?;
    let sep = comp(&f, 3);
    let n2 = comp(&f, 4).as_deref().and_then(number);
    match (sep.as_deref(), n2) {
        (None, None) => {
            let mut q = quantity(n1, obx);
            match comparator.as_deref() {
                None | Some("=") => {}
                Some(c @ ("<" | ">" | "<=" | ">=")) => {
                    q["comparator"] = c.into();
                }
                Some(_) => return None,
            }
            Some(("valueQuantity", q))
        }
        (Some("-"), Some(n2)) if comparator.is_none() => Some((
            "valueRange",
            json!({ "low": quantity(n1, obx), "high": quantity(n2, obx) }),
        )),
        (Some(":" | "/"), Some(n2)) if comparator.is_none() => Some((
            "valueRatio",
            json!({ "numerator": { "value": n1 }, "denominator": { "value": n2 } }),
        )),
        _ => None,
    }
}

/// OBX-7 as referenceRange: always the text; `low`/`high` when it reads `a-b`.
fn reference_range(obx: &Segment<'_>) -> Option<Value> {
    let text = obx.field(7).text()?.into_owned();
    let mut range = Map::new();
    let bounds = text
        .char_indices()
        .skip(1)
        .filter(|(_, c)| *c == '-' || *c == '_')
        .find_map(|(i, _)| Some((number(&text[..i])?, number(&text[i + 1..])?)));
    if let Some((low, high)) = bounds {
        range.insert("low".into(), quantity(low, obx));
        range.insert("high".into(), quantity(high, obx));
    }
    range.insert("text".into(), text.into());
    Some(Value::Object(range))
}

/// NTE after an OBX (or RXA/order) becomes an Annotation on that resource.
pub(super) fn map_note(ctx: &mut Ctx<'_, '_>, nte: &Segment<'_>) {
    let Some(index) = ctx.last else {
        return;
    };
    let lines: Vec<String> = nte
        .field(3)
        .repetitions()
        .filter_map(|r| r.value().map(|v| v.into_owned()))
        .collect();
    if lines.is_empty() {
        return;
    }
    let resource = &mut ctx.out.resources[index].resource;
    let note = json!({ "text": lines.join("\n") });
    match resource.get_mut("note").and_then(Value::as_array_mut) {
        Some(list) => list.push(note),
        None => resource["note"] = json!([note]),
    }
}
