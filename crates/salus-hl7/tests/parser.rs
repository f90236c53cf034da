//! Parser behaviour on hand-written edge cases and on generated inputs: separators
//! from MSH, escapes, nulls, encodings, broken headers and garbage, plus property
//! tests (never panics; escaped values come back intact; terminators do not matter).
#![allow(clippy::unwrap_used)] // a panic in a test is a clear failure

use proptest::prelude::*;
use salus_hl7::{Delimiters, Hl7Error, Message, Path, Severity, decode, escape, parse};

const MSH: &str = "MSH|^~\\&|APP|FAC|||20240101||ADT^A08|C1|P|2.5";

fn diags(text: &str) -> Vec<String> {
    parse(text)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn separators_come_from_msh() {
    let text = "MSH*:!/$*APP*FAC*****ORU:R01*X9*P*2.6\rPID*1**A1:::HOSP!B2:::OTHER**Doe:Jane$Q\r";
    let msg = Message::parse(text).unwrap();
    assert_eq!(msg.delimiters().field, '*');
    assert_eq!(msg.get("MSH-9-2").as_deref(), Some("R01"));
    assert_eq!(msg.get("PID-3[2]-1").as_deref(), Some("B2"));
    assert_eq!(msg.get("PID-3[2]-4").as_deref(), Some("OTHER"));
    assert_eq!(msg.get("PID-5-2-2").as_deref(), Some("Q"));
}

#[test]
fn escapes_nulls_and_truncation() {
    let text = format!(
        "{MSH}\rPID|1||42||O\\T\\Brien^Ann \\X41\\.^^^^^L||\"\"|\rNTE|1||line one\\.br\\line two\r"
    );
    let msg = Message::parse(&text).unwrap();
    assert_eq!(msg.get("PID-5-1").as_deref(), Some("O&Brien"));
    assert_eq!(msg.get("PID-5-2").as_deref(), Some("Ann A."));
    assert_eq!(msg.get("PID-7"), None, "\"\" is the explicit null");
    assert!(msg.segment("PID", 1).unwrap().field(7).is_null());
    assert_eq!(msg.get("NTE-3").as_deref(), Some("line one\nline two"));
    let v27 = "MSH|^~\\&#|A|B|||20240101||ADT^A01|C|P|2.7\rPID|1||7||Long\\P\\name#\r";
    let msg = Message::parse(v27).unwrap();
    assert_eq!(msg.delimiters().truncation, Some('#'));
    assert_eq!(msg.get("PID-5").as_deref(), Some("Long#name#"));
}

#[test]
fn latin1_input_is_decoded_with_a_warning() {
    let mut bytes = format!("{MSH}\rPID|1||42||M").into_bytes();
    bytes.push(0xfc); // ü in ISO 8859-1, invalid as UTF-8
    bytes.extend_from_slice(b"ller^Jo\r");
    let (text, note) = decode(&bytes);
    assert_eq!(note.map(|n| n.severity), Some(Severity::Warning));
    assert_eq!(
        Message::parse(&text).unwrap().get("PID-5-1").as_deref(),
        Some("Müller")
    );
}

#[test]
fn broken_headers_and_garbage_are_reported() {
    let text = format!(
        "MSH|^^\\&|bad\rPID|1\rEVN|A01\r{MSH}\rthis is not a segment\rpid|lower\rPV1|1|I\r"
    );
    let parsed = parse(&text);
    assert_eq!(parsed.messages.len(), 1);
    assert_eq!(parsed.messages[0].segments().len(), 2, "MSH and PV1");
    assert_eq!(
        diags(&text),
        [
            "error: segment 1 (MSH), MSH-2: MSH-1/MSH-2 must define distinct, non-alphanumeric separators (e.g. `MSH|^~\\&|`): two separators use the same character; the segments up to the next header are skipped",
            "error: segment 2 (PID): segments 2-3 (PID, EVN) belong to no message (they follow a header with unusable separators); skipped",
            "error: segment 5: not an HL7 segment (expected a 3-character id such as PID followed by the field separator); skipped",
            "error: segment 6: not an HL7 segment (expected a 3-character id such as PID followed by the field separator); skipped",
        ]
    );
}

#[test]
fn header_fields_are_checked() {
    let text = "MSH|^~\\&|A|B|||20240101|||C1|P|2.2\rMSH|^~\\&|A|B|||20240101||ADT^A01||P\r";
    assert_eq!(
        diags(text),
        [
            "error: message 1, segment 1 (MSH), MSH-9: message type (MSH-9) is empty; the message cannot be mapped",
            "warning: message 1, segment 1 (MSH), MSH-12: version 2.2 is outside the supported range 2.3-2.8; read anyway",
            "warning: message 2, segment 2 (MSH), MSH-10: message control id (MSH-10) is empty; resource ids fall back to the message position",
            "warning: message 2, segment 2 (MSH), MSH-12: version (MSH-12) is empty; read as 2.5",
        ]
    );
}

#[test]
fn line_feeds_inside_a_carriage_return_file() {
    // A sender that puts LF inside text but ends segments with CR, and one stray
    // LF-terminated segment: only LFs before a segment id split.
    let text = format!("{MSH}\rNTE|1||first line\nsecond line\nOBX|1|ST|X^Y||v\r");
    let msg = Message::parse(&text).unwrap();
    let ids: Vec<&str> = msg.segments().iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["MSH", "NTE", "OBX"]);
    assert_eq!(msg.get("NTE-3").as_deref(), Some("first line\nsecond line"));
}

#[test]
fn single_message_errors() {
    assert!(matches!(Message::parse(""), Err(Hl7Error::NoMessage)));
    assert!(matches!(
        Message::parse("PID|1\r"),
        Err(Hl7Error::MissingMsh { .. })
    ));
    assert!(matches!(
        Message::parse("MSH|^|\r"),
        Err(Hl7Error::BadEncodingCharacters { .. })
    ));
    let two = format!("{MSH}\r{MSH}\r");
    assert!(matches!(
        Message::parse(&two),
        Err(Hl7Error::SeveralMessages { count: 2 })
    ));
    assert!(Path::parse("PID-5-1").is_ok());
    assert_eq!(Message::parse(MSH).unwrap().get("not a path"), None);
}

#[test]
fn debug_output_never_shows_values() {
    let text = format!("{MSH}\rPID|1||42||Secretname^Jo\r");
    let msg = Message::parse(&text).unwrap();
    let shown = format!(
        "{msg:?} {:?} {:?}",
        msg.segments()[1],
        msg.segments()[1].field(5)
    );
    assert!(!shown.contains("Secretname"), "{shown}");
    assert!(shown.contains("PID"));
}

/// Field values without control characters (escape() writes newlines as `\.br\`).
fn value() -> impl Strategy<Value = String> {
    "[^\\x00-\\x1f\\x7f]{1,12}(\n[^\\x00-\\x1f\\x7f]{1,5})?"
        .prop_filter("not the null token", |s| s != "\"\"")
}

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,300}") {
        let parsed = parse(&text);
        for m in &parsed.messages {
            let _ = m.get("PID-5-1");
            let _ = m.message_type();
        }
    }

    #[test]
    fn parse_never_panics_on_hl7_like_text(
        parts in prop::collection::vec(prop::sample::select(vec![
            "MSH", "BHS", "FHS", "BTS", "FTS", "PID", "OBX", "|", "^", "~", "\\", "&", "#",
            "\r", "\n", "\r\n", "\u{0b}", "\u{1c}", "X", "1", "\\X4\\", "\\F", "\"\"", "é",
        ]), 0..120)
    ) {
        let text: String = parts.concat();
        let _ = parse(&text);
        let _ = Message::parse(&text);
    }

    #[test]
    fn escaped_values_come_back(values in prop::collection::vec(value(), 1..8)) {
        let d = Delimiters::default();
        let fields: Vec<String> = values.iter().map(|v| escape(v, &d)).collect();
        let text = format!("{MSH}\rOBX|{}\r", fields.join("|"));
        let msg = Message::parse(&text).unwrap();
        for (i, v) in values.iter().enumerate() {
            let got = msg.get(&format!("OBX-{}", i + 1));
            prop_assert_eq!(got.as_deref(), Some(v.as_str()));
        }
    }

    #[test]
    fn terminators_do_not_matter(values in prop::collection::vec(value(), 1..6), segments in 1..5usize) {
        let d = Delimiters::default();
        let body: Vec<String> = (0..segments)
            .map(|s| format!("OBX|{s}|{}", values.iter().map(|v| escape(v, &d)).collect::<Vec<_>>().join("|")))
            .collect();
        let lines: Vec<String> = std::iter::once(MSH.to_owned()).chain(body).collect();
        let reference = lines.join("\r");
        let base = Message::parse(&reference).unwrap();
        for sep in ["\n", "\r\n", "\r\r"] {
            let other = lines.join(sep);
            let msg = Message::parse(&other).unwrap();
            prop_assert_eq!(msg.segments().len(), base.segments().len());
            for s in 1..=segments {
                for f in 1..=values.len() + 1 {
                    let path = format!("OBX[{s}]-{f}");
                    prop_assert_eq!(msg.get(&path), base.get(&path));
                }
            }
        }
    }
}
