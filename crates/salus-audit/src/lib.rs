//! Tamper-evident audit log: RFC 9162 Merkle tree, inclusion and consistency proofs, signed checkpoints and witness cosignatures.
