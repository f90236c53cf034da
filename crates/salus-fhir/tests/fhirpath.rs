//! FHIRPath engine: each case is an expression, a resource and the expected
//! result as JSON (values from the FHIRPath N1 specification's examples where it
//! gives them).

use salus_fhir::Cell;
use salus_fhir::fhirpath::{Environment, FhirPath, Temporal};
use serde_json::{Value, json};

fn patient() -> Value {
    json!({
        "resourceType": "Patient", "id": "p1",
        "name": [
            {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
            {"use": "usual", "given": ["Jim"]}
        ],
        "gender": "male", "birthDate": "1974-12-25", "deceasedBoolean": false,
        "managingOrganization": {"reference": "Organization/1"},
        "generalPractitioner": [{"reference": "http://x.org/fhir/Practitioner/pr1/_history/2"}],
        "extension": [{"url": "http://e/a", "valueCode": "A"}, {"url": "http://e/b", "valueInteger": 3}],
        "multipleBirthInteger": 2
    })
}

fn eval_env(resource: &Value, expr: &str, env: &Environment<'_>) -> Result<Value, String> {
    let path = FhirPath::compile(expr).map_err(|e| e.to_string())?;
    let out = path.evaluate(resource, env).map_err(|e| e.to_string())?;
    Ok(Value::Array(
        out.iter()
            .map(|i| Cell::from_item(i, None).to_json())
            .collect(),
    ))
}

fn eval(resource: &Value, expr: &str) -> Value {
    match eval_env(resource, expr, &Environment::default()) {
        Ok(v) => v,
        Err(e) => panic!("`{expr}` failed: {e}"),
    }
}

fn check(cases: &[(&str, Value)]) {
    let p = patient();
    for (expr, expected) in cases {
        assert_eq!(&eval(&p, expr), expected, "{expr}");
    }
}

#[test]
fn paths_and_subsetting() {
    check(&[
        ("name.given", json!(["Peter", "James", "Jim"])),
        ("Patient.name.family", json!(["Chalmers"])),
        ("name[1].given", json!(["Jim"])),
        ("name.given.first()", json!(["Peter"])),
        ("name.given.last()", json!(["Jim"])),
        ("name.given.tail()", json!(["James", "Jim"])),
        ("name.given.skip(1).take(1)", json!(["James"])),
        ("name.given.count()", json!([3])),
        ("name.where(use = 'usual').given.single()", json!(["Jim"])),
        ("name.select(given.first())", json!(["Peter", "Jim"])),
        ("name.given.exists($this = 'Jim')", json!([true])),
        ("name.all(given.exists())", json!([true])),
        ("telecom.empty()", json!([true])),
        ("(name.given | name.given).count()", json!([3])),
        ("name.given.combine(name.given).count()", json!([6])),
        ("name.given.distinct().isDistinct()", json!([true])),
        ("name.given.where($index > 0)", json!(["James", "Jim"])),
    ]);
}

#[test]
fn choice_types_and_type_tests() {
    check(&[
        ("deceased.ofType(boolean)", json!([false])),
        ("deceased.ofType(dateTime)", json!([])),
        ("deceased is boolean", json!([true])),
        ("multipleBirth as integer", json!([2])),
        (
            "extension('http://e/b').value.ofType(integer) + 1",
            json!([4]),
        ),
        ("extension('http://e/a').value.ofType(code)", json!(["A"])),
        ("extension.value.ofType(FHIR.string)", json!(["A"])),
        ("birthDate.is(date)", json!([true])),
    ]);
}

#[test]
fn operators_follow_fhirpath_rules() {
    check(&[
        ("2 + 3 * 4", json!([14])),
        ("(2 + 3) * 4", json!([20])),
        ("7 div 2", json!([3])),
        ("7 mod 2", json!([1])),
        ("7 / 2", json!([3.5])),
        ("1 / 0", json!([])),
        ("'a' & {} & 'b'", json!(["ab"])),
        ("'a' + 'b'", json!(["ab"])),
        ("{} = 1", json!([])),
        ("true and {}", json!([])),
        ("false and {}", json!([false])),
        ("true or {}", json!([true])),
        ("true xor false", json!([true])),
        ("false implies {}", json!([true])),
        ("(1 | 2 | 3).count()", json!([3])),
        ("2 in (1 | 2)", json!([true])),
        ("(1 | 2) contains 3", json!([false])),
        ("'abc' ~ 'ABC'", json!([true])),
        ("'abc' != 'abd'", json!([true])),
        ("-(3 - 5)", json!([2])),
        ("birthDate < @1980-01-01", json!([true])),
        (
            "@2012-04-15T15:00:00+02:00 = @2012-04-15T13:00:00Z",
            json!([true]),
        ),
        ("@2012 = @2012-04", json!([])),
        ("@2012-03 < @2012-04-15", json!([true])),
        ("@2019-01-31 + 1 month", json!(["2019-02-28"])),
        ("birthDate + 18 years", json!(["1992-12-25"])),
        ("iif(gender = 'male', 'M', 'F')", json!(["M"])),
        ("(gender = 'female').not()", json!([true])),
    ]);
}

#[test]
fn string_and_math_functions() {
    check(&[
        ("name.given.join(', ')", json!(["Peter, James, Jim"])),
        ("'abcdef'.substring(2, 3)", json!(["cde"])),
        ("'abcdef'.substring(9)", json!([])),
        ("'abc'.upper() + 'DEF'.lower()", json!(["ABCdef"])),
        ("'hello'.indexOf('l')", json!([2])),
        ("' x '.trim().length()", json!([1])),
        ("'a,b'.split(',')", json!(["a", "b"])),
        ("'1970-06'.matches('^[0-9]{4}-[0-9]{2}$')", json!([true])),
        ("'abc'.replaceMatches('[ac]', 'x')", json!(["xbx"])),
        ("'abc'.replace('b', '')", json!(["ac"])),
        (
            "'abc'.startsWith('ab') and 'abc'.endsWith('bc') and 'abc'.contains('b')",
            json!([true]),
        ),
        ("'42'.toInteger() + '0.5'.toDecimal()", json!([42.5])),
        ("'x'.convertsToInteger()", json!([false])),
        ("(-2.5).abs().round()", json!([3.0])),
        ("2.5.floor()", json!([2])),
        ("2.power(10)", json!([1024.0])),
        ("true.toString()", json!(["true"])),
    ]);
}

#[test]
fn sql_on_fhir_functions() {
    check(&[
        ("getResourceKey()", json!(["p1"])),
        ("managingOrganization.getReferenceKey()", json!(["1"])),
        (
            "managingOrganization.getReferenceKey(Organization)",
            json!(["1"]),
        ),
        ("managingOrganization.getReferenceKey(Patient)", json!([])),
        (
            "generalPractitioner.getReferenceKey(Practitioner)",
            json!(["pr1"]),
        ),
        ("birthDate.lowBoundary()", json!(["1974-12-25"])),
        ("'1974-12'.toDate().highBoundary()", json!(["1974-12-31"])),
        ("1.587.lowBoundary()", json!([1.5865])),
        (
            "@2014-01-01T08:05.lowBoundary()",
            json!(["2014-01-01T08:05:00.000+14:00"]),
        ),
    ]);
}

#[test]
fn now_and_today_need_a_reference_time() {
    let p = patient();
    assert!(eval_env(&p, "today()", &Environment::default()).is_err());
    let env = Environment {
        now: Temporal::parse_datetime("2024-05-06T07:08:09Z"),
        ..Environment::default()
    };
    assert_eq!(eval_env(&p, "today()", &env), Ok(json!(["2024-05-06"])));
    assert_eq!(
        eval_env(&p, "birthDate + 49 years < today()", &env),
        Ok(json!([true]))
    );
}

#[test]
fn bad_expressions_are_errors_not_panics() {
    for bad in [
        "",
        "name.",
        "name[",
        "'unterminated",
        "foo(",
        "name.nosuchfunction()",
        "first(1)",
        "1 +",
        "@",
        "$nothing",
        "%",
        "`x",
        "/* open",
        "9999999999999999999999",
    ] {
        assert!(
            FhirPath::compile(bad).is_err(),
            "`{bad}` should not compile"
        );
    }
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    assert!(FhirPath::compile(&deep).is_err());
    let long = vec!["a"; 2000].join(".");
    assert!(FhirPath::compile(&long).is_err());
    let minus = format!("{}1", "-".repeat(500));
    assert!(FhirPath::compile(&minus).is_err());
    // Run-time errors: several values where one is needed.
    let p = patient();
    assert!(eval_env(&p, "name.given + 'x'", &Environment::default()).is_err());
    assert!(eval_env(&p, "'a' < 1", &Environment::default()).is_err());
    assert!(eval_env(&p, "%undefined", &Environment::default()).is_err());
}
