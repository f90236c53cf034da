//! OMOP CDM v5.3/5.4 import, cohort building with time-to-event endpoints, and FHIR to OMOP conversion.
