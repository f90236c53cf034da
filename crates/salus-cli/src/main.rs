//! `salus`: one binary for every role. Thin by design: each subcommand parses its
//! arguments, calls a library crate, and prints human text or `--json`.

mod cmd;

use clap::{Parser, Subcommand};

/// Salus: federated analysis of health data that never leaves the hospital.
#[derive(Debug, Parser)]
#[command(name = "salus", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run and administer the hub (coordinator, CA, audit log).
    #[command(subcommand)]
    Hub(cmd::network::HubCommand),
    /// Run and administer a node (beside the data; outbound-only).
    #[command(subcommand)]
    Node(cmd::network::NodeCommand),
    /// Submit and follow federated studies (researcher side).
    #[command(subcommand)]
    Study(cmd::network::StudyCommand),
    /// Start a hub and three nodes on loopback and run real studies on real data.
    Demo(cmd::demo::DemoArgs),
    #[command(flatten)]
    Stats(cmd::stats::StatsCommand),
    #[command(flatten)]
    Anon(cmd::anon::AnonCommand),
    /// Differentially private synthetic data: fit, sample, evaluate.
    #[command(subcommand)]
    Synth(cmd::synth::SynthCommand),
    /// Import clinical data (FHIR R4, HL7 v2, OMOP CDM) into tables.
    #[command(subcommand)]
    Import(cmd::import::ImportCommand),
    /// Export, verify and prove entries of the tamper-evident audit log.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Patient consent records and receipts.
    #[command(subcommand)]
    Consent(cmd::consent::ConsentCommand),
    /// Homomorphic encryption tools (encrypted inference).
    #[command(subcommand)]
    He(cmd::he::HeCommand),
    /// In-process benchmarks of the privacy protocols.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    exit_quietly_when_stdout_closes();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `salus … --json | head` closes stdout early, and `println!` then panics with
/// "failed printing to stdout: Broken pipe". Exit quietly instead, with the status a
/// shell gives a process killed by SIGPIPE (128 + 13), as other Unix tools do.
fn exit_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn run(command: Command) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    match command {
        Command::Hub(c) => cmd::network::run_hub(c).map(|()| ExitCode::SUCCESS),
        Command::Node(c) => cmd::network::run_node(c).map(|()| ExitCode::SUCCESS),
        Command::Study(c) => cmd::network::run_study(c).map(|()| ExitCode::SUCCESS),
        Command::Demo(a) => cmd::demo::run(a).map(|()| ExitCode::SUCCESS),
        Command::Stats(c) => cmd::stats::run(c).map(|()| ExitCode::SUCCESS),
        Command::Anon(c) => cmd::anon::run(c),
        Command::Synth(c) => cmd::synth::run(c).map(|()| ExitCode::SUCCESS),
        Command::Import(c) => cmd::import::run(c).map(|()| ExitCode::SUCCESS),
        Command::Audit(c) => cmd::audit::run(c),
        Command::Consent(c) => cmd::consent::run(c).map(|()| ExitCode::SUCCESS),
        Command::He(c) => cmd::he::run(c).map(|()| ExitCode::SUCCESS),
        Command::Bench(c) => cmd::bench::run(c).map(|()| ExitCode::SUCCESS),
    }
}
