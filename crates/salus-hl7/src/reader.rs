//! Reading an input (one message, a batch `BHS..BTS`, a file `FHS..FTS`, or just
//! messages one after another) into messages plus diagnostics.
//!
//! The reader never gives up on an input: a broken segment, a second `FHS` or a
//! batch without trailer is reported with its position, and every well-formed message
//! is still returned. Segment terminators may be CR, LF or CRLF; MLLP framing bytes
//! (0x0B, 0x1C) and a byte-order mark are ignored.

use std::borrow::Cow;

use crate::message::{Segment, is_header_id};
use crate::{Delimiters, Diagnostic, Location, Message};

/// What [`parse`] found in an input.
#[derive(Debug, Default)]
pub struct ParsedInput<'a> {
    /// The messages, in input order.
    pub messages: Vec<Message<'a>>,
    /// Problems found while reading (structure only; content is checked by the mapping).
    pub diagnostics: Vec<Diagnostic>,
    /// How many batches (`BHS`) the input opened.
    pub batches: usize,
}

/// Versions this crate is written for; others are read with a warning.
const SUPPORTED_VERSIONS: [&str; 6] = ["2.3", "2.4", "2.5", "2.6", "2.7", "2.8"];

/// Decodes raw bytes: UTF-8 when valid, otherwise ISO 8859-1 (the HL7 v2 default
/// character set), with a warning saying so.
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, Option<Diagnostic>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), None),
        Err(err) => {
            let text: String = bytes.iter().map(|&b| char::from(b)).collect();
            let note = Diagnostic::warning(
                Location::default(),
                format!(
                    "input is not valid UTF-8 (first bad byte at offset {}); read as ISO 8859-1",
                    err.valid_up_to()
                ),
            );
            (Cow::Owned(text), Some(note))
        }
    }
}

/// Splits text into `(position, segment)` pairs, skipping empty lines. With CR in
/// the input, CR (and CRLF) ends a segment and a lone LF only does when a segment id
/// follows it (otherwise it is data); without CR, LF ends a segment.
pub(crate) fn split_segments(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let pieces: Box<dyn Iterator<Item = &str>> = if text.contains('\r') {
        Box::new(text.split('\r').flat_map(split_lf_before_segment))
    } else {
        Box::new(text.split('\n'))
    };
    pieces
        .map(|p| p.trim_matches(|c| c == '\u{0b}' || c == '\u{1c}' || c == '\n'))
        .filter(|p| !p.trim().is_empty())
        .enumerate()
        .map(|(i, p)| (i + 1, p))
}

/// Inside a CR-terminated input, splits at LFs that are followed by a segment id.
fn split_lf_before_segment(piece: &str) -> impl Iterator<Item = &str> {
    let mut cuts = vec![0];
    for (i, _) in piece.match_indices('\n') {
        if looks_like_segment_start(&piece[i + 1..]) {
            cuts.push(i + 1);
        }
    }
    cuts.push(piece.len());
    let pieces: Vec<&str> = cuts.windows(2).map(|w| &piece[w[0]..w[1]]).collect();
    pieces.into_iter()
}

fn looks_like_segment_start(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 4
        && b[0].is_ascii_uppercase()
        && b[1..3]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && !b[3].is_ascii_alphanumeric()
        && !b[3].is_ascii_whitespace()
}

/// Reads every message of an input, with diagnostics for structural problems.
pub fn parse(text: &str) -> ParsedInput<'_> {
    let mut reader = Reader::default();
    for (position, segment) in split_segments(text) {
        reader.segment(position, segment);
    }
    reader.finish()
}

/// An open `FHS` or `BHS` and how many children it has seen.
#[derive(Debug, Clone, Copy)]
struct Open {
    position: usize,
    children: usize,
}

#[derive(Default)]
struct Reader<'a> {
    out: ParsedInput<'a>,
    current: Vec<Segment<'a>>,
    delimiters: Delimiters,
    file: Option<Open>,
    batch: Option<Open>,
    file_closed: bool,
    /// Segments that could not belong to a message, reported as one run.
    orphans: Vec<(usize, String)>,
    /// True after a header with unusable separators, until the next good header.
    after_bad_header: bool,
}

impl<'a> Reader<'a> {
    fn segment(&mut self, position: usize, text: &'a str) {
        let id = text.get(..3).unwrap_or(text);
        if is_header_id(id) {
            self.flush_orphans();
            match Delimiters::from_header(text) {
                Ok(d) => self.header(position, id, text, d),
                Err(err) => self.bad_header(position, id, &err.to_string()),
            }
            return;
        }
        if !self.is_segment(text) {
            // The text is not shown at all: it may be patient data.
            let location = Location {
                segment: Some(position),
                ..Location::default()
            };
            self.out.diagnostics.push(Diagnostic::error(
                location,
                "not an HL7 segment (expected a 3-character id such as PID followed by the field separator); skipped",
            ));
            return;
        }
        match id {
            "BTS" => self.close_batch(position, text),
            "FTS" => self.close_file(position, text),
            _ if self.current.is_empty() => self.orphans.push((position, id.to_owned())),
            _ => self
                .current
                .push(Segment::split(text, position, self.delimiters)),
        }
    }

    fn is_segment(&self, text: &str) -> bool {
        let b = text.as_bytes();
        let id_ok = b.len() >= 3
            && b[0].is_ascii_uppercase()
            && b[1..3]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        id_ok && (b.len() == 3 || text[3..].starts_with(self.delimiters.field))
    }

    fn header(&mut self, position: usize, id: &str, text: &'a str, d: Delimiters) {
        self.close_message();
        self.delimiters = d;
        self.after_bad_header = false;
        if self.file_closed {
            self.out.diagnostics.push(Diagnostic::warning(
                Location::segment(position, id),
                "content after the file trailer (FTS); read anyway",
            ));
            self.file_closed = false;
        }
        match id {
            "MSH" => self.current.push(Segment::split(text, position, d)),
            "BHS" => self.open_batch(position),
            _ => self.open_file(position),
        }
    }

    fn bad_header(&mut self, position: usize, id: &str, reason: &str) {
        self.close_message();
        self.out.diagnostics.push(Diagnostic::error(
            Location::segment(position, id).with_field(format!("{id}-2")),
            format!("{reason}; the segments up to the next header are skipped"),
        ));
        self.after_bad_header = true;
    }

    fn open_batch(&mut self, position: usize) {
        if let Some(open) = self.batch.take() {
            self.out.diagnostics.push(Diagnostic::error(
                Location::segment(position, "BHS"),
                format!(
                    "a new batch starts while the batch opened at segment {} has no BTS; the open batch is closed here",
                    open.position
                ),
            ));
        }
        if let Some(file) = self.file.as_mut() {
            file.children += 1;
        }
        self.out.batches += 1;
        self.batch = Some(Open {
            position,
            children: 0,
        });
    }

    fn open_file(&mut self, position: usize) {
        let started = !self.out.messages.is_empty() || self.out.batches > 0;
        if let Some(open) = self.file {
            self.out.diagnostics.push(Diagnostic::error(
                Location::segment(position, "FHS"),
                format!(
                    "a second file header while the file opened at segment {} has no FTS; files cannot nest, so it is ignored",
                    open.position
                ),
            ));
            return;
        }
        if started {
            self.out.diagnostics.push(Diagnostic::error(
                Location::segment(position, "FHS"),
                "a file header (FHS) after messages or batches; FHS must come first. Reading on",
            ));
        }
        self.batch = None;
        self.file = Some(Open {
            position,
            children: 0,
        });
    }

    fn close_batch(&mut self, position: usize, text: &'a str) {
        self.flush_orphans();
        self.close_message();
        let declared = trailer_count(text, &self.delimiters);
        match self.batch.take() {
            None => self.out.diagnostics.push(Diagnostic::warning(
                Location::segment(position, "BTS"),
                "batch trailer (BTS) without a batch header (BHS); ignored",
            )),
            Some(open) => self.check_count(position, "BTS", declared, open.children, "messages"),
        }
    }

    fn close_file(&mut self, position: usize, text: &'a str) {
        self.flush_orphans();
        self.close_message();
        if let Some(open) = self.batch.take() {
            self.out.diagnostics.push(Diagnostic::warning(
                Location::segment(open.position, "BHS"),
                "batch has no trailer (BTS) before the file trailer",
            ));
        }
        let declared = trailer_count(text, &self.delimiters);
        match self.file.take() {
            None => self.out.diagnostics.push(Diagnostic::warning(
                Location::segment(position, "FTS"),
                "file trailer (FTS) without a file header (FHS); ignored",
            )),
            Some(open) => self.check_count(position, "FTS", declared, open.children, "batches"),
        }
        self.file_closed = true;
    }

    fn check_count(
        &mut self,
        position: usize,
        id: &str,
        declared: Option<usize>,
        actual: usize,
        what: &str,
    ) {
        if let Some(declared) = declared.filter(|&n| n != actual) {
            self.out.diagnostics.push(Diagnostic::warning(
                Location::segment(position, id).with_field(format!("{id}-1")),
                format!("{id}-1 declares {declared} {what} but {actual} were read"),
            ));
        }
    }

    fn close_message(&mut self) {
        if self.current.is_empty() {
            return;
        }
        let segments = std::mem::take(&mut self.current);
        let message = Message::from_segments(segments, self.delimiters);
        let ordinal = self.out.messages.len() + 1;
        check_message(&message, ordinal, &mut self.out.diagnostics);
        if let Some(batch) = self.batch.as_mut() {
            batch.children += 1;
        } else if let Some(file) = self.file.as_mut() {
            // Messages directly under FHS count as one implicit batch.
            if file.children == 0 {
                file.children = 1;
            }
        }
        self.out.messages.push(message);
    }

    fn flush_orphans(&mut self) {
        if self.orphans.is_empty() {
            return;
        }
        let orphans = std::mem::take(&mut self.orphans);
        let first = orphans[0].0;
        let last = orphans[orphans.len() - 1].0;
        let mut ids: Vec<&str> = orphans.iter().map(|(_, id)| id.as_str()).collect();
        ids.dedup();
        let shown: Vec<&str> = ids.iter().take(8).copied().collect();
        let more = if ids.len() > 8 { ", ..." } else { "" };
        let reason = if self.after_bad_header {
            "they follow a header with unusable separators"
        } else {
            "no MSH before them"
        };
        let range = if first == last {
            format!("segment {first}")
        } else {
            format!("segments {first}-{last}")
        };
        self.out.diagnostics.push(Diagnostic::error(
            Location::segment(first, &orphans[0].1),
            format!(
                "{range} ({}{more}) belong to no message ({}); skipped",
                shown.join(", "),
                reason
            ),
        ));
    }

    fn finish(mut self) -> ParsedInput<'a> {
        self.flush_orphans();
        self.close_message();
        if let Some(open) = self.batch {
            self.out.diagnostics.push(Diagnostic::warning(
                Location::segment(open.position, "BHS"),
                "batch has no trailer (BTS); its messages were read",
            ));
        }
        if let Some(open) = self.file {
            self.out.diagnostics.push(Diagnostic::warning(
                Location::segment(open.position, "FHS"),
                "file has no trailer (FTS); its messages were read",
            ));
        }
        self.out
    }
}

/// BTS-1 / FTS-1: the declared count, if it is a number.
fn trailer_count(text: &str, d: &Delimiters) -> Option<usize> {
    let seg = Segment::split(text, 0, *d);
    seg.text(1)?.parse().ok()
}

/// Checks the MSH fields every reader needs.
fn check_message(message: &Message<'_>, ordinal: usize, diagnostics: &mut Vec<Diagnostic>) {
    let msh = message.msh();
    let at = |field: &str| {
        Location::segment(msh.position(), "MSH")
            .in_message(ordinal)
            .with_field(field)
    };
    if message.message_type().code.is_empty() {
        diagnostics.push(Diagnostic::error(
            at("MSH-9"),
            "message type (MSH-9) is empty; the message cannot be mapped",
        ));
    }
    if message.control_id().is_none() {
        diagnostics.push(Diagnostic::warning(
            at("MSH-10"),
            "message control id (MSH-10) is empty; resource ids fall back to the message position",
        ));
    }
    match message.version() {
        None => diagnostics.push(Diagnostic::warning(
            at("MSH-12"),
            "version (MSH-12) is empty; read as 2.5",
        )),
        Some(v) if !SUPPORTED_VERSIONS.iter().any(|s| v.starts_with(s)) => {
            diagnostics.push(Diagnostic::warning(
                at("MSH-12"),
                format!("version {v} is outside the supported range 2.3-2.8; read anyway"),
            ))
        }
        Some(_) => {}
    }
}
