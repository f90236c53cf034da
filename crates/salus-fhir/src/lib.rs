//! FHIR R4 reading (Bundles, NDJSON), FHIRPath subset and SQL on FHIR v2 ViewDefinitions that turn resources into tables.
