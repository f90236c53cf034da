//! Consent receipts: a valid chain verifies; tampering with any field, the
//! signature, the key or the chain order is detected.

use ed25519_dalek::SigningKey;
use salus_consent::{
    ChainState, ConsentError, ConsentReceipt, ConsentRecord, DataCategory, Decision, Provision,
    Purpose, ReceiptIssuer, verify_receipt, verify_receipt_chain,
};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn records() -> Vec<ConsentRecord> {
    vec![
        ConsentRecord::new(
            "c1",
            "p1",
            100,
            "patient-api",
            Provision::all(Decision::Permit).for_purposes(vec![Purpose::Research]),
        ),
        ConsentRecord::new(
            "c2",
            "p2",
            150,
            "fhir:Consent/x",
            Provision::all(Decision::Deny).for_categories(vec![DataCategory::Genomics]),
        ),
        ConsentRecord::new(
            "c3",
            "p1",
            200,
            "patient-api",
            Provision::all(Decision::Deny),
        ),
    ]
}

fn chain() -> Vec<ConsentReceipt> {
    let mut issuer = ReceiptIssuer::new("hospital-a", key(), ChainState::default());
    records()
        .iter()
        .map(|r| {
            issuer
                .issue(r, r.recorded_at)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

#[test]
fn a_fresh_chain_verifies_and_hashes_are_stable() -> Result<(), ConsentError> {
    let receipts = chain();
    verify_receipt_chain(&receipts, &key().verifying_key())?;
    assert_eq!(receipts[1].body.previous, hex::encode(receipts[0].hash()?));
    // Ed25519 is deterministic: the same input gives the same receipt and hash.
    assert_eq!(chain(), receipts);
    // The file round trip keeps the hash (what the audit log holds).
    let back = ConsentReceipt::from_json(&receipts[2].to_json()?)?;
    assert_eq!(back.hash()?, receipts[2].hash()?);
    assert_eq!(
        verify_receipt(&back, &key().verifying_key())?,
        receipts[2].hash()?
    );
    Ok(())
}

#[test]
fn resumed_issuer_continues_the_chain() -> Result<(), ConsentError> {
    let recs = records();
    let mut first = ReceiptIssuer::new("hospital-a", key(), ChainState::default());
    let r0 = first.issue(&recs[0], 1)?;
    let saved = serde_json::to_string(first.state()).unwrap_or_default();
    let state: ChainState = serde_json::from_str(&saved).unwrap_or_default();
    let mut resumed = ReceiptIssuer::new("hospital-a", key(), state);
    let r1 = resumed.issue(&recs[1], 2)?;
    verify_receipt_chain(&[r0, r1], &key().verifying_key())
}

type Tamper = Box<dyn Fn(&mut ConsentReceipt)>;

#[test]
fn every_tampered_field_is_detected() {
    let receipt = chain().remove(1);
    let vk = key().verifying_key();
    let tampers: Vec<(&str, Tamper)> = vec![
        ("patient", Box::new(|r| r.body.record.patient = "p3".into())),
        (
            "decision",
            Box::new(|r| r.body.record.provision.decision = Decision::Permit),
        ),
        (
            "category",
            Box::new(|r| r.body.record.provision.categories = vec![DataCategory::Labs]),
        ),
        ("recorded_at", Box::new(|r| r.body.record.recorded_at += 1)),
        ("sequence", Box::new(|r| r.body.sequence = 7)),
        (
            "previous",
            Box::new(|r| r.body.previous = hex::encode([1u8; 32])),
        ),
        ("issued_at", Box::new(|r| r.body.issued_at -= 1)),
        ("issuer", Box::new(|r| r.body.issuer = "hospital-b".into())),
        (
            "signature",
            Box::new(|r| {
                r.signature.replace_range(
                    0..2,
                    if r.signature.starts_with("00") {
                        "01"
                    } else {
                        "00"
                    },
                )
            }),
        ),
    ];
    for (what, tamper) in tampers {
        let mut bad = receipt.clone();
        tamper(&mut bad);
        assert!(
            verify_receipt(&bad, &vk).is_err(),
            "tampered {what} accepted"
        );
    }
}

#[test]
fn wrong_key_and_unsigned_extras_are_rejected() {
    let receipt = chain().remove(0);
    let other = SigningKey::from_bytes(&[43; 32]).verifying_key();
    assert!(matches!(
        verify_receipt(&receipt, &other),
        Err(ConsentError::BadReceiptSignature { sequence: 0 })
    ));
    // A receipt re-signed by another key but claiming the node key fails too.
    let mut forged_issuer = ReceiptIssuer::new(
        "hospital-a",
        SigningKey::from_bytes(&[43; 32]),
        ChainState::default(),
    );
    let mut forged = forged_issuer
        .issue(&receipt.body.record, 100)
        .unwrap_or_else(|e| panic!("{e}"));
    forged.body.issuer_key = receipt.body.issuer_key.clone();
    assert!(verify_receipt(&forged, &key().verifying_key()).is_err());
    // An extra field is not silently ignored.
    let json = receipt.to_json().unwrap_or_default().replacen(
        "\"body\": {",
        "\"body\": {\"note\": \"x\",",
        1,
    );
    assert!(ConsentReceipt::from_json(&json).is_err());
}

#[test]
fn dropped_reordered_or_replaced_receipts_break_the_chain() {
    let vk = key().verifying_key();
    let receipts = chain();
    let dropped = [receipts[0].clone(), receipts[2].clone()];
    assert!(matches!(
        verify_receipt_chain(&dropped, &vk),
        Err(ConsentError::BrokenChain { sequence: 2, .. })
    ));
    let reordered = [
        receipts[1].clone(),
        receipts[0].clone(),
        receipts[2].clone(),
    ];
    assert!(verify_receipt_chain(&reordered, &vk).is_err());
    // Replacing receipt 1 by another validly signed receipt 1 breaks the link from 2.
    let mut issuer = ReceiptIssuer::new("hospital-a", key(), ChainState::default());
    let _ = issuer.issue(&records()[0], 100);
    let other1 = issuer
        .issue(&records()[2], 999)
        .unwrap_or_else(|e| panic!("{e}"));
    let replaced = [receipts[0].clone(), other1, receipts[2].clone()];
    assert!(matches!(
        verify_receipt_chain(&replaced, &vk),
        Err(ConsentError::BrokenChain { sequence: 2, .. })
    ));
}
