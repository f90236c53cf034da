//! Placeholder: replaced by the crate owner.

#[derive(Debug, clap::Args)]
pub struct ImportFhirArgs {}

pub fn run(_args: ImportFhirArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
