//! The witness state machine: normal growth, restart from persisted state, and
//! every way a hub can misbehave (bad signature, wrong log, shrinking, forks).

mod common;

use common::{ORIGIN, append, hub, witness, witness_key, witness_signer};
use ed25519_dalek::SigningKey;
use salus_audit::{
    AuditError, AuditLog, Witness, WitnessError, WitnessState, attach_cosignature, open_checkpoint,
    verify_cosignature,
};

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

#[test]
fn witness_follows_a_growing_log_and_cosigns() -> Result {
    let mut log = hub();
    let mut w = witness(1, &log);
    let mut now = 1_700_000_000;
    for batch in 0..5u64 {
        let note = append(&mut log, batch * 10, 7)?;
        let proof = if w.size() == 0 {
            Vec::new()
        } else {
            log.consistency_proof(w.size(), log.size())?.hashes
        };
        now += 30;
        let cosig = w.observe(note.as_bytes(), &proof, now)?;
        assert_eq!(cosig.timestamp, now);
        let body = open_checkpoint(note.as_bytes(), &log.log_key())?
            .checkpoint()
            .body();
        verify_cosignature(&witness_key(1), &body, &cosig)?;
        assert_eq!((w.size(), w.state().root), (log.size(), log.root()));
    }
    // Re-observing the same checkpoint is fine (no proof needed).
    let again = log.checkpoint()?;
    w.observe(again.as_bytes(), &[], now + 1)?;
    Ok(())
}

#[test]
fn witness_state_survives_a_restart() -> Result {
    let mut log = hub();
    let mut w = witness(1, &log);
    w.observe(append(&mut log, 0, 5)?.as_bytes(), &[], 10)?;
    let saved = serde_json::to_string(w.state())?;

    let state: WitnessState = serde_json::from_str(&saved)?;
    let mut resumed = Witness::from_state(witness_signer(1), state)?;
    assert_eq!(resumed.size(), 5);
    let note = append(&mut log, 5, 3)?;
    let proof = log.consistency_proof(5, 8)?.hashes;
    let cosig = resumed.observe(note.as_bytes(), &proof, 5)?;
    // Cosignature time never goes backwards, even if the clock does.
    assert_eq!(cosig.timestamp, 10);
    Ok(())
}

#[test]
fn checkpoint_signed_by_another_key_is_refused() -> Result {
    let mut log = hub();
    let mut impostor = AuditLog::new(ORIGIN, SigningKey::from_bytes(&[99; 32]))?;
    let mut w = witness(1, &log);
    let note = append(&mut impostor, 0, 3)?;
    assert_eq!(
        w.observe(note.as_bytes(), &[], 1),
        Err(WitnessError::BadSignature)
    );
    // A tampered body with the genuine signature line is refused too.
    let genuine = append(&mut log, 0, 3)?;
    let tampered = genuine.replacen("\n3\n", "\n4\n", 1);
    assert_eq!(
        w.observe(tampered.as_bytes(), &[], 1),
        Err(WitnessError::BadSignature)
    );
    assert_eq!(w.size(), 0, "state must not change on error");
    Ok(())
}

#[test]
fn checkpoint_of_another_log_is_refused() -> Result {
    let log = hub();
    let mut other = AuditLog::new("salus.test/other", SigningKey::from_bytes(&[1; 32]))?;
    let mut w = witness(1, &log);
    let note = append(&mut other, 0, 2)?;
    assert!(matches!(
        w.observe(note.as_bytes(), &[], 1),
        Err(WitnessError::WrongLog { .. })
    ));
    assert!(matches!(
        w.observe(b"garbage\n", &[], 1),
        Err(WitnessError::Malformed(_))
    ));
    Ok(())
}

#[test]
fn shrinking_log_is_detected() -> Result {
    let mut log = hub();
    let mut w = witness(1, &log);
    let small = append(&mut log, 0, 4)?;
    let big = append(&mut log, 4, 4)?;
    w.observe(big.as_bytes(), &[], 1)?;
    let err = w.observe(small.as_bytes(), &[], 2).err();
    assert_eq!(
        err,
        Some(WitnessError::TreeShrank {
            previous: 8,
            presented: 4
        })
    );
    assert!(err.is_some_and(|e| e.is_fork_evidence()));
    Ok(())
}

/// Two histories that share the first `common` entries then differ.
fn forked_logs(common: u64, extra: u64) -> std::result::Result<(AuditLog, AuditLog), AuditError> {
    let (mut a, mut b) = (hub(), hub());
    append(&mut a, 0, common)?;
    append(&mut b, 0, common)?;
    append(&mut a, 100, extra)?;
    append(&mut b, 200, extra)?;
    Ok((a, b))
}

#[test]
fn forked_hub_showing_two_histories_is_caught_by_the_nodes() -> Result {
    // The hub shows history A to node 1 and history B to node 2 (a split view).
    let (mut a, mut b) = forked_logs(3, 2)?;
    let (mut node1, mut node2) = (witness(1, &a), witness(2, &b));
    node1.observe(a.checkpoint()?.as_bytes(), &[], 10)?;
    node2.observe(b.checkpoint()?.as_bytes(), &[], 10)?;

    // Same size, different root: node 2 sees node 1's view when the hub publishes
    // the checkpoints with their cosignatures.
    let err = node2.observe(a.checkpoint()?.as_bytes(), &[], 11).err();
    assert!(matches!(
        err,
        Some(WitnessError::SameSizeDifferentRoot { size: 5, .. })
    ));
    assert!(err.is_some_and(|e| e.is_fork_evidence()));

    // The hub grows history A and presents it to node 2 with A's own proof: the
    // proof cannot link it to the B root node 2 cosigned.
    append(&mut a, 300, 4)?;
    append(&mut b, 300, 4)?;
    let proof_a = a.consistency_proof(5, 9)?.hashes;
    let err = node2
        .observe(a.checkpoint()?.as_bytes(), &proof_a, 12)
        .err();
    assert_eq!(
        err,
        Some(WitnessError::Inconsistent {
            old_size: 5,
            new_size: 9
        })
    );
    // Node 1 follows A normally; node 2 follows B normally.
    node1.observe(a.checkpoint()?.as_bytes(), &proof_a, 12)?;
    node2.observe(
        b.checkpoint()?.as_bytes(),
        &b.consistency_proof(5, 9)?.hashes,
        12,
    )?;
    Ok(())
}

#[test]
fn missing_or_wrong_proof_is_treated_as_inconsistency() -> Result {
    let mut log = hub();
    let mut w = witness(1, &log);
    w.observe(append(&mut log, 0, 5)?.as_bytes(), &[], 1)?;
    let note = append(&mut log, 5, 6)?;
    assert!(matches!(
        w.observe(note.as_bytes(), &[], 2),
        Err(WitnessError::Inconsistent { .. })
    ));
    let wrong = log.consistency_proof(4, 11)?.hashes;
    assert!(matches!(
        w.observe(note.as_bytes(), &wrong, 2),
        Err(WitnessError::Inconsistent { .. })
    ));
    Ok(())
}

#[test]
fn hub_attaches_only_valid_cosignatures() -> Result {
    let mut log = hub();
    let mut w = witness(1, &log);
    let note = append(&mut log, 0, 2)?;
    let cosig = w.observe(note.as_bytes(), &[], 5)?;
    let cosigned = attach_cosignature(&note, &cosig, &witness_key(1))?;
    assert_eq!(cosigned.lines().count(), note.lines().count() + 1);
    // The witness still accepts the cosigned note (unknown signatures are ignored).
    w.observe(cosigned.as_bytes(), &[], 6)?;
    assert!(attach_cosignature(&note, &cosig, &witness_key(2)).is_err());
    let mut forged = cosig.clone();
    forged.timestamp += 1;
    assert!(attach_cosignature(&note, &forged, &witness_key(1)).is_err());
    Ok(())
}

#[test]
fn hub_restart_from_stored_leaf_hashes_continues_the_same_log() -> Result {
    let mut log = hub();
    let mut w = witness(1, &log);
    let mut stored = Vec::new();
    let batch = log.append(1, common::events(0, 6))?;
    stored.extend(batch.entries.iter().map(|e| e.leaf_hash));
    w.observe(batch.checkpoint.as_bytes(), &[], 1)?;
    // The hub stops; at start it reloads the leaf hashes from its database.
    drop(log);
    let mut restarted = AuditLog::restore(ORIGIN, SigningKey::from_bytes(&[1; 32]), stored)?;
    assert_eq!(restarted.size(), 6);
    let next = append(&mut restarted, 6, 3)?;
    let proof = restarted
        .consistency_proof(w.size(), restarted.size())?
        .hashes;
    w.observe(next.as_bytes(), &proof, 2)?;
    // A batch prepared before another one was applied is refused, not misplaced.
    let stale = restarted.prepare(3, common::events(9, 1))?;
    append(&mut restarted, 9, 1)?;
    assert!(matches!(
        restarted.apply(&stale),
        Err(AuditError::StaleBatch { .. })
    ));
    Ok(())
}
