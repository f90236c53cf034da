//! Exact survival and regression statistics (Cox incl. time-dependent, Kaplan-Meier, log-rank, GLM), each split into local sufficient statistics and a combine step.
