//! Property tests of the cohort builder over random small CDMs: whatever the data
//! and the definition, every member satisfies the documented rules.

use proptest::prelude::*;
use salus_omop::cohort::{FollowUpSpec, IndexSpec, OutcomeSpec, WashoutSpec};
use salus_omop::{Cdm, CohortSpec, Date, Death, Event, ObservationPeriod, Person, build_cohort};

#[derive(Debug, Clone)]
struct Random {
    start: i32,
    length: i32,
    index: Vec<i32>,
    outcomes: Vec<i32>,
    death: Option<i32>,
}

fn person() -> impl Strategy<Value = Random> {
    (
        0..400i32,
        0..400i32,
        prop::collection::vec(-50..900i32, 0..3),
        prop::collection::vec(-50..900i32, 0..4),
        prop::option::of(0..900i32),
    )
        .prop_map(|(start, length, index, outcomes, death)| Random {
            start,
            length,
            index,
            outcomes,
            death,
        })
}

fn day(offset: i32) -> Date {
    Date::from_days(10_000 + offset)
}

fn event(id: i64, person: i64, concept: i64, offset: i32) -> Event {
    Event {
        id,
        person_id: person,
        concept_id: concept,
        start: day(offset),
        end: None,
        visit_occurrence_id: None,
        source_value: None,
        source_concept_id: None,
    }
}

fn cdm(people: &[Random]) -> Cdm {
    let mut cdm = Cdm::default();
    let mut id = 0;
    for (i, r) in people.iter().enumerate() {
        let p = i as i64 + 1;
        cdm.person.push(Person {
            person_id: p,
            gender_concept_id: 8507,
            year_of_birth: 1950,
            month_of_birth: None,
            day_of_birth: None,
            birth_datetime: None,
            race_concept_id: 0,
            ethnicity_concept_id: 0,
            person_source_value: None,
        });
        cdm.observation_period.push(ObservationPeriod {
            observation_period_id: p,
            person_id: p,
            start: day(r.start),
            end: day(r.start + r.length),
        });
        for (concept, offsets) in [(1, &r.index), (2, &r.outcomes)] {
            for &o in offsets {
                id += 1;
                cdm.condition_occurrence.push(event(id, p, concept, o));
            }
        }
        if let Some(d) = r.death {
            cdm.death.push(Death {
                person_id: p,
                date: day(d),
                cause_concept_id: None,
            });
        }
    }
    cdm
}

fn spec(washout: i32, max_days: Option<i32>, exclude_prior: bool, death: bool) -> CohortSpec {
    CohortSpec {
        name: None,
        index: IndexSpec {
            condition_concept_ids: vec![1],
            drug_concept_ids: vec![],
            procedure_concept_ids: vec![],
            include_descendants: true,
            min_age: None,
            max_age: None,
        },
        washout: WashoutSpec {
            prior_observation_days: washout,
        },
        outcome: OutcomeSpec {
            condition_concept_ids: vec![2],
            drug_concept_ids: vec![],
            procedure_concept_ids: vec![],
            include_descendants: true,
            death,
            exclude_prior,
        },
        follow_up: FollowUpSpec { max_days },
    }
}

proptest! {
    #[test]
    fn members_obey_the_rules(
        people in prop::collection::vec(person(), 1..30),
        washout in 0..200i32,
        max_days in prop::option::of(1..400i32),
        exclude_prior: bool,
        death_is_outcome: bool,
    ) {
        let spec = spec(washout, max_days, exclude_prior, death_is_outcome);
        let cohort = build_cohort(&cdm(&people), &spec);
        let mut last = 0;
        for row in &cohort.rows {
            prop_assert!(row.patient_id > last, "sorted and unique");
            last = row.patient_id;
            let r = &people[(row.patient_id - 1) as usize];
            let index = row.index_date.days() - 10_000;
            prop_assert_eq!(Some(&index), r.index.iter().min(), "index is the first occurrence");
            prop_assert!(r.start + washout <= index && index <= r.start + r.length);
            prop_assert!(row.time >= 1);
            prop_assert_eq!(row.time, row.end_date.days() - row.index_date.days());
            let mut outcomes = r.outcomes.clone();
            if death_is_outcome { outcomes.extend(r.death); }
            if exclude_prior {
                prop_assert!(outcomes.iter().all(|&o| o > index));
            }
            let end = index + row.time;
            prop_assert!(end <= r.start + r.length);
            prop_assert!(max_days.is_none_or(|m| row.time <= m));
            prop_assert!(!outcomes.iter().any(|&o| o > index && o < end), "no earlier outcome");
            if row.event {
                prop_assert!(outcomes.contains(&end));
            } else {
                let mut stop = r.start + r.length;
                if let Some(m) = max_days { stop = stop.min(index + m); }
                if let (Some(d), false) = (r.death, death_is_outcome) { stop = stop.min(d); }
                prop_assert_eq!(end, stop, "censored at the earliest end");
                prop_assert!(!outcomes.contains(&end));
            }
        }
        let expected = people.iter().filter(|r| {
            let Some(&index) = r.index.iter().min() else { return false };
            let mut outcomes = r.outcomes.clone();
            if death_is_outcome { outcomes.extend(r.death); }
            let mut stop = r.start + r.length;
            if let Some(m) = max_days { stop = stop.min(index + m); }
            if let (Some(d), false) = (r.death, death_is_outcome) { stop = stop.min(d); }
            r.start + washout <= index
                && index <= r.start + r.length
                && !(exclude_prior && outcomes.iter().any(|&o| o <= index))
                && stop > index
        }).count();
        prop_assert_eq!(cohort.rows.len(), expected, "nobody eligible is lost");
        let first = &cohort.attrition[0];
        prop_assert_eq!(first.remaining, people.iter().filter(|r| !r.index.is_empty()).count());
    }
}
