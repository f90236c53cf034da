//! HIPAA Safe Harbor check (45 CFR 164.514(b)(2)): which of the 18 identifier
//! categories a table still contains.
//!
//! Detection is heuristic and documented here so that a steward can judge it:
//! * by **column name** (case-insensitive words such as `name`, `email`, `phone`,
//!   `ssn`, `mrn`, `zip`, `address`, `birth_date`, `ip`, `url`, `device`, `photo`);
//! * by **values**, on up to 1,000 non-missing cells, when at least 80 % match a pattern:
//!   e-mail, phone/fax number, US SSN, ZIP code (5 or 5+4 digits, text column), full
//!   dates (more precise than a year), IPv4 address, URL, vehicle identification number;
//! * **ages over 89** in a column named like an age;
//! * **unique identifiers** (category 18): a column named like an identifier (`id`,
//!   `number`, `code`) whose values are all distinct.
//!
//! A clean report is not a legal determination: free text can still hide identifiers.

use std::collections::HashSet;

use salus_table::{Column, Table};
use serde::{Deserialize, Serialize};

/// The 18 Safe Harbor identifier categories.
pub const CATEGORIES: [&str; 18] = [
    "names",
    "geographic subdivisions smaller than a state",
    "dates (except year) and ages over 89",
    "telephone numbers",
    "fax numbers",
    "email addresses",
    "social security numbers",
    "medical record numbers",
    "health plan beneficiary numbers",
    "account numbers",
    "certificate/license numbers",
    "vehicle identifiers and serial numbers",
    "device identifiers and serial numbers",
    "web URLs",
    "IP addresses",
    "biometric identifiers",
    "full-face photographs and comparable images",
    "other unique identifying numbers, characteristics or codes",
];

/// One identifier found in a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafeHarborFinding {
    /// The column.
    pub column: String,
    /// Category number, 1 to 18.
    pub category: u8,
    /// Category name.
    pub name: String,
    /// How it was found: "column name", "values" or "values over 89".
    pub evidence: String,
}

/// The result of the check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafeHarborReport {
    /// True when no identifier category was found.
    pub compliant: bool,
    /// What was found, column by column.
    pub findings: Vec<SafeHarborFinding>,
}

const NAME_RULES: &[(u8, &[&str])] = &[
    (
        1,
        &[
            "name",
            "firstname",
            "lastname",
            "surname",
            "forename",
            "givenname",
            "fullname",
            "patientname",
        ],
    ),
    (
        2,
        &[
            "address",
            "street",
            "city",
            "county",
            "zip",
            "zipcode",
            "postcode",
            "postalcode",
            "plz",
            "precinct",
        ],
    ),
    (
        3,
        &[
            "birthdate",
            "dob",
            "dateofbirth",
            "birthday",
            "admissiondate",
            "dischargedate",
            "deathdate",
            "dateofdeath",
        ],
    ),
    (
        4,
        &["phone", "telephone", "tel", "mobile", "cell", "phonenumber"],
    ),
    (5, &["fax"]),
    (6, &["email", "mail", "emailaddress"]),
    (7, &["ssn", "socialsecurity", "socialsecuritynumber"]),
    (
        8,
        &["mrn", "medicalrecord", "medicalrecordnumber", "patientid"],
    ),
    (
        9,
        &[
            "healthplan",
            "beneficiary",
            "insurancenumber",
            "memberid",
            "policynumber",
        ],
    ),
    (10, &["account", "accountnumber", "iban", "bankaccount"]),
    (11, &["license", "licence", "certificate", "licensenumber"]),
    (12, &["vin", "licenseplate", "numberplate", "vehicle"]),
    (13, &["device", "deviceid", "serialnumber", "imei"]),
    (14, &["url", "website", "homepage"]),
    (15, &["ip", "ipaddress"]),
    (16, &["fingerprint", "voiceprint", "biometric", "retina"]),
    (17, &["photo", "image", "picture", "face"]),
];

/// Runs the Safe Harbor check on every column of `table`.
pub fn safe_harbor(table: &Table) -> SafeHarborReport {
    let mut findings = Vec::new();
    for column in table.columns() {
        let mut found: Vec<(u8, &str)> = Vec::new();
        let key = normalize(column.name());
        let words: Vec<String> = column
            .name()
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .map(str::to_string)
            .collect();
        for (category, names) in NAME_RULES {
            if names
                .iter()
                .any(|n| key == *n || words.iter().any(|w| w == n))
            {
                found.push((*category, "column name"));
            }
        }
        if let Some(category) = value_category(column) {
            found.push((category, "values"));
        }
        if is_age_name(&key)
            && column
                .as_numeric()
                .is_some_and(|v| v.iter().flatten().any(|&a| a > 89.0))
        {
            found.push((3, "values over 89"));
        }
        if found.is_empty() && is_identifier_name(&words) && all_distinct(column) {
            found.push((18, "unique values"));
        }
        found.sort_unstable();
        found.dedup_by_key(|f| f.0);
        findings.extend(
            found
                .into_iter()
                .map(|(category, evidence)| SafeHarborFinding {
                    column: column.name().to_string(),
                    category,
                    name: CATEGORIES[usize::from(category) - 1].to_string(),
                    evidence: evidence.to_string(),
                }),
        );
    }
    SafeHarborReport {
        compliant: findings.is_empty(),
        findings,
    }
}

/// An identifier category number and the test that recognises a value of it.
type IdentifierCheck = (u8, fn(&str) -> bool);

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_age_name(key: &str) -> bool {
    key == "age"
        || key.starts_with("age") && key.len() <= 8
        || key.ends_with("age") && key.len() <= 10
}

fn is_identifier_name(words: &[String]) -> bool {
    words.iter().any(|w| {
        matches!(
            w.as_str(),
            "id" | "identifier" | "number" | "no" | "nr" | "code" | "key" | "uuid"
        )
    })
}

fn all_distinct(column: &Column) -> bool {
    let mut seen = HashSet::new();
    let mut present = 0;
    for row in 0..column.len() {
        if let Some(v) = column.display(row) {
            present += 1;
            if !seen.insert(v.into_owned()) {
                return false;
            }
        }
    }
    present >= 2
}

/// The category whose value pattern at least 80 % of the sampled cells match.
fn value_category(column: &Column) -> Option<u8> {
    let text = column.as_text()?;
    let sample: Vec<&str> = text
        .iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .take(1000)
        .collect();
    if sample.is_empty() {
        return None;
    }
    let checks: [IdentifierCheck; 8] = [
        (6, is_email),
        (7, is_ssn),
        (15, is_ipv4),
        (14, is_url),
        (12, is_vin),
        (3, is_full_date),
        (2, is_zip),
        (4, is_phone),
    ];
    checks
        .iter()
        .find(|(_, f)| sample.iter().filter(|v| f(v)).count() * 5 >= sample.len() * 4)
        .map(|(c, _)| *c)
}

fn is_email(v: &str) -> bool {
    match v.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !v.contains(' ')
        }
        None => false,
    }
}

fn digits_with(v: &str, groups: &[usize], sep: char) -> bool {
    let parts: Vec<&str> = v.split(sep).collect();
    parts.len() == groups.len()
        && parts
            .iter()
            .zip(groups)
            .all(|(p, &n)| p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_ssn(v: &str) -> bool {
    digits_with(v, &[3, 2, 4], '-')
}

fn is_zip(v: &str) -> bool {
    digits_with(v, &[5], '-') || digits_with(v, &[5, 4], '-')
}

fn is_ipv4(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

fn is_url(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("www.")
}

fn is_vin(v: &str) -> bool {
    v.len() == 17
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && !v.bytes().any(|b| matches!(b, b'I' | b'O' | b'Q'))
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_uppercase())
}

fn is_full_date(v: &str) -> bool {
    let date = v.split(['T', ' ']).next().unwrap_or("");
    digits_with(date, &[4, 2, 2], '-')
        || digits_with(date, &[2, 2, 4], '/')
        || digits_with(date, &[2, 2, 4], '.')
}

fn is_phone(v: &str) -> bool {
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    let allowed = v
        .bytes()
        .all(|b| b.is_ascii_digit() || b" +-().".contains(&b));
    allowed && (10..=15).contains(&digits) && v.bytes().any(|b| b" +-().".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str, values: &[&str]) -> Column {
        Column::text(name, values.iter().map(|v| Some(v.to_string())).collect())
    }

    #[test]
    fn finds_identifiers_by_name_and_value() {
        let t = Table::new(vec![
            text("patient_name", &["A B", "C D"]),
            text("contact", &["a@b.org", "c@d.net"]),
            text("visit", &["2021-03-04", "2020-01-02"]),
            Column::numeric("age", vec![Some(92.0), Some(40.0)]),
            text("record_id", &["r1", "r2"]),
            text("diagnosis", &["flu", "cold"]),
        ])
        .unwrap();
        let r = safe_harbor(&t);
        let got: Vec<(&str, u8)> = r
            .findings
            .iter()
            .map(|f| (f.column.as_str(), f.category))
            .collect();
        assert_eq!(
            got,
            vec![
                ("patient_name", 1),
                ("contact", 6),
                ("visit", 3),
                ("age", 3),
                ("record_id", 18)
            ]
        );
        assert!(!r.compliant);
    }

    #[test]
    fn generalized_table_is_clean() {
        let t = Table::new(vec![
            text("age", &["20-24", "90+"]),
            text("sex", &["F", "M"]),
        ])
        .unwrap();
        assert!(safe_harbor(&t).compliant);
    }
}
