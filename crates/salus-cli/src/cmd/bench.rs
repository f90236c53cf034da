//! `salus bench ...`: in-process benchmarks of the privacy protocols, printed as JSON
//! so that `bench/` scripts can compare them with peer tools.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// One in-process secure aggregation round (hub + N nodes).
    Secagg(super::bench_secagg::SecaggBenchArgs),
    /// Collective keygen, N encryptions, encrypted sum and collective decryption.
    He(super::bench_he::HeBenchArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Secagg(args) => super::bench_secagg::run(args),
        BenchCommand::He(args) => super::bench_he::run(args),
    }
}
