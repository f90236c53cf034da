//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Args)]
pub struct HeBenchArgs {}

pub fn run(_args: HeBenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
