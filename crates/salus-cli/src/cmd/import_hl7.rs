//! `salus import hl7`: HL7 v2 messages and batches → FHIR R4 (v2-to-FHIR segment
//! maps) → tables through the same SQL on FHIR views as `salus import fhir`.
//!
//! Atomic: tables are written into a staging directory beside `--out` and moved
//! into place at the end (the previous output is replaced only then); an error
//! leaves it untouched. This module also holds the staging helper that
//! `salus import omop` uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use salus_fhir::builtin::{BuiltinOptions, builtin_views};
use salus_fhir::import::{ImportOptions, ImportOutput};
use salus_fhir::{Severity, ViewDefinition};
use salus_hl7::{Hl7Importer, Hl7Input};
use salus_table::Table;

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    Csv,
    Parquet,
}

impl TableFormat {
    fn extension(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportHl7Args {
    /// HL7 v2 files, or directories searched recursively for files that start with
    /// MSH, BHS or FHS (any extension).
    #[arg(long = "in", value_name = "PATH", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Output directory; replaced as a whole when the import succeeds.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print the summary as JSON: {"resources":{..},"tables":{..},"diagnostics":[..]}.
    #[arg(long)]
    pub json: bool,
    /// Table file format.
    #[arg(long, value_enum, default_value_t = TableFormat::Csv)]
    pub format: TableFormat,
    /// A SQL on FHIR v2 ViewDefinition (JSON) to run on the mapped resources; repeatable.
    #[arg(long = "view", value_name = "V.json")]
    pub view: Vec<PathBuf>,
    /// `builtin`: the ready-made analysis views (the default when no --view is given).
    #[arg(long = "views", value_name = "SET")]
    pub views: Option<String>,
    /// Reference date for `patients.age`, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub reference_date: Option<String>,
    /// Skip the FHIR R4 conformance checks of the mapped resources.
    #[arg(long)]
    pub no_validate: bool,
    /// Fail, writing nothing, when any error diagnostic is reported.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: ImportHl7Args) -> anyhow::Result<()> {
    let views = load_views(&args)?;
    let (files, skipped) = collect_inputs(&args.inputs)?;
    let options = ImportOptions {
        validate: !args.no_validate,
        ..ImportOptions::default()
    };
    let mut importer = Hl7Importer::new(views, options);
    for file in &files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let name = file.display().to_string();
        importer.add(Hl7Input {
            name: &name,
            bytes: &bytes,
        });
    }
    let mut output = importer.finish()?;
    if skipped > 0 {
        output.diagnostics.push(salus_fhir::Diagnostic::info(
            "(inputs)",
            format!("{skipped} file(s) in the input directories do not start with MSH, BHS or FHS; not read"),
        ));
    }
    let errors = output.count(Severity::Error);
    if args.strict && errors > 0 {
        print_summary(&args, &output)?;
        bail!("{errors} error(s) reported and --strict is set; nothing was written");
    }
    let mut staging = Staging::new(&args.out)?;
    for (name, table) in &output.tables {
        staging.write_table(name, table, args.format)?;
    }
    staging.commit()?;
    print_summary(&args, &output)
}

fn load_views(args: &ImportHl7Args) -> anyhow::Result<Vec<ViewDefinition>> {
    let builtin = match args.views.as_deref() {
        Some("builtin") => true,
        Some(other) => {
            bail!("unknown view set `{other}`; the only set is `builtin` (or pass --view V.json)")
        }
        None => args.view.is_empty(),
    };
    let mut views = Vec::new();
    if builtin {
        let options = BuiltinOptions {
            reference_date: Some(args.reference_date.clone().unwrap_or_else(today)),
        };
        views.extend(builtin_views(&options)?);
    }
    for path in &args.view {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read view {}", path.display()))?;
        views.push(
            ViewDefinition::from_slice(&bytes)
                .with_context(|| format!("view {}", path.display()))?,
        );
    }
    Ok(views)
}

/// Today's date (UTC) as YYYY-MM-DD.
pub(crate) fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i32::try_from(secs / 86_400).unwrap_or(0);
    salus_omop::Date::from_days(days).to_string()
}

/// Files as given; directories walked recursively, keeping files that look like HL7
/// (first bytes, after a BOM, MLLP start byte or white space, are MSH, BHS or FHS).
/// Returns the files and how many directory entries were skipped.
fn collect_inputs(inputs: &[PathBuf]) -> anyhow::Result<(Vec<PathBuf>, usize)> {
    let mut files = Vec::new();
    let mut skipped = 0;
    for input in inputs {
        let meta =
            std::fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            for path in found {
                if looks_like_hl7(&path)? {
                    files.push(path);
                } else {
                    skipped += 1;
                }
            }
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        bail!("no HL7 v2 file found in the --in paths (a file must start with MSH, BHS or FHS)");
    }
    Ok((files, skipped))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn looks_like_hl7(path: &Path) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 64];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let n = file
        .read(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = &head[..n];
    bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0x0b)
        .unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    Ok([b"MSH", b"BHS", b"FHS"]
        .iter()
        .any(|h| bytes.starts_with(*h)))
}

fn print_summary(args: &ImportHl7Args, output: &ImportOutput) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string(output)?);
        return Ok(());
    }
    let total: u64 = output.resources.values().sum();
    println!("mapped {total} FHIR resources:");
    for (kind, n) in &output.resources {
        println!("  {kind:<28} {n}");
    }
    println!("wrote {}:", args.out.display());
    for (table, rows) in output.table_rows() {
        println!("  {table:<28} {rows} rows");
    }
    let errors = output.count(Severity::Error);
    let warnings = output.count(Severity::Warning);
    println!("{errors} error(s), {warnings} warning(s)");
    for d in output
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .take(20)
    {
        eprintln!("{d}");
    }
    Ok(())
}

/// A directory of output files written next to the final one and moved into place
/// by [`Staging::commit`]; dropped without commit, it is removed.
pub(crate) struct Staging {
    out: PathBuf,
    dir: PathBuf,
    done: bool,
}

impl Staging {
    pub(crate) fn new(out: &Path) -> anyhow::Result<Staging> {
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
        let dir = parent.join(format!(".{name}.salus-staging-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            done: false,
        })
    }

    /// Writes `<relative name>.<csv|parquet>` (a name may contain one `/` for a
    /// subdirectory, e.g. `cdm/person`).
    pub(crate) fn write_table(
        &mut self,
        name: &str,
        table: &Table,
        format: TableFormat,
    ) -> anyhow::Result<()> {
        let path = self.dir.join(format!("{name}.{}", format.extension()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        salus_table::write_table_path(table, &path)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Replaces `out` with the staged directory; the old one is restored if the move fails.
    pub(crate) fn commit(mut self) -> anyhow::Result<()> {
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
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Row counts of named tables.
pub(crate) fn row_counts(tables: &BTreeMap<String, Table>) -> BTreeMap<String, usize> {
    tables.iter().map(|(k, t)| (k.clone(), t.nrows())).collect()
}
