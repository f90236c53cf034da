//! HL7 v2 inputs → FHIR R4 resources → tables, through salus-fhir's views and
//! import pipeline (the same views, validation and diagnostics as a FHIR import).
//!
//! Patients and Encounters are merged across messages and files (an ADT^A08
//! updates the Patient of an earlier A01) and pushed once at the end; every other
//! resource is pushed as soon as its message is mapped, so memory holds one input
//! at a time plus the patients. A resource whose id was already imported (the same
//! message read twice) is skipped with a note: the first copy is kept.

use std::collections::HashSet;

use salus_fhir::import::{ImportOptions, ImportOutput, Importer};
use salus_fhir::{
    Diagnostic as FhirDiagnostic, FhirError, Located, Severity as FhirSeverity, ViewDefinition,
};

use crate::map::{MappedResource, ResourceSet, map_message};
use crate::{Diagnostic, Severity, decode, parse};

/// One HL7 input: a name for diagnostics (usually the file name) and its bytes.
#[derive(Clone, Copy)]
pub struct Hl7Input<'a> {
    /// Shown in every diagnostic and resource location.
    pub name: &'a str,
    /// The raw bytes (UTF-8 or ISO 8859-1; MLLP framing tolerated).
    pub bytes: &'a [u8],
}

impl std::fmt::Debug for Hl7Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hl7Input")
            .field("name", &self.name)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// A streaming HL7 import: add inputs one by one, then finish.
pub struct Hl7Importer {
    importer: Importer,
    merged: ResourceSet,
    /// `input: location` of each merged resource, in the set's order.
    merged_labels: Vec<String>,
    pushed: HashSet<(String, String)>,
    repeated: usize,
    messages: usize,
}

impl std::fmt::Debug for Hl7Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hl7Importer")
            .field("messages", &self.messages)
            .finish()
    }
}

fn convert(d: Diagnostic, input: &str) -> FhirDiagnostic {
    let severity = match d.severity {
        Severity::Error => FhirSeverity::Error,
        Severity::Warning => FhirSeverity::Warning,
        Severity::Info => FhirSeverity::Info,
    };
    FhirDiagnostic::new(severity, format!("{input}: {}", d.location), d.message)
}

impl Hl7Importer {
    /// An importer that runs `views` (e.g. salus-fhir's built-in views).
    pub fn new(views: Vec<ViewDefinition>, options: ImportOptions) -> Self {
        Hl7Importer {
            importer: Importer::new(views, options),
            merged: ResourceSet::default(),
            merged_labels: Vec::new(),
            pushed: HashSet::new(),
            repeated: 0,
            messages: 0,
        }
    }

    /// Parses, maps and imports one input.
    pub fn add(&mut self, input: Hl7Input<'_>) {
        let (text, note) = decode(input.bytes);
        if let Some(n) = note {
            self.importer.push_diagnostic(convert(n, input.name));
        }
        let parsed = parse(&text);
        for d in parsed.diagnostics {
            self.importer.push_diagnostic(convert(d, input.name));
        }
        if parsed.messages.is_empty() {
            self.importer.push_diagnostic(FhirDiagnostic::error(
                input.name,
                "no HL7 v2 message could be read from this input",
            ));
        }
        for (i, message) in parsed.messages.iter().enumerate() {
            self.messages += 1;
            let mapping = map_message(message, i + 1);
            for d in mapping.diagnostics {
                self.importer.push_diagnostic(convert(d, input.name));
            }
            for resource in mapping.resources {
                self.route(resource, input.name);
            }
        }
    }

    fn route(&mut self, resource: MappedResource, input: &str) {
        if matches!(resource.resource_type(), "Patient" | "Encounter") {
            let label = format!("{input}: {}", resource.location);
            if self.merged.insert(resource) {
                self.merged_labels.push(label);
            }
            return;
        }
        let key = (
            resource.resource_type().to_owned(),
            resource.id().to_owned(),
        );
        if !self.pushed.insert(key) {
            self.repeated += 1;
            return;
        }
        let location = format!("{input}: {}", resource.location);
        self.importer
            .push(Located::new(location, resource.resource));
    }

    /// Pushes the merged Patients and Encounters and returns the tables.
    pub fn finish(mut self) -> Result<ImportOutput, FhirError> {
        if self.repeated > 0 {
            self.importer.push_diagnostic(FhirDiagnostic::info(
                "(hl7)",
                format!(
                    "{} resources repeated an id already imported (the same message read twice?); the first copy was kept",
                    self.repeated
                ),
            ));
        }
        for (r, label) in self
            .merged
            .into_resources()
            .into_iter()
            .zip(self.merged_labels)
        {
            self.importer.push(Located::new(label, r.resource));
        }
        self.importer.finish()
    }
}

/// Imports HL7 inputs through `views` in one call.
pub fn import_hl7<'a>(
    inputs: impl IntoIterator<Item = Hl7Input<'a>>,
    views: Vec<ViewDefinition>,
    options: ImportOptions,
) -> Result<ImportOutput, FhirError> {
    let mut importer = Hl7Importer::new(views, options);
    for input in inputs {
        importer.add(input);
    }
    importer.finish()
}
