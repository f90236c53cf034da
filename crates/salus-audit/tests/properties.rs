//! Property tests: every generated proof verifies, and any change to the leaf,
//! the index, a proof hash or a root makes it fail.

use proptest::prelude::*;
use salus_audit::{Hash, MerkleTree, leaf_hash, verify_consistency, verify_inclusion};

fn tree_of(n: u64) -> MerkleTree {
    let mut tree = MerkleTree::new();
    for i in 0..n {
        tree.push(leaf_hash(&i.to_le_bytes()));
    }
    tree
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn inclusion_proofs_verify_and_detect_tampering(n in 1u64..600, a in any::<u64>(), b in any::<u64>(), flip in any::<u8>()) {
        let tree = tree_of(n);
        let size = 1 + a % n;
        let index = b % size;
        let root = tree.root_at(size).unwrap_or_default();
        let leaf = tree.leaf(index).unwrap_or_default();
        let proof = tree.inclusion_proof(index, size).unwrap_or_default();
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());
        prop_assert!(proof.len() <= 64 - (size.leading_zeros() as usize) + 1);

        let other = leaf_hash(b"not in the log");
        prop_assert!(verify_inclusion(index, size, &other, &proof, &root).is_err());
        if size > 1 {
            prop_assert!(verify_inclusion((index + 1) % size, size, &leaf, &proof, &root).is_err());
            let mut bad = proof.clone();
            let k = flip as usize % bad.len();
            bad[k].0[flip as usize % 32] ^= 1 << (flip % 8);
            prop_assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_detect_forks(n in 2u64..600, a in any::<u64>(), b in any::<u64>(), flip in any::<u8>()) {
        let tree = tree_of(n);
        let new = 2 + a % (n - 1);
        let old = 1 + b % new;
        let (old_root, new_root) = (tree.root_at(old).unwrap_or_default(), tree.root_at(new).unwrap_or_default());
        let proof = tree.consistency_proof(old, new).unwrap_or_default();
        prop_assert!(verify_consistency(old, new, &proof, &old_root, &new_root).is_ok());

        // A fork: same sizes, one different leaf before `old`.
        let mut leaves = tree.leaves()[..new as usize].to_vec();
        let k = (flip as u64 % old) as usize;
        leaves[k] = leaf_hash(b"rewritten history");
        let forked = MerkleTree::from_leaf_hashes(leaves);
        let forked_root = forked.root_at(new).unwrap_or_default();
        let forked_proof = forked.consistency_proof(old, new).unwrap_or_default();
        prop_assert!(verify_consistency(old, new, &forked_proof, &old_root, &forked_root).is_err());
        if old < new {
            let mut bad = proof.clone();
            let j = flip as usize % bad.len();
            bad[j].0[0] ^= 0x80;
            prop_assert!(verify_consistency(old, new, &bad, &old_root, &new_root).is_err());
        }
    }

    #[test]
    fn root_after_predicts_the_root(n in 0u64..300, extra in 0u64..70) {
        let mut tree = tree_of(n);
        let more: Vec<Hash> = (0..extra).map(|i| leaf_hash(&(1_000_000 + i).to_le_bytes())).collect();
        let predicted = tree.root_after(&more);
        for h in &more {
            tree.push(*h);
        }
        prop_assert_eq!(predicted, tree.root());
        prop_assert_eq!(MerkleTree::from_leaf_hashes(tree.leaves().to_vec()).root(), tree.root());
    }
}
