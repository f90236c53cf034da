//! Record-linkage (re-identification) attack on a generalized release.
//!
//! The attacker holds an auxiliary table with identities and the raw quasi-identifiers
//! of some people. For each of them it lists the released records whose (possibly
//! generalized) quasi-identifiers *cover* the raw values and claims one of them at
//! random. The ground truth comes from an identifier column present in both tables (used
//! only for scoring, never for matching) or, without one, from row positions.
//!
//! A released label covers a raw value when: they are equal; the label is `*`; the
//! label is an ancestor of the value in a supplied hierarchy; the label is a numeric
//! interval containing it (`20-24`, `[20, 25[`, `90+`, `<18`); the label masks it from
//! the right (`123**` covers `12345`); or the label truncates a date (`2021-03`, `2021`,
//! `2021-Q1`, `2020s` cover `2021-03-15`). Missing covers missing only.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use salus_table::Table;
use serde::{Deserialize, Serialize};

use super::check_confidence;
use crate::hierarchy::Hierarchy;
use crate::stats::{Proportion, clopper_pearson, wilson};
use crate::{AnonError, Result};

/// Parameters of [`linkage_attack`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkageConfig {
    /// Columns the attacker links on (present in both tables).
    pub quasi_identifiers: Vec<String>,
    /// Identity column in both tables used to score guesses; `None` = released row i is
    /// the auxiliary row i.
    pub id_column: Option<String>,
    /// Optional hierarchies that explain generalized labels (by column).
    #[serde(skip)]
    pub hierarchies: BTreeMap<String, Hierarchy>,
    /// Confidence level of the intervals (default 0.95).
    pub confidence: f64,
}

impl Default for LinkageConfig {
    fn default() -> Self {
        LinkageConfig {
            quasi_identifiers: Vec::new(),
            id_column: None,
            hierarchies: BTreeMap::new(),
            confidence: 0.95,
        }
    }
}

/// Outcome of [`linkage_attack`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkageResult {
    /// Auxiliary records attacked.
    pub targets: usize,
    /// Targets whose record is in the release (the others cannot be re-identified).
    pub present: usize,
    /// Targets with at least one candidate.
    pub matched: usize,
    /// Targets with exactly one candidate (the attacker is sure).
    pub unique_matches: usize,
    /// Correct re-identifications in this run (one random pick among the candidates).
    pub correct: usize,
    /// `correct / targets` with its Wilson interval.
    pub rate: Proportion,
    /// `correct / targets` with its exact Clopper-Pearson interval.
    pub rate_exact: Proportion,
    /// Expected correct re-identifications: the sum over targets of 1/candidates when the
    /// true record is among them (the mean of `correct` over the attacker's coin flips).
    pub expected_correct: f64,
    /// `expected_correct / targets`.
    pub expected_rate: f64,
    /// Mean number of candidate records for the matched targets.
    pub mean_candidates: f64,
    /// Success of a blind guess among all released records, `present / (targets * released)`.
    pub baseline_rate: f64,
    /// Share of control records (people not in the release) for whom the attacker would
    /// claim a unique match: every such claim is wrong.
    pub control_false_claims: Option<Proportion>,
    /// Confidence level of the intervals.
    pub confidence: f64,
}

/// Runs the linkage attack of `auxiliary` against `released` (see the module docs).
pub fn linkage_attack<R: Rng + ?Sized>(
    released: &Table,
    auxiliary: &Table,
    control: Option<&Table>,
    config: &LinkageConfig,
    rng: &mut R,
) -> Result<LinkageResult> {
    check_confidence(config.confidence)?;
    if config.quasi_identifiers.is_empty() {
        return Err(AnonError::InvalidParameter(
            "the linkage attack needs at least one quasi-identifier".into(),
        ));
    }
    let index = ReleaseIndex::new(released, config)?;
    let truth = ground_truth(released, auxiliary, config)?;
    let (mut matched, mut unique, mut correct, mut expected, mut candidates_sum) =
        (0, 0, 0usize, 0.0, 0.0);
    for (row, true_row) in truth.iter().enumerate() {
        let candidates = index.candidates(auxiliary, row)?;
        let total: usize = candidates.iter().map(|&c| index.class_rows[c].len()).sum();
        if total == 0 {
            continue;
        }
        matched += 1;
        candidates_sum += total as f64;
        if total == 1 {
            unique += 1;
        }
        let hit = true_row.is_some_and(|r| candidates.contains(&index.class_of_row[r]));
        if hit {
            expected += 1.0 / total as f64;
            if rng.random_range(0..total) == 0 {
                correct += 1;
            }
        }
    }
    let targets = auxiliary.nrows();
    let present = truth.iter().filter(|t| t.is_some()).count();
    let control_false_claims = match control {
        None => None,
        Some(c) => {
            let mut claims = 0usize;
            for row in 0..c.nrows() {
                let candidates = index.candidates(c, row)?;
                let total: usize = candidates.iter().map(|&k| index.class_rows[k].len()).sum();
                claims += usize::from(total == 1);
            }
            Some(wilson(claims as f64, c.nrows() as f64, config.confidence))
        }
    };
    let t = targets as f64;
    Ok(LinkageResult {
        targets,
        present,
        matched,
        unique_matches: unique,
        correct,
        rate: wilson(correct as f64, t, config.confidence),
        rate_exact: clopper_pearson(correct as u64, targets as u64, config.confidence),
        expected_correct: expected,
        expected_rate: if targets > 0 { expected / t } else { 0.0 },
        mean_candidates: if matched > 0 {
            candidates_sum / matched as f64
        } else {
            0.0
        },
        baseline_rate: if targets > 0 && released.nrows() > 0 {
            present as f64 / (t * released.nrows() as f64)
        } else {
            0.0
        },
        control_false_claims,
        confidence: config.confidence,
    })
}

/// For each auxiliary row, the released row holding the same person (if released).
fn ground_truth(
    released: &Table,
    auxiliary: &Table,
    config: &LinkageConfig,
) -> Result<Vec<Option<usize>>> {
    match &config.id_column {
        Some(id) => {
            let rel = released.column(id)?;
            let mut rows: HashMap<String, usize> = HashMap::new();
            for r in 0..rel.len() {
                if let Some(v) = rel.display(r) {
                    rows.insert(v.into_owned(), r);
                }
            }
            let aux = auxiliary.column(id)?;
            Ok((0..aux.len())
                .map(|r| aux.display(r).and_then(|v| rows.get(v.as_ref()).copied()))
                .collect())
        }
        None => {
            if released.nrows() != auxiliary.nrows() {
                return Err(AnonError::Attack(
                    "without an id column the released and auxiliary tables must have the same rows in the same order; pass id_column".into(),
                ));
            }
            Ok((0..released.nrows()).map(Some).collect())
        }
    }
}

/// The released records grouped by their quasi-identifier labels.
struct ReleaseIndex<'a> {
    config: &'a LinkageConfig,
    /// Per quasi-identifier: distinct released labels.
    labels: Vec<Vec<Option<String>>>,
    /// Per class and quasi-identifier: index into `labels`.
    class_labels: Vec<Vec<usize>>,
    class_rows: Vec<Vec<usize>>,
    class_of_row: Vec<usize>,
}

impl<'a> ReleaseIndex<'a> {
    fn new(released: &Table, config: &'a LinkageConfig) -> Result<Self> {
        let cols = config
            .quasi_identifiers
            .iter()
            .map(|q| released.column(q))
            .collect::<Result<Vec<_>, _>>()?;
        let mut labels: Vec<Vec<Option<String>>> = vec![Vec::new(); cols.len()];
        let mut label_ids: Vec<HashMap<Option<String>, usize>> = vec![HashMap::new(); cols.len()];
        let mut classes: HashMap<Vec<usize>, usize> = HashMap::new();
        let (mut class_labels, mut class_rows, mut class_of_row) =
            (Vec::new(), Vec::new(), Vec::with_capacity(released.nrows()));
        for row in 0..released.nrows() {
            let key: Vec<usize> = cols
                .iter()
                .enumerate()
                .map(|(q, c)| {
                    let label = c.display(row).map(|v| v.into_owned());
                    let next = labels[q].len();
                    *label_ids[q].entry(label.clone()).or_insert_with(|| {
                        labels[q].push(label);
                        next
                    })
                })
                .collect();
            let next = class_rows.len();
            let class = *classes.entry(key.clone()).or_insert_with(|| {
                class_labels.push(key);
                class_rows.push(Vec::new());
                next
            });
            class_rows[class].push(row);
            class_of_row.push(class);
        }
        Ok(ReleaseIndex {
            config,
            labels,
            class_labels,
            class_rows,
            class_of_row,
        })
    }

    /// Classes whose labels cover the quasi-identifiers of `row` in `table`.
    fn candidates(&self, table: &Table, row: usize) -> Result<Vec<usize>> {
        let mut covering: Vec<Vec<bool>> = Vec::with_capacity(self.labels.len());
        for (q, name) in self.config.quasi_identifiers.iter().enumerate() {
            let raw = table.column(name)?.display(row);
            let hierarchy = self.config.hierarchies.get(name);
            covering.push(
                self.labels[q]
                    .iter()
                    .map(|l| covers(l.as_deref(), raw.as_deref(), hierarchy))
                    .collect(),
            );
        }
        Ok((0..self.class_labels.len())
            .filter(|&c| {
                self.class_labels[c]
                    .iter()
                    .enumerate()
                    .all(|(q, &l)| covering[q][l])
            })
            .collect())
    }
}

/// True when the released `label` could stand for the raw `value` (rules in the module docs).
pub fn covers(label: Option<&str>, value: Option<&str>, hierarchy: Option<&Hierarchy>) -> bool {
    let (label, value) = match (label, value) {
        (None, None) => return true,
        (Some(l), Some(v)) => (l.trim(), v.trim()),
        (Some(l), None) => return l.trim() == "*",
        (None, Some(_)) => return false,
    };
    if label == value || label == "*" {
        return true;
    }
    if let Some(row) = hierarchy.and_then(|h| h.row(value)) {
        return row.iter().any(|l| l == label);
    }
    covers_interval(label, value) || covers_mask(label, value) || covers_date(label, value)
}

fn covers_interval(label: &str, value: &str) -> bool {
    let Ok(x) = value.parse::<f64>() else {
        return false;
    };
    if let Some(top) = label.strip_suffix('+') {
        return top.trim().parse::<f64>().is_ok_and(|t| x >= t);
    }
    if let Some(bottom) = label.strip_prefix('<') {
        return bottom.trim().parse::<f64>().is_ok_and(|b| x < b);
    }
    if let Some(inner) = label.strip_prefix('[') {
        let closed = inner.ends_with(']');
        let inner = inner.trim_end_matches([']', '[', ')']);
        let mut parts = inner.split(',');
        let (Some(lo), Some(hi)) = (parts.next(), parts.next()) else {
            return false;
        };
        let (Ok(lo), Ok(hi)) = (lo.trim().parse::<f64>(), hi.trim().parse::<f64>()) else {
            return false;
        };
        return x >= lo && (x < hi || (closed && x == hi));
    }
    // "lo-hi", allowing a leading minus on lo.
    let split_at = label
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '-')
        .map(|(i, _)| i);
    if let Some(i) = split_at
        && let (Ok(lo), Ok(hi)) = (
            label[..i].trim().parse::<f64>(),
            label[i + 1..].trim().parse::<f64>(),
        )
    {
        return x >= lo && x <= hi;
    }
    false
}

fn covers_mask(label: &str, value: &str) -> bool {
    if !label.ends_with('*') || label.chars().count() != value.chars().count() {
        return false;
    }
    label
        .chars()
        .zip(value.chars())
        .all(|(l, v)| l == '*' || l == v)
}

fn covers_date(label: &str, value: &str) -> bool {
    let Some((year, month, _)) = crate::hierarchy::parse_date(value) else {
        return false;
    };
    if let Some(decade) = label.strip_suffix('s') {
        return decade
            .parse::<i32>()
            .is_ok_and(|d| d % 10 == 0 && year.div_euclid(10) * 10 == d);
    }
    if let Some((y, q)) = label.split_once("-Q") {
        return y.parse::<i32>() == Ok(year) && q.parse::<u32>() == Ok((month - 1) / 3 + 1);
    }
    value.starts_with(label) && matches!(value[label.len()..].chars().next(), Some('-' | 'T' | ' '))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use salus_table::Column;

    #[test]
    fn cover_rules() {
        assert!(covers(Some("20-24"), Some("22"), None));
        assert!(!covers(Some("20-24"), Some("25"), None));
        assert!(covers(Some("[20, 25["), Some("24.5"), None));
        assert!(covers(Some("90+"), Some("97"), None));
        assert!(covers(Some("<18"), Some("3"), None));
        assert!(covers(Some("123**"), Some("12399"), None));
        assert!(!covers(Some("123**"), Some("1239"), None));
        assert!(covers(Some("2021-03"), Some("2021-03-15"), None));
        assert!(covers(Some("2020s"), Some("2023-01-01"), None));
        assert!(covers(Some("2021-Q1"), Some("2021-03-31"), None));
        assert!(covers(Some("*"), None, None));
        assert!(!covers(None, Some("x"), None));
        let h = Hierarchy::from_csv("c", b"Cuba;Americas;*\nIndia;Asia;*\n", b';').unwrap();
        assert!(covers(Some("Asia"), Some("India"), Some(&h)));
        assert!(!covers(Some("Asia"), Some("Cuba"), Some(&h)));
    }

    #[test]
    fn unique_release_is_fully_reidentified_and_k_anonymous_release_is_not() {
        let ages: Vec<Option<f64>> = (0..40).map(|i| Some(f64::from(20 + i))).collect();
        let ids: Vec<Option<String>> = (0..40).map(|i| Some(format!("p{i}"))).collect();
        let aux = Table::new(vec![
            Column::text("id", ids.clone()),
            Column::numeric("age", ages),
        ])
        .unwrap();
        let coarse: Vec<Option<String>> = (0..40)
            .map(|i| Some(format!("{}-{}", 20 + i / 5 * 5, 24 + i / 5 * 5)))
            .collect();
        let released =
            Table::new(vec![Column::text("id", ids), Column::text("age", coarse)]).unwrap();
        let config = LinkageConfig {
            quasi_identifiers: vec!["age".into()],
            id_column: Some("id".into()),
            ..Default::default()
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let exact = linkage_attack(&aux, &aux, None, &config, &mut rng).unwrap();
        assert_eq!((exact.correct, exact.unique_matches), (40, 40));
        let k5 = linkage_attack(&released, &aux, None, &config, &mut rng).unwrap();
        assert_eq!(k5.unique_matches, 0);
        assert!((k5.expected_rate - 0.2).abs() < 1e-12);
        assert!((k5.mean_candidates - 5.0).abs() < 1e-12);
    }
}
