//! Offline verification of an export without trusting the hub: recompute every
//! leaf and root from the entry bytes, check every log signature and witness
//! cosignature, check consistency between successive checkpoints, and name each
//! problem (which entry, which checkpoint size, which witness).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::event::LogEntry;
use crate::export::{AuditExport, EXPORT_FORMAT, ExportedCheckpoint};
use crate::hash::{Hash, leaf_hash};
use crate::note::{NoteVerifier, SignatureKind, SignedNote};
use crate::proof::verify_consistency;
use crate::tree::MerkleTree;

/// Trust anchors and policy for [`verify_export_with`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Pin the log key (`name+id+key`); default: the key in the file.
    pub log_key: Option<String>,
    /// Pin the witness keys; default: the keys listed in the file.
    pub witness_keys: Vec<String>,
    /// Valid cosignatures required on the latest checkpoint (0: none required).
    pub min_witnesses: usize,
}

/// Result of verifying an export. `valid` is true only when `problems` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Entries in the file.
    pub entries: u64,
    /// Checkpoints in the file.
    pub checkpoints: u64,
    /// Distinct witnesses with at least one valid cosignature.
    pub witnesses: u64,
    /// True when nothing is wrong.
    pub valid: bool,
    /// Everything that is wrong, one precise sentence each.
    pub problems: Vec<String>,
    /// Things worth knowing that do not make the log invalid.
    pub warnings: Vec<String>,
    /// Size of the latest valid checkpoint.
    pub latest_size: u64,
    /// Valid cosignatures on the latest checkpoint.
    pub latest_cosignatures: u64,
}

/// Verifies an export, trusting the keys it lists (see [`verify_export_with`] to pin them).
pub fn verify_export(bytes: &[u8]) -> VerifyReport {
    verify_export_with(bytes, &VerifyOptions::default())
}

/// Verifies an export with pinned keys and a witness quorum.
pub fn verify_export_with(bytes: &[u8], options: &VerifyOptions) -> VerifyReport {
    let mut v = Verifier::default();
    match AuditExport::from_json(bytes) {
        Ok(export) => v.run(&export, options),
        Err(e) => v.problem(e.to_string()),
    }
    v.report
}

#[derive(Default)]
struct Verifier {
    report: VerifyReport,
    tree: MerkleTree,
    seen_witnesses: BTreeSet<String>,
}

impl Verifier {
    fn problem(&mut self, text: String) {
        self.report.problems.push(text);
    }

    fn warning(&mut self, text: String) {
        self.report.warnings.push(text);
    }

    fn run(&mut self, export: &AuditExport, options: &VerifyOptions) {
        self.report.entries = export.entries.len() as u64;
        self.report.checkpoints = export.checkpoints.len() as u64;
        if export.format != EXPORT_FORMAT {
            self.problem(format!(
                "unknown export format {:?}; expected {EXPORT_FORMAT}",
                export.format
            ));
        }
        let log_key = self.log_key(export, options);
        let witnesses = self.witness_keys(export, options);
        self.check_entries(export);
        if let Some(log_key) = log_key {
            self.check_checkpoints(export, &log_key, &witnesses, options);
        }
        self.report.witnesses = self.seen_witnesses.len() as u64;
        self.report.valid = self.report.problems.is_empty();
    }

    fn log_key(&mut self, export: &AuditExport, options: &VerifyOptions) -> Option<NoteVerifier> {
        let text = options.log_key.as_deref().unwrap_or(&export.log_key);
        let key = match NoteVerifier::from_vkey(text) {
            Ok(k) if k.kind() == SignatureKind::Ed25519 => k,
            Ok(_) => {
                self.problem("the log key is not an Ed25519 note key".into());
                return None;
            }
            Err(e) => {
                self.problem(format!("the log key cannot be read: {e}"));
                return None;
            }
        };
        if options.log_key.is_some() && export.log_key != key.to_vkey() {
            self.problem("the export names a different log key than the pinned one".into());
        }
        if options.log_key.is_none() {
            self.warning(
                "log key taken from the export itself; pin it with --log-key to not trust the file"
                    .into(),
            );
        }
        if export.origin != key.name() {
            self.problem(format!(
                "the export origin {:?} is not the log key's name",
                export.origin
            ));
        }
        Some(key)
    }

    fn witness_keys(&mut self, export: &AuditExport, options: &VerifyOptions) -> Vec<NoteVerifier> {
        let pinned = !options.witness_keys.is_empty();
        let source = if pinned {
            &options.witness_keys
        } else {
            &export.witnesses
        };
        let mut keys = Vec::new();
        for text in source {
            match NoteVerifier::from_vkey(text) {
                Ok(k) if k.kind() == SignatureKind::CosignatureV1 => keys.push(k),
                Ok(k) => self.problem(format!(
                    "witness key {} is not a cosignature/v1 key",
                    k.name()
                )),
                Err(e) => self.problem(format!("a witness key cannot be read: {e}")),
            }
        }
        keys
    }

    fn check_entries(&mut self, export: &AuditExport) {
        let mut indices = Vec::with_capacity(export.entries.len());
        for (position, entry) in export.entries.iter().enumerate() {
            let computed = leaf_hash(entry.data.as_bytes());
            self.tree.push(computed);
            match Hash::from_hex(&entry.leaf_hash) {
                Some(recorded) if recorded == computed => {}
                Some(_) => self.problem(format!(
                    "entry {position}: content was modified (it no longer matches its recorded leaf hash)"
                )),
                None => self.problem(format!("entry {position}: recorded leaf hash is not 64 hex digits")),
            }
            match LogEntry::decode(entry.data.as_bytes()) {
                Ok(decoded) => indices.push((position, decoded.index)),
                Err(e) => {
                    self.problem(format!("entry {position}: {e}"));
                    // Assume it sits where it is, so it is not also reported as dropped.
                    indices.push((position, position as u64));
                }
            }
        }
        self.check_order(&indices);
    }

    /// Entries carry their own index: gaps are dropped entries, duplicates and
    /// descents are reordering.
    fn check_order(&mut self, indices: &[(usize, u64)]) {
        let mut count: BTreeMap<u64, usize> = BTreeMap::new();
        for &(_, index) in indices {
            *count.entry(index).or_default() += 1;
        }
        let expected_max = indices.iter().map(|&(_, i)| i).max().map_or(0, |m| m + 1);
        let missing: Vec<u64> = (0..expected_max)
            .filter(|i| !count.contains_key(i))
            .take(20)
            .collect();
        for index in &missing {
            self.problem(format!(
                "entry {index} is missing from the export (dropped)"
            ));
        }
        for (index, n) in count.iter().filter(|(_, n)| **n > 1) {
            self.problem(format!("entry {index} appears {n} times (duplicated)"));
        }
        for pair in indices.windows(2) {
            let ((_, a), (position, b)) = (pair[0], pair[1]);
            if b < a {
                self.problem(format!(
                    "entries reordered: entry {b} comes after entry {a} (at position {position})"
                ));
            }
        }
    }

    fn check_checkpoints(
        &mut self,
        export: &AuditExport,
        log_key: &NoteVerifier,
        witnesses: &[NoteVerifier],
        options: &VerifyOptions,
    ) {
        let mut previous: Option<Checkpoint> = None;
        // The stored proofs link each checkpoint to the one just before it in the
        // file; after an invalid checkpoint there is nothing to link to.
        let mut previous_in_file_valid = false;
        let mut latest_cosigs = 0;
        for (number, exported) in export.checkpoints.iter().enumerate() {
            let Some((checkpoint, note)) = self.open_checkpoint(number, exported, log_key) else {
                previous_in_file_valid = false;
                continue;
            };
            self.check_root(&checkpoint);
            if let Some(prev) = &previous {
                self.check_consistency(prev, &checkpoint, exported, previous_in_file_valid);
            }
            previous_in_file_valid = true;
            latest_cosigs = self.check_cosignatures(&checkpoint, &note, log_key, witnesses);
            self.report.latest_size = checkpoint.size;
            previous = Some(checkpoint);
        }
        self.report.latest_cosignatures = latest_cosigs as u64;
        let entries = self.report.entries;
        match &previous {
            None if entries > 0 => self.problem("no valid signed checkpoint covers the entries".into()),
            Some(last) if last.size < entries => self.problem(format!(
                "entries {}..{} are not covered by any signed checkpoint (appended after the last one, or forged)",
                last.size,
                entries - 1
            )),
            _ => {}
        }
        if latest_cosigs < options.min_witnesses {
            self.problem(format!(
                "the latest checkpoint has {latest_cosigs} valid witness cosignatures; {} required",
                options.min_witnesses
            ));
        } else if previous.is_some() && latest_cosigs == 0 {
            self.warning("the latest checkpoint carries no witness cosignature".into());
        }
    }

    fn open_checkpoint(
        &mut self,
        number: usize,
        exported: &ExportedCheckpoint,
        log_key: &NoteVerifier,
    ) -> Option<(Checkpoint, SignedNote)> {
        let note = match SignedNote::parse(exported.note.as_bytes()) {
            Ok(n) => n,
            Err(e) => {
                self.problem(format!("checkpoint #{number}: {e}"));
                return None;
            }
        };
        let checkpoint = match Checkpoint::parse_body(&note.text) {
            Ok(c) => c,
            Err(e) => {
                self.problem(format!("checkpoint #{number}: {e}"));
                return None;
            }
        };
        let size = checkpoint.size;
        if checkpoint.origin != log_key.name() {
            self.problem(format!(
                "checkpoint at size {size}: belongs to another log ({:?})",
                checkpoint.origin
            ));
            return None;
        }
        if log_key.verify_note(&note).is_err() {
            self.problem(format!(
                "checkpoint at size {size}: the log signature does not verify (checkpoint rewritten or not signed by this log)"
            ));
            return None;
        }
        Some((checkpoint, note))
    }

    fn check_root(&mut self, checkpoint: &Checkpoint) {
        let size = checkpoint.size;
        match self.tree.root_at(size) {
            Err(_) => self.problem(format!(
                "checkpoint at size {size} covers more entries than the export holds ({}): entries were dropped",
                self.tree.len()
            )),
            Ok(root) if root != checkpoint.root => self.problem(format!(
                "checkpoint at size {size}: its root does not match entries 0..{} (entries changed, or checkpoint rewritten)",
                size.saturating_sub(1)
            )),
            Ok(_) => {}
        }
    }

    fn check_consistency(
        &mut self,
        prev: &Checkpoint,
        next: &Checkpoint,
        exported: &ExportedCheckpoint,
        proof_applies: bool,
    ) {
        let (a, b) = (prev.size, next.size);
        if b < a {
            self.problem(format!(
                "checkpoint at size {b} follows one at size {a}: the log shrank"
            ));
            return;
        }
        if a == b {
            if prev.root != next.root {
                self.problem(format!(
                    "two checkpoints at size {a} with different roots: the log forked"
                ));
            }
            return;
        }
        if a == 0 || !proof_applies {
            return;
        }
        let proof: Option<Vec<Hash>> = exported
            .consistency_from_previous
            .iter()
            .map(|h| Hash::from_hex(h))
            .collect();
        let ok =
            proof.is_some_and(|p| verify_consistency(a, b, &p, &prev.root, &next.root).is_ok());
        if !ok {
            self.problem(format!(
                "checkpoints at sizes {a} and {b} are not consistent: the later one does not extend the earlier one"
            ));
        }
    }

    fn check_cosignatures(
        &mut self,
        checkpoint: &Checkpoint,
        note: &SignedNote,
        log_key: &NoteVerifier,
        witnesses: &[NoteVerifier],
    ) -> usize {
        let mut valid = BTreeSet::new();
        for sig in note.signatures.iter().filter(|s| !log_key.matches(s)) {
            let Some(witness) = witnesses.iter().find(|w| w.matches(sig)) else {
                self.warning(format!(
                    "checkpoint at size {}: signature by unknown key {}+{:08x} ignored",
                    checkpoint.size, sig.name, sig.key_id
                ));
                continue;
            };
            if witness.verify_signature(&note.text, sig).is_ok() {
                valid.insert(witness.name().to_owned());
                self.seen_witnesses.insert(witness.name().to_owned());
            } else {
                self.problem(format!(
                    "checkpoint at size {}: the cosignature by witness {} does not verify",
                    checkpoint.size,
                    witness.name()
                ));
            }
        }
        valid.len()
    }
}
