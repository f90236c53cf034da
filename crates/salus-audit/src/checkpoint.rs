//! C2SP `tlog-checkpoint`: the note body `origin\nsize\nbase64(root)\n[extensions]`,
//! signed by the log's Ed25519 note key whose name is the origin.

use crate::error::AuditError;
use crate::hash::Hash;
use crate::note::{NoteSigner, NoteVerifier, SignedNote, check_key_name};

/// A tree head: which log, how many entries, and their Merkle root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identifier of the log, e.g. `salus.example/hub-audit`.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 9162 root hash of the first `size` entries.
    pub root: Hash,
    /// Optional extension lines (Salus writes none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text (body) of the checkpoint.
    pub fn body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint body (the note text, signatures removed).
    pub fn parse_body(text: &str) -> Result<Checkpoint, AuditError> {
        let bad = |why: &str| AuditError::MalformedCheckpoint(why.to_owned());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("the body must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("empty origin line"))?;
        let size_line = lines.next().ok_or_else(|| bad("missing tree size line"))?;
        let size = parse_size(size_line)
            .ok_or_else(|| bad("the tree size is not a decimal number without leading zeros"))?;
        let root_line = lines.next().ok_or_else(|| bad("missing root hash line"))?;
        let root = Hash::from_base64(root_line)
            .filter(|h| h.to_base64() == root_line)
            .ok_or_else(|| bad("the root hash is not base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("extension lines must not be empty"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint with the log key and returns the note text.
    pub fn sign(&self, log_key: &NoteSigner) -> Result<String, AuditError> {
        check_key_name(&self.origin).map_err(|_| {
            AuditError::MalformedCheckpoint(
                "the origin must be a valid key name (no spaces, no '+')".into(),
            )
        })?;
        let signature = log_key.sign_text(&self.body())?;
        Ok(SignedNote {
            text: self.body(),
            signatures: vec![signature],
        }
        .to_text())
    }
}

fn parse_size(line: &str) -> Option<u64> {
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if line.len() > 1 && line.starts_with('0') {
        return None;
    }
    line.parse().ok()
}

/// A checkpoint whose log signature has been verified: only [`open_checkpoint`]
/// builds one, so holding it proves the check happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: SignedNote,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The parsed note, with every signature line it carried (cosignatures included).
    pub fn note(&self) -> &SignedNote {
        &self.note
    }
}

/// Parses a checkpoint note, checks its log signature and that the key name equals the origin.
pub fn open_checkpoint(
    note_bytes: &[u8],
    log_key: &NoteVerifier,
) -> Result<VerifiedCheckpoint, AuditError> {
    let note = SignedNote::parse(note_bytes)?;
    let checkpoint = Checkpoint::parse_body(&note.text)?;
    if checkpoint.origin != log_key.name() {
        return Err(AuditError::MalformedCheckpoint(format!(
            "checkpoint origin {:?} is not the log {:?}",
            checkpoint.origin,
            log_key.name()
        )));
    }
    log_key.verify_note(&note)?;
    Ok(VerifiedCheckpoint { checkpoint, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c2sp_example_body_parses() -> Result<(), AuditError> {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_body(text)?;
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(cp.body(), text);
        Ok(())
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for text in [
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("\n1\n{root}\n"),
            "o\n1\nZG9uJ3QgY2FyZSAy\n".to_owned(),
            format!("o\n1\n{root}"),
            format!("o\n1\n{root}\n\n"),
            "o\n1\n".to_owned(),
        ] {
            assert!(Checkpoint::parse_body(&text).is_err(), "accepted {text:?}");
        }
    }
}
