//! Sans-I/O study engine: analysis plans, what each node computes locally, and how the hub combines contributions.
