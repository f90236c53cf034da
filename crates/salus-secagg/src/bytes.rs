//! Compact serde forms for binary payloads: fixed-size byte arrays and vectors of ring
//! elements travel as base64 strings in JSON (a u64 vector costs 10.7 bytes per element as
//! base64 instead of ~20 as decimal numbers).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `N` bytes, serialised as base64.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> std::fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes<{N}>({})", STANDARD.encode(self.0))
    }
}

impl<const N: usize> Serialize for Bytes<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(self.0))
    }
}

impl<'de, const N: usize> Deserialize<'de> for Bytes<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let raw = STANDARD.decode(text.as_bytes()).map_err(D::Error::custom)?;
        let array: [u8; N] = raw.try_into().map_err(|v: Vec<u8>| {
            D::Error::custom(format!("expected {N} bytes, got {}", v.len()))
        })?;
        Ok(Self(array))
    }
}

/// A byte string of any length, serialised as base64.
#[derive(Clone, PartialEq, Eq)]
pub struct ByteString(pub Vec<u8>);

impl std::fmt::Debug for ByteString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ByteString({} bytes)", self.0.len())
    }
}

impl Serialize for ByteString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for ByteString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Self)
            .map_err(D::Error::custom)
    }
}

/// A vector of ring elements (Z_2^64), serialised as base64 of little-endian bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct RingVector(pub Vec<u64>);

impl std::fmt::Debug for RingVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Masked vectors are not secret, but there is no reason to print megabytes.
        write!(f, "RingVector({} elements)", self.0.len())
    }
}

impl Serialize for RingVector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut raw = Vec::with_capacity(self.0.len() * 8);
        for value in &self.0 {
            raw.extend_from_slice(&value.to_le_bytes());
        }
        serializer.serialize_str(&STANDARD.encode(raw))
    }
}

impl<'de> Deserialize<'de> for RingVector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let raw = STANDARD.decode(text.as_bytes()).map_err(D::Error::custom)?;
        if !raw.len().is_multiple_of(8) {
            return Err(D::Error::custom(
                "ring vector byte length is not a multiple of 8",
            ));
        }
        let values = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        Ok(Self(values))
    }
}
