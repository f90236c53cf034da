//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Not built yet.
    Todo,
}

pub fn run(_command: AuditCommand) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("this command is not built yet")
}
