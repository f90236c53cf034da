//! Import of the Eunomia subset (see tests/data/eunomia/PROVENANCE.txt): real row
//! counts, selected values, and cohorts cross-checked by an independent computation
//! that reads the same CSVs with `salus_table::read_csv` and plain hash maps.
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;

use salus_omop::{
    CdmImport, CohortSpec, CsvInput, Severity, analysis_tables, build_cohort, read_cdm,
};
use salus_table::{CsvOptions, Table, read_csv_path};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/eunomia")
}

fn load() -> CdmImport {
    let inputs = salus_omop::TABLES.iter().filter_map(|t| {
        let path = dir().join(format!("{t}.csv"));
        let file = File::open(&path).ok()?;
        Some(CsvInput {
            table: (*t).to_owned(),
            name: format!("{t}.csv"),
            reader: file,
        })
    });
    read_cdm(inputs).unwrap()
}

#[test]
fn counts_match_the_files() {
    let import = load();
    let expected = [
        ("person", 2694),
        // 5,343 rows in the file; 2,649 belong to no PERSON row (an Eunomia quirk).
        ("observation_period", 2694),
        ("visit_occurrence", 1037),
        ("condition_occurrence", 3173),
        ("drug_exposure", 4479),
        ("measurement", 989),
        ("procedure_occurrence", 552),
        ("observation", 1477),
        ("death", 0),
        ("concept", 442),
        ("concept_ancestor", 592),
    ];
    for (table, n) in expected {
        assert_eq!(import.counts.get(table), Some(&n), "{table}");
    }
    let problems: Vec<String> = import
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        problems,
        [
            "warning: observation_period: 2649 rows refer to a person_id that is not in person; skipped"
        ]
    );
}

#[test]
fn analysis_tables_hold_real_values() {
    let tables = analysis_tables(&load().cdm).unwrap();
    let patients = &tables["patients"];
    assert_eq!(patients.nrows(), 2694);
    let row = |id: f64| {
        patients
            .numeric("patient_id")
            .unwrap()
            .iter()
            .position(|&p| p == Some(id))
            .unwrap()
    };
    let (six, one23) = (row(6.0), row(123.0));
    assert_eq!(
        patients.text("birth_date").unwrap()[six].as_deref(),
        Some("1963-12-31")
    );
    assert_eq!(
        patients.text("sex").unwrap()[six].as_deref(),
        Some("female")
    );
    assert_eq!(
        patients.text("birth_date").unwrap()[one23].as_deref(),
        Some("1950-04-12")
    );
    assert_eq!(
        patients.text("sex").unwrap()[one23].as_deref(),
        Some("male")
    );
    let sexes = patients.text("sex").unwrap();
    let males = sexes
        .iter()
        .filter(|s| s.as_deref() == Some("male"))
        .count();
    let females = sexes
        .iter()
        .filter(|s| s.as_deref() == Some("female"))
        .count();
    assert_eq!(males + females, 2694);
    assert_eq!(
        males,
        count_lines_with(&dir().join("person.csv"), 1, "8507")
    );

    let conditions = &tables["conditions"];
    assert_eq!(conditions.nrows(), 3173);
    let names = conditions.text("concept_name").unwrap();
    let bleeds = names
        .iter()
        .filter(|n| n.as_deref() == Some("Gastrointestinal hemorrhage"))
        .count();
    assert_eq!(
        bleeds,
        count_lines_with(&dir().join("condition_occurrence.csv"), 2, "192671")
    );
    let first = conditions
        .numeric("condition_id")
        .unwrap()
        .iter()
        .position(|&c| c == Some(4657.0))
        .unwrap();
    assert_eq!(
        conditions.text("start_date").unwrap()[first].as_deref(),
        Some("2011-10-10")
    );
    assert_eq!(
        conditions.text("source_value").unwrap()[first].as_deref(),
        Some("K92.2")
    );
    assert_eq!(conditions.text("end_date").unwrap()[first], None);

    let drugs = &tables["drugs"];
    let celecoxib = drugs
        .text("concept_name")
        .unwrap()
        .iter()
        .filter(|n| n.as_deref() == Some("celecoxib"))
        .count();
    assert_eq!(celecoxib, 1844);
    assert_eq!(tables["visits"].nrows(), 1037);
    let m = &tables["measurements"];
    assert_eq!(m.nrows(), 989);
    assert_eq!(m.numeric("measurement_id").unwrap()[0], Some(716.0)); // written `716.0` in the file
    assert_eq!(
        m.text("concept_name").unwrap()[0].as_deref(),
        Some("Throat culture")
    );
    assert_eq!(m.text("date").unwrap()[0].as_deref(), Some("1958-11-30"));
    assert_eq!(m.numeric("value").unwrap()[0], None);
    assert_eq!(tables["deaths"].nrows(), 0);
    assert_eq!(tables["observation_periods"].nrows(), 2694);
}

/// Rows of a CSV whose column `col` (0-based) equals `value`.
fn count_lines_with(path: &std::path::Path, col: usize, value: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(col) == Some(value))
        .count()
}

/// The cohort rules, written again from scratch over salus_table tables.
struct Independent {
    periods: HashMap<i64, Vec<(String, String)>>,
    descendants: HashMap<i64, HashSet<i64>>,
    drugs: Vec<(i64, i64, String)>,
    conditions: Vec<(i64, i64, String)>,
}

fn table(name: &str) -> Table {
    let opts = CsvOptions {
        text_columns: ["START_DATE", "END_DATE", "DATE"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..CsvOptions::default()
    };
    read_csv_path(&dir().join(name), &opts).unwrap()
}

fn rows(t: &Table, person: &str, concept: &str, day: &str) -> Vec<(i64, i64, String)> {
    let p = t.numeric(person).unwrap();
    let c = t.numeric(concept).unwrap();
    (0..t.nrows())
        .map(|i| {
            (
                p[i].unwrap() as i64,
                c[i].unwrap() as i64,
                t.column(day).unwrap().display(i).unwrap().into_owned(),
            )
        })
        .collect()
}

impl Independent {
    fn load() -> Self {
        let op = table("observation_period.csv");
        let mut periods: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for (p, _, start) in rows(
            &op,
            "PERSON_ID",
            "OBSERVATION_PERIOD_ID",
            "OBSERVATION_PERIOD_START_DATE",
        ) {
            periods.entry(p).or_default().push((start, String::new()));
        }
        let ends = op.column("OBSERVATION_PERIOD_END_DATE").unwrap();
        let people = op.numeric("PERSON_ID").unwrap();
        let mut seen: HashMap<i64, usize> = HashMap::new();
        for (i, person) in people.iter().enumerate().take(op.nrows()) {
            let p = person.unwrap() as i64;
            let k = seen.entry(p).or_insert(0);
            periods.get_mut(&p).unwrap()[*k].1 = ends.display(i).unwrap().into_owned();
            *k += 1;
        }
        let ca = table("concept_ancestor.csv");
        let mut descendants: HashMap<i64, HashSet<i64>> = HashMap::new();
        for (a, d, _) in rows(
            &ca,
            "ANCESTOR_CONCEPT_ID",
            "DESCENDANT_CONCEPT_ID",
            "MIN_LEVELS_OF_SEPARATION",
        ) {
            descendants.entry(a).or_default().insert(d);
        }
        Independent {
            periods,
            descendants,
            drugs: rows(
                &table("drug_exposure.csv"),
                "PERSON_ID",
                "DRUG_CONCEPT_ID",
                "DRUG_EXPOSURE_START_DATE",
            ),
            conditions: rows(
                &table("condition_occurrence.csv"),
                "PERSON_ID",
                "CONDITION_CONCEPT_ID",
                "CONDITION_START_DATE",
            ),
        }
    }

    /// (members, events, total days) for a drug index, GI-bleed outcome.
    fn cohort(&self, index_drug: i64, washout: i64, max_days: Option<i64>) -> (usize, usize, i64) {
        let mut wanted = self
            .descendants
            .get(&index_drug)
            .cloned()
            .unwrap_or_default();
        wanted.insert(index_drug);
        let mut index: HashMap<i64, String> = HashMap::new();
        for (p, c, d) in &self.drugs {
            if wanted.contains(c) && index.get(p).is_none_or(|old| d < old) {
                index.insert(*p, d.clone());
            }
        }
        let mut outcomes: HashMap<i64, Vec<String>> = HashMap::new();
        for (p, c, d) in &self.conditions {
            if *c == 192671 {
                outcomes.entry(*p).or_default().push(d.clone());
            }
        }
        let (mut n, mut events, mut total) = (0, 0, 0);
        for (p, i) in &index {
            let Some((start, end)) = self.periods[p].iter().find(|(s, e)| s <= i && i <= e) else {
                continue;
            };
            if days(i) - days(start) < washout {
                continue;
            }
            let out = outcomes.get(p).cloned().unwrap_or_default();
            if out.iter().any(|d| d <= i) {
                continue;
            }
            let mut stop = days(end);
            if let Some(m) = max_days {
                stop = stop.min(days(i) + m);
            }
            if stop <= days(i) {
                continue;
            }
            n += 1;
            match out.iter().map(|d| days(d)).filter(|&d| d > days(i)).min() {
                Some(d) if d <= stop => {
                    events += 1;
                    total += d - days(i);
                }
                _ => total += stop - days(i),
            }
        }
        (n, events, total)
    }
}

/// Days since 1970-01-01 by counting, to stay independent of the crate's arithmetic.
fn days(iso: &str) -> i64 {
    let y: i64 = iso[..4].parse().unwrap();
    let m: i64 = iso[5..7].parse().unwrap();
    let d: i64 = iso[8..10].parse().unwrap();
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut total = 0;
    for year in 1800..y {
        total += if leap(year) { 366 } else { 365 };
    }
    let months = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    total += months[..(m - 1) as usize].iter().sum::<i64>();
    total + d - 1
}

fn run(spec: &str) -> (usize, usize, i64) {
    let cohort = build_cohort(&load().cdm, &CohortSpec::from_toml(spec).unwrap());
    let total = cohort.rows.iter().map(|r| i64::from(r.time)).sum();
    assert!(cohort.rows.iter().all(|r| r.time >= 1));
    (cohort.rows.len(), cohort.events(), total)
}

#[test]
fn celecoxib_new_users_gi_bleed() {
    let spec = "name = \"celecoxib-gi-bleed\"\n[index]\ndrug_concept_ids = [1118084]\n\
                [washout]\nprior_observation_days = 365\n[outcome]\ncondition_concept_ids = [192671]\n";
    let ours = run(spec);
    assert_eq!(ours, (1800, 355, 11_004_407));
    assert_eq!(ours, Independent::load().cohort(1118084, 365, None));
}

#[test]
fn nsaid_class_expands_through_concept_ancestor() {
    let spec = "[index]\ndrug_concept_ids = [21603933]\n[washout]\nprior_observation_days = 365\n\
                [outcome]\ncondition_concept_ids = [192671]\n[follow_up]\nmax_days = 365\n";
    let ours = run(spec);
    assert_eq!(ours, (2659, 379, 845_431));
    assert_eq!(ours, Independent::load().cohort(21603933, 365, Some(365)));
    let flat = spec.replace("[21603933]", "[21603933]\ninclude_descendants = false");
    assert_eq!(
        run(&flat),
        (0, 0, 0),
        "no drug row carries the class concept itself"
    );
}

#[test]
fn attrition_and_table_shape() {
    let spec = "[index]\ncondition_concept_ids = [80180]\nmin_age = 40\n[outcome]\ncondition_concept_ids = [192671]\n";
    let cohort = build_cohort(&load().cdm, &CohortSpec::from_toml(spec).unwrap());
    let remaining: Vec<usize> = cohort.attrition.iter().map(|a| a.remaining).collect();
    assert_eq!(
        remaining[0], 2694,
        "every Eunomia person has osteoarthritis"
    );
    assert!(remaining.windows(2).all(|w| w[0] >= w[1]), "{remaining:?}");
    assert_eq!(*remaining.last().unwrap(), cohort.rows.len());
    assert!(cohort.rows.iter().all(|r| r.age >= 40));
    let t = cohort.to_table().unwrap();
    assert_eq!(
        t.names(),
        [
            "patient_id",
            "index_date",
            "end_date",
            "time",
            "event",
            "age",
            "sex"
        ]
    );
    assert_eq!(t.nrows(), cohort.rows.len());
}

#[test]
fn shipped_cohort_files_run() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cohorts");
    let read =
        |f: &str| CohortSpec::from_toml(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap();
    let cdm = load().cdm;
    let celecoxib = build_cohort(&cdm, &read("celecoxib-gi-bleed.toml"));
    assert_eq!((celecoxib.rows.len(), celecoxib.events()), (1800, 355));
    let nsaid = build_cohort(&cdm, &read("nsaid-gi-bleed-1y.toml"));
    assert!(nsaid.rows.iter().all(|r| r.age >= 18 && r.time <= 365));
    assert!(nsaid.rows.len() <= 2659);
}
