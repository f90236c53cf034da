//! Export and offline verification: a clean export verifies, and each class of
//! tampering is detected and named.

mod common;

use common::{append, hub, witness, witness_key};
use salus_audit::{
    AuditError, AuditExport, AuditLog, Hash, LogEntry, VerifyOptions, VerifyReport,
    attach_cosignature, leaf_hash, verify_export, verify_export_with,
};

/// A log of 3 batches (5 + 4 + 3 entries), each checkpoint cosigned by 3 witnesses.
fn build() -> Result<(AuditLog, AuditExport), AuditError> {
    let mut log = hub();
    let mut witnesses: Vec<_> = (1..=3).map(|n| witness(n, &log)).collect();
    let (mut entries, mut notes) = (Vec::new(), Vec::new());
    for (from, count) in [(0u64, 5u64), (5, 4), (9, 3)] {
        let old = log.size();
        let batch = log.append(1_700_000_000 + from, common::events(from, count))?;
        entries.extend(batch.entries.iter().map(|e| e.bytes.clone()));
        let proof = if old == 0 {
            Vec::new()
        } else {
            log.consistency_proof(old, log.size())?.hashes
        };
        let mut note = batch.checkpoint.clone();
        for (i, w) in witnesses.iter_mut().enumerate() {
            let cosig = w
                .observe(batch.checkpoint.as_bytes(), &proof, 1_700_000_100 + from)
                .map_err(|e| AuditError::BadExport(e.to_string()))?;
            note = attach_cosignature(&note, &cosig, &witness_key(i as u8 + 1))?;
        }
        notes.push(note);
    }
    let keys: Vec<_> = (1..=3).map(witness_key).collect();
    let export = AuditExport::build(&log.log_key(), &entries, &notes, &keys)?;
    Ok((log, export))
}

fn verify(export: &AuditExport) -> VerifyReport {
    verify_export(&export.to_json().unwrap_or_default())
}

fn assert_problem(report: &VerifyReport, needle: &str) {
    assert!(!report.valid, "tampering not detected");
    assert!(
        report.problems.iter().any(|p| p.contains(needle)),
        "no problem mentions {needle:?}: {:#?}",
        report.problems
    );
}

#[test]
fn clean_export_verifies() -> Result<(), AuditError> {
    let (_, export) = build()?;
    let report = verify(&export);
    assert!(report.valid, "{:#?}", report.problems);
    assert_eq!(
        (report.entries, report.checkpoints, report.witnesses),
        (12, 3, 3)
    );
    assert_eq!((report.latest_size, report.latest_cosignatures), (12, 3));
    // The JSON round trip is exact.
    assert_eq!(AuditExport::from_json(&export.to_json()?)?, export);
    Ok(())
}

#[test]
fn flipped_byte_in_an_entry_is_named() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    export.entries[6].data = export.entries[6].data.replacen("study-1", "study-7", 1);
    let report = verify(&export);
    assert_problem(&report, "entry 6: content was modified");
    assert_problem(&report, "checkpoint at size 9: its root does not match");
    Ok(())
}

#[test]
fn modified_entry_with_recomputed_hash_breaks_the_signed_roots() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    let data = export.entries[2].data.replacen("node-2", "node-1", 2);
    export.entries[2].leaf_hash = leaf_hash(data.as_bytes()).to_hex();
    export.entries[2].data = data;
    let report = verify(&export);
    assert_problem(
        &report,
        "checkpoint at size 5: its root does not match entries 0..4",
    );
    assert_problem(&report, "checkpoint at size 12");
    Ok(())
}

#[test]
fn dropped_entry_is_named() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    export.entries.remove(7);
    let report = verify(&export);
    assert_problem(&report, "entry 7 is missing from the export (dropped)");
    assert_problem(
        &report,
        "checkpoint at size 12 covers more entries than the export holds (11)",
    );
    Ok(())
}

#[test]
fn reordered_entries_are_named() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    export.entries.swap(3, 4);
    let report = verify(&export);
    assert_problem(&report, "entries reordered: entry 3 comes after entry 4");
    assert_problem(&report, "checkpoint at size 5");
    Ok(())
}

#[test]
fn rewritten_checkpoint_is_named() -> Result<(), AuditError> {
    let (log, mut export) = build()?;
    let fake_root = Hash::sha256(b"another history").to_base64();
    let note = &export.checkpoints[1].note;
    let real_root = log.tree().root_at(9)?.to_base64();
    export.checkpoints[1].note = note.replace(&real_root, &fake_root);
    let report = verify(&export);
    assert_problem(
        &report,
        "checkpoint at size 9: the log signature does not verify",
    );
    Ok(())
}

#[test]
fn hub_re_signing_a_rewritten_history_is_caught_by_cosignatures() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    // The hub rewrites entry 0 and re-signs the first checkpoint with its own key,
    // keeping the witnesses' old cosignature lines.
    let mut forged = hub();
    let mut events = common::events(0, 5);
    events[0].0 = "someone-else".into();
    let batch = forged.append(1_700_000_000, events)?;
    export.entries[0].data = String::from_utf8_lossy(&batch.entries[0].bytes).into_owned();
    export.entries[0].leaf_hash = batch.entries[0].leaf_hash.to_hex();
    let cosig_lines: Vec<&str> = export.checkpoints[0].note.lines().skip(5).collect();
    export.checkpoints[0].note = format!("{}{}\n", batch.checkpoint, cosig_lines.join("\n"));
    let report = verify(&export);
    assert_problem(
        &report,
        "checkpoint at size 5: the cosignature by witness salus-node/node-1 does not verify",
    );
    assert_problem(&report, "checkpoints at sizes 5 and 9 are not consistent");
    Ok(())
}

#[test]
fn bad_cosignature_is_named() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    let note = export.checkpoints[2].note.clone();
    let mut lines: Vec<String> = note.lines().map(str::to_owned).collect();
    let last = lines.len() - 1;
    // Change one base64 character inside node-3's signature bytes.
    let line = &mut lines[last];
    let at = line.len() - 10;
    let replacement = if &line[at..=at] == "A" { "B" } else { "A" };
    line.replace_range(at..=at, replacement);
    export.checkpoints[2].note = lines.join("\n") + "\n";
    let report = verify(&export);
    assert_problem(
        &report,
        "checkpoint at size 12: the cosignature by witness salus-node/node-3 does not verify",
    );
    Ok(())
}

#[test]
fn forged_entries_after_the_last_checkpoint_are_named() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    let extra =
        LogEntry::new(12, 1_800_000_000, "hub", common::events(12, 1).remove(0).1).encode()?;
    export.entries.push(salus_audit::export::ExportedEntry {
        leaf_hash: leaf_hash(&extra).to_hex(),
        data: String::from_utf8_lossy(&extra).into_owned(),
    });
    assert_problem(
        &verify(&export),
        "entries 12..12 are not covered by any signed checkpoint",
    );
    Ok(())
}

#[test]
fn forked_checkpoints_in_one_export_are_named() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    let mut other = hub();
    append(&mut other, 50, 12)?;
    export
        .checkpoints
        .push(salus_audit::export::ExportedCheckpoint {
            note: other.checkpoint()?,
            consistency_from_previous: Vec::new(),
        });
    assert_problem(
        &verify(&export),
        "two checkpoints at size 12 with different roots: the log forked",
    );
    Ok(())
}

#[test]
fn damaged_or_truncated_files_are_reported() -> Result<(), AuditError> {
    let (_, export) = build()?;
    let json = export.to_json()?;
    let report = verify_export(&json[..json.len() / 2]);
    assert_problem(&report, "not a Salus audit export");
    let mut flipped = json.clone();
    let at = flipped.iter().position(|&b| b == b'{').unwrap_or(0);
    flipped[at] = b'[';
    assert!(!verify_export(&flipped).valid);
    Ok(())
}

#[test]
fn pinned_keys_and_quorum() -> Result<(), AuditError> {
    let (log, export) = build()?;
    let json = export.to_json()?;
    let pinned = VerifyOptions {
        log_key: Some(log.log_key().to_vkey()),
        witness_keys: vec![witness_key(1).to_vkey(), witness_key(2).to_vkey()],
        min_witnesses: 2,
    };
    let report = verify_export_with(&json, &pinned);
    assert!(report.valid, "{:#?}", report.problems);
    assert_eq!(report.witnesses, 2);

    let stranger = salus_audit::AuditLog::new(
        "salus.test/audit",
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
    )?;
    let wrong = VerifyOptions {
        log_key: Some(stranger.log_key().to_vkey()),
        ..VerifyOptions::default()
    };
    assert_problem(
        &verify_export_with(&json, &wrong),
        "different log key than the pinned one",
    );
    let quorum = VerifyOptions {
        min_witnesses: 4,
        ..VerifyOptions::default()
    };
    assert_problem(
        &verify_export_with(&json, &quorum),
        "3 valid witness cosignatures; 4 required",
    );
    Ok(())
}

#[test]
fn one_bad_checkpoint_does_not_cast_doubt_on_the_next() -> Result<(), AuditError> {
    let (_, mut export) = build()?;
    export.checkpoints[1].note = export.checkpoints[1].note.replacen("\n9\n", "\n10\n", 1);
    let report = verify(&export);
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    assert_problem(
        &report,
        "checkpoint at size 10: the log signature does not verify",
    );
    Ok(())
}
