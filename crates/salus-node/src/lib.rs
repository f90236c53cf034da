//! The node service: outbound-only worker beside the data, datasets, policy, privacy ledger and local computation.
