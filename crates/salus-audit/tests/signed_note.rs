//! Signed-note known answers from golang.org/x/mod/sumdb/note (note_test.go,
//! BSD-3-Clause): key encodings, an Ed25519 note signature, malformed notes and
//! mangled keys that must be rejected.

use salus_audit::{AuditError, NoteSigner, NoteVerifier, SignedNote};

// Known-answer values from golang.org/x/mod/sumdb/note (note_test.go, BSD-3-Clause).
const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_note_known_answer() -> Result<(), AuditError> {
    let signer = NoteSigner::from_private_key_string(SKEY)?;
    assert_eq!(signer.verifier().to_vkey(), VKEY);
    assert_eq!(signer.to_private_key_string(), SKEY);
    assert_eq!(signer.sign_text(TEXT)?.to_line(), SIG);
    let note = SignedNote::parse(format!("{TEXT}\n{SIG}").as_bytes())?;
    assert_eq!(note.text, TEXT);
    NoteVerifier::from_vkey(VKEY)?.verify_note(&note)?;
    Ok(())
}

#[test]
fn go_note_malformed_messages() {
    let bad = [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &SIG[..SIG.len() - 1]),
        format!("\x01{TEXT}\n{SIG}"),
        format!(
            "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        ),
        format!("{TEXT}\n{SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", SIG.repeat(101)),
    ];
    for msg in bad {
        assert!(
            SignedNote::parse(msg.as_bytes()).is_err(),
            "accepted {msg:?}"
        );
    }
    assert!(SignedNote::parse(b"\xff abc\n\n").is_err());
}

#[test]
fn tampered_note_or_signature_is_rejected() -> Result<(), AuditError> {
    let verifier = NoteVerifier::from_vkey(VKEY)?;
    let tampered =
        SignedNote::parse(format!("{}\n{SIG}", TEXT.replace("answer", "Answer")).as_bytes())?;
    assert!(matches!(
        verifier.verify_note(&tampered),
        Err(AuditError::BadSignature(_))
    ));
    let mut wrong = SIG.replace("x08go", "x08gp");
    assert!(
        SignedNote::parse(format!("{TEXT}\n{wrong}").as_bytes())
            .map(|n| verifier.verify_note(&n).is_err())
            .unwrap_or(true)
    );
    wrong = SIG.replace("PeterNeumann", "CarmenSandiego");
    let other = SignedNote::parse(format!("{TEXT}\n{wrong}").as_bytes())?;
    assert!(matches!(
        verifier.verify_note(&other),
        Err(AuditError::MissingSignature(_))
    ));
    Ok(())
}

#[test]
fn mangled_verifier_keys_are_rejected() {
    let bytes = VKEY.as_bytes();
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] = b[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&b) {
            assert!(NoteVerifier::from_vkey(s).is_err(), "accepted {s}");
        }
    }
    assert!(NoteVerifier::from_vkey("PeterNeumann+c74f20a3").is_err());
    assert!(NoteVerifier::from_vkey(&VKEY[..VKEY.len() - 2]).is_err());
}
