//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Args)]
pub struct ImportOmopArgs {}

pub fn run(_args: ImportOmopArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
