//! Secure aggregation (Bonawitz et al. 2017, SecAgg+ of Bell et al. 2020) as sans-I/O hub and node state machines with dropout recovery.
