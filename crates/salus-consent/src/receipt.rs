//! Signed consent receipts: for each change the node issues a receipt (record,
//! sequence number, hash of the previous receipt) signed with its Ed25519 key.
//! The receipt's hash goes into the audit log, so an inclusion proof later shows
//! what the consent state was at a time; the chain shows none was dropped.
//!
//! Encoding: the body is compact JSON in a fixed field order; the signature is
//! Ed25519 over `salus-consent-receipt/v1\n` followed by that body; the receipt
//! hash is SHA-256 over the compact JSON of the whole receipt (body and
//! signature). Unknown fields are rejected, so a receipt cannot carry unsigned extras.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ConsentError;
use crate::model::ConsentRecord;

/// Receipt format identifier (also the signature's domain separator).
pub const RECEIPT_FORMAT: &str = "salus-consent-receipt/v1";

/// What the node signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// [`RECEIPT_FORMAT`].
    pub format: String,
    /// Issuing node.
    pub issuer: String,
    /// Issuer's Ed25519 public key (hex).
    pub issuer_key: String,
    /// Position in the node's receipt chain, from 0.
    pub sequence: u64,
    /// Hex hash of the previous receipt (64 zeros for the first).
    pub previous: String,
    /// POSIX seconds of issue.
    pub issued_at: i64,
    /// The consent record this receipt is for.
    pub record: ConsentRecord,
}

/// A signed receipt (give it to the patient; log its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentReceipt {
    /// The signed content.
    pub body: ReceiptBody,
    /// Hex Ed25519 signature.
    pub signature: String,
}

fn canonical<T: Serialize>(value: &T) -> Result<Vec<u8>, ConsentError> {
    serde_json::to_vec(value).map_err(|e| ConsentError::MalformedReceipt(e.to_string()))
}

fn signed_message(body: &ReceiptBody) -> Result<Vec<u8>, ConsentError> {
    let mut message = format!("{RECEIPT_FORMAT}\n").into_bytes();
    message.extend(canonical(body)?);
    Ok(message)
}

impl ConsentReceipt {
    /// SHA-256 of the receipt: what goes into the audit log.
    pub fn hash(&self) -> Result<[u8; 32], ConsentError> {
        Ok(Sha256::digest(canonical(self)?).into())
    }

    /// The receipt as JSON (the file given to the patient).
    pub fn to_json(&self) -> Result<String, ConsentError> {
        serde_json::to_string_pretty(self)
            .map_err(|e| ConsentError::MalformedReceipt(e.to_string()))
    }

    /// Parses a receipt file.
    pub fn from_json(text: &str) -> Result<ConsentReceipt, ConsentError> {
        serde_json::from_str(text).map_err(|e| {
            ConsentError::MalformedReceipt(format!(
                "JSON error at line {}, column {}",
                e.line(),
                e.column()
            ))
        })
    }
}

/// Where a node's receipt chain stands (persist it with the records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    /// Sequence number of the next receipt.
    pub next_sequence: u64,
    /// Hex hash of the last receipt (64 zeros before the first).
    pub previous: String,
}

impl Default for ChainState {
    fn default() -> Self {
        ChainState {
            next_sequence: 0,
            previous: hex::encode([0u8; 32]),
        }
    }
}

/// Issues receipts for one node.
pub struct ReceiptIssuer {
    issuer: String,
    key: SigningKey,
    state: ChainState,
}

impl std::fmt::Debug for ReceiptIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptIssuer")
            .field("issuer", &self.issuer)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ReceiptIssuer {
    /// Starts (or resumes, with the persisted [`ChainState`]) a node's receipt chain.
    pub fn new(issuer: &str, key: SigningKey, state: ChainState) -> ReceiptIssuer {
        ReceiptIssuer {
            issuer: issuer.to_owned(),
            key,
            state,
        }
    }

    /// The chain position to persist after each receipt.
    pub fn state(&self) -> &ChainState {
        &self.state
    }

    /// Signs a receipt for `record` and advances the chain.
    pub fn issue(
        &mut self,
        record: &ConsentRecord,
        issued_at: i64,
    ) -> Result<ConsentReceipt, ConsentError> {
        record.validate()?;
        let body = ReceiptBody {
            format: RECEIPT_FORMAT.to_owned(),
            issuer: self.issuer.clone(),
            issuer_key: hex::encode(self.key.verifying_key().as_bytes()),
            sequence: self.state.next_sequence,
            previous: self.state.previous.clone(),
            issued_at,
            record: record.clone(),
        };
        let signature: Signature = self.key.sign(&signed_message(&body)?);
        let receipt = ConsentReceipt {
            body,
            signature: hex::encode(signature.to_bytes()),
        };
        self.state = ChainState {
            next_sequence: self.state.next_sequence + 1,
            previous: hex::encode(receipt.hash()?),
        };
        Ok(receipt)
    }
}

/// Checks one receipt's signature by the node key; returns its hash.
pub fn verify_receipt(
    receipt: &ConsentReceipt,
    key: &VerifyingKey,
) -> Result<[u8; 32], ConsentError> {
    let body = &receipt.body;
    let bad = ConsentError::BadReceiptSignature {
        sequence: body.sequence,
    };
    if body.format != RECEIPT_FORMAT {
        return Err(ConsentError::MalformedReceipt(format!(
            "unknown format {:?}",
            body.format
        )));
    }
    if body.issuer_key != hex::encode(key.as_bytes()) {
        return Err(bad);
    }
    let bytes: [u8; 64] = hex::decode(&receipt.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ConsentError::MalformedReceipt("the signature is not 64 bytes of hex".into())
        })?;
    key.verify_strict(&signed_message(body)?, &Signature::from_bytes(&bytes))
        .map_err(|_| bad)?;
    receipt.hash()
}

/// Checks a whole chain from its first receipt: every signature, consecutive
/// sequence numbers, and each `previous` equal to the hash of the receipt before.
pub fn verify_receipt_chain(
    receipts: &[ConsentReceipt],
    key: &VerifyingKey,
) -> Result<(), ConsentError> {
    let mut expected = ChainState::default();
    for receipt in receipts {
        let hash = verify_receipt(receipt, key)?;
        let body = &receipt.body;
        if body.sequence != expected.next_sequence {
            return Err(ConsentError::BrokenChain {
                sequence: body.sequence,
                reason: format!(
                    "expected receipt {} here (missing or reordered receipts)",
                    expected.next_sequence
                ),
            });
        }
        if body.previous != expected.previous {
            return Err(ConsentError::BrokenChain {
                sequence: body.sequence,
                reason: "it does not link to the receipt before it (a receipt was replaced)".into(),
            });
        }
        expected = ChainState {
            next_sequence: body.sequence + 1,
            previous: hex::encode(hash),
        };
    }
    Ok(())
}

fn key_bytes(text: &str) -> Result<[u8; 32], ConsentError> {
    hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ConsentError::BadKey("expected 64 hex digits (32 bytes)".into()))
}

/// Parses an Ed25519 public key written as 64 hex digits.
pub fn public_key_from_hex(text: &str) -> Result<VerifyingKey, ConsentError> {
    VerifyingKey::from_bytes(&key_bytes(text)?)
        .map_err(|_| ConsentError::BadKey("not an Ed25519 public key".into()))
}

/// Parses an Ed25519 secret key (its 32-byte seed) written as 64 hex digits.
pub fn signing_key_from_hex(text: &str) -> Result<SigningKey, ConsentError> {
    Ok(SigningKey::from_bytes(&key_bytes(text)?))
}
