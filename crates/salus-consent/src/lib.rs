//! Patient consent records shaped after FHIR Consent, compute-time enforcement and signed consent receipts.
