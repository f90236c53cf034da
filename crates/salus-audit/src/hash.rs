//! RFC 9162 (RFC 6962) hashing: SHA-256 with a `0x00` prefix for leaves and a
//! `0x01` prefix for interior nodes, so a leaf can never be passed off as a node.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Length in bytes of every hash in the log.
pub const HASH_LEN: usize = 32;

/// A SHA-256 value: a leaf hash, a node hash or a tree root.
///
/// Serialized as lowercase hex in JSON (readable in exports); checkpoints use
/// base64 as their specification requires ([`Hash::to_base64`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

impl Hash {
    /// Plain SHA-256 of `data` (no RFC 6962 prefix): for content digests in events.
    pub fn sha256(data: &[u8]) -> Hash {
        Hash(Sha256::digest(data).into())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Copies a 32-byte slice; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; HASH_LEN]>::try_from(bytes).ok().map(Hash)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Hash> {
        let bytes = hex::decode(text.trim()).ok()?;
        Hash::from_slice(&bytes)
    }

    /// Standard base64 (RFC 4648 section 4), as in checkpoints and CT responses.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Hash> {
        let bytes = BASE64.decode(text.trim()).ok()?;
        Hash::from_slice(&bytes)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("expected a SHA-256 hash as 64 hex digits"))
    }
}

/// RFC 9162 section 2.1.1: `MTH({d}) = SHA-256(0x00 || d)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// RFC 9162 section 2.1.1: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// Root of the empty tree: `SHA-256()` of nothing.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_prefixes_differ() {
        let a = leaf_hash(b"");
        assert_eq!(
            a.to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let mut concat = vec![0x01];
        concat.extend_from_slice(&a.0);
        concat.extend_from_slice(&a.0);
        assert_ne!(leaf_hash(&concat[1..]), node_hash(&a, &a));
    }

    #[test]
    fn hex_and_base64_round_trip() {
        let h = leaf_hash(b"salus");
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash::from_base64(&h.to_base64()), Some(h));
        assert_eq!(Hash::from_base64("ZG9uJ3QgY2FyZSAy"), None);
        let json = serde_json::to_string(&h).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Hash>(&json).ok(), Some(h));
    }
}
