//! HL7 v2 message parsing (2.3-2.8, batches, escapes) and mapping of ADT, ORU and ORM messages to FHIR R4 resources.
