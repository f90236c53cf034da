//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Args)]
pub struct SecaggBenchArgs {}

pub fn run(_args: SecaggBenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
