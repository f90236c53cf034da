//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Subcommand)]
pub enum SynthCommand {
    /// Not built yet.
    Todo,
}

pub fn run(_command: SynthCommand) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
