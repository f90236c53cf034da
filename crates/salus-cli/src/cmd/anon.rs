//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Subcommand)]
pub enum AnonCommand {
    /// Not built yet.
    Todo,
}

pub fn run(_command: AnonCommand) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("this command is not built yet")
}
