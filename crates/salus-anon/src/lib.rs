//! Anonymization: generalization hierarchies, privacy models, optimal lattice search, re-identification risk scores, attacks and pseudonymization.
