//! Local statistics commands: `salus cox`, `salus km`, `salus logrank`, `salus logit`,
//! `salus linreg`. Each reads one table (CSV or Parquet), fits with `salus-stats` and
//! prints a readable table or, with `--json`, the JSON contract of issue 3. Rows with a
//! missing value in a used column are dropped and counted (`"dropped"`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use salus_stats::cox::{self, CoxOptions, CoxSpec, Ties};
use salus_stats::glm::{self, Family};
use salus_stats::{Design, DesignSpec, NewtonOptions, columns, km, linreg, logrank};
use salus_table::{CsvOptions, Table, format_number, read_table_path};
use serde_json::{Value, json};

/// Options every statistics command shares.
#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// Input table: CSV (any extension) or Parquet (.parquet, .pq).
    #[arg(long)]
    data: PathBuf,
    /// CSV field delimiter: one character, or `tab`.
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Covariate options of the regression commands.
#[derive(Debug, clap::Args)]
pub struct CovariateArgs {
    /// Covariate columns, comma-separated. Text columns are one-hot coded against the
    /// first level in sorted order (columns named `col[T.level]`).
    #[arg(long, value_delimiter = ',', required = true)]
    covariates: Vec<String>,
    /// Numeric columns to treat as categorical, comma-separated.
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum StatsCommand {
    /// Cox proportional hazards regression (Efron or Breslow ties, strata, start/stop rows).
    Cox {
        #[command(flatten)]
        data: DataArgs,
        /// Follow-up (or interval stop) time column.
        #[arg(long)]
        time: String,
        /// Event column: 0/1 or true/false; `COLUMN=VALUE` marks rows equal to VALUE as events.
        #[arg(long)]
        event: String,
        /// Interval start column: rows are (start, stop] intervals (time-dependent covariates).
        #[arg(long)]
        start: Option<String>,
        /// Stratum column: a separate baseline hazard per stratum.
        #[arg(long)]
        strata: Option<String>,
        /// Tie handling: efron (default) or breslow.
        #[arg(long, default_value = "efron")]
        ties: String,
        #[command(flatten)]
        covariates: CovariateArgs,
    },
    /// Kaplan-Meier survival curves with 95% log-log Greenwood intervals.
    Km {
        #[command(flatten)]
        data: DataArgs,
        /// Follow-up time column.
        #[arg(long)]
        time: String,
        /// Event column (see `salus cox --help`).
        #[arg(long)]
        event: String,
        /// Group column: one curve per level.
        #[arg(long)]
        group: Option<String>,
        /// Times at which to report survival, comma-separated.
        #[arg(long, value_delimiter = ',')]
        at: Vec<f64>,
    },
    /// Log-rank test of equal survival across groups (optionally stratified).
    Logrank {
        #[command(flatten)]
        data: DataArgs,
        /// Follow-up time column.
        #[arg(long)]
        time: String,
        /// Event column (see `salus cox --help`).
        #[arg(long)]
        event: String,
        /// Group column.
        #[arg(long)]
        group: String,
        /// Stratum column.
        #[arg(long)]
        strata: Option<String>,
    },
    /// Logistic regression (Newton-Raphson), with an intercept.
    Logit {
        #[command(flatten)]
        data: DataArgs,
        /// Binary outcome column: 0/1, true/false, or `COLUMN=VALUE`.
        #[arg(long)]
        outcome: String,
        #[command(flatten)]
        covariates: CovariateArgs,
    },
    /// Linear regression (ordinary least squares), with an intercept.
    Linreg {
        #[command(flatten)]
        data: DataArgs,
        /// Numeric outcome column.
        #[arg(long)]
        outcome: String,
        #[command(flatten)]
        covariates: CovariateArgs,
    },
}

pub fn run(command: StatsCommand) -> anyhow::Result<()> {
    match command {
        StatsCommand::Cox {
            data,
            time,
            event,
            start,
            strata,
            ties,
            covariates,
        } => {
            let table = read(&data)?;
            let spec = CoxSpec {
                time,
                event,
                start,
                strata,
                strata_levels: None,
                design: design_spec(&table, &covariates)?,
            };
            let ties: Ties = ties.parse()?;
            run_cox(&table, &spec, ties, data.json)
        }
        StatsCommand::Km {
            data,
            time,
            event,
            group,
            at,
        } => run_km(
            &read(&data)?,
            &time,
            &event,
            group.as_deref(),
            &at,
            data.json,
        ),
        StatsCommand::Logrank {
            data,
            time,
            event,
            group,
            strata,
        } => run_logrank(
            &read(&data)?,
            &time,
            &event,
            &group,
            strata.as_deref(),
            data.json,
        ),
        StatsCommand::Logit {
            data,
            outcome,
            covariates,
        } => run_glm(
            &read(&data)?,
            &outcome,
            &covariates,
            Family::Logistic,
            data.json,
        ),
        StatsCommand::Linreg {
            data,
            outcome,
            covariates,
        } => run_glm(
            &read(&data)?,
            &outcome,
            &covariates,
            Family::Gaussian,
            data.json,
        ),
    }
}

fn read(args: &DataArgs) -> anyhow::Result<Table> {
    let delimiter = match args.delimiter.as_str() {
        "tab" | "\\t" => b'\t',
        d if d.len() == 1 => d.as_bytes()[0],
        other => bail!("--delimiter must be one character or `tab`, not `{other}`"),
    };
    read_table_path(&args.data, &CsvOptions::with_delimiter(delimiter))
        .with_context(|| format!("reading {}", args.data.display()))
}

fn design_spec(table: &Table, args: &CovariateArgs) -> anyhow::Result<DesignSpec> {
    let columns: Vec<&str> = args.covariates.iter().map(String::as_str).collect();
    let categorical: Vec<&str> = args.categorical.iter().map(String::as_str).collect();
    if let Some(c) = categorical.iter().find(|c| !columns.contains(c)) {
        bail!("--categorical names `{c}`, which is not in --covariates");
    }
    Ok(DesignSpec::infer(table, &columns, &categorical)?)
}

fn run_cox(table: &Table, spec: &CoxSpec, ties: Ties, as_json: bool) -> anyhow::Result<()> {
    let input = spec.read(table)?;
    let options = CoxOptions {
        ties,
        newton: NewtonOptions::default(),
    };
    let fit = cox::fit(&input.data, &options)?;
    warn(&fit.warnings);
    if as_json {
        let mut value = serde_json::to_value(&fit)?;
        if let Value::Object(map) = &mut value {
            map.insert("dropped".into(), json!(input.dropped));
            map.remove("covariance");
        }
        return print_json(&value);
    }
    println!(
        "Cox proportional hazards ({} ties): n = {}, events = {}, dropped = {}",
        ties_name(ties),
        fit.n,
        fit.events,
        input.dropped
    );
    println!(
        "{:<24} {:>11} {:>10} {:>10} {:>10} {:>10} {:>8} {:>10}",
        "covariate", "coef", "se", "HR", "HR 2.5%", "HR 97.5%", "z", "p"
    );
    for c in &fit.coefficients {
        println!(
            "{:<24} {:>11.6} {:>10.6} {:>10.4} {:>10.4} {:>10.4} {:>8.3} {:>10.3e}",
            c.name, c.coef, c.se, c.hr, c.hr_lower, c.hr_upper, c.z, c.p
        );
    }
    println!(
        "log partial likelihood {:.6} (null {:.6}); LR test {:.4} on {} df, p = {:.3e}; {} iterations, converged: {}",
        fit.loglik,
        fit.null_loglik,
        fit.lr_test.statistic,
        fit.lr_test.df,
        fit.lr_test.p,
        fit.iterations,
        fit.converged
    );
    Ok(())
}

fn ties_name(ties: Ties) -> &'static str {
    match ties {
        Ties::Efron => "Efron",
        Ties::Breslow => "Breslow",
    }
}

/// Rows complete in `required`, with the dropped count.
fn complete_rows(table: &Table, required: &[&str]) -> anyhow::Result<(Vec<usize>, usize)> {
    let (design, dropped) = Design::build(table, &DesignSpec::default(), required)?;
    Ok((design.source_rows().to_vec(), dropped))
}

fn event_column<'a>(table: &Table, event: &'a str) -> &'a str {
    columns::binary_spec(table, event).0
}

fn run_km(
    table: &Table,
    time: &str,
    event: &str,
    group: Option<&str>,
    at: &[f64],
    as_json: bool,
) -> anyhow::Result<()> {
    let mut required = vec![time, event_column(table, event)];
    required.extend(group);
    let (rows, dropped) = complete_rows(table, &required)?;
    let times = columns::numeric_at(table, time, &rows)?;
    let events = columns::binary_at(table, event, &rows)?;
    let (codes, labels) = match group {
        Some(g) => columns::level_codes(table, g, &rows, None)?,
        None => (vec![0; rows.len()], vec!["all".to_string()]),
    };
    let mut groups = Vec::new();
    for (code, label) in labels.iter().enumerate() {
        let pick: Vec<usize> = (0..rows.len())
            .filter(|&i| codes[i] as usize == code)
            .collect();
        let t: Vec<f64> = pick.iter().map(|&i| times[i]).collect();
        let e: Vec<bool> = pick.iter().map(|&i| events[i]).collect();
        groups.push((label.clone(), km::fit(&t, &e)?));
    }
    if as_json {
        let groups: Vec<Value> = groups
            .iter()
            .map(|(name, curve)| {
                let at_map: serde_json::Map<String, Value> = at
                    .iter()
                    .map(|&t| (format_number(t), json!(finite(curve.survival_at(t)))))
                    .collect();
                json!({
                    "name": name, "n": curve.n, "events": curve.events, "median": curve.median,
                    "times": curve.times, "at_risk": curve.at_risk, "events_at": curve.events_at,
                    "survival": curve.survival,
                    "lower": curve.lower.iter().map(|&v| finite(v)).collect::<Vec<_>>(),
                    "upper": curve.upper.iter().map(|&v| finite(v)).collect::<Vec<_>>(),
                    "at": at_map,
                })
            })
            .collect();
        return print_json(&json!({ "groups": groups, "dropped": dropped }));
    }
    for (name, curve) in &groups {
        let median = curve
            .median
            .map_or("not reached".to_string(), format_number);
        println!(
            "group {name}: n = {}, events = {}, median = {median}",
            curve.n, curve.events
        );
        if !at.is_empty() {
            println!(
                "  {:>10} {:>10} {:>10} {:>10}",
                "time", "survival", "2.5%", "97.5%"
            );
            for &t in at {
                let (lo, hi) = curve.interval_at(t);
                println!(
                    "  {:>10} {:>10.4} {:>10.4} {:>10.4}",
                    format_number(t),
                    curve.survival_at(t),
                    lo,
                    hi
                );
            }
        }
    }
    println!("dropped rows: {dropped}");
    Ok(())
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn run_logrank(
    table: &Table,
    time: &str,
    event: &str,
    group: &str,
    strata: Option<&str>,
    as_json: bool,
) -> anyhow::Result<()> {
    let mut required = vec![time, event_column(table, event), group];
    required.extend(strata);
    let (rows, dropped) = complete_rows(table, &required)?;
    let times = columns::numeric_at(table, time, &rows)?;
    let events = columns::binary_at(table, event, &rows)?;
    let (codes, labels) = columns::level_codes(table, group, &rows, None)?;
    let strata_codes = match strata {
        Some(s) => Some(columns::level_codes(table, s, &rows, None)?),
        None => None,
    };
    let groups = logrank::Groups {
        group: &codes,
        n_groups: labels.len(),
        stratum: strata_codes.as_ref().map(|(c, _)| c.as_slice()),
        n_strata: strata_codes.as_ref().map_or(1, |(_, l)| l.len()),
    };
    let test = logrank::test(&times, &events, groups)?;
    if as_json {
        return print_json(&json!({
            "statistic": test.statistic, "df": test.df, "p": test.p, "groups": labels,
            "observed": test.observed, "expected": test.expected, "n": rows.len(), "dropped": dropped,
        }));
    }
    println!("{:<20} {:>10} {:>10}", "group", "observed", "expected");
    for (i, label) in labels.iter().enumerate() {
        println!(
            "{:<20} {:>10} {:>10.3}",
            label, test.observed[i], test.expected[i]
        );
    }
    println!(
        "log-rank chi-square {:.4} on {} df, p = {:.3e} (n = {}, dropped = {dropped})",
        test.statistic,
        test.df,
        test.p,
        rows.len()
    );
    Ok(())
}

fn run_glm(
    table: &Table,
    outcome: &str,
    args: &CovariateArgs,
    family: Family,
    as_json: bool,
) -> anyhow::Result<()> {
    let spec = design_spec(table, args)?.with_intercept();
    let (design, y, dropped) = glm::read_table(table, outcome, &spec, family)?;
    let (n, loglik, coefficients, extra) = match family {
        Family::Logistic => {
            let fit = glm::fit(&design, &y, family, &NewtonOptions::default())?;
            warn(&fit.warnings);
            let extra = json!({
                "null_loglik": fit.null_loglik, "lr_test": fit.lr_test,
                "iterations": fit.iterations, "converged": fit.converged, "warnings": fit.warnings,
            });
            (fit.n, fit.loglik, fit.coefficients, extra)
        }
        Family::Gaussian => {
            let fit = linreg::fit(&design, &y)?;
            let extra =
                json!({ "r_squared": fit.r_squared, "sigma": fit.sigma, "df_resid": fit.df_resid });
            (fit.n, fit.loglik, fit.coefficients, extra)
        }
    };
    if as_json {
        let mut value =
            json!({ "n": n, "dropped": dropped, "loglik": loglik, "coefficients": coefficients });
        if let (Value::Object(map), Value::Object(more)) = (&mut value, extra) {
            map.extend(more);
        }
        return print_json(&value);
    }
    let (title, stat) = match family {
        Family::Logistic => ("Logistic regression", "z"),
        Family::Gaussian => ("Linear regression", "t"),
    };
    println!("{title}: n = {n}, dropped = {dropped}, log-likelihood = {loglik:.6}");
    println!(
        "{:<24} {:>12} {:>11} {:>9} {:>10}",
        "covariate", "coef", "se", stat, "p"
    );
    for c in &coefficients {
        println!(
            "{:<24} {:>12.6} {:>11.6} {:>9.3} {:>10.3e}",
            c.name, c.coef, c.se, c.z, c.p
        );
    }
    Ok(())
}

fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
