//! The import pipeline: a stream of located resources in, tables and diagnostics
//! out. Generic over where the resources come from (FHIR files, or HL7 v2
//! messages already mapped to FHIR R4 JSON), streaming (one resource at a time;
//! rows can be drained in chunks), and never stopped by one bad resource.

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;

use salus_table::Table;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Located, Severity};
use crate::error::Result;
use crate::reader;
use crate::validate;
use crate::view::{Cell, ViewDefinition, build_table};

/// How an import behaves.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Check resources against FHIR R4 (required elements, types, codes) and
    /// report findings as warnings. On by default.
    pub validate: bool,
    /// Most diagnostics kept; later ones are counted in a final summary line
    /// (keeps memory flat on huge, messy inputs).
    pub max_diagnostics: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            validate: true,
            max_diagnostics: 1000,
        }
    }
}

/// What an import produced. Serializes as
/// `{"resources":{"Patient":n,...},"tables":{"patients":rows,...},"diagnostics":[...]}`
/// (tables as row counts). `Debug` shows counts only.
#[derive(Clone, Default)]
pub struct ImportOutput {
    /// Resources read, by resource type.
    pub resources: BTreeMap<String, u64>,
    /// One table per view, by table name.
    pub tables: BTreeMap<String, Table>,
    /// Everything worth telling, in input order (capped; see [`ImportOptions`]).
    pub diagnostics: Vec<Diagnostic>,
}

impl std::fmt::Debug for ImportOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOutput")
            .field("resources", &self.resources)
            .field("tables", &self.table_rows())
            .field("diagnostics", &self.diagnostics.len())
            .finish()
    }
}

impl ImportOutput {
    /// Row count of each table.
    pub fn table_rows(&self) -> BTreeMap<String, usize> {
        self.tables
            .iter()
            .map(|(k, t)| (k.clone(), t.nrows()))
            .collect()
    }

    /// Number of diagnostics of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

impl Serialize for ImportOutput {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("resources", &self.resources)?;
        map.serialize_entry("tables", &self.table_rows())?;
        map.serialize_entry("diagnostics", &self.diagnostics)?;
        map.end()
    }
}

/// The JSON report of an import: counts per resource type, rows per table,
/// diagnostics. This is what `salus import ... --json` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    /// Resources read, by resource type.
    pub resources: BTreeMap<String, u64>,
    /// Rows written, by table.
    pub tables: BTreeMap<String, u64>,
    /// Diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

impl ImportOutput {
    /// The summary (row counts instead of tables).
    pub fn summary(&self) -> ImportSummary {
        ImportSummary {
            resources: self.resources.clone(),
            tables: self
                .tables
                .iter()
                .map(|(k, t)| (k.clone(), t.nrows() as u64))
                .collect(),
            diagnostics: self.diagnostics.clone(),
        }
    }
}

/// Accumulated rows of one view, column-major.
struct ViewState {
    view: ViewDefinition,
    table: String,
    cells: Vec<Vec<Cell>>,
    seen_keys: HashSet<String>,
}

/// Diagnostics with a cap.
#[derive(Default)]
struct Sink {
    kept: Vec<Diagnostic>,
    suppressed: BTreeMap<Severity, u64>,
    max: usize,
}

impl Sink {
    fn push(&mut self, d: Diagnostic) {
        if self.kept.len() < self.max {
            self.kept.push(d);
        } else {
            *self.suppressed.entry(d.severity).or_default() += 1;
        }
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        if !self.suppressed.is_empty() {
            let parts: Vec<String> = self
                .suppressed
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect();
            self.kept.push(Diagnostic::info(
                "(import)",
                format!(
                    "{} more diagnostics not listed ({})",
                    self.suppressed.values().sum::<u64>(),
                    parts.join(", ")
                ),
            ));
        }
        self.kept
    }
}

/// A streaming import: push resources, drain or finish tables.
pub struct Importer {
    views: Vec<ViewState>,
    options: ImportOptions,
    resources: BTreeMap<String, u64>,
    sink: Sink,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("resources", &self.resources)
            .finish()
    }
}

impl Importer {
    /// An importer running `views` (table names from [`ViewDefinition::name`];
    /// a repeated name gets a `_2`, `_3`... suffix and a warning).
    pub fn new(views: Vec<ViewDefinition>, options: ImportOptions) -> Importer {
        let mut sink = Sink {
            max: options.max_diagnostics,
            ..Sink::default()
        };
        let mut names = HashSet::new();
        let views = views
            .into_iter()
            .map(|view| {
                let base = view.name();
                let mut table = base.clone();
                let mut n = 1;
                while !names.insert(table.clone()) {
                    n += 1;
                    table = format!("{base}_{n}");
                }
                if n > 1 {
                    sink.push(Diagnostic::warning(
                        format!("view {base}"),
                        format!("another view has the same name; its table is called {table}"),
                    ));
                }
                ViewState {
                    cells: vec![Vec::new(); view.columns().len()],
                    view,
                    table,
                    seen_keys: HashSet::new(),
                }
            })
            .collect();
        Importer {
            views,
            options,
            resources: BTreeMap::new(),
            sink,
        }
    }

    /// Adds a diagnostic found outside the importer (a reader, a mapper).
    pub fn push_diagnostic(&mut self, d: Diagnostic) {
        self.sink.push(d);
    }

    /// Processes one resource: counts it, validates it, runs the views on it.
    pub fn push(&mut self, resource: Located<Value>) {
        let Located { location, value } = resource;
        let Some(rt) = value.get("resourceType").and_then(Value::as_str) else {
            self.sink.push(Diagnostic::error(
                location,
                "not a FHIR resource: no string `resourceType`; skipped",
            ));
            return;
        };
        match self.resources.get_mut(rt) {
            Some(n) => *n += 1,
            None => {
                self.resources.insert(rt.to_string(), 1);
            }
        }
        let label = resource_label(&location, &value, rt);
        if self.options.validate {
            let mut found = Vec::new();
            validate::check_resource(&value, &label, &mut found);
            found.into_iter().for_each(|d| self.sink.push(d));
        }
        for state in self.views.iter_mut().filter(|s| s.view.resource() == rt) {
            match state.view.rows(&value) {
                Ok(rows) => {
                    if add_rows(state, rows) > 0 {
                        self.sink.push(Diagnostic::warning(
                            label.clone(),
                            format!(
                                "no id, so it cannot be keyed; left out of table {}",
                                state.table
                            ),
                        ));
                    }
                }
                Err(e) => self.sink.push(Diagnostic::error(
                    label.clone(),
                    format!("view {}: {e}; no rows from this resource", state.table),
                )),
            }
        }
    }

    /// Reads one JSON document (Bundle, resource or array) and processes its resources.
    pub fn read_json(&mut self, bytes: &[u8], source: &str) {
        let out = reader::read_json(bytes, source);
        out.diagnostics.into_iter().for_each(|d| self.sink.push(d));
        for r in out.resources {
            self.push(r);
        }
    }

    /// Reads NDJSON line by line (memory stays flat); only I/O errors stop it.
    pub fn read_ndjson<R: BufRead>(&mut self, reader: R, source: &str) -> std::io::Result<u64> {
        reader::read_ndjson(reader, source, |item| match item {
            Ok(resource) => self.push(resource),
            Err(d) => self.sink.push(d),
        })
    }

    /// Rows accumulated so far, as tables, emptied from the importer (the
    /// keys of keyed views are remembered, so a patient is still listed once).
    pub fn take_tables(&mut self) -> Result<BTreeMap<String, Table>> {
        let mut out = BTreeMap::new();
        for state in &mut self.views {
            let cells = std::mem::replace(
                &mut state.cells,
                vec![Vec::new(); state.view.columns().len()],
            );
            out.insert(
                state.table.clone(),
                build_table(state.view.columns(), &cells)?,
            );
        }
        Ok(out)
    }

    /// Rows accumulated and not yet taken.
    pub fn pending_rows(&self) -> usize {
        self.views
            .iter()
            .map(|s| s.cells.first().map_or(0, Vec::len))
            .sum()
    }

    /// Resource counts so far.
    pub fn resource_counts(&self) -> &BTreeMap<String, u64> {
        &self.resources
    }

    /// Ends the import: remaining rows as tables, counts and diagnostics.
    pub fn finish(mut self) -> Result<ImportOutput> {
        let tables = self.take_tables()?;
        let used: HashSet<&str> = self.views.iter().map(|s| s.view.resource()).collect();
        for (rt, n) in &self.resources {
            if !used.contains(rt.as_str()) && !self.views.is_empty() {
                self.sink.push(Diagnostic::info(
                    format!("(import) {rt}"),
                    format!("{n} resource(s) read; no view reads {rt}"),
                ));
            }
        }
        Ok(ImportOutput {
            resources: self.resources,
            tables,
            diagnostics: self.sink.finish(),
        })
    }
}

/// Appends rows; for a keyed view, skips repeated keys and returns how many
/// rows had no key at all (those are skipped too).
fn add_rows(state: &mut ViewState, rows: Vec<Vec<Cell>>) -> usize {
    let mut keyless = 0;
    for row in rows {
        if let Some(k) = state.view.unique_key() {
            let key = match &row[k] {
                Cell::Null => {
                    keyless += 1;
                    continue;
                }
                Cell::Str(s) => s.clone(),
                other => other.to_json().to_string(),
            };
            if !state.seen_keys.insert(key) {
                continue;
            }
        }
        for (col, cell) in state.cells.iter_mut().zip(row) {
            col.push(cell);
        }
    }
    keyless
}

/// `location Type/id` (the id is the resource's key, not patient data).
fn resource_label(location: &str, value: &Value, rt: &str) -> String {
    match value.get("id").and_then(Value::as_str) {
        Some(id) => format!("{location} {rt}/{id}"),
        None => format!("{location} {rt}"),
    }
}

/// Imports a stream of located resources through `views` in one call.
///
/// A view that fails on a resource yields a diagnostic for that resource and
/// goes on; the views themselves were checked when they were loaded.
pub fn import(
    resources: impl IntoIterator<Item = Located<Value>>,
    views: &[ViewDefinition],
) -> Result<ImportOutput> {
    let mut importer = Importer::new(views.to_vec(), ImportOptions::default());
    for r in resources {
        importer.push(r);
    }
    importer.finish()
}
