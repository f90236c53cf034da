//! `salus import ...`: clinical formats into node tables.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// FHIR R4 Bundles or Bulk Data NDJSON, through SQL on FHIR v2 views.
    Fhir(super::import_fhir::ImportFhirArgs),
    /// HL7 v2 messages and batches, mapped to FHIR R4 and through the same views.
    Hl7(super::import_hl7::ImportHl7Args),
    /// OMOP CDM v5.3/5.4 CSV tables, optionally through a cohort definition.
    Omop(super::import_omop::ImportOmopArgs),
}

pub fn run(command: ImportCommand) -> anyhow::Result<()> {
    match command {
        ImportCommand::Fhir(args) => super::import_fhir::run(args),
        ImportCommand::Hl7(args) => super::import_hl7::run(args),
        ImportCommand::Omop(args) => super::import_omop::run(args),
    }
}
