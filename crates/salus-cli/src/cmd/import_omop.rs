//! `salus import omop`: OMOP CDM v5.3/5.4 CSV tables → analysis tables
//! (`patients`, `conditions`, `drugs`, `measurements`, `observations`,
//! `procedures`, `visits`, `deaths`, `observation_periods`) and, with `--cohort`,
//! a time-to-event `cohort` table.
//!
//! With `--fhir` instead of `--in`, FHIR R4 files are converted to OMOP first
//! (Patient, Encounter, Condition, Observation, MedicationRequest; codes mapped
//! through the CONCEPT table of `--vocab`), the CDM tables are written under
//! `DIR/cdm/`, and the same analysis tables and cohort follow.
//!
//! The JSON summary is `{"resources": OMOP rows per CDM table, "tables": rows per
//! output table, "diagnostics": [{"severity","location","message"}]}`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use salus_omop::{
    Cdm, CohortSpec, CsvInput, Diagnostic, Severity, Vocabulary, analysis_tables, build_cohort,
    cdm_tables, fhir_to_omop, read_cdm, read_vocabulary,
};
use salus_table::Table;
use serde_json::{Value, json};

use super::import_hl7::{Staging, TableFormat, row_counts};

#[derive(Debug, clap::Args)]
pub struct ImportOmopArgs {
    /// Directory of OMOP CDM CSV files (`person.csv`, `drug_exposure.csv`, ...; any case).
    #[arg(
        long = "in",
        value_name = "CSV_DIR",
        required_unless_present = "fhir",
        conflicts_with = "fhir"
    )]
    pub input: Option<PathBuf>,
    /// Convert these FHIR R4 files or directories (Bundles, NDJSON) to OMOP instead.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub fhir: Vec<PathBuf>,
    /// With --fhir: a directory with the OMOP vocabulary (concept.csv, concept_relationship.csv,
    /// concept_ancestor.csv) to map codes to standard concepts.
    #[arg(long, value_name = "CSV_DIR", requires = "fhir")]
    pub vocab: Option<PathBuf>,
    /// Cohort definition (TOML): index event, washout, outcome, follow-up → a `cohort` table.
    #[arg(long, value_name = "C.toml")]
    pub cohort: Option<PathBuf>,
    /// Output directory; replaced as a whole when the import succeeds.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Table file format.
    #[arg(long, value_enum, default_value_t = TableFormat::Csv)]
    pub format: TableFormat,
    /// Fail, writing nothing, when any error diagnostic is reported.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: ImportOmopArgs) -> anyhow::Result<()> {
    let spec = args.cohort.as_deref().map(load_cohort).transpose()?;
    let mut staging = Staging::new(&args.out)?;
    let (cdm, resources, mut diagnostics) = match &args.input {
        Some(dir) => load_csv_dir(dir)?,
        None => {
            let (cdm, counts, diags) = convert_fhir(&args)?;
            for (name, table) in cdm_tables(&cdm)? {
                staging.write_table(&format!("cdm/{name}"), &table, args.format)?;
            }
            (cdm, counts, diags)
        }
    };
    let mut tables = analysis_tables(&cdm)?;
    if let Some(spec) = &spec {
        let cohort = build_cohort(&cdm, spec);
        let name = spec.name.as_deref().unwrap_or("cohort");
        for step in &cohort.attrition {
            diagnostics.push(Diagnostic {
                severity: Severity::Info,
                location: format!("cohort {name}"),
                message: format!("{}: {}", step.rule, step.remaining),
            });
        }
        diagnostics.push(Diagnostic {
            severity: Severity::Info,
            location: format!("cohort {name}"),
            message: format!(
                "{} events among {} persons",
                cohort.events(),
                cohort.rows.len()
            ),
        });
        tables.insert("cohort".into(), cohort.to_table()?);
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let summary = summary(&resources, &tables, &diagnostics);
    if args.strict && errors > 0 {
        print_summary(&args, &summary)?;
        bail!("{errors} error(s) reported and --strict is set; nothing was written");
    }
    for (name, table) in &tables {
        staging.write_table(name, table, args.format)?;
    }
    staging.commit()?;
    print_summary(&args, &summary)
}

fn load_cohort(path: &Path) -> anyhow::Result<CohortSpec> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    CohortSpec::from_toml(&text).with_context(|| format!("cohort {}", path.display()))
}

type Loaded = (Cdm, BTreeMap<String, usize>, Vec<Diagnostic>);

/// CDM tables found (name, file) and the other file names seen beside them.
type TableFiles = (Vec<(String, PathBuf)>, Vec<String>);

/// The CDM tables found in a directory (file name = table name + `.csv`, any case).
fn table_files(dir: &Path) -> anyhow::Result<TableFiles> {
    let mut found = Vec::new();
    let mut other = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        let Some(file) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let lower = file.to_ascii_lowercase();
        match lower.strip_suffix(".csv") {
            Some(table) if salus_omop::TABLES.contains(&table) => {
                found.push((table.to_owned(), path))
            }
            Some(_) => other.push(file),
            None => {}
        }
    }
    found.sort();
    other.sort();
    Ok((found, other))
}

fn read_dir_tables(dir: &Path) -> anyhow::Result<salus_omop::CdmImport> {
    let (found, other) = table_files(dir)?;
    let mut inputs = Vec::new();
    for (table, path) in &found {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        inputs.push(CsvInput {
            table: table.clone(),
            name,
            reader: std::io::BufReader::with_capacity(1 << 20, file),
        });
    }
    let mut import = read_cdm(inputs).with_context(|| format!("OMOP CDM in {}", dir.display()))?;
    if !other.is_empty() {
        import.diagnostics.push(Diagnostic {
            severity: Severity::Info,
            location: dir.display().to_string(),
            message: format!("not read (not used by this import): {}", other.join(", ")),
        });
    }
    Ok(import)
}

fn load_csv_dir(dir: &Path) -> anyhow::Result<Loaded> {
    let import = read_dir_tables(dir)?;
    Ok((import.cdm, import.counts, import.diagnostics))
}

fn convert_fhir(args: &ImportOmopArgs) -> anyhow::Result<Loaded> {
    let mut diagnostics = Vec::new();
    let vocabulary = match &args.vocab {
        Some(dir) => {
            let (vocabulary, diags) = read_vocab(dir)?;
            diagnostics.extend(diags);
            vocabulary
        }
        None => Vocabulary::default(),
    };
    let mut resources = Vec::new();
    for file in fhir_files(&args.fhir)? {
        read_fhir_file(&file, &mut resources, &mut diagnostics)?;
    }
    let conversion = fhir_to_omop(&resources, vocabulary);
    diagnostics.extend(conversion.diagnostics);
    Ok((conversion.cdm, conversion.counts, diagnostics))
}

/// Only the vocabulary tables of a directory.
fn read_vocab(dir: &Path) -> anyhow::Result<(Vocabulary, Vec<Diagnostic>)> {
    let (found, _) = table_files(dir)?;
    let mut inputs = Vec::new();
    for (table, path) in found.iter().filter(|(t, _)| t.starts_with("concept")) {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let name = path.display().to_string();
        inputs.push(CsvInput {
            table: table.clone(),
            name,
            reader: std::io::BufReader::new(file),
        });
    }
    read_vocabulary(inputs).with_context(|| {
        format!(
            "vocabulary in {} (give the OMOP vocabulary directory to --vocab)",
            dir.display()
        )
    })
}

fn fhir_files(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let meta =
            std::fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
        if meta.is_dir() {
            walk_json(input, &mut files)?;
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        bail!("no .json, .ndjson or .jsonl files found in the --fhir paths");
    }
    Ok(files)
}

fn walk_json(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk_json(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "json" | "ndjson" | "jsonl"))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn read_fhir_file(
    path: &Path,
    resources: &mut Vec<Value>,
    diagnostics: &mut Vec<Diagnostic>,
) -> anyhow::Result<()> {
    use salus_fhir::reader::{InputFormat, read_json, read_ndjson};
    let label = path.display().to_string();
    let mut fhir_diags = Vec::new();
    match InputFormat::from_path(path) {
        InputFormat::Ndjson => {
            let file = File::open(path).with_context(|| format!("cannot open {label}"))?;
            read_ndjson(std::io::BufReader::new(file), &label, |item| match item {
                Ok(r) => resources.push(r.value),
                Err(d) => fhir_diags.push(d),
            })
            .with_context(|| format!("cannot read {label}"))?;
        }
        InputFormat::Json => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {label}"))?;
            let out = read_json(&bytes, &label);
            resources.extend(out.resources.into_iter().map(|r| r.value));
            fhir_diags.extend(out.diagnostics);
        }
    }
    for d in fhir_diags {
        let severity = match d.severity {
            salus_fhir::Severity::Error => Severity::Error,
            salus_fhir::Severity::Warning => Severity::Warning,
            salus_fhir::Severity::Info => Severity::Info,
        };
        diagnostics.push(Diagnostic {
            severity,
            location: d.location,
            message: d.message,
        });
    }
    Ok(())
}

fn summary(
    resources: &BTreeMap<String, usize>,
    tables: &BTreeMap<String, Table>,
    diagnostics: &[Diagnostic],
) -> Value {
    let diags: Vec<Value> = diagnostics
        .iter()
        .map(|d| json!({ "severity": d.severity.as_str(), "location": d.location, "message": d.message }))
        .collect();
    json!({ "resources": resources, "tables": row_counts(tables), "diagnostics": diags })
}

fn print_summary(args: &ImportOmopArgs, summary: &Value) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string(summary)?);
        return Ok(());
    }
    println!("read OMOP tables:");
    for (table, n) in summary["resources"].as_object().into_iter().flatten() {
        println!("  {table:<28} {n}");
    }
    println!("wrote {}:", args.out.display());
    for (table, n) in summary["tables"].as_object().into_iter().flatten() {
        println!("  {table:<28} {n} rows");
    }
    for d in summary["diagnostics"].as_array().into_iter().flatten() {
        let line = format!(
            "{} {}: {}",
            d["severity"].as_str().unwrap_or(""),
            d["location"].as_str().unwrap_or(""),
            d["message"].as_str().unwrap_or("")
        );
        if d["severity"] == "info" {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    }
    Ok(())
}
