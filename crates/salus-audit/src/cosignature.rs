//! C2SP `tlog-cosignature` (Ed25519, `cosignature/v1`): a witness's statement
//! that, as of a timestamp, the checkpoint is the largest consistent tree head it
//! has seen for the log.
//!
//! Signature bytes are `u64 big-endian timestamp || Ed25519 signature`, key type
//! `0x04`; the signed message is `cosignature/v1\ntime <ts>\n` followed by the
//! whole checkpoint body.

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::error::AuditError;
use crate::note::{NoteSignature, NoteSigner, NoteVerifier, SignatureKind, check_note_text};

/// Cosignature timestamps must not exceed 2^63 - 1.
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The exact bytes a witness signs for `checkpoint_body` at `timestamp`.
pub fn cosigned_message(checkpoint_body: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}").into_bytes()
}

/// A witness's cosignature on one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// Witness key name (e.g. the node's id).
    pub name: String,
    /// Key ID (type `0x04`).
    pub key_id: u32,
    /// POSIX seconds at which it was made.
    pub timestamp: u64,
    /// Ed25519 signature over [`cosigned_message`].
    pub signature: [u8; 64],
}

impl Cosignature {
    /// As a note signature (to append to the checkpoint note).
    pub fn to_note_signature(&self) -> NoteSignature {
        let mut bytes = self.timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.signature);
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            bytes,
        }
    }

    /// The signature line `— name base64(...)\n`.
    pub fn to_line(&self) -> String {
        self.to_note_signature().to_line()
    }

    /// Reads a cosignature from a note signature line (syntax only).
    pub fn from_note_signature(sig: &NoteSignature) -> Result<Cosignature, AuditError> {
        let (timestamp, signature) = split_cosignature(&sig.bytes)
            .ok_or_else(|| AuditError::MalformedNote("a cosignature is 8 + 64 bytes".into()))?;
        Ok(Cosignature {
            name: sig.name.clone(),
            key_id: sig.key_id,
            timestamp,
            signature,
        })
    }
}

fn split_cosignature(bytes: &[u8]) -> Option<(u64, [u8; 64])> {
    if bytes.len() != 72 {
        return None;
    }
    let timestamp = u64::from_be_bytes(bytes[..8].try_into().ok()?);
    let signature = bytes[8..].try_into().ok()?;
    Some((timestamp, signature))
}

/// Checks cosignature bytes by `key` over `checkpoint_body`; returns the timestamp.
pub(crate) fn verify_cosignature_bytes(
    key: &NoteVerifier,
    checkpoint_body: &str,
    bytes: &[u8],
) -> Option<u64> {
    let (timestamp, signature) = split_cosignature(bytes)?;
    if timestamp > MAX_TIMESTAMP {
        return None;
    }
    key.verify_raw(&cosigned_message(checkpoint_body, timestamp), &signature)
        .then_some(timestamp)
}

/// A witness's cosigning key (a node's enrolled Ed25519 identity key).
#[derive(Debug)]
pub struct WitnessSigner {
    signer: NoteSigner,
}

impl WitnessSigner {
    /// A cosigner named `name` (a valid key name, e.g. `salus-node/hospital-a`).
    pub fn new(name: &str, key: SigningKey) -> Result<WitnessSigner, AuditError> {
        Ok(WitnessSigner {
            signer: NoteSigner::new(name, key, SignatureKind::CosignatureV1)?,
        })
    }

    /// Key name.
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// The public side, to enroll at the hub and list in exports.
    pub fn witness_key(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// Cosigns a checkpoint body at `timestamp` (POSIX seconds).
    pub fn cosign(&self, checkpoint_body: &str, timestamp: u64) -> Result<Cosignature, AuditError> {
        check_note_text(checkpoint_body)?;
        if timestamp > MAX_TIMESTAMP {
            return Err(AuditError::MalformedNote(
                "cosignature timestamp exceeds 2^63-1".into(),
            ));
        }
        let sig = self
            .signer
            .sign_message(&cosigned_message(checkpoint_body, timestamp), &[]);
        let signature: [u8; 64] = sig
            .bytes
            .as_slice()
            .try_into()
            .map_err(|_| AuditError::MalformedNote("unexpected signature length".into()))?;
        Ok(Cosignature {
            name: sig.name,
            key_id: sig.key_id,
            timestamp,
            signature,
        })
    }
}

/// The verifier key of a witness from its name and Ed25519 identity key.
pub fn witness_key(name: &str, key: VerifyingKey) -> Result<NoteVerifier, AuditError> {
    NoteVerifier::new(name, key, SignatureKind::CosignatureV1)
}

/// Verifies `cosignature` by `witness` on `checkpoint_body`.
pub fn verify_cosignature(
    witness: &NoteVerifier,
    checkpoint_body: &str,
    cosignature: &Cosignature,
) -> Result<(), AuditError> {
    if witness.kind() != SignatureKind::CosignatureV1 {
        return Err(AuditError::MalformedKey(
            "not a witness (cosignature/v1) key".into(),
        ));
    }
    witness
        .verify_signature(checkpoint_body, &cosignature.to_note_signature())
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> WitnessSigner {
        WitnessSigner::new("witness.example.com/w1", SigningKey::from_bytes(&[7; 32]))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    const BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn signed_message_layout_follows_the_spec() {
        let msg = cosigned_message(BODY, 1_679_315_147);
        assert_eq!(
            String::from_utf8_lossy(&msg),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn cosignature_round_trip_and_tamper() -> Result<(), AuditError> {
        let w = signer();
        let cosig = w.cosign(BODY, 1_700_000_000)?;
        let key = w.witness_key();
        verify_cosignature(&key, BODY, &cosig)?;
        let parsed = Cosignature::from_note_signature(&cosig.to_note_signature())?;
        assert_eq!(parsed, cosig);
        // Changing the timestamp, the body or using a plain Ed25519 key must fail.
        let mut later = cosig.clone();
        later.timestamp += 1;
        assert!(verify_cosignature(&key, BODY, &later).is_err());
        assert!(verify_cosignature(&key, &BODY.replace("20852163", "20852164"), &cosig).is_err());
        let plain = NoteVerifier::new(key.name(), *key.public_key(), SignatureKind::Ed25519)?;
        assert!(verify_cosignature(&plain, BODY, &cosig).is_err());
        assert_ne!(plain.key_id(), key.key_id());
        Ok(())
    }
}
