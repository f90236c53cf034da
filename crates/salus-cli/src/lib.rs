//! Library part of the `salus` command line: the in-process federation used by
//! `salus demo` and by the end-to-end tests (a real hub and real nodes talking over
//! TLS on loopback, each with its own SQLite file).

pub mod audit_export;
pub mod federation;
