//! Precedence rules, compute-time filtering, withdrawal between two runs, and
//! persistence of the registry.

use proptest::prelude::*;
use salus_consent::{
    ConsentPolicy, ConsentRecord, DataCategory, Decision, DefaultRule, Period, Provision, Purpose,
    Registry,
};

use DataCategory::{Genomics, Labs};

fn research() -> Purpose {
    Purpose::Research
}

fn study(id: &str) -> Purpose {
    Purpose::Study(id.into())
}

fn record(id: &str, patient: &str, at: i64, provision: Provision) -> ConsentRecord {
    ConsentRecord::new(id, patient, at, "test", provision)
}

fn permit(purposes: Vec<Purpose>) -> Provision {
    Provision::all(Decision::Permit).for_purposes(purposes)
}

fn deny(purposes: Vec<Purpose>) -> Provision {
    Provision::all(Decision::Deny).for_purposes(purposes)
}

fn registry(policy: ConsentPolicy, records: Vec<ConsentRecord>) -> Registry {
    let mut r = Registry::new(policy);
    for rec in records {
        r.add(rec).unwrap_or_else(|e| panic!("{e}"));
    }
    r
}

#[test]
fn default_policy_decides_when_no_record_applies() {
    let opt_in = registry(ConsentPolicy::opt_in(), vec![]);
    let opt_out = registry(ConsentPolicy::opt_out(), vec![]);
    assert!(!opt_in.is_permitted("p", &research(), &[Labs], 0));
    assert!(opt_out.is_permitted("p", &research(), &[Labs], 0));
    // Per-purpose defaults: treatment opt-out, commercial opt-in, research covers studies.
    let mixed = ConsentPolicy {
        default: DefaultRule::OptIn,
        per_purpose: vec![
            (Purpose::Treatment, DefaultRule::OptOut),
            (research(), DefaultRule::OptOut),
        ],
    };
    let r = registry(mixed, vec![]);
    assert!(r.is_permitted("p", &Purpose::Treatment, &[Labs], 0));
    assert!(r.is_permitted("p", &study("s"), &[Labs], 0));
    assert!(!r.is_permitted("p", &Purpose::Commercial, &[Labs], 0));
    assert_eq!(r.evaluate("p", &research(), &[Labs], 0).decided_by, None);
}

#[test]
fn latest_applicable_statement_wins() {
    let r = registry(
        ConsentPolicy::opt_in(),
        vec![
            record("c1", "p", 100, permit(vec![research()])),
            record("c2", "p", 200, deny(vec![]).for_categories(vec![Genomics])),
            record("c3", "p", 300, permit(vec![Purpose::Commercial])),
            record(
                "c4",
                "p",
                400,
                permit(vec![]).for_categories(vec![Genomics]),
            ),
        ],
    );
    let at = |t| r.evaluate("p", &research(), &[Genomics], t);
    assert_eq!(at(50).decision, Decision::Deny); // nothing recorded yet: default
    assert_eq!(at(150).decided_by.as_deref(), Some("c1"));
    assert_eq!(at(250).decision, Decision::Deny);
    assert_eq!(at(250).decided_by.as_deref(), Some("c2"));
    // c3 is about another purpose: c2 stays in force for research.
    assert_eq!(at(350).decided_by.as_deref(), Some("c2"));
    assert_eq!(at(450).decision, Decision::Permit);
    // Labs are never touched by c2 or c4: c1 decides throughout.
    assert_eq!(
        r.evaluate("p", &research(), &[Labs], 450)
            .decided_by
            .as_deref(),
        Some("c1")
    );
    // Several categories: all must be permitted; the deny names its record.
    let both = r.evaluate("p", &research(), &[Labs, Genomics], 250);
    assert_eq!(
        (both.decision, both.decided_by.as_deref()),
        (Decision::Deny, Some("c2"))
    );
}

#[test]
fn same_time_conflict_is_a_deny_and_expired_statements_fall_silent() {
    let temporary = Provision {
        period: Period {
            start: Some(0),
            end: Some(500),
        },
        ..deny(vec![research()])
    };
    let r = registry(
        ConsentPolicy::opt_in(),
        vec![
            record("a", "p", 100, permit(vec![research()])),
            record("b", "p", 100, deny(vec![study("s1")])),
            record("c", "q", 100, permit(vec![research()])),
            record("d", "q", 200, temporary),
        ],
    );
    assert!(!r.is_permitted("p", &study("s1"), &[Labs], 150));
    assert!(r.is_permitted("p", &study("s2"), &[Labs], 150));
    // q paused research until 500; afterwards the earlier permit shows through.
    assert!(!r.is_permitted("q", &research(), &[Labs], 300));
    assert!(r.is_permitted("q", &research(), &[Labs], 500));
}

#[test]
fn records_added_out_of_order_take_effect_by_recorded_time() {
    let r = registry(
        ConsentPolicy::opt_in(),
        vec![
            record("late", "p", 300, deny(vec![])),
            record("early", "p", 100, permit(vec![])),
        ],
    );
    assert_eq!(
        r.history("p")
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["early", "late"]
    );
    assert!(r.is_permitted("p", &research(), &[Labs], 200));
    assert!(!r.is_permitted("p", &research(), &[Labs], 300));
}

#[test]
fn empty_category_list_means_all_data() {
    let r = registry(
        ConsentPolicy::opt_out(),
        vec![record(
            "g",
            "p",
            0,
            deny(vec![]).for_categories(vec![Genomics]),
        )],
    );
    assert!(r.is_permitted("p", &research(), &[Labs], 1));
    assert!(!r.is_permitted("p", &research(), &[], 1));
}

#[test]
fn invalid_and_duplicate_records_are_refused() {
    let mut r = Registry::new(ConsentPolicy::opt_in());
    assert!(r.add(record("", "p", 0, permit(vec![]))).is_err());
    assert!(r.add(record("x", " ", 0, permit(vec![]))).is_err());
    let backwards = Provision {
        period: Period {
            start: Some(10),
            end: Some(5),
        },
        ..permit(vec![])
    };
    assert!(r.add(record("x", "p", 0, backwards)).is_err());
    let mut deep = permit(vec![]);
    for _ in 0..20 {
        deep = Provision {
            exceptions: vec![deep],
            ..permit(vec![])
        };
    }
    assert!(r.add(record("x", "p", 0, deep)).is_err());
    assert!(r.add(record("x", "p", 0, permit(vec![]))).is_ok());
    assert!(r.add(record("x", "q", 0, permit(vec![]))).is_err());
    assert_eq!(r.len(), 1);
}

/// Consent withdrawn between two runs changes the second run's input by
/// exactly the withdrawn patients.
#[test]
fn withdrawal_between_two_runs_removes_exactly_the_withdrawn_patients() {
    let patients: Vec<String> = (0..200).map(|i| format!("pt-{i:03}")).collect();
    let refs: Vec<&str> = patients.iter().map(String::as_str).collect();
    let mut r = Registry::new(ConsentPolicy::opt_in());
    for (i, p) in patients.iter().enumerate() {
        // Every third patient never consented; the others permit research.
        if i % 3 != 0 {
            r.add(record(
                &format!("c-{p}"),
                p,
                1_000,
                permit(vec![research()]),
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let purpose = study("cardio");
    let first = r.filter(&refs, &purpose, &[Labs], 2_000);
    let withdrawn = [1usize, 2, 50, 199];
    for &i in &withdrawn {
        r.withdraw(&format!("w-{i}"), refs[i], vec![], 2_500, "patient-api")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let second = r.filter(&refs, &purpose, &[Labs], 3_000);
    let removed: Vec<usize> = first
        .allowed()
        .iter()
        .copied()
        .filter(|i| !second.allowed().contains(i))
        .collect();
    assert_eq!(removed, withdrawn);
    assert!(second.allowed().iter().all(|i| first.allowed().contains(i)));
    assert_eq!(second.excluded(), first.excluded() + withdrawn.len());
    assert_eq!(first.excluded(), 67);
    // The past is unchanged: a re-run "as of" the first time gives the first answer.
    assert_eq!(r.filter(&refs, &purpose, &[Labs], 2_000), first);
}

#[test]
fn registry_survives_a_serde_round_trip() {
    let r = registry(
        ConsentPolicy {
            default: DefaultRule::OptIn,
            per_purpose: vec![(Purpose::Treatment, DefaultRule::OptOut)],
        },
        vec![
            record(
                "a",
                "p",
                100,
                permit(vec![study("s-1")])
                    .for_categories(vec![Labs, DataCategory::Other("x".into())]),
            ),
            record("b", "q", 50, deny(vec![Purpose::Other("HMARKT".into())])),
        ],
    );
    let json = serde_json::to_string(&r).unwrap_or_default();
    assert!(json.contains("\"study:s-1\"") && json.contains("\"other:x\""));
    let back: Registry = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, r);
    // A stored registry with a duplicate id is refused on load.
    let dup = json.replace("\"id\":\"b\"", "\"id\":\"a\"");
    assert!(serde_json::from_str::<Registry>(&dup).is_err());
}

proptest! {
    /// Adding a deny never widens what is permitted, and an explicit permit for
    /// everything after all other records always permits.
    #[test]
    fn deny_only_narrows_and_latest_full_permit_wins(times in proptest::collection::vec(0i64..1000, 1..12), seed in any::<u64>()) {
        let mut r = Registry::new(ConsentPolicy::opt_out());
        for (i, t) in times.iter().enumerate() {
            let cat = if (seed >> i) & 1 == 0 { Labs } else { Genomics };
            let d = if (seed >> (i + 20)) & 1 == 0 { Decision::Permit } else { Decision::Deny };
            let _ = r.add(record(&format!("r{i}"), "p", *t, Provision::all(d).for_categories(vec![cat])));
        }
        let before = r.is_permitted("p", &research(), &[Labs, Genomics], 2_000);
        let mut narrowed = r.clone();
        let _ = narrowed.add(record("deny", "p", 1_500, deny(vec![]).for_categories(vec![Labs])));
        let after = narrowed.is_permitted("p", &research(), &[Labs, Genomics], 2_000);
        prop_assert!(!after);
        prop_assert!(before || !after);
        let _ = narrowed.add(record("all", "p", 1_600, permit(vec![])));
        prop_assert!(narrowed.is_permitted("p", &research(), &[Labs, Genomics], 2_000));
    }
}
