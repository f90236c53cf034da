//! Versioned binary format shared by every key, share and ciphertext.
//!
//! Every blob starts with a 7-byte header:
//! `b"SLHE"`, format version ([`FORMAT_VERSION`]), blob kind, parameter-set id.
//! A blob from another version, of another kind or for other parameters is refused
//! before anything else is parsed. Integers are little-endian; lengths are checked
//! against the remaining bytes and trailing bytes are an error.

use sha2::{Digest, Sha256};

use crate::error::{HeError, Result};
use crate::params::{ParamSet, Params};

/// Magic bytes at the start of every blob.
pub const MAGIC: [u8; 4] = *b"SLHE";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u8 = 1;

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobKind {
    /// [`crate::Crs`].
    Crs = 1,
    /// [`crate::PublicKeyShare`].
    PublicKeyShare = 2,
    /// [`crate::CollectivePublicKey`].
    CollectivePublicKey = 3,
    /// [`crate::Ciphertext`].
    Ciphertext = 4,
    /// [`crate::DecryptionShare`].
    DecryptionShare = 5,
    /// [`crate::KeySwitchShare`].
    KeySwitchShare = 6,
    /// [`crate::ResearcherPublicKey`].
    ResearcherPublicKey = 7,
    /// [`crate::ResearcherKey`] (secret).
    ResearcherKey = 8,
    /// [`crate::Party`] (secret).
    PartySecret = 9,
    /// [`crate::inference::EncryptedFeatures`].
    EncryptedFeatures = 10,
    /// [`crate::inference::EncryptedScores`].
    EncryptedScores = 11,
}

impl BlobKind {
    fn name(self) -> &'static str {
        match self {
            BlobKind::Crs => "CRS",
            BlobKind::PublicKeyShare => "public key share",
            BlobKind::CollectivePublicKey => "collective public key",
            BlobKind::Ciphertext => "ciphertext",
            BlobKind::DecryptionShare => "decryption share",
            BlobKind::KeySwitchShare => "key-switch share",
            BlobKind::ResearcherPublicKey => "researcher public key",
            BlobKind::ResearcherKey => "researcher secret key",
            BlobKind::PartySecret => "party secret",
            BlobKind::EncryptedFeatures => "encrypted features",
            BlobKind::EncryptedScores => "encrypted scores",
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        use BlobKind::*;
        [
            Crs,
            PublicKeyShare,
            CollectivePublicKey,
            Ciphertext,
            DecryptionShare,
            KeySwitchShare,
            ResearcherPublicKey,
            ResearcherKey,
            PartySecret,
            EncryptedFeatures,
            EncryptedScores,
        ]
        .into_iter()
        .find(|k| *k as u8 == b)
    }
}

/// Appends fields to a blob.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A writer that starts with the header for `kind` under `params`.
    pub(crate) fn with_header(kind: BlobKind, params: &Params) -> Self {
        let mut w = Self::new();
        w.put_raw(&MAGIC);
        w.put_u8(FORMAT_VERSION);
        w.put_u8(kind as u8);
        w.put_u8(params.set().id());
        w
    }

    pub(crate) fn put_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
    /// Appends `len` zero bytes and returns them for the caller to fill in place.
    pub(crate) fn reserve_raw(&mut self, len: usize) -> &mut [u8] {
        let start = self.buf.len();
        self.buf.resize(start + len, 0);
        &mut self.buf[start..]
    }
    pub(crate) fn put_u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn put_u128(&mut self, v: u128) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields from a blob, refusing truncation.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Opens a blob: checks magic, version and kind, and returns its parameters.
    pub(crate) fn open(bytes: &'a [u8], kind: BlobKind) -> Result<(Self, Params)> {
        let mut r = Self::new(bytes);
        if r.get_raw(4).map_err(|_| HeError::NotSalusHe)? != MAGIC {
            return Err(HeError::NotSalusHe);
        }
        let version = r.get_u8()?;
        if version != FORMAT_VERSION {
            return Err(HeError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let found = r.get_u8()?;
        if found != kind as u8 {
            return Err(HeError::WrongBlobKind {
                expected: kind.name(),
                found: BlobKind::from_byte(found).map_or("unknown", BlobKind::name),
            });
        }
        let set = ParamSet::from_id(r.get_u8()?)?;
        Ok((r, Params::from_set(set)))
    }

    pub(crate) fn get_raw(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(HeError::Malformed("truncated"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    pub(crate) fn get_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.get_raw(N)?);
        Ok(out)
    }
    pub(crate) fn get_u8(&mut self) -> Result<u8> {
        Ok(self.get_array::<1>()?[0])
    }
    pub(crate) fn get_u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.get_array()?))
    }
    pub(crate) fn get_u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.get_array()?))
    }
    pub(crate) fn get_u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.get_array()?))
    }

    /// A count that must not exceed `max` (guards allocations from hostile input).
    pub(crate) fn get_count(&mut self, max: usize) -> Result<usize> {
        let n = self.get_u32()? as usize;
        if n > max {
            return Err(HeError::Malformed("count out of range"));
        }
        Ok(n)
    }

    /// Fails if bytes are left over.
    pub(crate) fn finish(self) -> Result<()> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(HeError::Malformed("trailing bytes"))
        }
    }
}

/// SHA-256 with a domain-separation label.
pub(crate) fn digest(label: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((label.len() as u32).to_le_bytes());
    h.update(label.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Lowercase hex of a digest, for display.
pub(crate) fn hex32(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Implements serde for a blob type through its `to_bytes` / `from_bytes`:
/// base64 text in human-readable formats (JSON), raw bytes otherwise.
macro_rules! serde_as_blob {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                let bytes = self.to_bytes();
                if s.is_human_readable() {
                    use base64::Engine as _;
                    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
                } else {
                    s.serialize_bytes(&bytes)
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                let bytes = $crate::wire::blob_bytes(d)?;
                <$t>::from_bytes(&bytes).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_blob;

/// Reads the bytes of a blob from base64 text or a byte string.
pub(crate) fn blob_bytes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<u8>, D::Error> {
    use base64::Engine as _;
    if d.is_human_readable() {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    } else {
        <Vec<u8> as serde::Deserialize>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u8, kind: u8, set: u8) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend([version, kind, set]);
        v
    }

    #[test]
    fn headers_are_checked_in_order() {
        assert_eq!(
            Reader::open(b"nope", BlobKind::Crs).err(),
            Some(HeError::NotSalusHe)
        );
        assert_eq!(
            Reader::open(&header(2, 1, 1), BlobKind::Crs).err(),
            Some(HeError::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        );
        assert_eq!(
            Reader::open(&header(1, 4, 1), BlobKind::Crs).err(),
            Some(HeError::WrongBlobKind {
                expected: "CRS",
                found: "ciphertext"
            })
        );
        assert_eq!(
            Reader::open(&header(1, 1, 7), BlobKind::Crs).err(),
            Some(HeError::UnknownParamSet(7))
        );
        assert!(Reader::open(&header(1, 1, 1), BlobKind::Crs).is_ok());
    }

    #[test]
    fn truncation_and_trailing_bytes_are_refused() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.get_u32().err(), Some(HeError::Malformed("truncated")));
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.get_u8().ok(), Some(1));
        assert_eq!(r.finish().err(), Some(HeError::Malformed("trailing bytes")));
    }
}
