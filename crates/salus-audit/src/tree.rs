//! An append-only RFC 9162 Merkle tree held in memory.
//!
//! The tree keeps every leaf hash and, above them, the hash of every *complete*
//! aligned subtree (`levels[k][i]` covers leaves `i*2^k .. (i+1)*2^k`). A
//! complete subtree never changes once it exists, so those hashes are computed
//! once on append and reused by every later root, inclusion proof and
//! consistency proof, for the current size or any earlier one. Memory is about
//! two hashes (64 bytes) per leaf; a proof costs O(log^2 n) hashes at worst and
//! usually O(log n), never O(n).
//!
//! Storage-agnostic: the hub persists the leaf hashes in its database and rebuilds
//! the tree with [`MerkleTree::from_leaf_hashes`] at start.

use crate::error::AuditError;
use crate::hash::{Hash, empty_root, leaf_hash, node_hash};

/// Append-only Merkle tree over leaf hashes.
#[derive(Clone, Default)]
pub struct MerkleTree {
    /// `levels[0]` are the leaf hashes; `levels[k]` the complete subtrees of 2^k leaves.
    levels: Vec<Vec<Hash>>,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree")
            .field("size", &self.len())
            .field("root", &self.root())
            .finish()
    }
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> MerkleTree {
        MerkleTree {
            levels: vec![Vec::new()],
        }
    }

    /// Rebuilds a tree from its leaf hashes in log order (e.g. loaded from a database).
    pub fn from_leaf_hashes(leaves: Vec<Hash>) -> MerkleTree {
        let mut levels = vec![leaves];
        loop {
            let below = levels.last().map_or(&[][..], Vec::as_slice);
            if below.len() < 2 {
                break;
            }
            let above: Vec<Hash> = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        MerkleTree { levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.leaves().len() as u64
    }

    /// True when no leaf was appended yet.
    pub fn is_empty(&self) -> bool {
        self.leaves().is_empty()
    }

    /// All leaf hashes in log order (what the hub persists).
    pub fn leaves(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.leaves().get(index).copied()
    }

    /// Appends the hash of an already-hashed leaf; returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let index = self.levels[0].len() as u64 - 1;
        let mut level = 0;
        // Each time a level gets an even count, its last two nodes complete a parent.
        while self.levels[level].len().is_multiple_of(2) {
            let row = &self.levels[level];
            let parent = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
        index
    }

    /// Hashes `data` as a leaf (`0x00` prefix) and appends it; returns its index.
    pub fn push_data(&mut self, data: &[u8]) -> u64 {
        self.push(leaf_hash(data))
    }

    /// Root hash of the whole tree.
    pub fn root(&self) -> Hash {
        self.subtree(0, self.leaves().len())
    }

    /// Root hash of the tree as it was when it had `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        let size = self.check_size(size)?;
        Ok(self.subtree(0, size))
    }

    /// The root the tree would have after appending `extra` leaves, without
    /// changing it (lets the hub sign a checkpoint before its transaction commits).
    pub fn root_after(&self, extra: &[Hash]) -> Hash {
        let mut stack = self.frontier();
        for leaf in extra {
            push_frontier(&mut stack, (0, *leaf));
        }
        fold_frontier(&stack)
    }

    /// RFC 9162 section 2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        let size = self.check_size(size)?;
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        if index >= size {
            return Err(AuditError::LeafOutOfRange {
                index: index as u64,
                size: size as u64,
            });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    /// RFC 9162 section 2.1.4.1 consistency proof from `old_size` to `new_size`.
    ///
    /// Empty when the sizes are equal; an error for `old_size == 0` (every tree
    /// extends the empty tree, there is nothing to prove).
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, AuditError> {
        let new = self.check_size(new_size)?;
        if old_size == 0 || old_size > new_size {
            return Err(AuditError::BadProofRange { old_size, new_size });
        }
        let old = old_size as usize;
        let mut proof = Vec::new();
        self.subproof(old, 0, new, true, &mut proof);
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<usize, AuditError> {
        match usize::try_from(size) {
            Ok(s) if s <= self.leaves().len() => Ok(s),
            _ => Err(AuditError::SizeBeyondTree {
                size,
                tree_size: self.len(),
            }),
        }
    }

    /// MTH(D[lo:hi]) for a range that occurs in the RFC recursion: `lo` is always
    /// aligned to the largest power of two below the range length, so the left
    /// part of every split is a stored complete subtree.
    fn subtree(&self, lo: usize, hi: usize) -> Hash {
        let n = hi - lo;
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let k = n.trailing_zeros() as usize;
            return self.levels[k][lo >> k];
        }
        let k = split_point(n);
        node_hash(&self.subtree(lo, lo + k), &self.subtree(lo + k, hi))
    }

    fn path(&self, m: usize, lo: usize, hi: usize, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < lo + k {
            self.path(m, lo, lo + k, out);
            out.push(self.subtree(lo + k, hi));
        } else {
            self.path(m, lo + k, hi, out);
            out.push(self.subtree(lo, lo + k));
        }
    }

    /// SUBPROOF(m, D[lo:hi], b) with `m` as an absolute leaf count.
    fn subproof(&self, m: usize, lo: usize, hi: usize, whole: bool, out: &mut Vec<Hash>) {
        if m == hi {
            if !whole {
                out.push(self.subtree(lo, hi));
            }
            return;
        }
        let k = split_point(hi - lo);
        if m <= lo + k {
            self.subproof(m, lo, lo + k, whole, out);
            out.push(self.subtree(lo + k, hi));
        } else {
            self.subproof(m, lo + k, hi, false, out);
            out.push(self.subtree(lo, lo + k));
        }
    }

    /// The complete subtrees on the right border, largest first, as (level, hash).
    fn frontier(&self) -> Vec<(u32, Hash)> {
        let size = self.leaves().len();
        let mut out = Vec::new();
        let mut start = 0usize;
        for level in (0..usize::BITS).rev() {
            let width = 1usize << level;
            if size & width != 0 {
                out.push((level, self.levels[level as usize][start >> level]));
                start += width;
            }
        }
        out
    }
}

/// Largest power of two strictly below `n` (n >= 2).
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn push_frontier(stack: &mut Vec<(u32, Hash)>, mut item: (u32, Hash)) {
    while let Some(&(level, left)) = stack.last() {
        if level != item.0 {
            break;
        }
        stack.pop();
        item = (level + 1, node_hash(&left, &item.1));
    }
    stack.push(item);
}

fn fold_frontier(stack: &[(u32, Hash)]) -> Hash {
    let mut iter = stack.iter().rev();
    let Some(&(_, mut acc)) = iter.next() else {
        return empty_root();
    };
    for (_, left) in iter {
        acc = node_hash(left, &acc);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 9162 definition, computed the slow way over all leaves.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n);
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn incremental_roots_match_the_definition() {
        let all = leaves(70);
        let mut tree = MerkleTree::new();
        for (i, leaf) in all.iter().enumerate() {
            assert_eq!(
                tree.root_after(std::slice::from_ref(leaf)),
                reference_root(&all[..=i])
            );
            tree.push(*leaf);
            assert_eq!(tree.root(), reference_root(&all[..=i]));
        }
        for size in 0..=70u64 {
            assert_eq!(
                tree.root_at(size).ok(),
                Some(reference_root(&all[..size as usize]))
            );
        }
    }

    #[test]
    fn rebuilt_tree_equals_incremental_tree() {
        let all = leaves(37);
        let mut tree = MerkleTree::new();
        all.iter().for_each(|l| {
            tree.push(*l);
        });
        let rebuilt = MerkleTree::from_leaf_hashes(all);
        assert_eq!(rebuilt.root(), tree.root());
        assert_eq!(
            rebuilt.inclusion_proof(5, 30).ok(),
            tree.inclusion_proof(5, 30).ok()
        );
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let tree = MerkleTree::from_leaf_hashes(leaves(4));
        assert!(tree.root_at(5).is_err());
        assert!(tree.inclusion_proof(4, 4).is_err());
        assert!(tree.consistency_proof(0, 4).is_err());
        assert!(tree.consistency_proof(3, 2).is_err());
        assert_eq!(tree.consistency_proof(4, 4).ok(), Some(vec![]));
    }
}
