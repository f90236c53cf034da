//! Small readers over FHIR JSON: strings, dates, references and codings, and the
//! mapping of coded values to OMOP concepts.

use serde_json::Value;

use crate::date::Date;
use crate::vocab::Vocabulary;

/// FHIR system URIs and the OMOP vocabulary each corresponds to.
const SYSTEMS: &[(&str, &str)] = &[
    ("http://snomed.info/sct", "SNOMED"),
    ("http://loinc.org", "LOINC"),
    ("http://www.nlm.nih.gov/research/umls/rxnorm", "RxNorm"),
    ("http://hl7.org/fhir/sid/icd-10-cm", "ICD10CM"),
    ("http://hl7.org/fhir/sid/icd-10", "ICD10"),
    ("http://hl7.org/fhir/sid/icd-9-cm", "ICD9CM"),
    ("http://hl7.org/fhir/sid/cvx", "CVX"),
    ("http://hl7.org/fhir/sid/ndc", "NDC"),
    ("http://unitsofmeasure.org", "UCUM"),
    ("http://www.ama-assn.org/go/cpt", "CPT4"),
    ("http://www.whocc.no/atc", "ATC"),
];

/// The OMOP vocabulary id for a FHIR code system URI.
pub fn vocabulary_of(system: &str) -> Option<&'static str> {
    SYSTEMS.iter().find(|(s, _)| *s == system).map(|(_, v)| *v)
}

pub(crate) fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key)?.as_str().filter(|s| !s.trim().is_empty())
}

/// A FHIR date or dateTime as a [`Date`]; partial dates (`YYYY-MM`, `YYYY`) read as
/// their first day. The local date is kept (no time-zone shift).
pub(crate) fn date_of(text: &str) -> Option<Date> {
    if let Some(d) = Date::parse(text) {
        return Some(d);
    }
    let t = text.trim();
    let year: i32 = t.get(..4)?.parse().ok()?;
    match t.len() {
        4 => Date::from_ymd(year, 1, 1),
        7 if t.as_bytes()[4] == b'-' => Date::from_ymd(year, t[5..7].parse().ok()?, 1),
        _ => None,
    }
}

/// The first of several keys holding a date (`onsetDateTime`, `onsetPeriod.start`).
pub(crate) fn first_date(v: &Value, paths: &[&str]) -> Option<Date> {
    paths.iter().find_map(|p| {
        let mut cur = v;
        for part in p.split('.') {
            cur = match part.parse::<usize>() {
                Ok(i) => cur.get(i)?,
                Err(_) => cur.get(part)?,
            };
        }
        date_of(cur.as_str()?)
    })
}

/// The id a reference points to: `Patient/abc`, `urn:uuid:abc`,
/// `https://server/fhir/Patient/abc/_history/2` all give `abc`.
pub(crate) fn reference_id<'v>(reference: &'v Value, kind: &str) -> Option<&'v str> {
    let r = str_at(reference, "reference")?;
    if let Some(uuid) = r.strip_prefix("urn:uuid:") {
        return Some(uuid);
    }
    let mut parts = r.split('/');
    parts.find(|p| *p == kind)?;
    parts.next().filter(|id| !id.is_empty())
}

/// A coded value mapped to OMOP: the standard concept (0 when none), the source
/// concept (when the code is in CONCEPT) and the source value (the code as sent).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mapped {
    pub concept_id: i64,
    pub source_concept_id: Option<i64>,
    pub source_value: Option<String>,
    pub domain: Option<String>,
}

/// Maps a CodeableConcept: the first coding that leads to a standard concept wins;
/// otherwise concept 0 with the first coding's code (or the text) as source value.
pub(crate) fn map_concept(cc: Option<&Value>, vocabulary: &Vocabulary) -> Mapped {
    let codings: Vec<&Value> = cc
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut fallback: Option<Mapped> = None;
    for coding in &codings {
        let Some(code) = str_at(coding, "code") else {
            continue;
        };
        let vocab = str_at(coding, "system").and_then(vocabulary_of);
        let (standard, source) = match vocab {
            Some(v) => vocabulary.standard_for_code(v, code),
            None => (0, None),
        };
        let mapped = Mapped {
            concept_id: standard,
            source_concept_id: source,
            source_value: Some(code.to_owned()),
            domain: (standard != 0)
                .then(|| vocabulary.concept(standard).map(|c| c.domain_id.clone()))
                .flatten(),
        };
        if standard != 0 {
            return mapped;
        }
        fallback.get_or_insert(mapped);
    }
    fallback.unwrap_or_else(|| Mapped {
        concept_id: 0,
        source_concept_id: None,
        source_value: cc.and_then(|c| str_at(c, "text")).map(str::to_owned),
        domain: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_and_dates() {
        assert_eq!(
            reference_id(&json!({"reference": "Patient/abc"}), "Patient"),
            Some("abc")
        );
        assert_eq!(
            reference_id(&json!({"reference": "urn:uuid:1-2"}), "Patient"),
            Some("1-2")
        );
        assert_eq!(
            reference_id(
                &json!({"reference": "https://x/fhir/Patient/p9/_history/2"}),
                "Patient"
            ),
            Some("p9")
        );
        assert_eq!(
            reference_id(&json!({"reference": "Group/abc"}), "Patient"),
            None
        );
        assert_eq!(
            date_of("2011-10-10T10:00:00-05:00").unwrap().to_string(),
            "2011-10-10"
        );
        assert_eq!(date_of("2011-10").unwrap().to_string(), "2011-10-01");
        assert_eq!(date_of("2011").unwrap().to_string(), "2011-01-01");
        assert_eq!(date_of("2011-1"), None);
    }
}
