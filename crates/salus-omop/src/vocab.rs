//! The vocabulary tables (CONCEPT, CONCEPT_ANCESTOR, CONCEPT_RELATIONSHIP) and the
//! look-ups built on them: names, descendants, and source code → standard concept.

use std::collections::{HashMap, HashSet};

use crate::csvread::{Col, Kind::*, Row, opt, req};

/// CONCEPT.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// Primary key.
    pub concept_id: i64,
    /// Human-readable name.
    pub concept_name: String,
    /// Domain (Condition, Drug, Measurement, ...).
    pub domain_id: String,
    /// Vocabulary (SNOMED, LOINC, RxNorm, ICD10CM, ...).
    pub vocabulary_id: String,
    /// `S` for standard, `C` for classification, empty otherwise.
    pub standard_concept: Option<String>,
    /// The code in its vocabulary.
    pub concept_code: String,
}

pub(crate) const CONCEPT: &[Col] = &[
    req("concept_id", Int),
    req("concept_name", Text),
    req("domain_id", Text),
    req("vocabulary_id", Text),
    opt("concept_class_id", Text),
    opt("standard_concept", Text),
    req("concept_code", Text),
];

impl Concept {
    pub(crate) fn from_row(r: &Row<'_>) -> Option<Self> {
        Some(Concept {
            concept_id: r.int("concept_id")?,
            concept_name: r.text("concept_name")?,
            domain_id: r.text("domain_id")?,
            vocabulary_id: r.text("vocabulary_id")?,
            standard_concept: r.text("standard_concept"),
            concept_code: r.text("concept_code")?,
        })
    }

    /// True for standard concepts (`S`).
    pub fn is_standard(&self) -> bool {
        self.standard_concept.as_deref() == Some("S")
    }
}

/// One CONCEPT_ANCESTOR row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConceptAncestor {
    /// The broader concept.
    pub ancestor_concept_id: i64,
    /// The narrower concept (every concept is its own descendant at level 0).
    pub descendant_concept_id: i64,
}

pub(crate) const CONCEPT_ANCESTOR: &[Col] = &[
    req("ancestor_concept_id", Int),
    req("descendant_concept_id", Int),
];

impl ConceptAncestor {
    pub(crate) fn from_row(r: &Row<'_>) -> Option<Self> {
        Some(ConceptAncestor {
            ancestor_concept_id: r.int("ancestor_concept_id")?,
            descendant_concept_id: r.int("descendant_concept_id")?,
        })
    }
}

/// One CONCEPT_RELATIONSHIP row (only `Maps to` is used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConceptRelationship {
    /// From.
    pub concept_id_1: i64,
    /// To.
    pub concept_id_2: i64,
    /// E.g. `Maps to`.
    pub relationship_id: String,
}

pub(crate) const CONCEPT_RELATIONSHIP: &[Col] = &[
    req("concept_id_1", Int),
    req("concept_id_2", Int),
    req("relationship_id", Text),
    opt("invalid_reason", Text),
];

impl ConceptRelationship {
    pub(crate) fn from_row(r: &Row<'_>) -> Option<Self> {
        if r.text("invalid_reason").is_some() {
            return None;
        }
        Some(ConceptRelationship {
            concept_id_1: r.int("concept_id_1")?,
            concept_id_2: r.int("concept_id_2")?,
            relationship_id: r.text("relationship_id")?,
        })
    }
}

/// Look-ups over the vocabulary tables.
#[derive(Debug, Default, Clone)]
pub struct Vocabulary {
    concepts: HashMap<i64, Concept>,
    by_code: HashMap<(String, String), i64>,
    descendants: HashMap<i64, Vec<i64>>,
    maps_to: HashMap<i64, i64>,
}

impl Vocabulary {
    /// Builds the indexes.
    pub fn new(
        concepts: &[Concept],
        ancestors: &[ConceptAncestor],
        relationships: &[ConceptRelationship],
    ) -> Self {
        let mut v = Vocabulary::default();
        for c in concepts {
            v.by_code.insert(
                (c.vocabulary_id.to_ascii_lowercase(), c.concept_code.clone()),
                c.concept_id,
            );
            v.concepts.insert(c.concept_id, c.clone());
        }
        for a in ancestors {
            v.descendants
                .entry(a.ancestor_concept_id)
                .or_default()
                .push(a.descendant_concept_id);
        }
        for r in relationships {
            if r.relationship_id.eq_ignore_ascii_case("Maps to") {
                v.maps_to.entry(r.concept_id_1).or_insert(r.concept_id_2);
            }
        }
        v
    }

    /// True when no concept is loaded.
    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }

    /// True when CONCEPT_ANCESTOR was loaded.
    pub fn has_ancestry(&self) -> bool {
        !self.descendants.is_empty()
    }

    /// The concept with this id.
    pub fn concept(&self, id: i64) -> Option<&Concept> {
        self.concepts.get(&id)
    }

    /// The name of a concept, if known.
    pub fn name(&self, id: i64) -> Option<&str> {
        self.concepts.get(&id).map(|c| c.concept_name.as_str())
    }

    /// The concepts themselves plus, when `descendants` is set, every descendant
    /// in CONCEPT_ANCESTOR.
    pub fn expand(&self, ids: &[i64], descendants: bool) -> HashSet<i64> {
        let mut out: HashSet<i64> = ids.iter().copied().collect();
        if descendants {
            for id in ids {
                if let Some(list) = self.descendants.get(id) {
                    out.extend(list);
                }
            }
        }
        out
    }

    /// The standard concept for a code in a vocabulary (case-insensitive
    /// vocabulary id): the concept itself if standard, else its `Maps to` target.
    /// Returns `(standard concept id or 0, source concept id if the code is known)`.
    pub fn standard_for_code(&self, vocabulary_id: &str, code: &str) -> (i64, Option<i64>) {
        let Some(&source) = self
            .by_code
            .get(&(vocabulary_id.to_ascii_lowercase(), code.to_owned()))
        else {
            return (0, None);
        };
        let standard = match self.concepts.get(&source) {
            Some(c) if c.is_standard() => source,
            _ => self.maps_to.get(&source).copied().unwrap_or(0),
        };
        (standard, Some(source))
    }
}
