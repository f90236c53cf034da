//! Placeholder: hub, node and study commands (foundation).

#[derive(Debug, clap::Subcommand)]
pub enum HubCommand { /// Not built yet.
 Serve }
#[derive(Debug, clap::Subcommand)]
pub enum NodeCommand { /// Not built yet.
 Serve }
#[derive(Debug, clap::Subcommand)]
pub enum StudyCommand { /// Not built yet.
 List }

pub fn run_hub(_c: HubCommand) -> anyhow::Result<()> { anyhow::bail!("not built yet") }
pub fn run_node(_c: NodeCommand) -> anyhow::Result<()> { anyhow::bail!("not built yet") }
pub fn run_study(_c: StudyCommand) -> anyhow::Result<()> { anyhow::bail!("not built yet") }
