//! HL7 v2 data types to FHIR R4 data types, following the v2-to-FHIR mapping IG's
//! data type maps: CWE/CE/CNE to CodeableConcept, CX to Identifier, XPN to HumanName,
//! XAD to Address, XTN to ContactPoint, XCN to a display reference.
//!
//! Every function returns `None` when the v2 element carries nothing, so callers can
//! set an element only when there is something to say.

use serde_json::{Map, Value, json};

use crate::Element;

/// Coding-system names used in v2 (HL7 table 0396 and common variants) and the FHIR
/// system URI each stands for.
const CODING_SYSTEMS: &[(&str, &str)] = &[
    ("LN", "http://loinc.org"),
    ("LOINC", "http://loinc.org"),
    ("SCT", "http://snomed.info/sct"),
    ("SNOMEDCT", "http://snomed.info/sct"),
    ("SNOMED-CT", "http://snomed.info/sct"),
    ("SNOMED", "http://snomed.info/sct"),
    ("I10", "http://hl7.org/fhir/sid/icd-10"),
    ("ICD10", "http://hl7.org/fhir/sid/icd-10"),
    ("I10C", "http://hl7.org/fhir/sid/icd-10-cm"),
    ("ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm"),
    ("I10P", "http://www.cms.gov/Medicare/Coding/ICD10"),
    ("I9", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("I9C", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("I9CDX", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("ICD9", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("ICD9CM", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm"),
    ("RXN", "http://www.nlm.nih.gov/research/umls/rxnorm"),
    ("CVX", "http://hl7.org/fhir/sid/cvx"),
    ("MVX", "http://terminology.hl7.org/CodeSystem/MVX"),
    ("NDC", "http://hl7.org/fhir/sid/ndc"),
    ("UCUM", "http://unitsofmeasure.org"),
    ("C4", "http://www.ama-assn.org/go/cpt"),
    ("CPT", "http://www.ama-assn.org/go/cpt"),
    (
        "HCPCS",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    ),
    ("ATC", "http://www.whocc.no/atc"),
    ("WC", "http://www.whocc.no/atc"),
    ("NCIT", "http://ncimeta.nci.nih.gov"),
    ("UMLS", "http://www.nlm.nih.gov/research/umls"),
    ("NPI", "http://hl7.org/fhir/sid/us-npi"),
];

/// The FHIR system URI for a v2 coding-system name, if it is a known one. `HL7nnnn`
/// (an HL7-defined table) becomes `http://terminology.hl7.org/CodeSystem/v2-nnnn`.
pub fn coding_system_uri(name: &str) -> Option<String> {
    let name = name.trim();
    let upper = name.to_ascii_uppercase();
    if let Some((_, uri)) = CODING_SYSTEMS.iter().find(|(n, _)| *n == upper) {
        return Some((*uri).to_owned());
    }
    let table = upper.strip_prefix("HL7")?.trim();
    (table.len() == 4 && table.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("http://terminology.hl7.org/CodeSystem/v2-{table}"))
}

/// Text of component `n`, trimmed; `None` when empty.
pub fn comp(e: &Element<'_>, n: usize) -> Option<String> {
    e.component(n).text().map(|s| s.into_owned())
}

fn coding(code: Option<String>, display: Option<String>, system: Option<String>) -> Option<Value> {
    if code.is_none() && display.is_none() {
        return None;
    }
    let mut c = Map::new();
    if let Some(uri) = system.as_deref().and_then(coding_system_uri) {
        c.insert("system".into(), uri.into());
    }
    if let Some(code) = code {
        c.insert("code".into(), code.into());
    }
    if let Some(display) = display {
        c.insert("display".into(), display.into());
    }
    Some(Value::Object(c))
}

/// CWE / CE / CNE (one repetition) to CodeableConcept: the identifier triplet and the
/// alternate triplet become codings; CWE.9 (original text) or CWE.2 becomes `text`.
/// `default_system` is used when CWE.3 is empty (e.g. DG1-2 in v2.3, or an HL7 table).
pub fn codeable_concept(e: &Element<'_>, default_system: Option<&str>) -> Option<Value> {
    let system = comp(e, 3).or_else(|| default_system.map(str::to_owned));
    let primary = comp(e, 1).map(|code| coding(Some(code), comp(e, 2), system));
    let alternate = comp(e, 4).map(|code| coding(Some(code), comp(e, 5), comp(e, 6)));
    let codings: Vec<Value> = [primary, alternate]
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    let text = comp(e, 9).or_else(|| comp(e, 2));
    if codings.is_empty() && text.is_none() {
        return None;
    }
    let mut cc = Map::new();
    if !codings.is_empty() {
        cc.insert("coding".into(), Value::Array(codings));
    }
    if let Some(text) = text {
        cc.insert("text".into(), text.into());
    }
    Some(Value::Object(cc))
}

/// A CodeableConcept holding one code from a known system (for v2 ID/IS values).
pub fn simple_concept(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut c = json!({ "system": system, "code": code });
    if let Some(d) = display {
        c["display"] = d.into();
    }
    json!({ "coding": [c] })
}

/// CX (one repetition) to Identifier: CX.1 value, CX.4 assigning authority as
/// `system` (its universal id when it is a URI/OID, else `assigner.display`), CX.5
/// identifier type (table 0203).
pub fn identifier(e: &Element<'_>) -> Option<Value> {
    let value = comp(e, 1)?;
    let mut id = Map::new();
    let authority = e.component(4);
    if let Some(system) = authority_system(&authority) {
        id.insert("system".into(), system.into());
    }
    if let Some(name) = authority.subcomponent(1).text() {
        id.insert("assigner".into(), json!({ "display": name }));
    }
    if let Some(kind) = comp(e, 5) {
        id.insert(
            "type".into(),
            simple_concept("http://terminology.hl7.org/CodeSystem/v2-0203", &kind, None),
        );
    }
    id.insert("value".into(), value.into());
    Some(Value::Object(id))
}

/// HD (assigning authority): a usable system URI from HD.2 (universal id) and HD.3
/// (its type), when it has one.
fn authority_system(hd: &Element<'_>) -> Option<String> {
    let universal = hd.subcomponent(2).text()?;
    let kind = hd.subcomponent(3).text().map(|k| k.to_ascii_uppercase());
    match kind.as_deref() {
        Some("ISO") if universal.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            Some(format!("urn:oid:{universal}"))
        }
        Some("UUID") => Some(format!("urn:uuid:{}", universal.to_ascii_lowercase())),
        _ if universal.contains("://") || universal.starts_with("urn:") => {
            Some(universal.into_owned())
        }
        _ => None,
    }
}

/// The text of an identifier's assigning authority (CX.4.1, else CX.4.2), used as
/// part of a patient's identity.
pub fn authority_text(e: &Element<'_>) -> Option<String> {
    let hd = e.component(4);
    hd.subcomponent(1)
        .text()
        .or_else(|| hd.subcomponent(2).text())
        .map(|s| s.into_owned())
}

/// XPN (one repetition) to HumanName: XPN.1.1 family, XPN.2 and XPN.3 given,
/// XPN.4 suffix, XPN.5 prefix, XPN.6 degree as suffix, XPN.7 name type as `use`.
pub fn human_name(e: &Element<'_>) -> Option<Value> {
    let family = e
        .component(1)
        .subcomponent(1)
        .text()
        .map(|s| s.into_owned());
    let given: Vec<String> = [comp(e, 2), comp(e, 3)].into_iter().flatten().collect();
    let suffix: Vec<String> = [comp(e, 4), comp(e, 6)].into_iter().flatten().collect();
    let prefix: Vec<String> = comp(e, 5).into_iter().collect();
    if family.is_none() && given.is_empty() {
        return None;
    }
    let mut name = Map::new();
    if let Some(u) = comp(e, 7).as_deref().and_then(name_use) {
        name.insert("use".into(), u.into());
    }
    if let Some(f) = family {
        name.insert("family".into(), f.into());
    }
    for (key, list) in [("given", given), ("prefix", prefix), ("suffix", suffix)] {
        if !list.is_empty() {
            name.insert(key.into(), json!(list));
        }
    }
    Some(Value::Object(name))
}

/// Table 0200 name type to HumanName.use (v2-to-FHIR ConceptMap NameType).
fn name_use(code: &str) -> Option<&'static str> {
    Some(match code {
        "L" | "B" => "official",
        "D" | "R" => "usual",
        "M" => "maiden",
        "N" => "nickname",
        "S" | "P" | "I" => "anonymous",
        "T" | "A" => "temp",
        "NOUSE" | "BAD" => "old",
        _ => return None,
    })
}

/// XAD (one repetition) to Address.
pub fn address(e: &Element<'_>) -> Option<Value> {
    let lines: Vec<String> = [
        e.component(1)
            .subcomponent(1)
            .text()
            .map(|s| s.into_owned()),
        comp(e, 2),
    ]
    .into_iter()
    .flatten()
    .collect();
    let parts = [
        ("city", comp(e, 3)),
        ("state", comp(e, 4)),
        ("postalCode", comp(e, 5)),
        ("country", comp(e, 6)),
        ("district", comp(e, 9)),
    ];
    if lines.is_empty() && parts.iter().all(|(_, v)| v.is_none()) {
        return None;
    }
    let mut a = Map::new();
    if let Some((u, t)) = comp(e, 7).as_deref().and_then(address_use) {
        if let Some(u) = u {
            a.insert("use".into(), u.into());
        }
        if let Some(t) = t {
            a.insert("type".into(), t.into());
        }
    }
    if !lines.is_empty() {
        a.insert("line".into(), json!(lines));
    }
    for (key, value) in parts {
        if let Some(v) = value {
            a.insert(key.into(), v.into());
        }
    }
    Some(Value::Object(a))
}

/// Table 0190 address type to Address.use / Address.type.
fn address_use(code: &str) -> Option<(Option<&'static str>, Option<&'static str>)> {
    Some(match code {
        "H" | "L" | "P" => (Some("home"), None),
        "B" | "O" => (Some("work"), None),
        "C" => (Some("temp"), None),
        "BA" => (Some("old"), None),
        "M" => (None, Some("postal")),
        "SH" => (None, Some("physical")),
        _ => return None,
    })
}

/// XTN (one repetition) to ContactPoint; `default_use` applies when XTN.2 is empty
/// (PID-13 is home, PID-14 is work).
pub fn contact_point(e: &Element<'_>, default_use: &str) -> Option<Value> {
    let equipment = comp(e, 3).unwrap_or_default();
    let email = comp(e, 4);
    let number = comp(e, 12)
        .or_else(|| local_number(e))
        .or_else(|| comp(e, 1));
    let (system, value) = match (equipment.as_str(), email, number) {
        ("Internet" | "X.400", Some(mail), _) => ("email", mail),
        (_, Some(mail), None) => ("email", mail),
        ("FX", _, Some(n)) => ("fax", n),
        ("BP", _, Some(n)) => ("pager", n),
        (_, _, Some(n)) => ("phone", n),
        _ => return None,
    };
    let use_ = match comp(e, 2).as_deref() {
        Some("WPN") => "work",
        Some("PRN") | Some("ORN") | Some("VHN") => "home",
        Some("PRS") => "mobile",
        _ if equipment == "CP" => "mobile",
        _ => default_use,
    };
    Some(json!({ "system": system, "value": value, "use": use_ }))
}

/// XTN.5-7 (country, area, local number) joined, when the local number is given.
fn local_number(e: &Element<'_>) -> Option<String> {
    let local = comp(e, 7)?;
    let mut out = String::new();
    if let Some(country) = comp(e, 5) {
        out.push_str(&format!("+{country} "));
    }
    if let Some(area) = comp(e, 6) {
        out.push_str(&format!("({area}) "));
    }
    out.push_str(&local);
    if let Some(ext) = comp(e, 8) {
        out.push_str(&format!(" x{ext}"));
    }
    Some(out)
}

/// XCN (one repetition) as a display text ("given family, prefix"), with XCN.1 as the
/// identifier: enough for a Reference without inventing Practitioner resources.
pub fn person_reference(e: &Element<'_>) -> Option<Value> {
    let family = e
        .component(2)
        .subcomponent(1)
        .text()
        .map(|s| s.into_owned());
    let given = comp(e, 3);
    let display: Vec<String> = [comp(e, 6), given, comp(e, 4), family]
        .into_iter()
        .flatten()
        .collect();
    let id = comp(e, 1);
    if display.is_empty() && id.is_none() {
        return None;
    }
    let mut r = Map::new();
    if let Some(id) = id {
        r.insert("identifier".into(), json!({ "value": id }));
    }
    if !display.is_empty() {
        r.insert("display".into(), display.join(" ").into());
    }
    Some(Value::Object(r))
}

/// Parses a v2 number (NM): optional sign, digits, optional decimals; leading zeros
/// allowed (`05`). Returns a JSON number, integral when the text has no decimals.
pub fn number(text: &str) -> Option<Value> {
    let t = text.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let valid = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|&b| b == b'.').count() <= 1
        && body.bytes().any(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    if !body.contains('.')
        && let Ok(i) = t.parse::<i64>()
    {
        return Some(i.into());
    }
    let f: f64 = t.parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    fn field<'a>(msg: &'a Message<'a>, seg: &str, n: usize) -> Element<'a> {
        msg.segment(seg, 1).unwrap().field(n)
    }

    fn msg(body: &str) -> String {
        format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\r{body}")
    }

    #[test]
    fn cwe_with_alternate_and_table_system() {
        let text = msg("OBX|1|CE|1554-5^GLUCOSE^LN^GLU^Glucose^L|");
        let m = Message::parse(&text).unwrap();
        let cc = codeable_concept(&field(&m, "OBX", 3), None).unwrap();
        assert_eq!(
            cc,
            json!({"coding": [
                {"system": "http://loinc.org", "code": "1554-5", "display": "GLUCOSE"},
                {"code": "GLU", "display": "Glucose"}], "text": "GLUCOSE"})
        );
        assert_eq!(
            coding_system_uri("HL70005").as_deref(),
            Some("http://terminology.hl7.org/CodeSystem/v2-0005")
        );
        assert_eq!(coding_system_uri("ZZZ"), None);
    }

    #[test]
    fn cx_xpn_xad_xtn() {
        let text = msg(
            "PID|1||12345^^^HOSP&2.16.840.1.113883.19.5&ISO^MR||Doe&Van^Jane^Q^Jr^Dr^^L||19800704|F|||1 Main St^Apt 2^Springfield^IL^62701^USA^H||^PRN^PH^^1^555^1234567~^NET^Internet^jane@example.org",
        );
        let m = Message::parse(&text).unwrap();
        assert_eq!(
            identifier(&field(&m, "PID", 3)).unwrap(),
            json!({"system": "urn:oid:2.16.840.1.113883.19.5", "assigner": {"display": "HOSP"},
                   "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                   "value": "12345"})
        );
        assert_eq!(
            authority_text(&field(&m, "PID", 3)).as_deref(),
            Some("HOSP")
        );
        assert_eq!(
            human_name(&field(&m, "PID", 5)).unwrap(),
            json!({"use": "official", "family": "Doe", "given": ["Jane", "Q"], "prefix": ["Dr"], "suffix": ["Jr"]})
        );
        assert_eq!(
            address(&field(&m, "PID", 11)).unwrap(),
            json!({"use": "home", "line": ["1 Main St", "Apt 2"], "city": "Springfield", "state": "IL", "postalCode": "62701", "country": "USA"})
        );
        let phones: Vec<Value> = field(&m, "PID", 13)
            .repetitions()
            .filter_map(|r| contact_point(&r, "home"))
            .collect();
        assert_eq!(
            phones,
            vec![
                json!({"system": "phone", "value": "+1 (555) 1234567", "use": "home"}),
                json!({"system": "email", "value": "jane@example.org", "use": "home"})
            ]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(number("05"), Some(json!(5)));
        assert_eq!(number("-1.50"), Some(json!(-1.5)));
        assert_eq!(number("+3"), Some(json!(3)));
        for bad in ["01I", "", ".", "1.2.3", "1e5", "NaN", "--1"] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }
}
