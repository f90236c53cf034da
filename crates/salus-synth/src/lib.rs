//! Differentially private synthetic data from noisy marginals (MST/AIM-style), local or federated, with a fidelity, utility, privacy and bias evaluation.
