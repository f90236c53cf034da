//! Fuzz target: ViewDefinition loading and running. Input: view JSON, then
//! optionally a NUL byte and NDJSON resources to run it on (else a fixed set).
#![no_main]

use libfuzzer_sys::fuzz_target;
use salus_fhir::ViewDefinition;

fuzz_target!(|data: &[u8]| {
    let (view_bytes, resource_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(view) = ViewDefinition::from_slice(view_bytes) else {
        return;
    };
    let resources: Vec<serde_json::Value> = match resource_bytes {
        Some(bytes) => bytes
            .split(|&b| b == b'\n')
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect(),
        None => vec![
            serde_json::json!({"resourceType": "Patient", "id": "p1", "active": true,
                "name": [{"family": "F", "given": ["A", "B"]}, {"use": "official", "given": ["C"]}],
                "contact": [{"telecom": [{"system": "phone", "value": "1"}]}],
                "deceasedBoolean": false, "birthDate": "1970-06"}),
            serde_json::json!({"resourceType": "Patient", "id": "p2"}),
            serde_json::json!({"resourceType": "Observation", "id": "o1", "status": "final",
                "code": {"text": "c"}, "valueQuantity": {"value": 1.0},
                "subject": {"reference": "Patient/p1"}}),
            serde_json::json!({"resourceType": "QuestionnaireResponse", "id": "q1",
                "item": [{"linkId": "1", "item": [{"linkId": "1.1", "answer": [{"valueString": "x",
                  "item": [{"linkId": "1.1.1"}]}]}]}]}),
        ],
    };
    if let Ok(rows) = view.run(&resources) {
        let _ = rows.to_table();
    }
});
