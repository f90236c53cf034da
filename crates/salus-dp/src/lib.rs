//! Differential privacy: exact discrete Gaussian and Skellam samplers, zCDP accounting, distributed noise shares and the privacy ledger logic.
