//! Condition, Observation and MedicationRequest → OMOP event rows.

use serde_json::Value;

use super::Converter;
use super::json::{Mapped, first_date, map_concept, reference_id, str_at};
use crate::cdm::{DrugExposure, Event, Measurement};
use crate::diagnostic::Severity;

/// Resources whose status says they never happened are not converted.
fn voided(r: &Value, status_key: &str) -> bool {
    let status = r.get(status_key).and_then(|s| {
        s.as_str().map(str::to_owned).or_else(|| {
            s.get("coding")?
                .as_array()?
                .iter()
                .find_map(|c| str_at(c, "code").map(str::to_owned))
        })
    });
    matches!(
        status.as_deref(),
        Some("entered-in-error" | "refuted" | "cancelled")
    )
}

fn event(
    c: &mut Converter<'_, '_>,
    r: &Value,
    person: i64,
    mapped: &Mapped,
    start: crate::Date,
) -> Event {
    Event {
        id: c.next_id(),
        person_id: person,
        concept_id: mapped.concept_id,
        start,
        end: None,
        visit_occurrence_id: c.visit_of(r),
        source_value: mapped.source_value.clone(),
        source_concept_id: mapped.source_concept_id,
    }
}

pub(super) fn condition(c: &mut Converter<'_, '_>, r: &Value) {
    if voided(r, "verificationStatus") {
        return;
    }
    let Some(person) = c.person_of(r) else { return };
    let Some(start) = first_date(r, &["onsetDateTime", "onsetPeriod.start", "recordedDate"]) else {
        c.report(
            "condition-date",
            Severity::Error,
            r,
            "Condition has no onset[x] date or recordedDate; skipped",
        );
        return;
    };
    let mapped = map_concept(r.get("code"), c.vocabulary);
    let mut e = event(c, r, person, &mapped, start);
    e.end = first_date(r, &["abatementDateTime", "abatementPeriod.end"]).filter(|d| *d >= start);
    c.cdm.condition_occurrence.push(e);
}

/// True when an unmapped Observation looks like a measurement.
fn measurement_like(r: &Value) -> bool {
    let categories = r
        .get("category")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let lab = categories
        .filter_map(|cat| cat.get("coding")?.as_array())
        .flatten()
        .any(|coding| matches!(str_at(coding, "code"), Some("laboratory" | "vital-signs")));
    lab || r.get("valueQuantity").is_some()
}

pub(super) fn observation(c: &mut Converter<'_, '_>, r: &Value) {
    if voided(r, "status") {
        return;
    }
    let Some(person) = c.person_of(r) else { return };
    let Some(date) = first_date(
        r,
        &[
            "effectiveDateTime",
            "effectivePeriod.start",
            "effectiveInstant",
            "issued",
        ],
    ) else {
        c.report(
            "observation-date",
            Severity::Error,
            r,
            "Observation has no effective[x] date or issued; skipped",
        );
        return;
    };
    let mut parts: Vec<&Value> = vec![r];
    if let Some(components) = r.get("component").and_then(Value::as_array) {
        parts.extend(components);
    }
    for part in parts {
        let has_value = [
            "valueQuantity",
            "valueCodeableConcept",
            "valueString",
            "valueBoolean",
            "valueInteger",
        ]
        .iter()
        .any(|k| part.get(k).is_some());
        if !std::ptr::eq(part, r) || has_value || r.get("component").is_none() {
            observation_row(c, r, part, person, date);
        }
    }
}

/// One MEASUREMENT or OBSERVATION row from an Observation or one of its components.
fn observation_row(
    c: &mut Converter<'_, '_>,
    r: &Value,
    part: &Value,
    person: i64,
    date: crate::Date,
) {
    let mapped = map_concept(part.get("code"), c.vocabulary);
    let is_measurement = match mapped.domain.as_deref() {
        Some(domain) => domain == "Measurement",
        None => measurement_like(r),
    };
    let quantity = part.get("valueQuantity");
    let unit = quantity
        .and_then(|q| str_at(q, "unit").or_else(|| str_at(q, "code")))
        .map(str::to_owned);
    let unit_concept = quantity
        .and_then(|q| str_at(q, "code"))
        .map(|code| c.vocabulary.standard_for_code("UCUM", code).0)
        .filter(|&id| id != 0);
    let value_concept = part
        .get("valueCodeableConcept")
        .map(|cc| map_concept(Some(cc), c.vocabulary).concept_id)
        .filter(|&id| id != 0);
    let value_text = str_at(part, "valueString")
        .map(str::to_owned)
        .or_else(|| {
            part.get("valueBoolean")
                .and_then(Value::as_bool)
                .map(|b| b.to_string())
        })
        .or_else(|| {
            let cc = part.get("valueCodeableConcept")?;
            str_at(cc, "text").map(str::to_owned)
        });
    let range = r.get("referenceRange").and_then(|x| x.get(0));
    let bound = |key: &str| range.and_then(|x| x.get(key)?.get("value")?.as_f64());
    let row = Measurement {
        event: event(c, r, person, &mapped, date),
        value_as_number: quantity
            .and_then(|q| q.get("value")?.as_f64())
            .or_else(|| part.get("valueInteger").and_then(Value::as_f64)),
        value_as_string: value_text,
        value_as_concept_id: value_concept,
        unit_concept_id: unit_concept,
        unit_source_value: unit,
        range_low: bound("low"),
        range_high: bound("high"),
    };
    if is_measurement {
        c.cdm.measurement.push(row);
    } else {
        c.cdm.observation.push(row);
    }
}

pub(super) fn medication_request(c: &mut Converter<'_, '_>, r: &Value) {
    if voided(r, "status") {
        return;
    }
    let Some(person) = c.person_of(r) else { return };
    let bounds = "dosageInstruction.0.timing.repeat.boundsPeriod";
    let Some(start) = first_date(r, &["authoredOn", &format!("{bounds}.start")]) else {
        c.report(
            "drug-date",
            Severity::Error,
            r,
            "MedicationRequest has no authoredOn or dosage start; skipped",
        );
        return;
    };
    let code = match r.get("medicationCodeableConcept") {
        Some(cc) => Some(cc),
        None => r
            .get("medicationReference")
            .and_then(|m| reference_id(m, "Medication"))
            .and_then(|id| c.medications.get(id).copied())
            .and_then(|m| m.get("code")),
    };
    if code.is_none() {
        c.report(
            "drug-code",
            Severity::Warning,
            r,
            "the medication has no code (or its Medication is not in the input); concept_id 0",
        );
    }
    let mapped = map_concept(code, c.vocabulary);
    let supply = r.get("dispenseRequest");
    let days_supply = supply
        .and_then(|s| s.get("expectedSupplyDuration"))
        .filter(|d| {
            matches!(
                str_at(d, "code").or_else(|| str_at(d, "unit")),
                Some("d" | "day" | "days")
            )
        })
        .and_then(|d| d.get("value")?.as_f64())
        .map(|v| v.round() as i64)
        .filter(|&v| v > 0);
    let end = first_date(r, &[&format!("{bounds}.end")])
        .or_else(|| days_supply.map(|d| start.add_days(d as i32 - 1)))
        .filter(|e| *e >= start)
        .unwrap_or(start);
    let mut e = event(c, r, person, &mapped, start);
    e.end = Some(end);
    c.cdm.drug_exposure.push(DrugExposure {
        event: e,
        quantity: supply.and_then(|s| s.get("quantity")?.get("value")?.as_f64()),
        days_supply,
    });
}
