//! Anonymization commands (flattened into the top level): `salus anonymize`, `salus risk`,
//! `salus attack ...` and `salus pseudonymize`. File I/O lives here; the work is done by
//! `salus-anon`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_anon::attack::{
    InferenceConfig, LinkabilityConfig, LinkageConfig, SinglingOutConfig, SinglingOutMode,
    attribute_inference, linkability, linkage_attack, singling_out,
};
use salus_anon::pseudonym::{PseudonymKey, PseudonymizeConfig, pseudonymize};
use salus_anon::{AnonymizeConfig, Hierarchy, RiskOptions, anonymize, assess_table, match_subset};
use salus_table::{CsvOptions, Table, read_table_path, write_csv_path};

#[derive(Debug, clap::Subcommand)]
pub enum AnonCommand {
    /// Anonymize a table: optimal generalization + suppression under privacy models
    /// (k-anonymity, l-diversity, t-closeness, delta-presence, risk thresholds).
    Anonymize {
        /// Input table (CSV or Parquet).
        #[arg(long)]
        data: PathBuf,
        /// TOML configuration (see examples/anonymize/adult-k5.toml).
        #[arg(long)]
        config: PathBuf,
        /// Where to write the released table.
        #[arg(long)]
        out: PathBuf,
        /// Where to write the JSON report.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Input delimiter, overriding the configuration.
        #[arg(long)]
        delimiter: Option<String>,
        /// Delimiter of the released CSV (default `,`).
        #[arg(long, default_value = ",")]
        out_delimiter: String,
        /// Exit with status 2 when the report does not pass.
        #[arg(long)]
        fail_on_risk: bool,
    },
    /// Assess the re-identification risk of a table as it is.
    Risk {
        /// Input table (CSV or Parquet).
        #[arg(long)]
        data: PathBuf,
        /// Quasi-identifiers, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        qi: Vec<String>,
        /// Size of the population the table was drawn from.
        #[arg(long)]
        population: Option<f64>,
        /// Highest acceptable score (default 0.2).
        #[arg(long, default_value_t = salus_anon::risk::DEFAULT_THRESHOLD)]
        threshold: f64,
        /// Input delimiter: one character, or `tab`.
        #[arg(long, default_value = ",")]
        delimiter: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Exit with status 2 when the score is above the threshold.
        #[arg(long)]
        fail_on_risk: bool,
    },
    /// Attack a released (anonymized or synthetic) table to measure what it leaks.
    #[command(subcommand)]
    Attack(AttackCommand),
    /// Replace identifiers by keyed pseudonyms, shift dates per patient, drop direct
    /// identifiers; write the key holder's lookup table separately.
    Pseudonymize {
        /// Input table (CSV or Parquet).
        #[arg(long)]
        data: PathBuf,
        /// Where to write the pseudonymized table.
        #[arg(long)]
        out: PathBuf,
        /// File with the 64-hex-character key (created with --new-key).
        #[arg(long)]
        key_file: PathBuf,
        /// Create a new random key in --key-file (refuses to overwrite).
        #[arg(long)]
        new_key: bool,
        /// Identifier columns to replace by pseudonyms, comma-separated.
        #[arg(long, value_delimiter = ',')]
        id: Vec<String>,
        /// Column identifying the patient for date shifting (default: first --id).
        #[arg(long)]
        patient: Option<String>,
        /// ISO date columns to shift per patient, comma-separated.
        #[arg(long, value_delimiter = ',')]
        dates: Vec<String>,
        /// Direct identifiers to remove, comma-separated.
        #[arg(long, value_delimiter = ',')]
        drop: Vec<String>,
        /// Largest date shift in days.
        #[arg(long, default_value_t = 365)]
        max_shift_days: u32,
        /// Where to write the lookup table (pseudonym -> original); keep it with the key.
        #[arg(long)]
        lookup: Option<PathBuf>,
        /// Input delimiter.
        #[arg(long, default_value = ",")]
        delimiter: String,
    },
}

/// The attacks of `salus attack`.
#[derive(Debug, clap::Subcommand)]
pub enum AttackCommand {
    /// Re-identify auxiliary records (with identities) in a generalized release.
    Linkage {
        #[command(flatten)]
        tables: AttackTables,
        /// Quasi-identifiers the attacker links on, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        qi: Vec<String>,
        /// Identity column present in both tables (scoring only); without it rows align.
        #[arg(long)]
        id: Option<String>,
        /// Hierarchy files explaining generalized labels, as column=path (repeatable).
        #[arg(long = "hierarchy", value_parser = parse_pair)]
        hierarchies: Vec<(String, PathBuf)>,
    },
    /// Anonymeter's singling-out attack.
    SinglingOut {
        #[command(flatten)]
        tables: AttackTables,
        /// univariate or multivariate.
        #[arg(long, default_value = "multivariate")]
        mode: String,
        /// Predicates to generate.
        #[arg(long, default_value_t = 500)]
        n_attacks: usize,
        /// Attributes per multivariate predicate.
        #[arg(long, default_value_t = 3)]
        n_cols: usize,
    },
    /// Anonymeter's linkability attack.
    Linkability {
        #[command(flatten)]
        tables: AttackTables,
        /// First party's columns, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        left: Vec<String>,
        /// Second party's columns, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        right: Vec<String>,
        /// Records attacked.
        #[arg(long, default_value_t = 500)]
        n_attacks: usize,
        /// Neighbours considered.
        #[arg(long, default_value_t = 1)]
        n_neighbors: usize,
    },
    /// Anonymeter's attribute-inference attack.
    Inference {
        #[command(flatten)]
        tables: AttackTables,
        /// Columns the attacker knows, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        aux: Vec<String>,
        /// The secret column.
        #[arg(long)]
        secret: String,
        /// Targets attacked.
        #[arg(long, default_value_t = 500)]
        n_attacks: usize,
    },
}

/// Tables and options shared by the attacks.
#[derive(Debug, clap::Args)]
pub struct AttackTables {
    /// The released (anonymized or synthetic) table.
    #[arg(long)]
    released: PathBuf,
    /// The original / training table (for linkage: the attacker's auxiliary table).
    #[arg(long)]
    original: PathBuf,
    /// Original records not used for the release (optional).
    #[arg(long)]
    control: Option<PathBuf>,
    /// Input delimiter for all tables.
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// RNG seed for a reproducible attack (default: fresh randomness).
    #[arg(long)]
    seed: Option<u64>,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: AnonCommand) -> anyhow::Result<ExitCode> {
    match command {
        AnonCommand::Anonymize {
            data,
            config,
            out,
            report,
            delimiter,
            out_delimiter,
            fail_on_risk,
        } => run_anonymize(
            &data,
            &config,
            &out,
            report.as_deref(),
            delimiter.as_deref(),
            &out_delimiter,
            fail_on_risk,
        ),
        AnonCommand::Risk {
            data,
            qi,
            population,
            threshold,
            delimiter,
            json,
            fail_on_risk,
        } => {
            let table = read(&data, &delimiter)?;
            let assessment = assess_table(
                &table,
                &qi,
                &RiskOptions {
                    threshold,
                    population,
                },
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&assessment)?);
            } else {
                print_risk(&assessment);
            }
            Ok(exit_code(assessment.passed, fail_on_risk))
        }
        AnonCommand::Attack(attack) => run_attack(attack).map(|()| ExitCode::SUCCESS),
        AnonCommand::Pseudonymize {
            data,
            out,
            key_file,
            new_key,
            id,
            patient,
            dates,
            drop,
            max_shift_days,
            lookup,
            delimiter,
        } => {
            let key = load_or_create_key(&key_file, new_key)?;
            let table = read(&data, &delimiter)?;
            let config = PseudonymizeConfig {
                id_columns: id,
                patient_column: patient,
                date_columns: dates,
                drop,
                max_shift_days,
                ..Default::default()
            };
            let result = pseudonymize(&table, &config, &key)?;
            write_csv_path(&result.table, &out, b',')
                .with_context(|| format!("writing {}", out.display()))?;
            if let Some(path) = lookup {
                write_csv_path(&result.lookup_table(), &path, b',')
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            eprintln!(
                "pseudonymized {} rows: {} identifier value(s) replaced, {} column(s) dropped",
                result.table.nrows(),
                result.lookup.len(),
                result.dropped.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn exit_code(passed: bool, fail_on_risk: bool) -> ExitCode {
    if passed || !fail_on_risk {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn delimiter_byte(text: &str) -> anyhow::Result<u8> {
    match text {
        "tab" | "\\t" => Ok(b'\t'),
        s if s.len() == 1 => Ok(s.as_bytes()[0]),
        _ => bail!("the delimiter must be one character or `tab`"),
    }
}

fn read(path: &Path, delimiter: &str) -> anyhow::Result<Table> {
    let options = CsvOptions::with_delimiter(delimiter_byte(delimiter)?);
    read_table_path(path, &options).with_context(|| format!("reading {}", path.display()))
}

fn run_anonymize(
    data: &Path,
    config_path: &Path,
    out: &Path,
    report_path: Option<&Path>,
    delimiter: Option<&str>,
    out_delimiter: &str,
    fail_on_risk: bool,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let config = AnonymizeConfig::from_toml(&text)?;
    let delimiter = match delimiter {
        Some(d) => delimiter_byte(d)?,
        None => config.delimiter_byte()?,
    };
    let options = CsvOptions::with_delimiter(delimiter);
    let mut table =
        read_table_path(data, &options).with_context(|| format!("reading {}", data.display()))?;
    for column in &config.drop {
        table.remove_column(column)?;
    }
    let base = config_path.parent().unwrap_or(Path::new("."));
    let subset = match &config.research_subset {
        Some(path) => {
            let subset = read_table_path(&base.join(path), &options)
                .with_context(|| format!("reading research subset {path}"))?;
            Some(match_subset(&table, &subset)?)
        }
        None => None,
    };
    let mut load = |path: &str| -> salus_anon::Result<Vec<u8>> {
        std::fs::read(base.join(path))
            .map_err(|e| salus_anon::AnonError::Config(format!("cannot read {path}: {e}")))
    };
    let spec = config.resolve(&table, subset, &mut load)?;
    let result = anonymize(&table, &spec)?;
    write_csv_path(&result.output, out, delimiter_byte(out_delimiter)?)
        .with_context(|| format!("writing {}", out.display()))?;
    let json = serde_json::to_string_pretty(&result.report)?;
    match report_path {
        Some(path) => write_atomic(path, json.as_bytes())?,
        None => println!("{json}"),
    }
    let levels: Vec<String> = result
        .levels
        .iter()
        .map(|(q, l)| format!("{q}={l}"))
        .collect();
    eprintln!(
        "transformation {} | {} of {} records released, {} suppressed | k = {} | {} = {} | score {:.4} ({}) | search {:.1} ms, {} of {} transformations evaluated",
        levels.join(" "),
        result.report.utility.records_out,
        result.report.utility.records_in,
        result.report.suppressed,
        result.report.k,
        result.report.utility.metric,
        result.report.utility.value,
        result.report.score,
        if result.report.passed {
            "passed"
        } else {
            "FAILED"
        },
        result.stats.millis,
        result.stats.evaluated,
        result.stats.transformations,
    );
    Ok(exit_code(result.report.passed, fail_on_risk))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn print_risk(a: &salus_anon::RiskAssessment) {
    println!("records                 {}", a.records);
    println!("equivalence classes     {}", a.equivalence_classes);
    println!("k (smallest class)      {}", a.k);
    println!("sample uniques          {}", a.sample_uniques);
    println!(
        "prosecutor risk         max {:.4}  average {:.4}  records at risk {:.2}%",
        a.prosecutor.max,
        a.prosecutor.average,
        100.0 * a.prosecutor.records_at_risk
    );
    println!(
        "journalist risk         max {:.4}  average {:.4}  records at risk {:.2}%",
        a.journalist.max,
        a.journalist.average,
        100.0 * a.journalist.records_at_risk
    );
    println!("marketer risk           {:.4}", a.marketer);
    let p = &a.population_uniques;
    println!(
        "population uniques      {:.4} of N = {} (Dankar rule: {:?}; Pitman {:.4}, Zayatz {:.4}, SNB {:.4})",
        p.dankar, p.population, p.model, p.pitman, p.zayatz, p.snb
    );
    if let Some(h) = &a.hipaa {
        if h.compliant {
            println!("HIPAA Safe Harbor       no identifier category found");
        } else {
            for f in &h.findings {
                println!(
                    "HIPAA Safe Harbor       column `{}`: category {} ({}), by {}",
                    f.column, f.category, f.name, f.evidence
                );
            }
        }
    }
    println!(
        "score                   {:.4} (threshold {}) -> {}",
        a.score,
        a.threshold,
        if a.passed { "PASSED" } else { "FAILED" }
    );
}

fn parse_pair(text: &str) -> Result<(String, PathBuf), String> {
    text.split_once('=')
        .map(|(a, b)| (a.to_string(), PathBuf::from(b)))
        .ok_or_else(|| "expected column=path".to_string())
}

fn rng(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(s) => ChaCha20Rng::seed_from_u64(s),
        None => ChaCha20Rng::from_os_rng(),
    }
}

fn run_attack(attack: AttackCommand) -> anyhow::Result<()> {
    let load = |t: &AttackTables| -> anyhow::Result<(Table, Table, Option<Table>)> {
        let released = read(&t.released, &t.delimiter)?;
        let original = read(&t.original, &t.delimiter)?;
        let control = t
            .control
            .as_ref()
            .map(|c| read(c, &t.delimiter))
            .transpose()?;
        Ok((released, original, control))
    };
    let (json, value) = match attack {
        AttackCommand::Linkage {
            tables,
            qi,
            id,
            hierarchies,
        } => {
            let (released, auxiliary, control) = load(&tables)?;
            let mut config = LinkageConfig {
                quasi_identifiers: qi,
                id_column: id,
                confidence: tables.confidence,
                ..Default::default()
            };
            for (column, path) in hierarchies {
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                config
                    .hierarchies
                    .insert(column.clone(), Hierarchy::from_csv(&column, &bytes, b';')?);
            }
            let result = linkage_attack(
                &released,
                &auxiliary,
                control.as_ref(),
                &config,
                &mut rng(tables.seed),
            )?;
            (tables.json, serde_json::to_value(result)?)
        }
        AttackCommand::SinglingOut {
            tables,
            mode,
            n_attacks,
            n_cols,
        } => {
            let (released, original, control) = load(&tables)?;
            let mode = match mode.as_str() {
                "univariate" => SinglingOutMode::Univariate,
                "multivariate" => SinglingOutMode::Multivariate,
                other => bail!("unknown mode `{other}`: use univariate or multivariate"),
            };
            let config = SinglingOutConfig {
                n_attacks,
                n_cols,
                mode,
                confidence: tables.confidence,
                ..Default::default()
            };
            let result = singling_out(
                &released,
                &original,
                control.as_ref(),
                &config,
                &mut rng(tables.seed),
            )?;
            (tables.json, serde_json::to_value(result)?)
        }
        AttackCommand::Linkability {
            tables,
            left,
            right,
            n_attacks,
            n_neighbors,
        } => {
            let (released, original, control) = load(&tables)?;
            let config = LinkabilityConfig {
                aux_cols: (left, right),
                n_attacks,
                n_neighbors,
                confidence: tables.confidence,
            };
            let result = linkability(
                &released,
                &original,
                control.as_ref(),
                &config,
                &mut rng(tables.seed),
            )?;
            (tables.json, serde_json::to_value(result)?)
        }
        AttackCommand::Inference {
            tables,
            aux,
            secret,
            n_attacks,
        } => {
            let (released, original, control) = load(&tables)?;
            let config = InferenceConfig {
                aux_cols: aux,
                secret,
                n_attacks,
                confidence: tables.confidence,
                ..Default::default()
            };
            let result = attribute_inference(
                &released,
                &original,
                control.as_ref(),
                &config,
                &mut rng(tables.seed),
            )?;
            (tables.json, serde_json::to_value(result)?)
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_attack(&value);
    }
    Ok(())
}

fn print_attack(value: &serde_json::Value) {
    let Some(map) = value.as_object() else { return };
    for (key, v) in map {
        let text = match v {
            serde_json::Value::Object(o) if o.contains_key("value") => format!(
                "{:.4} [{:.4}, {:.4}]",
                o["value"].as_f64().unwrap_or(f64::NAN),
                o.get("lower").and_then(|x| x.as_f64()).unwrap_or(f64::NAN),
                o.get("upper").and_then(|x| x.as_f64()).unwrap_or(f64::NAN)
            ),
            other => other.to_string(),
        };
        println!("{key:<22}{text}");
    }
}

fn load_or_create_key(path: &Path, create: bool) -> anyhow::Result<PseudonymKey> {
    if create {
        if path.exists() {
            bail!(
                "{} already exists; refusing to overwrite a key (pseudonyms made with it would become unrecoverable)",
                path.display()
            );
        }
        let key = PseudonymKey::generate(&mut ChaCha20Rng::from_os_rng());
        write_atomic(path, key.to_hex().as_bytes())?;
        eprintln!(
            "new key written to {} - keep it secret and backed up",
            path.display()
        );
        return Ok(key);
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading key file {}", path.display()))?;
    Ok(PseudonymKey::from_hex(&text)?)
}
