//! Pseudonymization: keyed HMAC-SHA256 pseudonyms for identifiers, a lookup table that
//! only the key holder keeps, per-patient consistent date shifting, and removal of
//! direct identifiers.
//!
//! * A pseudonym is `prefix + hex(HMAC-SHA256(key, column || 0x00 || value))[..length]`.
//!   The column name is mixed in so that equal values in different columns do not link.
//!   Without the key the mapping cannot be recomputed or inverted; with the key it can be
//!   recomputed but still not inverted, hence the lookup table for re-identification by
//!   the key holder (e.g. to recall a patient).
//! * Every date of a patient moves by the same number of days, derived from
//!   HMAC-SHA256(key, "date-shift" || 0x00 || patient pseudonym): intervals between a
//!   patient's events are preserved, calendar dates are not. Shifts are uniform in
//!   `[-max_shift_days, max_shift_days]` without 0.

use hmac::{Hmac, Mac};
use salus_table::{Column, Table};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{AnonError, Result};

/// A 32-byte pseudonymization key. Its `Debug` output hides the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PseudonymKey([u8; 32]);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

impl PseudonymKey {
    /// A key from 32 random bytes (draw them from a CSPRNG).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PseudonymKey(bytes)
    }

    /// A key from 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AnonError::InvalidParameter(
                "a pseudonymization key is 64 hexadecimal characters (32 bytes); generate one with `salus pseudonymize --new-key`".into(),
            ));
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| AnonError::InvalidParameter("the key is not hexadecimal".into()))?;
        }
        Ok(PseudonymKey(bytes))
    }

    /// Draws a new key.
    pub fn generate<R: rand::Rng + rand::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        PseudonymKey(bytes)
    }

    /// The key as 64 hexadecimal characters (to store it; keep it secret).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac(&self, domain: &str, value: &str) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any size"),
        };
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// What to pseudonymize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PseudonymizeConfig {
    /// Identifier columns replaced by pseudonyms (patient id, record number...).
    pub id_columns: Vec<String>,
    /// The column identifying the patient for date shifting (default: the first id column).
    pub patient_column: Option<String>,
    /// Date columns (ISO `YYYY-MM-DD`, optionally with a time) shifted per patient.
    pub date_columns: Vec<String>,
    /// Direct identifiers removed from the output (names, addresses, phone numbers...).
    pub drop: Vec<String>,
    /// Largest shift in days (default 365).
    pub max_shift_days: u32,
    /// Pseudonym prefix (default "P").
    pub prefix: String,
    /// Hexadecimal characters kept from the MAC (default 20 = 80 bits).
    pub length: usize,
}

impl Default for PseudonymizeConfig {
    fn default() -> Self {
        PseudonymizeConfig {
            id_columns: Vec::new(),
            patient_column: None,
            date_columns: Vec::new(),
            drop: Vec::new(),
            max_shift_days: 365,
            prefix: "P".into(),
            length: 20,
        }
    }
}

/// One line of the key holder's lookup table.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LookupEntry {
    /// The pseudonymized column.
    pub column: String,
    /// The pseudonym.
    pub pseudonym: String,
    /// The original value.
    pub original: String,
}

impl std::fmt::Debug for LookupEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LookupEntry({} -> <redacted>)", self.column)
    }
}

/// The result of [`pseudonymize`].
#[derive(Debug, Clone)]
pub struct Pseudonymized {
    /// The table to share.
    pub table: Table,
    /// Pseudonym -> original value, for the key holder only (sorted, one line per value).
    pub lookup: Vec<LookupEntry>,
    /// Columns removed.
    pub dropped: Vec<String>,
}

impl Pseudonymized {
    /// The lookup table as a table (column, pseudonym, original).
    pub fn lookup_table(&self) -> Table {
        let col = |f: fn(&LookupEntry) -> &String, name: &str| {
            Column::text(
                name,
                self.lookup.iter().map(|e| Some(f(e).clone())).collect(),
            )
        };
        Table::new(vec![
            col(|e| &e.column, "column"),
            col(|e| &e.pseudonym, "pseudonym"),
            col(|e| &e.original, "original"),
        ])
        .unwrap_or_default()
    }
}

/// The pseudonym of `value` in `column`.
pub fn pseudonym(
    key: &PseudonymKey,
    column: &str,
    value: &str,
    config: &PseudonymizeConfig,
) -> String {
    let mac = key.mac(column, value);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{}", config.prefix, &hex[..config.length.clamp(8, 64)])
}

/// The date shift (days) of a patient, from its pseudonym.
pub fn date_shift_days(key: &PseudonymKey, patient_pseudonym: &str, max_shift_days: u32) -> i64 {
    let mac = key.mac("date-shift", patient_pseudonym);
    let x = u64::from_le_bytes([
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], mac[6], mac[7],
    ]);
    let max = i64::from(max_shift_days.max(1));
    // Uniform over [-max, -1] ∪ [1, max]; the modulo bias is below 2^-40.
    let r = (x % (2 * max as u64)) as i64;
    if r < max { r - max } else { r - max + 1 }
}

/// Pseudonymizes `table` (see the module docs).
pub fn pseudonymize(
    table: &Table,
    config: &PseudonymizeConfig,
    key: &PseudonymKey,
) -> Result<Pseudonymized> {
    for name in config
        .id_columns
        .iter()
        .chain(&config.date_columns)
        .chain(&config.drop)
    {
        table.column(name)?;
    }
    let patient = config.patient_column.as_ref().or(config.id_columns.first());
    if !config.date_columns.is_empty() && patient.is_none() {
        return Err(AnonError::Config(
            "date shifting needs a patient column (patient_column or an id column)".into(),
        ));
    }
    let patient_column = patient.map(|p| table.column(p)).transpose()?;
    let shifts: Vec<Option<i64>> = (0..table.nrows())
        .map(|row| {
            let id = patient_column.and_then(|c| c.display(row))?;
            let p = pseudonym(key, patient.map_or("", String::as_str), &id, config);
            Some(date_shift_days(key, &p, config.max_shift_days))
        })
        .collect();
    let mut lookup = std::collections::BTreeSet::new();
    let mut columns = Vec::new();
    for column in table.columns() {
        let name = column.name();
        if config.drop.iter().any(|d| d == name) {
            continue;
        }
        if config.id_columns.iter().any(|c| c == name) {
            let values = (0..column.len())
                .map(|row| {
                    column.display(row).map(|v| {
                        let p = pseudonym(key, name, &v, config);
                        lookup.insert(LookupEntry {
                            column: name.to_string(),
                            pseudonym: p.clone(),
                            original: v.into_owned(),
                        });
                        p
                    })
                })
                .collect();
            columns.push(Column::text(name, values));
        } else if config.date_columns.iter().any(|c| c == name) {
            columns.push(shift_column(column, &shifts)?);
        } else {
            columns.push(column.clone());
        }
    }
    Ok(Pseudonymized {
        table: Table::new(columns)?,
        lookup: lookup.into_iter().collect(),
        dropped: config.drop.clone(),
    })
}

fn shift_column(column: &Column, shifts: &[Option<i64>]) -> Result<Column> {
    let mut bad = (0usize, 0usize);
    let values = (0..column.len())
        .map(|row| {
            let value = column.display(row)?;
            match (shift_date(&value, shifts[row].unwrap_or(0)), shifts[row]) {
                (Some(shifted), Some(_)) => Some(shifted),
                // No patient id: the date cannot be shifted consistently, so drop it.
                (Some(_), None) => None,
                (None, _) => {
                    if bad.0 == 0 {
                        bad.1 = row + 1;
                    }
                    bad.0 += 1;
                    None
                }
            }
        })
        .collect();
    if bad.0 > 0 {
        return Err(AnonError::Config(format!(
            "column `{}`: {} value(s) are not ISO dates (YYYY-MM-DD), first at data row {}",
            column.name(),
            bad.0,
            bad.1
        )));
    }
    Ok(Column::text(column.name(), values))
}

/// Shifts an ISO date (keeping any time part) by `days`.
pub fn shift_date(value: &str, days: i64) -> Option<String> {
    let value = value.trim();
    let (date, rest) = match value.find(['T', ' ']) {
        Some(i) => (&value[..i], &value[i..]),
        None => (value, ""),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let (ny, nm, nd) = civil_from_days(days_from_civil(y, m, d) + days);
    Some(format!("{ny:04}-{nm:02}-{nd:02}{rest}"))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PseudonymKey {
        PseudonymKey::from_hex(&"0f".repeat(32)).unwrap()
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in [-800_000, -1, 0, 59, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(shift_date("2020-02-28", 1).unwrap(), "2020-02-29");
        assert_eq!(
            shift_date("2021-12-31T10:00", 1).unwrap(),
            "2022-01-01T10:00"
        );
        assert_eq!(shift_date("2021-02-30", 1), None);
    }

    #[test]
    fn pseudonyms_are_keyed_consistent_and_column_separated() {
        let c = PseudonymizeConfig::default();
        let other = PseudonymKey::from_bytes([1; 32]);
        assert_eq!(
            pseudonym(&key(), "id", "123", &c),
            pseudonym(&key(), "id", "123", &c)
        );
        assert_ne!(
            pseudonym(&key(), "id", "123", &c),
            pseudonym(&other, "id", "123", &c)
        );
        assert_ne!(
            pseudonym(&key(), "id", "123", &c),
            pseudonym(&key(), "mrn", "123", &c)
        );
        assert!(!format!("{:?}", key()).contains("0f0f"));
    }

    #[test]
    fn dates_shift_consistently_per_patient() {
        let t = Table::new(vec![
            Column::text(
                "id",
                vec![Some("a".into()), Some("a".into()), Some("b".into())],
            ),
            Column::text(
                "name",
                vec![Some("Ann".into()), Some("Ann".into()), Some("Bob".into())],
            ),
            Column::text(
                "admitted",
                vec![
                    Some("2021-01-01".into()),
                    Some("2021-01-11".into()),
                    Some("2021-01-01".into()),
                ],
            ),
        ])
        .unwrap();
        let config = PseudonymizeConfig {
            id_columns: vec!["id".into()],
            date_columns: vec!["admitted".into()],
            drop: vec!["name".into()],
            ..Default::default()
        };
        let p = pseudonymize(&t, &config, &key()).unwrap();
        assert!(!p.table.has_column("name"));
        let dates = p.table.text("admitted").unwrap();
        let day = |s: &Option<String>| {
            let s = s.as_deref().unwrap();
            days_from_civil(
                s[..4].parse().unwrap(),
                s[5..7].parse().unwrap(),
                s[8..10].parse().unwrap(),
            )
        };
        assert_eq!(day(&dates[1]) - day(&dates[0]), 10, "interval preserved");
        assert_ne!(dates[0].as_deref(), Some("2021-01-01"), "date moved");
        assert_eq!(p.lookup.len(), 2);
        let ids = p.table.text("id").unwrap();
        assert_eq!(ids[0], ids[1]);
        assert!(
            p.lookup
                .iter()
                .any(|e| Some(&e.pseudonym) == ids[2].as_ref() && e.original == "b")
        );
    }
}
