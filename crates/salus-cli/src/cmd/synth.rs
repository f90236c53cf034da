//! `salus synth fit | sample | evaluate`: differentially private synthetic data from the
//! command line. File I/O lives here; the maths is in `salus-synth`.
//!
//! - `fit` reads a table, converts `--epsilon`/`--delta` to a zCDP budget and writes the
//!   model (JSON). Without `--seed` the noise comes from the operating system's CSPRNG; a
//!   seed makes the run reproducible and must never be used for a real release.
//! - `sample` writes synthetic rows with the input's column names, value domains and CSV
//!   delimiter (Parquet for `.parquet` outputs).
//! - `evaluate` prints the JSON report and can write a self-contained HTML report.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_synth::eval::{EvalOptions, evaluate};
use salus_synth::{Budget, ColumnSpec, Condition, FitOptions, KindHint, Method, Model, fit};
use salus_table::{CsvOptions, Table, read_table_path, write_csv_path, write_table_path};

#[derive(Debug, clap::Subcommand)]
pub enum SynthCommand {
    /// Fit a differentially private synthesizer (MST or AIM) and write the model file.
    Fit(FitArgs),
    /// Sample synthetic rows from a model file.
    Sample(SampleArgs),
    /// Compare synthetic with real data: fidelity, utility, privacy attacks, bias.
    Evaluate(EvaluateArgs),
}

#[derive(Debug, clap::Args)]
pub struct FitArgs {
    /// Input table: CSV (any extension) or Parquet (.parquet, .pq).
    #[arg(long)]
    data: PathBuf,
    /// Privacy budget epsilon of the (epsilon, delta)-DP guarantee.
    #[arg(long, required_unless_present = "rho")]
    epsilon: Option<f64>,
    /// delta of the guarantee (smaller than 1 / rows).
    #[arg(long, default_value_t = 1e-9)]
    delta: f64,
    /// Give the budget as zCDP rho instead of epsilon.
    #[arg(long, conflicts_with = "epsilon")]
    rho: Option<f64>,
    /// Columns to model, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// CSV field delimiter: one character or `tab` (default: detected from the header).
    #[arg(long)]
    delimiter: Option<String>,
    /// Selection method: mst (maximum spanning tree) or aim (adaptive).
    #[arg(long, default_value = "mst")]
    method: String,
    /// Public schema: a JSON list of column specs (name, kind, categories, bounds, bins, integer, missing).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Public bounds of a numeric or date column, `col=lo:hi` (repeatable); columns without
    /// public bounds get DP-estimated bounds, charged to the budget.
    #[arg(long = "bounds")]
    bounds: Vec<String>,
    /// Model a numeric column as categories (its values are treated as public).
    #[arg(long)]
    categorical: Vec<String>,
    /// Bins for numeric and date columns that are not modelled one value per integer.
    #[arg(long, default_value_t = 32)]
    bins: usize,
    /// Most optimiser iterations of the final estimation.
    #[arg(long, default_value_t = 3000)]
    max_iterations: usize,
    /// Seed for reproducible runs (tests, benchmarks). Never for a real release.
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write the model (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Print the fit summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// Model file written by `salus synth fit`.
    #[arg(long)]
    model: PathBuf,
    /// Number of rows to sample.
    #[arg(long)]
    rows: usize,
    /// Fix a column's value, `col=value` (repeatable); the other columns follow the model's
    /// conditional distribution.
    #[arg(long)]
    given: Vec<String>,
    /// Seed for a reproducible sample.
    #[arg(long)]
    seed: Option<u64>,
    /// Output file: CSV, or Parquet for .parquet/.pq.
    #[arg(long)]
    out: PathBuf,
    /// CSV delimiter of the output (default: the training file's).
    #[arg(long)]
    delimiter: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The real (training) table.
    #[arg(long)]
    real: PathBuf,
    /// The synthetic table.
    #[arg(long)]
    synthetic: PathBuf,
    /// Real rows the synthesizer never saw: control set of the attacks and test set of utility.
    #[arg(long)]
    holdout: Option<PathBuf>,
    /// Outcome column for utility (train on synthetic, test on real) and bias.
    #[arg(long)]
    target: Option<String>,
    /// Protected attribute for the bias section (needs --target).
    #[arg(long)]
    protected: Option<String>,
    /// Print the JSON report (the default when --html is not given).
    #[arg(long)]
    json: bool,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// CSV delimiter of all inputs (default: detected per file).
    #[arg(long)]
    delimiter: Option<String>,
    /// Seed of the evaluation's random choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Skip the privacy attacks (they are the slowest part).
    #[arg(long)]
    no_privacy: bool,
}

pub fn run(command: SynthCommand) -> anyhow::Result<()> {
    match command {
        SynthCommand::Fit(args) => run_fit(args),
        SynthCommand::Sample(args) => run_sample(args),
        SynthCommand::Evaluate(args) => run_evaluate(args),
    }
}

fn parse_delimiter(text: &str) -> anyhow::Result<u8> {
    match text {
        "tab" | "\\t" => Ok(b'\t'),
        t if t.len() == 1 => Ok(t.as_bytes()[0]),
        other => bail!("--delimiter must be one character or `tab`, not `{other}`"),
    }
}

/// The delimiter given, or the most frequent of `,` `;` tab `|` in the first line.
fn detect_delimiter(path: &Path, given: Option<&str>) -> anyhow::Result<u8> {
    if let Some(text) = given {
        return parse_delimiter(text);
    }
    let mut header = String::new();
    if let Ok(file) = std::fs::File::open(path) {
        use std::io::BufRead;
        let _ = std::io::BufReader::new(file).read_line(&mut header);
    }
    let candidates = [b',', b';', b'\t', b'|'];
    let best = candidates
        .iter()
        .copied()
        .max_by_key(|&d| (header.bytes().filter(|&b| b == d).count(), d == b','))
        .unwrap_or(b',');
    Ok(if header.bytes().any(|b| b == best) {
        best
    } else {
        b','
    })
}

fn read_input(path: &Path, delimiter: Option<&str>) -> anyhow::Result<(Table, u8)> {
    let delimiter = detect_delimiter(path, delimiter)?;
    let table = read_table_path(path, &CsvOptions::with_delimiter(delimiter))
        .with_context(|| format!("reading {}", path.display()))?;
    Ok((table, delimiter))
}

fn fit_options(args: &FitArgs) -> anyhow::Result<FitOptions> {
    let method = match args.method.as_str() {
        "mst" => Method::Mst,
        "aim" => Method::Aim,
        other => bail!("--method must be mst or aim, not `{other}`"),
    };
    let mut options = FitOptions {
        method,
        ..FitOptions::default()
    };
    if !args.columns.is_empty() {
        options.domain.columns = Some(args.columns.clone());
    }
    if let Some(path) = &args.schema {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        options.domain.specs = serde_json::from_str::<Vec<ColumnSpec>>(&text)
            .with_context(|| format!("{} is not a JSON list of column specs", path.display()))?;
    }
    let spec = |specs: &mut Vec<ColumnSpec>, name: &str| -> usize {
        specs
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| {
                specs.push(ColumnSpec {
                    name: name.to_string(),
                    ..Default::default()
                });
                specs.len() - 1
            })
    };
    for bound in &args.bounds {
        let (name, range) = bound
            .split_once('=')
            .context("--bounds takes col=lo:hi, e.g. age=17:90")?;
        let (lo, hi) = range
            .split_once(':')
            .context("--bounds takes col=lo:hi, e.g. age=17:90")?;
        let i = spec(&mut options.domain.specs, name.trim());
        options.domain.specs[i].bounds = Some((lo.to_string(), hi.to_string()));
    }
    for name in &args.categorical {
        let i = spec(&mut options.domain.specs, name.trim());
        options.domain.specs[i].kind = Some(KindHint::Categorical);
    }
    options.domain.bins = args.bins.max(1);
    options.estimation.max_iterations = args.max_iterations;
    Ok(options)
}

fn rng_from(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_rng(&mut rand::rng()),
    }
}

fn run_fit(args: FitArgs) -> anyhow::Result<()> {
    let (table, delimiter) = read_input(&args.data, args.delimiter.as_deref())?;
    let budget = match (args.epsilon, args.rho) {
        (Some(epsilon), _) => Budget::from_epsilon_delta(epsilon, args.delta)?,
        (None, Some(rho)) => Budget::from_rho(rho),
        (None, None) => bail!("give --epsilon (with --delta) or --rho"),
    };
    let options = fit_options(&args)?;
    let started = std::time::Instant::now();
    let mut model = fit(&table, &budget, &options, &mut rng_from(args.seed))?;
    let seconds = started.elapsed().as_secs_f64();
    model.csv_delimiter = Some(delimiter as char);
    std::fs::write(&args.out, model.to_json()?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let summary = serde_json::json!({
        "model": args.out.display().to_string(),
        "method": model.method,
        "rows": table.nrows(),
        "columns": model.domain.names(),
        "epsilon": model.privacy.epsilon,
        "delta": model.privacy.delta,
        "rho_budget": model.privacy.rho_budget,
        "rho_spent": model.privacy.rho_spent,
        "measured": model.measured,
        "data_derived_domains": model.privacy.data_derived_domains,
        "seconds": seconds,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "fitted {} on {} rows x {} columns in {seconds:.2} s",
            model.method,
            table.nrows(),
            model.domain.len()
        );
        println!(
            "privacy: rho {:.6} of {:.6} spent{}",
            model.privacy.rho_spent,
            model.privacy.rho_budget,
            match (model.privacy.epsilon, model.privacy.delta) {
                (Some(e), Some(d)) => format!(" (epsilon {e}, delta {d:e})"),
                _ => String::new(),
            }
        );
        for m in model.measured.iter().filter(|m| m.columns.len() > 1) {
            println!(
                "  measured {} (sigma {:.1})",
                m.columns.join(" x "),
                m.sigma
            );
        }
        if !model.privacy.data_derived_domains.is_empty() {
            println!(
                "note: categories of {} were read from the data and are treated as public; give a --schema for a strict guarantee",
                model.privacy.data_derived_domains.join(", ")
            );
        }
        println!("model written to {}", args.out.display());
    }
    Ok(())
}

fn run_sample(args: SampleArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.model)
        .with_context(|| format!("reading {}", args.model.display()))?;
    let model =
        Model::from_json(&text).with_context(|| format!("loading {}", args.model.display()))?;
    let conditions = args
        .given
        .iter()
        .map(|g| Condition::parse(g))
        .collect::<Result<Vec<_>, _>>()?;
    let table = model.sample(args.rows, &conditions, &mut rng_from(args.seed))?;
    let is_parquet = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "parquet" | "pq"));
    if is_parquet {
        write_table_path(&table, &args.out)?;
    } else {
        let delimiter = match &args.delimiter {
            Some(d) => parse_delimiter(d)?,
            None => model
                .csv_delimiter
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(b','),
        };
        write_csv_path(&table, &args.out, delimiter)?;
    }
    eprintln!(
        "wrote {} synthetic rows to {}",
        table.nrows(),
        args.out.display()
    );
    Ok(())
}

fn run_evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let delimiter = args.delimiter.as_deref();
    let (real, _) = read_input(&args.real, delimiter)?;
    let (synthetic, _) = read_input(&args.synthetic, delimiter)?;
    let holdout = args
        .holdout
        .as_deref()
        .map(|h| read_input(h, delimiter).map(|(t, _)| t))
        .transpose()?;
    if args.protected.is_some() && args.target.is_none() {
        bail!("--protected needs --target (the outcome whose rates are compared across groups)");
    }
    let options = EvalOptions {
        target: args.target.clone(),
        protected: args.protected.clone(),
        seed: args.seed,
        privacy: !args.no_privacy,
        ..EvalOptions::default()
    };
    let report = evaluate(&real, &synthetic, holdout.as_ref(), &options)?;
    if let Some(path) = &args.html {
        std::fs::write(path, report.to_html())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("HTML report written to {}", path.display());
    }
    if args.json || args.html.is_none() {
        println!("{}", report.to_json());
    }
    Ok(())
}
