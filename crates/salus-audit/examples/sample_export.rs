//! Writes a small, valid audit export (3 batches, 3 witnesses) to the path given
//! as the first argument, for trying `salus audit verify` and `salus audit prove`:
//!
//! ```text
//! cargo run -p salus-audit --example sample_export -- /tmp/audit.json
//! salus audit verify /tmp/audit.json --json
//! ```

use ed25519_dalek::SigningKey;
use salus_audit::{
    AuditEvent, AuditExport, AuditLog, Hash, Witness, WitnessSigner, attach_cosignature,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: sample_export OUT.json")?;
    let mut log = AuditLog::new("salus.example/audit", SigningKey::from_bytes(&[1; 32]))?;
    let signers: Vec<WitnessSigner> = (1..=3u8)
        .map(|n| {
            WitnessSigner::new(
                &format!("salus-node/hospital-{n}"),
                SigningKey::from_bytes(&[10 + n; 32]),
            )
        })
        .collect::<Result<_, _>>()?;
    let keys: Vec<_> = signers.iter().map(WitnessSigner::witness_key).collect();
    let mut witnesses: Vec<Witness> = signers
        .into_iter()
        .map(|s| Witness::new(s, log.log_key()))
        .collect();
    let (mut entries, mut notes) = (Vec::new(), Vec::new());
    for batch_no in 0..3u64 {
        let time = 1_700_000_000 + batch_no * 60;
        let events = vec![
            (
                "researcher-1".to_string(),
                AuditEvent::StudySubmitted {
                    study_id: format!("study-{batch_no}"),
                    researcher: "researcher-1".into(),
                    spec_hash: Hash::sha256(format!("spec {batch_no}").as_bytes()),
                },
            ),
            (
                "hospital-1".to_string(),
                AuditEvent::StudyApproved {
                    study_id: format!("study-{batch_no}"),
                    node_id: "hospital-1".into(),
                },
            ),
            (
                "hub".to_string(),
                AuditEvent::ResultReleased {
                    study_id: format!("study-{batch_no}"),
                    result_hash: Hash::sha256(format!("result {batch_no}").as_bytes()),
                    privacy: serde_json::json!({"guarantee": "secure aggregation", "min_cell": 5, "excluded_by_consent": 3}),
                },
            ),
        ];
        let old = log.size();
        let batch = log.append(time, events)?;
        let proof = if old == 0 {
            Vec::new()
        } else {
            log.consistency_proof(old, log.size())?.hashes
        };
        let mut note = batch.checkpoint.clone();
        for (w, key) in witnesses.iter_mut().zip(&keys) {
            let cosig = w.observe(batch.checkpoint.as_bytes(), &proof, time + 5)?;
            note = attach_cosignature(&note, &cosig, key)?;
        }
        entries.extend(batch.entries.into_iter().map(|e| e.bytes));
        notes.push(note);
    }
    let export = AuditExport::build(&log.log_key(), &entries, &notes, &keys)?;
    std::fs::write(&out, export.to_json()?)?;
    println!(
        "wrote {} entries and {} checkpoints to {out}",
        entries.len(),
        notes.len()
    );
    Ok(())
}
