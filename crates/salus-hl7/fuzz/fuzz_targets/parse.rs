//! Fuzz target: arbitrary bytes through the whole HL7 path a hostile input takes:
//! decoding, batch/message parsing, path look-ups, and the FHIR mapping.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, _) = salus_hl7::decode(data);
    let parsed = salus_hl7::parse(&text);
    for message in &parsed.messages {
        let _ = message.get("PID-5-1");
        let _ = message.get("OBX[2]-5-1-1");
        let _ = message.message_type();
    }
    let (set, _) = salus_hl7::map_messages(&parsed.messages);
    let _ = set.counts();
    let _ = salus_hl7::Message::parse(&text);
});
