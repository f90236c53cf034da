//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Subcommand)]
pub enum HeCommand {
    /// Not built yet.
    Todo,
}

pub fn run(_command: HeCommand) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
