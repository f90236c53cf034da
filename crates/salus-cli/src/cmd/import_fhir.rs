//! `salus import fhir`: FHIR R4 Bundles / single resources / Bulk Data NDJSON
//! into tables through SQL on FHIR v2 views (`--view V.json` or `--views builtin`).
//!
//! Streaming: NDJSON is read line by line and rows are flushed to the output
//! files in chunks, so memory stays flat in the input size (CSV output; Parquet
//! output keeps the tables in memory until the end). Atomic: everything is
//! written into a staging directory next to `--out` and moved into place at the
//! end; an error leaves the previous output untouched.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::import::{ImportOptions, ImportSummary, Importer};
use salus_fhir::reader::InputFormat;
use salus_fhir::survival::{SurvivalSpec, survival_table};
use salus_fhir::{Diagnostic, Severity, ViewDefinition};
use salus_table::Table;

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Csv,
    Parquet,
}

#[derive(Debug, clap::Args)]
pub struct ImportFhirArgs {
    /// FHIR R4 files or directories (searched recursively for .json, .ndjson, .jsonl).
    #[arg(long = "in", value_name = "PATH", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// A SQL on FHIR v2 ViewDefinition (JSON file); repeat for several.
    #[arg(long = "view", value_name = "V.json")]
    pub view: Vec<PathBuf>,
    /// `builtin`: the ready-made analysis views (the default when no --view is given).
    #[arg(long = "views", value_name = "SET")]
    pub views: Option<String>,
    /// Output directory; replaced as a whole when the import succeeds.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Table file format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Csv)]
    pub format: OutputFormat,
    /// Print the summary as JSON: {"resources":{..},"tables":{..},"diagnostics":[..]}.
    #[arg(long)]
    pub json: bool,
    /// Reference date for `patients.age`, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub reference_date: Option<String>,
    /// Also write a `survival` table from this spec (JSON or TOML: index, outcome, censor_date).
    #[arg(long, value_name = "SPEC")]
    pub survival: Option<PathBuf>,
    /// Fail, writing nothing, when any error diagnostic is reported.
    #[arg(long)]
    pub strict: bool,
    /// Skip the FHIR R4 conformance checks of resources (fewer warnings, faster).
    #[arg(long)]
    pub no_validate: bool,
}

/// Rows buffered before they are flushed to the output files.
const CHUNK_ROWS: usize = 50_000;

pub fn run(args: ImportFhirArgs) -> anyhow::Result<()> {
    let views = load_views(&args)?;
    let files = collect_inputs(&args.inputs)?;
    let survival = args.survival.as_deref().map(load_survival).transpose()?;
    let mut staging = Staging::new(&args.out, args.format)?;
    let result = import_into(&args, views, &files, survival.as_ref(), &mut staging);
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            staging.abandon();
            return Err(e);
        }
    };
    let errors = count(&summary.diagnostics, Severity::Error);
    if args.strict && errors > 0 {
        staging.abandon();
        print_summary(&args, &summary)?;
        bail!("{errors} error(s) reported and --strict is set; nothing was written");
    }
    staging.commit()?;
    print_summary(&args, &summary)
}

fn import_into(
    args: &ImportFhirArgs,
    views: Vec<ViewDefinition>,
    files: &[PathBuf],
    survival: Option<&SurvivalSpec>,
    staging: &mut Staging,
) -> anyhow::Result<ImportSummary> {
    let options = ImportOptions {
        validate: !args.no_validate,
        ..ImportOptions::default()
    };
    let mut importer = Importer::new(views, options);
    // Survival needs whole tables; keep those (only those) in memory.
    let mut kept: BTreeMap<String, Table> = BTreeMap::new();
    for file in files {
        read_file(&mut importer, file)?;
        if importer.pending_rows() >= CHUNK_ROWS {
            let tables = importer.take_tables()?;
            keep_for_survival(survival.is_some(), &tables, &mut kept)?;
            staging.write_chunk(&tables)?;
        }
    }
    let output = importer.finish()?;
    keep_for_survival(survival.is_some(), &output.tables, &mut kept)?;
    staging.write_chunk(&output.tables)?;
    let mut summary = output.summary();
    summary.tables = staging.rows.clone();
    if let Some(spec) = survival {
        let (table, report) = survival_table(&kept, spec)?;
        summary
            .tables
            .insert("survival".into(), table.nrows() as u64);
        staging.write_chunk(&BTreeMap::from([("survival".to_string(), table)]))?;
        summary.diagnostics.push(Diagnostic::info(
            "(survival)",
            format!(
                "{} with index event, {} excluded (outcome before index), {} excluded (no follow-up), {} in cohort, {} events",
                report.with_index, report.excluded_prior_outcome, report.excluded_no_follow_up, report.cohort, report.events
            ),
        ));
    }
    staging.finish()?;
    Ok(summary)
}

const SURVIVAL_TABLES: [&str; 5] = [
    "patients",
    "conditions",
    "observations",
    "procedures",
    "medications",
];

fn keep_for_survival(
    wanted: bool,
    tables: &BTreeMap<String, Table>,
    kept: &mut BTreeMap<String, Table>,
) -> anyhow::Result<()> {
    if !wanted {
        return Ok(());
    }
    for name in SURVIVAL_TABLES {
        if let Some(t) = tables.get(name) {
            kept.entry(name.to_string()).or_default().append(t)?;
        }
    }
    Ok(())
}

fn read_file(importer: &mut Importer, file: &Path) -> anyhow::Result<()> {
    let label = file.display().to_string();
    match InputFormat::from_path(file) {
        InputFormat::Ndjson => {
            let f = std::fs::File::open(file).with_context(|| format!("cannot open {label}"))?;
            importer
                .read_ndjson(std::io::BufReader::with_capacity(1 << 20, f), &label)
                .with_context(|| format!("cannot read {label}"))?;
        }
        InputFormat::Json => {
            let bytes = std::fs::read(file).with_context(|| format!("cannot read {label}"))?;
            importer.read_json(&bytes, &label);
        }
    }
    Ok(())
}

fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = salus_fhir::fhirpath::temporal::civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

fn load_views(args: &ImportFhirArgs) -> anyhow::Result<Vec<ViewDefinition>> {
    let mut views = Vec::new();
    let builtin = match args.views.as_deref() {
        Some("builtin") => true,
        Some(other) => {
            bail!("unknown view set `{other}`; the only set is `builtin` (or pass --view V.json)")
        }
        None => args.view.is_empty(),
    };
    if builtin {
        let options = BuiltinOptions {
            reference_date: Some(args.reference_date.clone().unwrap_or_else(today)),
        };
        views.extend(builtin_views(&options)?);
    }
    for path in &args.view {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read view {}", path.display()))?;
        let view = ViewDefinition::from_slice(&bytes)
            .with_context(|| format!("view {}", path.display()))?;
        views.push(view);
    }
    Ok(views)
}

fn load_survival(path: &Path) -> anyhow::Result<SurvivalSpec> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    let spec = if is_toml {
        toml::from_str(&text).with_context(|| format!("survival spec {}", path.display()))?
    } else {
        serde_json::from_str(&text).with_context(|| format!("survival spec {}", path.display()))?
    };
    Ok(spec)
}

/// Input files: given files as they are, directories searched recursively for
/// `.json`, `.ndjson` and `.jsonl`, in name order.
fn collect_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let meta =
            std::fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
        if meta.is_dir() {
            walk(input, &mut files)?;
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        bail!("no .json, .ndjson or .jsonl files found in the --in paths");
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
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

fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

fn print_summary(args: &ImportFhirArgs, summary: &ImportSummary) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string(summary)?);
        return Ok(());
    }
    let total: u64 = summary.resources.values().sum();
    println!("read {total} resources:");
    for (rt, n) in &summary.resources {
        println!("  {rt:<28} {n}");
    }
    println!("wrote {}:", args.out.display());
    for (table, rows) in &summary.tables {
        println!("  {table:<28} {rows} rows");
    }
    let (e, w) = (
        count(&summary.diagnostics, Severity::Error),
        count(&summary.diagnostics, Severity::Warning),
    );
    println!("{e} error(s), {w} warning(s)");
    for d in summary
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .take(20)
    {
        eprintln!("{d}");
    }
    Ok(())
}

/// Tables written into a staging directory next to the output, moved into
/// place by `commit`.
struct Staging {
    out: PathBuf,
    dir: PathBuf,
    format: OutputFormat,
    /// Rows written per table (CSV) or buffered (Parquet).
    rows: BTreeMap<String, u64>,
    /// Parquet tables are written whole at the end.
    parquet: BTreeMap<String, Table>,
    done: bool,
}

impl Staging {
    fn new(out: &Path, format: OutputFormat) -> anyhow::Result<Staging> {
        let name = out
            .file_name()
            .and_then(|n| n.to_str())
            .context("--out must name a directory")?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let dir = parent.join(format!(".{name}.salus-import-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            format,
            rows: BTreeMap::new(),
            parquet: BTreeMap::new(),
            done: false,
        })
    }

    fn write_chunk(&mut self, tables: &BTreeMap<String, Table>) -> anyhow::Result<()> {
        for (name, table) in tables {
            let first = !self.rows.contains_key(name);
            *self.rows.entry(name.clone()).or_default() += table.nrows() as u64;
            match self.format {
                OutputFormat::Parquet => self
                    .parquet
                    .entry(name.clone())
                    .or_default()
                    .append(table)?,
                OutputFormat::Csv => self.append_csv(name, table, first)?,
            }
        }
        Ok(())
    }

    fn append_csv(&self, name: &str, table: &Table, first: bool) -> anyhow::Result<()> {
        if table.nrows() == 0 && !first {
            return Ok(());
        }
        let mut buf = Vec::new();
        salus_table::write_csv(table, &mut buf, b',')?;
        // Later chunks: drop the header line (column names never contain newlines).
        let body = if first {
            &buf[..]
        } else {
            let start = buf
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |i| i + 1);
            &buf[start..]
        };
        let path = self.dir.join(format!("{name}.csv"));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(body)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        for (name, table) in &self.parquet {
            let path = self.dir.join(format!("{name}.parquet"));
            salus_table::write_parquet_path(table, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }

    /// Replaces `out` with the staged directory (the old one is kept until the
    /// new one is in place, and restored if the move fails).
    fn commit(mut self) -> anyhow::Result<()> {
        let backup = self.dir.with_extension("old");
        let had_old = self.out.exists();
        if had_old {
            std::fs::rename(&self.out, &backup)
                .with_context(|| format!("cannot move the old {} aside", self.out.display()))?;
        }
        if let Err(e) = std::fs::rename(&self.dir, &self.out) {
            if had_old {
                let _ = std::fs::rename(&backup, &self.out);
            }
            return Err(e)
                .with_context(|| format!("cannot move the new tables to {}", self.out.display()));
        }
        self.done = true;
        if had_old {
            let _ = std::fs::remove_dir_all(&backup);
        }
        Ok(())
    }

    fn abandon(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        self.done = true;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthea() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../salus-fhir/tests/data/fhir-r4/synthea-bundles")
    }

    fn args(inputs: Vec<PathBuf>, out: &Path) -> ImportFhirArgs {
        ImportFhirArgs {
            inputs,
            view: Vec::new(),
            views: Some("builtin".into()),
            out: out.to_path_buf(),
            format: OutputFormat::Csv,
            json: true,
            reference_date: Some("2020-01-01".into()),
            survival: None,
            strict: false,
            no_validate: false,
        }
    }

    fn old_output(dir: &Path) -> PathBuf {
        let out = dir.join("out");
        std::fs::create_dir_all(&out).expect("mkdir");
        std::fs::write(out.join("marker.txt"), "old").expect("write");
        out
    }

    #[test]
    fn imports_bundles_into_csv_tables() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = old_output(tmp.path());
        run(args(vec![synthea()], &out)).expect("import");
        let patients = std::fs::read_to_string(out.join("patients.csv")).expect("patients.csv");
        assert_eq!(patients.lines().count(), 3, "header + 2 patients");
        assert!(
            patients
                .lines()
                .next()
                .is_some_and(|h| h.starts_with("patient_id,birth_date,sex,age"))
        );
        assert!(
            !out.join("marker.txt").exists(),
            "the old output was replaced as a whole"
        );
        let obs = std::fs::read_to_string(out.join("observations.csv")).expect("observations.csv");
        assert_eq!(obs.lines().count(), 268);
    }

    #[test]
    fn an_error_midway_leaves_the_old_output() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = old_output(tmp.path());
        let inputs = tmp.path().join("in");
        std::fs::create_dir(&inputs).expect("mkdir");
        for f in std::fs::read_dir(synthea()).expect("ls") {
            let f = f.expect("entry").path();
            std::fs::copy(&f, inputs.join(f.file_name().expect("name"))).expect("copy");
        }
        // Sorted after the bundles: read fails after they were imported.
        std::os::unix::fs::symlink(tmp.path().join("missing"), inputs.join("zz-broken.json"))
            .expect("symlink");
        assert!(run(args(vec![inputs], &out)).is_err());
        assert_eq!(
            std::fs::read_to_string(out.join("marker.txt")).expect("marker"),
            "old"
        );
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).expect("ls").collect();
        assert_eq!(
            leftovers.len(),
            2,
            "only in/ and out/: no staging directory left behind"
        );
    }

    #[test]
    fn strict_mode_refuses_inputs_with_errors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = old_output(tmp.path());
        let bad = tmp.path().join("bad.ndjson");
        std::fs::write(
            &bad,
            "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{not json\n",
        )
        .expect("write");
        let mut a = args(vec![bad.clone()], &out);
        a.strict = true;
        assert!(run(a).is_err());
        assert!(out.join("marker.txt").exists());
        // Without --strict the good line is imported and the bad one reported.
        run(args(vec![bad], &out)).expect("import");
        let patients = std::fs::read_to_string(out.join("patients.csv")).expect("patients.csv");
        assert_eq!(patients.lines().count(), 2);
    }

    #[test]
    fn parquet_output_and_survival_table() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("pq");
        let spec = tmp.path().join("survival.json");
        std::fs::write(
            &spec,
            r#"{"index": {"kind": "condition", "codes": ["36971009", "444814009"]},
                "outcome": {"kind": "condition", "codes": ["10509002"]},
                "censor_date": "2019-12-31"}"#,
        )
        .expect("spec");
        let mut a = args(vec![synthea()], &out);
        a.format = OutputFormat::Parquet;
        a.survival = Some(spec);
        run(a).expect("import");
        let patients =
            salus_table::read_parquet_path(&out.join("patients.parquet")).expect("parquet");
        assert_eq!(patients.nrows(), 2);
        let surv = salus_table::read_parquet_path(&out.join("survival.parquet")).expect("survival");
        // Both patients had sinusitis first and acute bronchitis later.
        assert_eq!(surv.nrows(), 2);
        assert_eq!(
            surv.numeric("event").expect("event"),
            &[Some(1.0), Some(1.0)]
        );
    }
}
