//! Verification of RFC 9162 inclusion and consistency proofs.
//!
//! These follow the algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by
//! step. The `*_bytes` variants take unchecked byte slices as they arrive from
//! outside (JSON, HTTP) and reject anything that is not a 32-byte hash; they are
//! what the transparency-dev vectors exercise, including every must-fail case.

use serde::{Deserialize, Serialize};

use crate::hash::{HASH_LEN, Hash, node_hash};

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("the proof has the wrong number of hashes for these tree sizes")]
    WrongLength,
    /// A hash in the proof, the leaf or a root is not 32 bytes long.
    #[error("a hash in the proof is not 32 bytes long")]
    MalformedHash,
    /// The proof does not lead to the expected root: the data or the log differ.
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
    /// Consistency from an empty tree is meaningless (every tree extends it).
    #[error("a consistency proof from an empty tree proves nothing")]
    EmptyOldTree,
    /// The second tree is smaller than the first: logs only grow.
    #[error("the new tree size {new_size} is smaller than the old size {old_size}")]
    TreeShrank {
        /// Earlier size.
        old_size: u64,
        /// Later size.
        new_size: u64,
    },
}

/// An inclusion proof as served to clients (and printed by `salus audit prove`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Index of the leaf in the log.
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// RFC 6962 leaf hash of the entry.
    pub leaf_hash: Hash,
    /// Audit path, from the leaf level upwards.
    pub hashes: Vec<Hash>,
}

impl InclusionProof {
    /// Checks the proof against a trusted root of `tree_size` leaves.
    pub fn verify(&self, root: &Hash) -> Result<(), ProofError> {
        verify_inclusion(
            self.leaf_index,
            self.tree_size,
            &self.leaf_hash,
            &self.hashes,
            root,
        )
    }
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Earlier tree size.
    pub old_size: u64,
    /// Later tree size.
    pub new_size: u64,
    /// The proof hashes.
    pub hashes: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks that `new_root` extends `old_root` append-only.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        verify_consistency(
            self.old_size,
            self.new_size,
            &self.hashes,
            old_root,
            new_root,
        )
    }
}

/// RFC 9162 section 2.1.3.2: the root implied by an inclusion proof.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                // Skip the levels where this node has no right sibling.
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if &computed == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies that the tree of `new_size` leaves with `new_root` is an append-only
/// extension of the tree of `old_size` leaves with `old_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    if old_size == new_size {
        return if !proof.is_empty() {
            Err(ProofError::WrongLength)
        } else if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let (first, second) = consistency_roots(old_size, new_size, proof, old_root)?;
    if &first == old_root && &second == new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

fn check_consistency_sizes(old_size: u64, new_size: u64) -> Result<(), ProofError> {
    if new_size < old_size {
        return Err(ProofError::TreeShrank { old_size, new_size });
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    Ok(())
}

/// RFC 9162 section 2.1.4.2 steps 1-6 for `0 < old_size < new_size`: returns the
/// two roots the proof implies.
fn consistency_roots(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
) -> Result<(Hash, Hash), ProofError> {
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok((fr, sr))
}

fn to_hash(bytes: &[u8]) -> Result<Hash, ProofError> {
    Hash::from_slice(bytes).ok_or(ProofError::MalformedHash)
}

fn to_hashes<B: AsRef<[u8]>>(proof: &[B]) -> Result<Vec<Hash>, ProofError> {
    proof.iter().map(|p| to_hash(p.as_ref())).collect()
}

/// [`verify_inclusion`] over unchecked bytes from outside.
pub fn verify_inclusion_bytes<B: AsRef<[u8]>>(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[B],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let leaf = to_hash(leaf)?;
    let computed = root_from_inclusion_proof(index, size, &leaf, &to_hashes(proof)?)?;
    if computed.as_bytes().as_slice() == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// [`verify_consistency`] over unchecked bytes from outside. For equal sizes the
/// roots are compared as given, whatever their length.
pub fn verify_consistency_bytes<B: AsRef<[u8]>>(
    old_size: u64,
    new_size: u64,
    proof: &[B],
    old_root: &[u8],
    new_root: &[u8],
) -> Result<(), ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    if old_size == new_size {
        return if !proof.is_empty() {
            Err(ProofError::WrongLength)
        } else if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old_root.len() != HASH_LEN || new_root.len() != HASH_LEN {
        return Err(ProofError::RootMismatch);
    }
    let old = to_hash(old_root)?;
    let new = to_hash(new_root)?;
    verify_consistency(old_size, new_size, &to_hashes(proof)?, &old, &new)
}
