//! Consent records shaped after FHIR Consent: a patient pseudonym and a tree of
//! provisions (permit or deny, for purposes of use and data categories, during a
//! period), where nested provisions are exceptions to their parent.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ConsentError;

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The use is allowed.
    Permit,
    /// The use is not allowed.
    Deny,
}

impl Decision {
    /// The other decision.
    pub fn opposite(self) -> Decision {
        match self {
            Decision::Permit => Decision::Deny,
            Decision::Deny => Decision::Permit,
        }
    }
}

/// Why data would be used. Written as `treatment`, `research`, `study:<id>`,
/// `public_health`, `commercial`, `operations` or `other:<code>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// Care of the patient.
    Treatment,
    /// Any research (covers every named study).
    Research,
    /// One named study only.
    Study(String),
    /// Public health surveillance.
    PublicHealth,
    /// Commercial use (marketing, product development).
    Commercial,
    /// Healthcare operations, payment, quality.
    Operations,
    /// Another code, compared literally.
    Other(String),
}

impl Purpose {
    /// True when a provision about `self` applies to a use for `wanted`: equal
    /// purposes, or a research provision for a named study.
    pub fn covers(&self, wanted: &Purpose) -> bool {
        self == wanted || (matches!(self, Purpose::Research) && matches!(wanted, Purpose::Study(_)))
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Purpose::Treatment => f.write_str("treatment"),
            Purpose::Research => f.write_str("research"),
            Purpose::Study(id) => write!(f, "study:{id}"),
            Purpose::PublicHealth => f.write_str("public_health"),
            Purpose::Commercial => f.write_str("commercial"),
            Purpose::Operations => f.write_str("operations"),
            Purpose::Other(code) => write!(f, "other:{code}"),
        }
    }
}

impl FromStr for Purpose {
    type Err = ConsentError;
    fn from_str(text: &str) -> Result<Purpose, ConsentError> {
        let unknown = || ConsentError::UnknownCode {
            kind: "purpose",
            value: text.to_owned(),
        };
        Ok(match text {
            "treatment" => Purpose::Treatment,
            "research" => Purpose::Research,
            "public_health" => Purpose::PublicHealth,
            "commercial" => Purpose::Commercial,
            "operations" => Purpose::Operations,
            _ => match text.split_once(':') {
                Some(("study", id)) if !id.is_empty() => Purpose::Study(id.to_owned()),
                Some(("other", code)) if !code.is_empty() => Purpose::Other(code.to_owned()),
                _ => return Err(unknown()),
            },
        })
    }
}

/// Kinds of data a provision is about. Written in snake case, or `other:<code>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataCategory {
    /// Age, sex, region and other demographics.
    Demographics,
    /// Diagnoses and conditions.
    Diagnoses,
    /// Laboratory results and observations.
    Labs,
    /// Prescriptions and administrations.
    Medications,
    /// Procedures.
    Procedures,
    /// Encounters and admissions.
    Encounters,
    /// Genomic data.
    Genomics,
    /// Imaging.
    Imaging,
    /// Another code, compared literally.
    Other(String),
}

impl DataCategory {
    /// The named categories: what "all data" means when a use lists none.
    pub const NAMED: [DataCategory; 8] = [
        DataCategory::Demographics,
        DataCategory::Diagnoses,
        DataCategory::Labs,
        DataCategory::Medications,
        DataCategory::Procedures,
        DataCategory::Encounters,
        DataCategory::Genomics,
        DataCategory::Imaging,
    ];
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataCategory::Demographics => "demographics",
            DataCategory::Diagnoses => "diagnoses",
            DataCategory::Labs => "labs",
            DataCategory::Medications => "medications",
            DataCategory::Procedures => "procedures",
            DataCategory::Encounters => "encounters",
            DataCategory::Genomics => "genomics",
            DataCategory::Imaging => "imaging",
            DataCategory::Other(code) => return write!(f, "other:{code}"),
        })
    }
}

impl FromStr for DataCategory {
    type Err = ConsentError;
    fn from_str(text: &str) -> Result<DataCategory, ConsentError> {
        if let Some(named) = DataCategory::NAMED.iter().find(|c| c.to_string() == text) {
            return Ok(named.clone());
        }
        match text.split_once(':') {
            Some(("other", code)) if !code.is_empty() => Ok(DataCategory::Other(code.to_owned())),
            _ => Err(ConsentError::UnknownCode {
                kind: "category",
                value: text.to_owned(),
            }),
        }
    }
}

macro_rules! serde_as_string {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_as_string!(Purpose);
serde_as_string!(DataCategory);

/// A half-open validity interval `[start, end)` in POSIX seconds; `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First second of validity.
    pub start: Option<i64>,
    /// First second after validity.
    pub end: Option<i64>,
}

impl Period {
    /// Always valid.
    pub const ALWAYS: Period = Period {
        start: None,
        end: None,
    };

    /// True when `t` falls inside.
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }
}

/// A rule: a decision for some purposes and categories during a period, with
/// nested exceptions (FHIR `Consent.provision`).
///
/// An empty purpose or category list means "all". A provision that also names
/// conditions Salus cannot evaluate (`conditions`: specific actors, security
/// labels, data references, codes) is handled conservatively: such a permit
/// grants nothing, such a deny applies to every use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    /// Permit or deny.
    pub decision: Decision,
    /// Purposes the rule is about (empty: every purpose).
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    /// Data categories the rule is about (empty: all data).
    #[serde(default)]
    pub categories: Vec<DataCategory>,
    /// When the rule is in force.
    #[serde(default)]
    pub period: Period,
    /// Conditions from the source that Salus does not evaluate (e.g. `actor`).
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Exceptions to this rule, which win over it where they apply.
    #[serde(default)]
    pub exceptions: Vec<Provision>,
}

/// Nested exceptions deeper than this are refused.
pub const MAX_DEPTH: usize = 16;

impl Provision {
    /// A rule for all purposes and all data, always in force.
    pub fn all(decision: Decision) -> Provision {
        Provision {
            decision,
            purposes: Vec::new(),
            categories: Vec::new(),
            period: Period::ALWAYS,
            conditions: Vec::new(),
            exceptions: Vec::new(),
        }
    }

    /// The same rule restricted to `purposes`.
    pub fn for_purposes(mut self, purposes: Vec<Purpose>) -> Provision {
        self.purposes = purposes;
        self
    }

    /// The same rule restricted to `categories`.
    pub fn for_categories(mut self, categories: Vec<DataCategory>) -> Provision {
        self.categories = categories;
        self
    }

    /// True when the rule's own scope covers this use at `at`.
    fn applies(&self, purpose: &Purpose, category: &DataCategory, at: i64) -> bool {
        self.period.contains(at)
            && (self.purposes.is_empty() || self.purposes.iter().any(|p| p.covers(purpose)))
            && (self.categories.is_empty() || self.categories.contains(category))
    }

    /// The decision of this rule for one use, or `None` when it says nothing
    /// about it. Among applicable exceptions deny wins; an applicable exception
    /// wins over its parent.
    pub fn decide(&self, purpose: &Purpose, category: &DataCategory, at: i64) -> Option<Decision> {
        if !self.applies(purpose, category, at) {
            return None;
        }
        let from_exceptions = self
            .exceptions
            .iter()
            .filter_map(|e| e.decide(purpose, category, at))
            .max();
        let own = match (self.decision, self.conditions.is_empty()) {
            // A permit limited by conditions we cannot check grants nothing.
            (Decision::Permit, false) => None,
            (decision, _) => Some(decision),
        };
        from_exceptions.or(own)
    }

    fn depth(&self) -> usize {
        1 + self
            .exceptions
            .iter()
            .map(Provision::depth)
            .max()
            .unwrap_or(0)
    }

    fn check(&self) -> Result<(), ConsentError> {
        if let (Some(s), Some(e)) = (self.period.start, self.period.end)
            && s >= e
        {
            return Err(ConsentError::InvalidRecord(
                "a period ends before it starts".into(),
            ));
        }
        self.exceptions.iter().try_for_each(Provision::check)
    }
}

/// One consent statement by (or for) a patient, as recorded at one time.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRecord {
    /// Unique id of this record (each change is a new record).
    pub id: String,
    /// The patient's pseudonym on this node.
    pub patient: String,
    /// POSIX seconds when the statement was recorded; it has no effect before.
    pub recorded_at: i64,
    /// Where it came from (e.g. `fhir:Consent/123`, `patient-api`).
    pub source: String,
    /// The rules.
    pub provision: Provision,
}

impl fmt::Debug for ConsentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pseudonym is patient-level data: keep it out of logs.
        f.debug_struct("ConsentRecord")
            .field("id", &self.id)
            .field("patient", &"<redacted>")
            .field("recorded_at", &self.recorded_at)
            .field("source", &self.source)
            .field("provision", &self.provision)
            .finish()
    }
}

impl ConsentRecord {
    /// A record; see [`ConsentRecord::validate`].
    pub fn new(
        id: &str,
        patient: &str,
        recorded_at: i64,
        source: &str,
        provision: Provision,
    ) -> ConsentRecord {
        ConsentRecord {
            id: id.to_owned(),
            patient: patient.to_owned(),
            recorded_at,
            source: source.to_owned(),
            provision,
        }
    }

    /// Checks the record is usable: ids present, periods ordered, nesting bounded.
    pub fn validate(&self) -> Result<(), ConsentError> {
        if self.id.trim().is_empty() {
            return Err(ConsentError::InvalidRecord("the record id is empty".into()));
        }
        if self.patient.trim().is_empty() {
            return Err(ConsentError::InvalidRecord(
                "the patient pseudonym is empty".into(),
            ));
        }
        if self.provision.depth() > MAX_DEPTH {
            return Err(ConsentError::InvalidRecord(format!(
                "exceptions nested deeper than {MAX_DEPTH} levels"
            )));
        }
        self.provision.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_and_categories_round_trip_as_text() -> Result<(), ConsentError> {
        for text in [
            "treatment",
            "research",
            "study:CARDIO-7",
            "public_health",
            "commercial",
            "operations",
            "other:HMARKT",
        ] {
            assert_eq!(text.parse::<Purpose>()?.to_string(), text);
        }
        for text in [
            "demographics",
            "labs",
            "genomics",
            "other:MolecularSequence",
        ] {
            assert_eq!(text.parse::<DataCategory>()?.to_string(), text);
        }
        assert!("study:".parse::<Purpose>().is_err());
        assert!("lab".parse::<DataCategory>().is_err());
        Ok(())
    }

    #[test]
    fn research_covers_named_studies_only_one_way() {
        let study = Purpose::Study("s1".into());
        assert!(Purpose::Research.covers(&study));
        assert!(!study.covers(&Purpose::Research));
        assert!(!Purpose::Study("s2".into()).covers(&study));
        assert!(!Purpose::Treatment.covers(&Purpose::Research));
    }

    #[test]
    fn exceptions_win_and_deny_wins_among_them() {
        let labs = DataCategory::Labs;
        let rule = Provision {
            exceptions: vec![
                Provision::all(Decision::Deny).for_categories(vec![DataCategory::Genomics]),
                Provision::all(Decision::Permit)
                    .for_categories(vec![DataCategory::Genomics, labs.clone()]),
            ],
            ..Provision::all(Decision::Deny)
        };
        let r = Purpose::Research;
        assert_eq!(rule.decide(&r, &labs, 0), Some(Decision::Permit));
        assert_eq!(
            rule.decide(&r, &DataCategory::Genomics, 0),
            Some(Decision::Deny)
        );
        assert_eq!(
            rule.decide(&r, &DataCategory::Imaging, 0),
            Some(Decision::Deny)
        );
    }

    #[test]
    fn debug_output_hides_the_pseudonym() {
        let rec = ConsentRecord::new(
            "c1",
            "PSEUDO-123",
            0,
            "test",
            Provision::all(Decision::Permit),
        );
        assert!(!format!("{rec:?}").contains("PSEUDO-123"));
    }
}
