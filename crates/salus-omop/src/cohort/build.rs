//! Building a cohort from a [`Cdm`] and a [`CohortSpec`]; the rules are documented
//! in the module above.

use std::collections::{HashMap, HashSet};

use salus_table::{Column, Table, TableError};

use super::spec::{CohortSpec, ConceptSet};
use crate::cdm::Event;
use crate::date::Date;
use crate::import::Cdm;
use crate::tables::sex_of;

/// One member of the cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortRow {
    /// PERSON_ID.
    pub patient_id: i64,
    /// First index event.
    pub index_date: Date,
    /// Date the outcome happened or follow-up ended.
    pub end_date: Date,
    /// Days from index to `end_date` (at least 1).
    pub time: i32,
    /// True when the outcome happened.
    pub event: bool,
    /// Age at index in whole years.
    pub age: i32,
    /// `male`, `female`, ... (see [`crate::sex_of`]).
    pub sex: Option<String>,
}

/// How many persons remained after one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttritionStep {
    /// The rule, in words.
    pub rule: String,
    /// Persons left after it.
    pub remaining: usize,
}

/// A built cohort and its attrition.
#[derive(Debug, Clone, Default)]
pub struct Cohort {
    /// The members, by ascending patient id.
    pub rows: Vec<CohortRow>,
    /// Persons left after each rule, in order.
    pub attrition: Vec<AttritionStep>,
}

impl Cohort {
    /// The cohort as a table: `patient_id, index_date, end_date, time, event, age, sex`.
    pub fn to_table(&self) -> Result<Table, TableError> {
        let r = &self.rows;
        Table::new(vec![
            Column::numeric(
                "patient_id",
                r.iter().map(|x| Some(x.patient_id as f64)).collect(),
            ),
            Column::text(
                "index_date",
                r.iter().map(|x| Some(x.index_date.to_string())).collect(),
            ),
            Column::text(
                "end_date",
                r.iter().map(|x| Some(x.end_date.to_string())).collect(),
            ),
            Column::numeric("time", r.iter().map(|x| Some(f64::from(x.time))).collect()),
            Column::numeric(
                "event",
                r.iter()
                    .map(|x| Some(if x.event { 1.0 } else { 0.0 }))
                    .collect(),
            ),
            Column::numeric("age", r.iter().map(|x| Some(f64::from(x.age))).collect()),
            Column::text("sex", r.iter().map(|x| x.sex.clone()).collect()),
        ])
    }

    /// Number of members with an event.
    pub fn events(&self) -> usize {
        self.rows.iter().filter(|r| r.event).count()
    }
}

/// Per person, every date of an event in the set (unsorted).
fn event_dates(cdm: &Cdm, set: &ConceptSet) -> HashMap<i64, Vec<Date>> {
    let v = &cdm.vocabulary;
    let d = set.include_descendants;
    let conditions = v.expand(&set.condition_concept_ids, d);
    let drugs = v.expand(&set.drug_concept_ids, d);
    let procedures = v.expand(&set.procedure_concept_ids, d);
    let mut out: HashMap<i64, Vec<Date>> = HashMap::new();
    let mut add = |events: &mut dyn Iterator<Item = &Event>, ids: &HashSet<i64>| {
        for e in events.filter(|e| ids.contains(&e.concept_id)) {
            out.entry(e.person_id).or_default().push(e.start);
        }
    };
    add(&mut cdm.condition_occurrence.iter(), &conditions);
    add(&mut cdm.drug_exposure.iter().map(|x| &x.event), &drugs);
    add(&mut cdm.procedure_occurrence.iter(), &procedures);
    out
}

/// Counts persons surviving each rule.
struct Attrition {
    counts: Vec<usize>,
}

const RULES: [&str; 7] = [
    "persons with an index event",
    "index date inside an observation period",
    "enough prior observation (washout)",
    "age at index within limits",
    "no outcome on or before index",
    "follow-up after index",
    "in cohort",
];

/// Builds the cohort. The spec is assumed valid ([`CohortSpec::from_toml`] checks it).
pub fn build_cohort(cdm: &Cdm, spec: &CohortSpec) -> Cohort {
    let index_dates = event_dates(cdm, &spec.index.concepts());
    let mut outcomes = event_dates(cdm, &spec.outcome.concepts());
    let deaths: HashMap<i64, Date> = cdm.death.iter().map(|d| (d.person_id, d.date)).collect();
    if spec.outcome.death {
        for (&p, &d) in &deaths {
            outcomes.entry(p).or_default().push(d);
        }
    }
    let mut periods: HashMap<i64, Vec<(Date, Date)>> = HashMap::new();
    for p in &cdm.observation_period {
        periods
            .entry(p.person_id)
            .or_default()
            .push((p.start, p.end));
    }
    let mut persons: Vec<_> = cdm.person.iter().collect();
    persons.sort_by_key(|p| p.person_id);
    let mut attrition = Attrition {
        counts: vec![0; RULES.len()],
    };
    let mut rows = Vec::new();
    for person in persons {
        let Some(index) = index_dates
            .get(&person.person_id)
            .and_then(|d| d.iter().min())
            .copied()
        else {
            continue;
        };
        let ctx = PersonCtx {
            index,
            periods: periods
                .get(&person.person_id)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            outcomes: outcomes
                .get(&person.person_id)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            death: deaths
                .get(&person.person_id)
                .copied()
                .filter(|_| !spec.outcome.death),
            age: person.age_on(index),
        };
        if let Some((end_date, event)) = follow(&ctx, spec, &mut attrition) {
            rows.push(CohortRow {
                patient_id: person.person_id,
                index_date: index,
                end_date,
                time: end_date.days() - index.days(),
                event,
                age: ctx.age,
                sex: sex_of(person.gender_concept_id, &cdm.vocabulary),
            });
        }
    }
    let attrition = RULES
        .iter()
        .zip(attrition.counts)
        .map(|(rule, remaining)| AttritionStep {
            rule: (*rule).to_owned(),
            remaining,
        })
        .collect();
    Cohort { rows, attrition }
}

struct PersonCtx<'a> {
    index: Date,
    periods: &'a [(Date, Date)],
    outcomes: &'a [Date],
    /// Death date when it censors (death is not the outcome).
    death: Option<Date>,
    age: i32,
}

/// Applies rules 2-7 to one person with an index date; `(end date, event)` if kept.
fn follow(p: &PersonCtx<'_>, spec: &CohortSpec, a: &mut Attrition) -> Option<(Date, bool)> {
    a.counts[0] += 1;
    let &(start, end) = p
        .periods
        .iter()
        .find(|(s, e)| *s <= p.index && p.index <= *e)?;
    a.counts[1] += 1;
    if p.index.days() - start.days() < spec.washout.prior_observation_days {
        return None;
    }
    a.counts[2] += 1;
    let too_young = spec.index.min_age.is_some_and(|m| p.age < m);
    let too_old = spec.index.max_age.is_some_and(|m| p.age > m);
    if too_young || too_old {
        return None;
    }
    a.counts[3] += 1;
    if spec.outcome.exclude_prior && p.outcomes.iter().any(|&d| d <= p.index) {
        return None;
    }
    a.counts[4] += 1;
    let mut stop = end;
    if let Some(max) = spec.follow_up.max_days {
        stop = stop.min(p.index.add_days(max));
    }
    if let Some(death) = p.death {
        stop = stop.min(death);
    }
    if stop <= p.index {
        return None;
    }
    a.counts[5] += 1;
    let first = p.outcomes.iter().copied().filter(|&d| d > p.index).min();
    a.counts[6] += 1;
    Some(match first {
        Some(d) if d <= stop => (d, true),
        _ => (stop, false),
    })
}
