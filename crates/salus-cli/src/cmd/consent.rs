//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Subcommand)]
pub enum ConsentCommand {
    /// Not built yet.
    Todo,
}

pub fn run(_command: ConsentCommand) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
