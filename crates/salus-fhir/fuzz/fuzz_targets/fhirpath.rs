//! Fuzz target: the FHIRPath parser, and evaluation of whatever parses on a
//! sample resource.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salus_fhir::fhirpath::{Environment, FhirPath, Temporal};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = FhirPath::compile(src) else {
        return;
    };
    let resource = serde_json::json!({
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}], "text": "x"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2020-01-02T03:04:05+01:00",
        "valueQuantity": {"value": 1.50, "unit": "mm[Hg]"},
        "component": [{"code": {"text": "a"}, "valueInteger": 3}, {"code": {"text": "b"}, "valueString": "s"}],
        "extension": [{"url": "u", "valueCode": "c", "extension": [{"url": "v", "valueDate": "2020-02"}]}]
    });
    let env = Environment {
        now: Temporal::parse_datetime("2024-01-01T00:00:00Z"),
        ..Environment::default()
    };
    let _ = path.evaluate(&resource, &env);
});
