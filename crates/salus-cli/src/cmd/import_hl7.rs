//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Args)]
pub struct ImportHl7Args {}

pub fn run(_args: ImportHl7Args) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
