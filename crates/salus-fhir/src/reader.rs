//! Reading FHIR R4 JSON: Bundles (any type; entries' resources, nested Bundles
//! expanded), single resources, JSON arrays of resources, and Bulk Data NDJSON
//! (one resource per line, read line by line so memory stays flat).
//!
//! Inside a Bundle, references to other entries by `fullUrl` (`urn:uuid:...`, as
//! Synthea and transaction bundles write them) are rewritten to `Type/id`, the
//! way a FHIR server resolves them when it stores the bundle; an entry without
//! `id` whose `fullUrl` is a `urn:uuid:` gets that UUID as its id.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::Value;

use crate::diagnostic::{Diagnostic, Located};

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON document: a Bundle, a resource or an array of resources.
    Json,
    /// Newline-delimited JSON, one resource per line (FHIR Bulk Data).
    Ndjson,
}

impl InputFormat {
    /// The format a file name suggests: `.ndjson`/`.jsonl` are NDJSON, the rest JSON.
    pub fn from_path(path: &std::path::Path) -> InputFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("ndjson" | "jsonl") => InputFormat::Ndjson,
            _ => InputFormat::Json,
        }
    }
}

/// Longest NDJSON line accepted (a longer one is reported and skipped).
pub const MAX_LINE_BYTES: usize = 256 << 20;
/// Deepest Bundle-in-Bundle nesting expanded.
const MAX_BUNDLE_DEPTH: usize = 8;

/// Resources read from one document, with what went wrong.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// The resources, in document order, each with its location.
    pub resources: Vec<Located<Value>>,
    /// Problems found while reading.
    pub diagnostics: Vec<Diagnostic>,
}

/// A JSON syntax error as a diagnostic: position and kind, never the input text.
pub fn json_error(source: &str, line_offset: usize, e: &serde_json::Error) -> Diagnostic {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "the JSON ends too early (truncated file?)".to_string(),
        serde_json::error::Category::Syntax => {
            // Syntax messages are fixed phrases ("expected `,` or `}`"); strip the position.
            let text = e.to_string();
            let phrase = text
                .split(" at line ")
                .next()
                .unwrap_or("syntax error")
                .to_string();
            format!("invalid JSON: {phrase}")
        }
        _ => "invalid JSON".to_string(),
    };
    let line = e.line() + line_offset;
    Diagnostic::error(format!("{source}:{line}:{}", e.column()), what)
}

/// Reads one JSON document from bytes.
pub fn read_json(bytes: &[u8], source: &str) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    match serde_json::from_slice::<Value>(bytes) {
        Ok(doc) => expand_document(doc, source, &mut out),
        Err(e) => out.diagnostics.push(json_error(source, 0, &e)),
    }
    out
}

/// Splits a parsed document into resources.
pub fn expand_document(doc: Value, source: &str, out: &mut ReadOutcome) {
    match doc {
        Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                expand_resource(item, format!("{source}[{i}]"), 0, out);
            }
        }
        other => expand_resource(other, source.to_string(), 0, out),
    }
}

fn expand_resource(value: Value, location: String, depth: usize, out: &mut ReadOutcome) {
    let rt = value.get("resourceType").and_then(Value::as_str);
    match rt {
        None => out.diagnostics.push(Diagnostic::error(
            location,
            "not a FHIR resource: no string `resourceType`; skipped",
        )),
        Some("Bundle") if depth < MAX_BUNDLE_DEPTH => expand_bundle(value, &location, depth, out),
        Some(_) => out.resources.push(Located::new(location, value)),
    }
}

const BUNDLE_TYPES: &[&str] = &[
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
];

fn expand_bundle(mut bundle: Value, location: &str, depth: usize, out: &mut ReadOutcome) {
    let ty = bundle.get("type").and_then(Value::as_str);
    if !ty.is_some_and(|t| BUNDLE_TYPES.contains(&t)) {
        out.diagnostics.push(Diagnostic::warning(
            format!("{location} Bundle.type"),
            "missing or not an R4 bundle type; entries read anyway",
        ));
    }
    let mut entries = match bundle.get_mut("entry").map(Value::take) {
        Some(Value::Array(entries)) => entries,
        None | Some(Value::Null) => return,
        Some(_) => {
            out.diagnostics.push(Diagnostic::error(
                format!("{location} Bundle.entry"),
                "must be an array; bundle skipped",
            ));
            return;
        }
    };
    let targets = assign_ids_and_index(&mut entries);
    for (i, mut entry) in entries.into_iter().enumerate() {
        let loc = format!("{location} entry[{i}]");
        let Some(mut resource) = entry.get_mut("resource").map(Value::take) else {
            // Delete requests and response entries carry no resource.
            continue;
        };
        if !targets.is_empty() {
            rewrite_references(&mut resource, &targets, 0);
        }
        expand_resource(resource, loc, depth + 1, out);
    }
}

/// Gives id-less entries their `urn:uuid:` and maps every `fullUrl` to `Type/id`.
fn assign_ids_and_index(entries: &mut [Value]) -> HashMap<String, String> {
    let mut targets = HashMap::new();
    for entry in entries.iter_mut() {
        let Some(full_url) = entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        let Some(resource) = entry.get_mut("resource").and_then(Value::as_object_mut) else {
            continue;
        };
        if !resource.contains_key("id")
            && let Some(uuid) = full_url.strip_prefix("urn:uuid:")
        {
            resource.insert("id".into(), Value::String(uuid.to_string()));
        }
        let rt = resource.get("resourceType").and_then(Value::as_str);
        let id = resource.get("id").and_then(Value::as_str);
        if let (Some(rt), Some(id)) = (rt, id) {
            targets.insert(full_url, format!("{rt}/{id}"));
        }
    }
    targets
}

/// Replaces `reference` values that name another entry's `fullUrl`.
fn rewrite_references(value: &mut Value, targets: &HashMap<String, String>, depth: usize) {
    if depth > 64 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "reference"
                    && let Value::String(r) = v
                {
                    if let Some(t) = targets.get(r.as_str()) {
                        *r = t.clone();
                    }
                } else if v.is_object() || v.is_array() {
                    rewrite_references(v, targets, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                rewrite_references(v, targets, depth + 1);
            }
        }
        _ => {}
    }
}

/// Reads NDJSON line by line, calling `on_item` with each resource (Bundles on a
/// line are expanded) or problem, in input order. Blank lines are skipped. Only
/// I/O errors stop the read; returns the number of lines.
pub fn read_ndjson<R: BufRead>(
    mut reader: R,
    source: &str,
    mut on_item: impl FnMut(Result<Located<Value>, Diagnostic>),
) -> std::io::Result<u64> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = std::io::Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(number);
        }
        number += 1;
        if line.len() > MAX_LINE_BYTES {
            on_item(Err(Diagnostic::error(
                format!("{source}:{number}"),
                format!("line longer than {MAX_LINE_BYTES} bytes; skipped"),
            )));
            skip_rest_of_line(&mut reader)?;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(&line) {
            Err(e) => on_item(Err(json_error(source, number as usize - 1, &e))),
            Ok(value) => {
                let mut out = ReadOutcome::default();
                expand_resource(value, format!("{source}:{number}"), 0, &mut out);
                out.diagnostics.into_iter().for_each(|d| on_item(Err(d)));
                out.resources.into_iter().for_each(|r| on_item(Ok(r)));
            }
        }
    }
}

fn skip_rest_of_line<R: BufRead>(reader: &mut R) -> std::io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_references_become_type_and_id() {
        let bundle = br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient"}},
            {"fullUrl":"urn:uuid:o1","resource":{"resourceType":"Observation","id":"o1",
              "subject":{"reference":"urn:uuid:p1"}}}]}"#;
        let out = read_json(bundle, "b.json");
        assert!(out.diagnostics.is_empty());
        assert_eq!(out.resources.len(), 2);
        assert_eq!(out.resources[0].value["id"], "p1");
        assert_eq!(out.resources[1].value["subject"]["reference"], "Patient/p1");
        assert_eq!(out.resources[1].location, "b.json entry[1]");
    }

    #[test]
    fn ndjson_reports_bad_lines_with_their_numbers() {
        let data = b"{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\n{oops\n{\"id\":\"x\"}\n";
        let mut resources = Vec::new();
        let mut diags = Vec::new();
        let lines = read_ndjson(&data[..], "p.ndjson", |item| match item {
            Ok(r) => resources.push(r),
            Err(d) => diags.push(d),
        })
        .expect("reading from memory cannot fail");
        assert_eq!(lines, 4);
        assert_eq!(resources.len(), 1);
        assert_eq!(diags.len(), 2);
        assert!(
            diags[0].location.starts_with("p.ndjson:3:"),
            "{}",
            diags[0].location
        );
        assert_eq!(diags[1].location, "p.ndjson:4");
    }

    #[test]
    fn syntax_errors_never_echo_the_input() {
        let out = read_json(
            br#"{"resourceType": "Patient", "name": SECRETNAME}"#,
            "x.json",
        );
        assert_eq!(out.diagnostics.len(), 1);
        assert!(!out.diagnostics[0].message.contains("SECRET"));
    }
}
