//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Subcommand)]
pub enum StatsCommand {
    /// Not built yet.
    Todo,
}

pub fn run(_command: StatsCommand) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
