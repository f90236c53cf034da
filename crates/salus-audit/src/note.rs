//! C2SP `signed-note`: text followed by a blank line and signature lines
//! `— <key name> base64(key ID || signature)`, plus the key encodings
//! (`name+hexid+base64(type || public key)`) and Ed25519 key IDs.
//!
//! Two signature types are used in Salus: `0x01` (plain Ed25519 over the note
//! text, the log's checkpoint signature) and `0x04` (timestamped Ed25519
//! `cosignature/v1`, the witnesses' signature, see [`crate::cosignature`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::AuditError;

/// Verifiers must accept at least 16 signatures; above this many the note is refused.
pub const MAX_SIGNATURES: usize = 100;

/// The em dash (U+2014) that starts every signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// Signature type identifier bytes assigned by the signed-note specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// `0x01`: Ed25519 over the note text (the log's checkpoint signature).
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignature (`cosignature/v1`).
    CosignatureV1,
}

impl SignatureKind {
    /// The type byte that goes into key IDs and verifier keys.
    pub fn type_byte(self) -> u8 {
        match self {
            SignatureKind::Ed25519 => 0x01,
            SignatureKind::CosignatureV1 => 0x04,
        }
    }

    fn from_type_byte(byte: u8) -> Option<SignatureKind> {
        match byte {
            0x01 => Some(SignatureKind::Ed25519),
            0x04 => Some(SignatureKind::CosignatureV1),
            _ => None,
        }
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// 32-bit key ID (first four bytes of the decoded signature).
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub bytes: Vec<u8>,
}

impl NoteSignature {
    /// The line as it appears in a note, newline included.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.bytes.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.bytes);
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(raw))
    }

    fn parse_line(line: &str) -> Result<NoteSignature, AuditError> {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| malformed("a signature line must start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| malformed("a signature line needs a key name and a signature"))?;
        check_key_name(name).map_err(|_| malformed("invalid key name in a signature line"))?;
        let raw = BASE64
            .decode(b64)
            .map_err(|_| malformed("a signature is not valid base64"))?;
        if raw.len() < 5 {
            return Err(malformed("a signature is too short"));
        }
        let key_id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id,
            bytes: raw[4..].to_vec(),
        })
    }
}

/// A note text with its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, final newline included.
    pub text: String,
    /// Signature lines in order.
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Parses a note as received from outside. Checks syntax only: verify with
    /// [`NoteVerifier::verify_note`].
    pub fn parse(bytes: &[u8]) -> Result<SignedNote, AuditError> {
        let text = std::str::from_utf8(bytes).map_err(|_| malformed("not valid UTF-8"))?;
        if text.chars().any(|c| c < ' ' && c != '\n') {
            return Err(malformed("contains a control character"));
        }
        if !text.ends_with('\n') {
            return Err(malformed("does not end with a newline"));
        }
        let split = text
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let body = &text[..=split];
        let sig_block = &text[split + 2..];
        if sig_block.is_empty() {
            return Err(malformed("no signature lines"));
        }
        let mut signatures = Vec::new();
        for line in sig_block[..sig_block.len() - 1].split('\n') {
            signatures.push(NoteSignature::parse_line(line)?);
            if signatures.len() > MAX_SIGNATURES {
                return Err(malformed("too many signatures"));
            }
        }
        Ok(SignedNote {
            text: body.to_owned(),
            signatures,
        })
    }

    /// The note as text: body, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + 120 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out
    }

    /// Adds a signature unless one with the same name and key ID is already there
    /// (it is then replaced: a witness's fresher cosignature wins).
    pub fn add_signature(&mut self, signature: NoteSignature) {
        match self
            .signatures
            .iter_mut()
            .find(|s| s.name == signature.name && s.key_id == signature.key_id)
        {
            Some(existing) => *existing = signature,
            None => self.signatures.push(signature),
        }
    }
}

fn malformed(why: &str) -> AuditError {
    AuditError::MalformedNote(why.to_owned())
}

/// Key names must be non-empty and contain no Unicode space and no `+`.
pub fn check_key_name(name: &str) -> Result<(), AuditError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ')
    {
        return Err(AuditError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// `SHA-256(name || 0x0A || type || public key)[:4]` as a big-endian u32.
pub fn key_id(name: &str, kind: SignatureKind, public_key: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', kind.type_byte()]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A named Ed25519 signing key for one signature kind.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    kind: SignatureKind,
    key_id: u32,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret key.
        write!(f, "NoteSigner({}+{:08x})", self.name, self.key_id)
    }
}

impl NoteSigner {
    /// A signer of the given kind; the name is checked against the note rules.
    pub fn new(name: &str, key: SigningKey, kind: SignatureKind) -> Result<NoteSigner, AuditError> {
        check_key_name(name)?;
        let key_id = key_id(name, kind, key.verifying_key().as_bytes());
        Ok(NoteSigner {
            name: name.to_owned(),
            key,
            kind,
            key_id,
        })
    }

    /// Parses the Go `note` private key format `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`.
    pub fn from_private_key_string(text: &str) -> Result<NoteSigner, AuditError> {
        let bad = || AuditError::MalformedKey("expected PRIVATE+KEY+<name>+<id>+<key>".into());
        let rest = text.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(bad)?;
        let (name, id, material) = split_key(rest).ok_or_else(bad)?;
        let (kind, seed) = decode_material(material)?;
        let signer = NoteSigner::new(name, SigningKey::from_bytes(&seed), kind)?;
        if signer.key_id != id {
            return Err(AuditError::MalformedKey(
                "key ID does not match the key".into(),
            ));
        }
        Ok(signer)
    }

    /// The key in the Go `note` private key format (keep secret).
    pub fn to_private_key_string(&self) -> String {
        let mut material = vec![self.kind.type_byte()];
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(material)
        )
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Signature kind.
    pub fn kind(&self) -> SignatureKind {
        self.kind
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            kind: self.kind,
            key_id: self.key_id,
        }
    }

    /// Raw Ed25519 signature over `message` wrapped as a note signature line.
    pub(crate) fn sign_message(&self, message: &[u8], prefix: &[u8]) -> NoteSignature {
        let signature: Signature = self.key.sign(message);
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&signature.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            bytes,
        }
    }

    /// Signs a note text with a plain Ed25519 (`0x01`) signature.
    pub fn sign_text(&self, text: &str) -> Result<NoteSignature, AuditError> {
        if self.kind != SignatureKind::Ed25519 {
            return Err(AuditError::MalformedKey(
                "a cosigning key signs with cosignature/v1, not plain Ed25519".into(),
            ));
        }
        check_note_text(text)?;
        Ok(self.sign_message(text.as_bytes(), &[]))
    }
}

/// Checks that `text` can be a note body: UTF-8 without control characters
/// other than newline, ending in a newline.
pub fn check_note_text(text: &str) -> Result<(), AuditError> {
    if !text.ends_with('\n') || text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(malformed(
            "note text must end with a newline and have no control characters",
        ));
    }
    Ok(())
}

fn split_key(text: &str) -> Option<(&str, u32, &str)> {
    let mut parts = text.splitn(3, '+');
    let name = parts.next()?;
    let id_hex = parts.next()?;
    let material = parts.next()?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = u32::from_str_radix(id_hex, 16).ok()?;
    Some((name, id, material))
}

fn decode_material(material: &str) -> Result<(SignatureKind, [u8; 32]), AuditError> {
    let raw = BASE64
        .decode(material)
        .map_err(|_| AuditError::MalformedKey("key material is not valid base64".into()))?;
    let (&type_byte, key) = raw
        .split_first()
        .ok_or_else(|| AuditError::MalformedKey("empty key material".into()))?;
    let kind = SignatureKind::from_type_byte(type_byte).ok_or_else(|| {
        AuditError::MalformedKey(format!("unsupported key type 0x{type_byte:02x}"))
    })?;
    let key = <[u8; 32]>::try_from(key)
        .map_err(|_| AuditError::MalformedKey("an Ed25519 key is 32 bytes".into()))?;
    Ok((kind, key))
}

/// A named Ed25519 public key for one signature kind.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    kind: SignatureKind,
    key_id: u32,
}

impl std::fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl NoteVerifier {
    /// A verifier for `key` under `name`.
    pub fn new(
        name: &str,
        key: VerifyingKey,
        kind: SignatureKind,
    ) -> Result<NoteVerifier, AuditError> {
        check_key_name(name)?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: key_id(name, kind, key.as_bytes()),
            key,
            kind,
        })
    }

    /// Parses a verifier key `name+hexid+base64(type || key)`; the ID must match.
    pub fn from_vkey(text: &str) -> Result<NoteVerifier, AuditError> {
        let (name, id, material) = split_key(text.trim()).ok_or_else(|| {
            AuditError::MalformedKey("expected <name>+<8 hex digits>+<base64 key>".into())
        })?;
        let (kind, raw) = decode_material(material)?;
        let key = VerifyingKey::from_bytes(&raw)
            .map_err(|_| AuditError::MalformedKey("not a valid Ed25519 public key".into()))?;
        let verifier = NoteVerifier::new(name, key, kind)?;
        if verifier.key_id != id {
            return Err(AuditError::MalformedKey(
                "key ID does not match the key".into(),
            ));
        }
        Ok(verifier)
    }

    /// The verifier key string `name+hexid+base64(type || key)`.
    pub fn to_vkey(&self) -> String {
        let mut material = vec![self.kind.type_byte()];
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(material)
        )
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Signature kind.
    pub fn kind(&self) -> SignatureKind {
        self.kind
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// True when `signature` claims to be from this key (same name and key ID).
    pub fn matches(&self, signature: &NoteSignature) -> bool {
        signature.name == self.name && signature.key_id == self.key_id
    }

    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.key
            .verify_strict(message, &Signature::from_bytes(&bytes))
            .is_ok()
    }

    /// Verifies one signature line of this key over `text`. For cosignatures
    /// returns the cosigned timestamp.
    pub fn verify_signature(
        &self,
        text: &str,
        signature: &NoteSignature,
    ) -> Result<Option<u64>, AuditError> {
        let bad = || AuditError::BadSignature(format!("{}+{:08x}", self.name, self.key_id));
        if !self.matches(signature) {
            return Err(bad());
        }
        match self.kind {
            SignatureKind::Ed25519 => {
                if self.verify_raw(text.as_bytes(), &signature.bytes) {
                    Ok(None)
                } else {
                    Err(bad())
                }
            }
            SignatureKind::CosignatureV1 => {
                crate::cosignature::verify_cosignature_bytes(self, text, &signature.bytes)
                    .map(Some)
                    .ok_or_else(bad)
            }
        }
    }

    /// Verifies every signature on `note` from this key (there must be at least one).
    pub fn verify_note(&self, note: &SignedNote) -> Result<Option<u64>, AuditError> {
        let mut latest = None;
        let mut found = false;
        for sig in note.signatures.iter().filter(|s| self.matches(s)) {
            found = true;
            latest = latest.max(self.verify_signature(&note.text, sig)?);
        }
        if !found {
            return Err(AuditError::MissingSignature(format!(
                "{}+{:08x}",
                self.name, self.key_id
            )));
        }
        Ok(latest)
    }
}
