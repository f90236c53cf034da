//! The researcher's side of threshold HE: key pairs as text, and opening the encrypted sum
//! a threshold-HE session produced.
//!
//! **Key strings.** Both keys are standard base64 (with padding) of a versioned salus-he
//! blob (magic `SLHE`, format version, kind, parameter set): the public key goes into the
//! study (`SessionParams.researcher_key`); the secret key stays with the researcher and
//! should be stored encrypted. Surrounding whitespace is ignored.
//!
//! **Encrypted-sum blob** (`EncryptedAggregate.ciphertext`): a JSON object
//! `{"format": "salus-protect/encrypted-sum", "version": 1, "session_id", "layout",
//! "researcher_key_id", "contributors", "noise", "ciphertext"}` where `ciphertext` is the
//! base64 salus-he ciphertext of the summed limbs under the researcher's key, `layout` the
//! public layout needed to decode it, and `noise` the DP record (or null).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::{CryptoRng, Rng};
use salus_he::{Ciphertext, Params, ResearcherKey, ResearcherPublicKey};
use salus_study::layout::Layout;
use serde::{Deserialize, Serialize};

use crate::common::hex32;
use crate::encoding::{LayoutCodec, he_decode};
use crate::error::ProtectError;

/// The `format` field of an encrypted-sum blob.
pub const ENCRYPTED_SUM_FORMAT: &str = "salus-protect/encrypted-sum";
/// The version this build writes and reads.
pub const ENCRYPTED_SUM_VERSION: u32 = 1;

/// Researcher key pairs for threshold HE, as text.
#[derive(Debug, Clone, Copy)]
pub struct ResearcherKeys;

impl ResearcherKeys {
    /// A fresh key pair: `(secret, public)`, both base64 text (see the module docs).
    pub fn generate<R: Rng + CryptoRng>(rng: &mut R) -> Result<(String, String), ProtectError> {
        let key = ResearcherKey::generate(&Params::standard(), rng)?;
        let secret = STANDARD.encode(key.to_secret_bytes().as_slice());
        let public = STANDARD.encode(key.public_key().to_bytes());
        Ok((secret, public))
    }

    /// The public key string belonging to a secret key string.
    pub fn public_from_secret(secret: &str) -> Result<String, ProtectError> {
        let key = parse_researcher_secret(secret)?;
        Ok(STANDARD.encode(key.public_key().to_bytes()))
    }

    /// The hex key id of a public key string (what an encrypted sum names as its key).
    pub fn key_id(public: &str) -> Result<String, ProtectError> {
        Ok(parse_researcher_public(public)?.key_id().to_string())
    }
}

fn decode_base64(text: &str, what: &str) -> Result<Vec<u8>, ProtectError> {
    STANDARD
        .decode(text.trim().as_bytes())
        .map_err(|_| ProtectError::ResearcherKey(format!("the {what} is not base64 text")))
}

/// Parses a researcher public key string.
pub(crate) fn parse_researcher_public(text: &str) -> Result<ResearcherPublicKey, ProtectError> {
    let bytes = decode_base64(text, "researcher public key")?;
    ResearcherPublicKey::from_bytes(&bytes).map_err(|e| {
        ProtectError::ResearcherKey(format!("cannot read the researcher public key: {e}"))
    })
}

fn parse_researcher_secret(text: &str) -> Result<ResearcherKey, ProtectError> {
    let bytes = zeroize::Zeroizing::new(decode_base64(text, "researcher secret key")?);
    ResearcherKey::from_secret_bytes(&bytes).map_err(|e| {
        ProtectError::ResearcherKey(format!("cannot read the researcher secret key: {e}"))
    })
}

/// The serialized outcome of a threshold-HE session (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncryptedSum {
    /// Always [`ENCRYPTED_SUM_FORMAT`].
    pub format: String,
    /// Always [`ENCRYPTED_SUM_VERSION`] for blobs this build writes.
    pub version: u32,
    /// The session (study/round/attempt) that produced it.
    pub session_id: String,
    /// The public layout of the summed vector.
    pub layout: Layout,
    /// Hex id of the researcher key it is encrypted to.
    pub researcher_key_id: String,
    /// Node ids whose contributions are in the sum.
    pub contributors: Vec<String>,
    /// The DP noise record, if the counts carry noise.
    pub noise: Option<serde_json::Value>,
    /// The summed limbs under the researcher's key.
    pub ciphertext: Ciphertext,
}

impl EncryptedSum {
    pub(crate) fn new(
        session_id: &str,
        layout: Layout,
        contributors: Vec<String>,
        noise: Option<serde_json::Value>,
        ciphertext: Ciphertext,
    ) -> Self {
        Self {
            format: ENCRYPTED_SUM_FORMAT.into(),
            version: ENCRYPTED_SUM_VERSION,
            session_id: session_id.into(),
            layout,
            researcher_key_id: hex32(&ciphertext.key_id().0),
            contributors,
            noise,
            ciphertext,
        }
    }

    /// The blob as JSON text.
    pub fn to_text(&self) -> Result<String, ProtectError> {
        serde_json::to_string(self)
            .map_err(|e| ProtectError::EncryptedSum(format!("cannot serialize: {e}")))
    }

    /// Reads a blob (without decrypting), refusing other formats and versions.
    pub fn from_text(text: &str) -> Result<Self, ProtectError> {
        #[derive(Deserialize)]
        struct Header {
            format: String,
            version: u32,
        }
        let header: Header = serde_json::from_str(text).map_err(|_| {
            ProtectError::EncryptedSum(
                "not an encrypted-sum blob (expected a JSON object with `format` and `version`)"
                    .into(),
            )
        })?;
        if header.format != ENCRYPTED_SUM_FORMAT {
            return Err(ProtectError::EncryptedSum(format!(
                "format `{}` is not `{ENCRYPTED_SUM_FORMAT}`",
                header.format
            )));
        }
        if header.version != ENCRYPTED_SUM_VERSION {
            return Err(ProtectError::EncryptedSum(format!(
                "version {} is not supported (this build reads version {ENCRYPTED_SUM_VERSION}); use a matching Salus release",
                header.version
            )));
        }
        serde_json::from_str(text)
            .map_err(|e| ProtectError::EncryptedSum(format!("malformed blob: {e}")))
    }

    /// Decrypts with the researcher's secret key string; the sum in layout order.
    pub fn decrypt(&self, researcher_secret: &str) -> Result<Vec<f64>, ProtectError> {
        let key = parse_researcher_secret(researcher_secret)?;
        if key.public_key().key_id() != self.ciphertext.key_id() {
            return Err(ProtectError::EncryptedSum(
                "this sum is encrypted to another researcher key; use the secret key whose public key the study named".into(),
            ));
        }
        let limbs = key.decrypt_i64s(&self.ciphertext)?;
        let codec = LayoutCodec::new(&self.layout, self.contributors.len().max(1))?;
        he_decode(&codec, &limbs)
    }
}

/// Decrypts the blob of a threshold-HE session with the researcher's secret key string:
/// the element-wise sum in layout order (counts exact, reals to 2^-40 per contribution).
pub fn decrypt_encrypted_sum(
    researcher_secret: &str,
    blob: &str,
) -> Result<Vec<f64>, ProtectError> {
    EncryptedSum::from_text(blob)?.decrypt(researcher_secret)
}
