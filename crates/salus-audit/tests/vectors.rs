//! Known-answer tests: the RFC 6962 reference tree, every transparency-dev/merkle
//! inclusion and consistency vector (must-fail cases included), and real
//! Certificate Transparency responses from Google's Argon2020 log.
//! Sources and licences: tests/data/PROVENANCE.txt.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use salus_audit::proof::{verify_consistency_bytes, verify_inclusion_bytes};
use salus_audit::{Hash, MerkleTree, leaf_hash, verify_consistency, verify_inclusion};
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
}

fn b64(v: &Value) -> Vec<u8> {
    BASE64
        .decode(v.as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("bad base64 {v}: {e}"))
}

fn b64_list(v: &Value) -> Vec<Vec<u8>> {
    v.as_array()
        .map(|a| a.iter().map(b64).collect())
        .unwrap_or_default()
}

fn hex32(text: &str) -> Hash {
    Hash::from_hex(text).unwrap_or_else(|| panic!("bad hex {text}"))
}

fn reference() -> (Vec<Vec<u8>>, Value) {
    let v = read_json(&data_dir().join("rfc6962_reference_tree.json"));
    let leaves = v["leaf_inputs_hex"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| hex::decode(x.as_str().unwrap_or_default()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    (leaves, v)
}

fn reference_tree() -> MerkleTree {
    let (leaves, _) = reference();
    let mut tree = MerkleTree::new();
    for leaf in &leaves {
        tree.push_data(leaf);
    }
    tree
}

#[test]
fn rfc6962_reference_roots_and_node_hashes() {
    let (leaves, v) = reference();
    let tree = reference_tree();
    let roots = v["root_hashes_by_size_0_to_8"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // Despite the key name, the list holds the roots of sizes 1..=8 (Go's RootHashes()).
    assert_eq!(roots.len(), 8);
    for (i, root) in roots.iter().enumerate() {
        let size = i as u64 + 1;
        assert_eq!(
            tree.root_at(size).ok(),
            Some(hex32(root.as_str().unwrap_or_default())),
            "size {size}"
        );
    }
    assert_eq!(tree.root_at(0).ok(), Some(salus_audit::empty_root()));
    // Level 0 are the leaf hashes; each level above hashes complete pairs.
    let levels = v["node_hashes_by_level"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, h) in levels[0].as_array().into_iter().flatten().enumerate() {
        assert_eq!(leaf_hash(&leaves[i]), hex32(h.as_str().unwrap_or_default()));
    }
    for (level, row) in levels.iter().enumerate() {
        for (i, h) in row.as_array().into_iter().flatten().enumerate() {
            let width = 1u64 << level;
            let sub = MerkleTree::from_leaf_hashes(
                tree.leaves()[(i as u64 * width) as usize..((i as u64 + 1) * width) as usize]
                    .to_vec(),
            );
            assert_eq!(
                sub.root(),
                hex32(h.as_str().unwrap_or_default()),
                "level {level} node {i}"
            );
        }
    }
}

/// Runs every vector file under `kind`; returns (cases, must-fail cases).
fn run_vectors(kind: &str, check: impl Fn(&Value) -> bool) -> (usize, usize) {
    let mut files = Vec::new();
    json_files(
        &data_dir().join("transparency-dev-merkle").join(kind),
        &mut files,
    );
    let mut must_fail = 0;
    for path in &files {
        let case = read_json(path);
        let want_err = case["wantErr"].as_bool().unwrap_or(false);
        must_fail += usize::from(want_err);
        let accepted = check(&case);
        assert_eq!(accepted, !want_err, "{}: {}", path.display(), case["desc"]);
    }
    (files.len(), must_fail)
}

#[test]
fn transparency_dev_inclusion_vectors() {
    let (cases, must_fail) = run_vectors("inclusion", |c| {
        verify_inclusion_bytes(
            c["leafIdx"].as_u64().unwrap_or(u64::MAX),
            c["treeSize"].as_u64().unwrap_or(0),
            &b64(&c["leafHash"]),
            &b64_list(&c["proof"]),
            &b64(&c["root"]),
        )
        .is_ok()
    });
    assert_eq!(cases, 98);
    assert!(must_fail >= 90, "only {must_fail} must-fail cases ran");
}

#[test]
fn transparency_dev_consistency_vectors() {
    let (cases, must_fail) = run_vectors("consistency", |c| {
        verify_consistency_bytes(
            c["size1"].as_u64().unwrap_or(u64::MAX),
            c["size2"].as_u64().unwrap_or(0),
            &b64_list(&c["proof"]),
            &b64(&c["root1"]),
            &b64(&c["root2"]),
        )
        .is_ok()
    });
    assert_eq!(cases, 98);
    assert!(must_fail >= 90, "only {must_fail} must-fail cases ran");
}

/// Our generator must produce exactly the published proofs for the happy paths
/// (all of them are over the 8-leaf reference tree).
#[test]
fn generated_proofs_equal_published_happy_paths() {
    let tree = reference_tree();
    let mut checked = 0;
    for kind in ["inclusion", "consistency"] {
        let mut files = Vec::new();
        json_files(
            &data_dir().join("transparency-dev-merkle").join(kind),
            &mut files,
        );
        for path in files.iter().filter(|p| p.ends_with("happy-path.json")) {
            let c = read_json(path);
            let published: Vec<Hash> = b64_list(&c["proof"])
                .iter()
                .filter_map(|b| Hash::from_slice(b))
                .collect();
            let generated = if kind == "inclusion" {
                tree.inclusion_proof(
                    c["leafIdx"].as_u64().unwrap_or(0),
                    c["treeSize"].as_u64().unwrap_or(0),
                )
            } else {
                tree.consistency_proof(
                    c["size1"].as_u64().unwrap_or(0),
                    c["size2"].as_u64().unwrap_or(0),
                )
            };
            assert_eq!(generated.ok(), Some(published), "{}", path.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 10);
}

struct Argon {
    size: u64,
    root: Hash,
    leaf_input: Vec<u8>,
    leaf_index: u64,
    audit_path: Vec<Hash>,
    consistency: Vec<Hash>,
}

fn argon() -> Argon {
    let dir = data_dir().join("argon2020");
    let sth = read_json(&dir.join("sth.json"));
    let entries = read_json(&dir.join("entries.json"));
    let proof = read_json(&dir.join("proof.json"));
    let consistency = read_json(&dir.join("consistency.json"));
    let hashes = |v: &Value| -> Vec<Hash> {
        b64_list(v)
            .iter()
            .filter_map(|b| Hash::from_slice(b))
            .collect()
    };
    Argon {
        size: sth["tree_size"].as_u64().unwrap_or(0),
        root: Hash::from_slice(&b64(&sth["sha256_root_hash"])).unwrap_or_default(),
        leaf_input: b64(&entries["entries"][0]["leaf_input"]),
        leaf_index: proof["leaf_index"].as_u64().unwrap_or(0),
        audit_path: hashes(&proof["audit_path"]),
        consistency: hashes(&consistency["consistency"]),
    }
}

#[test]
fn real_certificate_transparency_inclusion_proof() {
    let a = argon();
    assert_eq!(
        (a.size, a.leaf_index, a.audit_path.len()),
        (961_984_011, 10_000, 30)
    );
    let leaf = leaf_hash(&a.leaf_input);
    // The file name of the get-proof-by-hash response carries the hash that was asked for.
    assert_eq!(
        leaf.to_base64(),
        "nCs3mfIydh9x4CKyQ+u2xtmpxmFggA5MLymHwNQSlLg="
    );
    verify_inclusion(a.leaf_index, a.size, &leaf, &a.audit_path, &a.root)
        .unwrap_or_else(|e| panic!("{e}"));
    // One flipped bit in the certificate entry, or the wrong index, must fail.
    let mut tampered = a.leaf_input.clone();
    tampered[100] ^= 1;
    assert!(
        verify_inclusion(
            a.leaf_index,
            a.size,
            &leaf_hash(&tampered),
            &a.audit_path,
            &a.root
        )
        .is_err()
    );
    assert!(verify_inclusion(a.leaf_index + 1, a.size, &leaf, &a.audit_path, &a.root).is_err());
}

#[test]
fn real_certificate_transparency_consistency_proof() {
    let a = argon();
    // Root of the size-3654490 tree, as published in golang.org/x/mod sumdb/tlog/ct_test.go.
    let old_root =
        Hash::from_base64("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=").unwrap_or_default();
    verify_consistency(3_654_490, a.size, &a.consistency, &old_root, &a.root)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(verify_consistency(3_654_491, a.size, &a.consistency, &old_root, &a.root).is_err());
    let mut bad = a.consistency.clone();
    bad[5].0[0] ^= 0x10;
    assert!(verify_consistency(3_654_490, a.size, &bad, &old_root, &a.root).is_err());
}
