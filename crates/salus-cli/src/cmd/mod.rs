//! One module per area of the command line. Each module owns its clap types and a
//! `run` function; `main.rs` only dispatches.

pub mod anon;
pub mod audit;
pub mod bench;
pub mod bench_he;
pub mod bench_secagg;
pub mod consent;
pub mod demo;
pub mod demo_data;
pub mod demo_report;
pub mod he;
pub mod import;
pub mod import_fhir;
pub mod import_hl7;
pub mod import_omop;
pub mod network;
pub mod sessions;
pub mod stats;
pub mod synth;

/// A multi-threaded tokio runtime for the network commands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
