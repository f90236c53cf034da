//! PID → Patient (v2-to-FHIR IG "PID[Patient]").
//!
//! The patient's identity, and so the resource id, comes from PID-3: the repetition
//! whose type (CX.5) is `MR` if there is one, else the first with a value, together
//! with its assigning authority (CX.4). Older messages without PID-3 fall back to
//! PID-2 (external id) and PID-4 (alternate id).

use serde_json::{Value, json};

use super::context::{Ctx, hash_id};
use crate::datatypes::{
    address, authority_text, codeable_concept, comp, contact_point, human_name, identifier,
};
use crate::{Element, Segment};

pub(super) fn map_pid<'m, 'a>(ctx: &mut Ctx<'m, 'a>, pid: &'m Segment<'a>) {
    let key = patient_key(pid);
    let id = match &key {
        Some(k) => k.clone(),
        None => {
            ctx.warn(
                pid,
                Some("PID-3"),
                "no patient identifier in PID-3 (or PID-2/PID-4): the patient cannot be matched across messages",
            );
            ctx.id_for(pid)
        }
    };
    let mut p = ctx.resource("Patient", id.clone());
    let ids: Vec<Value> = [2, 3, 4]
        .iter()
        .flat_map(|&n| pid.field(n).repetitions())
        .filter_map(|r| identifier(&r))
        .fold(Vec::new(), |mut acc, v| {
            if !acc.contains(&v) {
                acc.push(v);
            }
            acc
        });
    if !ids.is_empty() {
        p.insert("identifier".into(), Value::Array(ids));
    }
    let names: Vec<Value> = pid
        .field(5)
        .repetitions()
        .filter_map(|r| human_name(&r))
        .collect();
    if !names.is_empty() {
        p.insert("name".into(), Value::Array(names));
    }
    let mut telecom: Vec<Value> = pid
        .field(13)
        .repetitions()
        .filter_map(|r| contact_point(&r, "home"))
        .collect();
    telecom.extend(
        pid.field(14)
            .repetitions()
            .filter_map(|r| contact_point(&r, "work")),
    );
    if !telecom.is_empty() {
        p.insert("telecom".into(), Value::Array(telecom));
    }
    if let Some(g) = gender(ctx, pid) {
        p.insert("gender".into(), g.into());
    }
    if let Some(b) = ctx.date(pid, 7) {
        p.insert("birthDate".into(), b.into());
    }
    deceased(ctx, pid, &mut p);
    let addresses: Vec<Value> = pid
        .field(11)
        .repetitions()
        .filter_map(|r| address(&r))
        .collect();
    if !addresses.is_empty() {
        p.insert("address".into(), Value::Array(addresses));
    }
    if let Some(m) = codeable_concept(&pid.field(16), Some("HL70002")) {
        p.insert("maritalStatus".into(), m);
    }
    multiple_birth(pid, &mut p);
    if let Some(lang) = codeable_concept(&pid.field(15), None) {
        p.insert("communication".into(), json!([{ "language": lang }]));
    }
    ctx.push(pid, p);
    ctx.patient = Some(format!("Patient/{id}"));
    ctx.patient_key = Some(key.unwrap_or(id));
    ctx.encounter = None;
}

/// The hashed identity of the patient: `hash("PID-3", authority, value)`.
pub(super) fn patient_key(pid: &Segment<'_>) -> Option<String> {
    let chosen = identity_cx(pid)?;
    let value = comp(&chosen, 1)?;
    let authority = authority_text(&chosen).unwrap_or_default();
    Some(hash_id(&["PID-3", &authority, &value], 20))
}

fn identity_cx<'a>(pid: &Segment<'a>) -> Option<Element<'a>> {
    let with_value = |n: usize| -> Vec<Element<'a>> {
        pid.field(n)
            .repetitions()
            .filter(|r| r.component(1).text().is_some())
            .collect()
    };
    let pid3 = with_value(3);
    if let Some(mr) = pid3.iter().find(|r| comp(r, 5).as_deref() == Some("MR")) {
        return Some(*mr);
    }
    pid3.into_iter()
        .next()
        .or_else(|| with_value(2).into_iter().next())
        .or_else(|| with_value(4).into_iter().next())
}

/// PID-8 (table 0001) to AdministrativeGender (IG ConceptMap AdministrativeSex).
fn gender(ctx: &mut Ctx<'_, '_>, pid: &Segment<'_>) -> Option<&'static str> {
    let code = pid.field(8).component(1).text()?;
    let g = match code.to_ascii_uppercase().as_str() {
        "F" => "female",
        "M" => "male",
        "O" | "A" => "other",
        "U" | "N" => "unknown",
        _ => {
            ctx.warn(
                pid,
                Some("PID-8"),
                "administrative sex is not a code of HL7 table 0001 (F, M, O, U, A, N); left out",
            );
            return None;
        }
    };
    Some(g)
}

/// PID-29 (death date/time) and PID-30 (death indicator).
fn deceased(ctx: &mut Ctx<'_, '_>, pid: &Segment<'_>, p: &mut serde_json::Map<String, Value>) {
    if let Some(when) = ctx.datetime(pid, 29) {
        p.insert("deceasedDateTime".into(), when.into());
        return;
    }
    match pid.text(30).as_deref() {
        Some("Y") => {
            p.insert("deceasedBoolean".into(), true.into());
        }
        Some("N") => {
            p.insert("deceasedBoolean".into(), false.into());
        }
        _ => {}
    }
}

/// PID-24 (multiple birth indicator) and PID-25 (birth order).
fn multiple_birth(pid: &Segment<'_>, p: &mut serde_json::Map<String, Value>) {
    let order = pid
        .text(25)
        .and_then(|o| o.parse::<i64>().ok())
        .filter(|&n| n > 0);
    if let Some(order) = order {
        p.insert("multipleBirthInteger".into(), order.into());
    } else if let Some(flag) = pid.text(24) {
        match flag.as_ref() {
            "Y" => p.insert("multipleBirthBoolean".into(), true.into()),
            "N" => p.insert("multipleBirthBoolean".into(), false.into()),
            _ => None,
        };
    }
}
