//! Parsed messages, segments and the elements inside fields.
//!
//! Everything borrows from the input text: a [`Segment`] keeps slices of its fields and
//! an [`Element`] is a slice plus the message's [`Delimiters`]. Splitting into
//! repetitions, components and subcomponents happens on access, and values are
//! unescaped on access (borrowing unless an escape sequence is present).

use std::borrow::Cow;

use crate::path::Path;
use crate::{Delimiters, Hl7Error, escape};

/// The nesting level an [`Element`] stands at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// A whole field, possibly with repetitions.
    Field,
    /// One repetition of a field.
    Repetition,
    /// One component of a repetition.
    Component,
    /// One subcomponent of a component.
    Subcomponent,
}

/// A piece of a field at some [`Level`]. Absent pieces are empty elements, so
/// navigation never fails: `field.component(9).value()` is simply `None`.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    raw: &'a str,
    level: Level,
    delimiters: Delimiters,
    /// MSH-1 and MSH-2 hold separators themselves and are never split or unescaped.
    literal: bool,
}

impl std::fmt::Debug for Element<'_> {
    /// Shows the shape, never the content (it may be patient data).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Element")
            .field("level", &self.level)
            .field("len", &self.raw.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Element<'a> {
    pub(crate) fn new(raw: &'a str, level: Level, delimiters: Delimiters) -> Self {
        Element {
            raw,
            level,
            delimiters,
            literal: false,
        }
    }

    pub(crate) fn literal(raw: &'a str, delimiters: Delimiters) -> Self {
        Element {
            raw,
            level: Level::Subcomponent,
            delimiters,
            literal: true,
        }
    }

    /// The text exactly as sent (separators and escapes included).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The level of this element.
    pub fn level(&self) -> Level {
        self.level
    }

    /// True when nothing was sent here.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// True for the HL7 explicit null `""` ("delete this value").
    pub fn is_null(&self) -> bool {
        self.raw == "\"\""
    }

    fn child(&self, level: Level, separator: Option<char>, n: usize) -> Element<'a> {
        let raw = match (separator, n) {
            (_, 0) => "",
            (None, 1) => self.raw,
            (None, _) => "",
            (Some(sep), n) => self.raw.split(sep).nth(n - 1).unwrap_or(""),
        };
        Element::new(raw, level, self.delimiters)
    }

    /// Repetition `n` (1-based) of a field; for deeper elements, itself when `n == 1`.
    pub fn repetition(&self, n: usize) -> Element<'a> {
        if self.literal || self.level > Level::Field {
            return if n == 1 { *self } else { self.empty() };
        }
        self.child(Level::Repetition, Some(self.delimiters.repetition), n)
    }

    /// Component `n` (1-based) of the first repetition.
    pub fn component(&self, n: usize) -> Element<'a> {
        if self.literal || self.level > Level::Repetition {
            return if n == 1 { *self } else { self.empty() };
        }
        let rep = self.repetition(1);
        rep.child(Level::Component, Some(self.delimiters.component), n)
    }

    /// Subcomponent `n` (1-based) of the first component.
    pub fn subcomponent(&self, n: usize) -> Element<'a> {
        if self.literal || self.level > Level::Component {
            return if n == 1 { *self } else { self.empty() };
        }
        let comp = self.component(1);
        comp.child(Level::Subcomponent, self.delimiters.subcomponent, n)
    }

    fn empty(&self) -> Element<'a> {
        Element::new("", self.level, self.delimiters)
    }

    /// The repetitions of a field (none when the field is empty).
    pub fn repetitions(&self) -> impl Iterator<Item = Element<'a>> + use<'a> {
        let d = self.delimiters;
        let parts: Box<dyn Iterator<Item = &'a str>> = if self.raw.is_empty() {
            Box::new(std::iter::empty())
        } else if self.literal || self.level > Level::Field {
            Box::new(std::iter::once(self.raw))
        } else {
            Box::new(self.raw.split(d.repetition))
        };
        parts.map(move |raw| Element::new(raw, Level::Repetition, d))
    }

    /// The components of the first repetition.
    pub fn components(&self) -> impl Iterator<Item = Element<'a>> + use<'a> {
        let rep = self.repetition(1);
        let d = self.delimiters;
        let parts: Box<dyn Iterator<Item = &'a str>> = if rep.raw.is_empty() {
            Box::new(std::iter::empty())
        } else if rep.literal || rep.level > Level::Repetition {
            Box::new(std::iter::once(rep.raw))
        } else {
            Box::new(rep.raw.split(d.component))
        };
        parts.map(move |raw| Element::new(raw, Level::Component, d))
    }

    /// The first primitive value here (first repetition, component and subcomponent),
    /// unescaped; `None` when empty or the explicit null `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        let prim = self.subcomponent(1);
        if prim.raw.is_empty() || prim.is_null() {
            return None;
        }
        if prim.literal {
            return Some(Cow::Borrowed(prim.raw));
        }
        Some(escape::unescape(prim.raw, &self.delimiters))
    }

    /// Like [`Element::value`], trimmed, and `None` when only white space remains.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        match self.value()? {
            Cow::Borrowed(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(Cow::Borrowed),
            Cow::Owned(s) => Some(s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .map(Cow::Owned),
        }
    }
}

/// One segment: its id, its position in the input and its fields.
#[derive(Clone)]
pub struct Segment<'a> {
    fields: Vec<&'a str>,
    position: usize,
    delimiters: Delimiters,
    header: bool,
}

impl std::fmt::Debug for Segment<'_> {
    /// Shows the id, position and field count, never the content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("id", &self.id())
            .field("position", &self.position)
            .field("fields", &self.field_count())
            .finish()
    }
}

impl<'a> Segment<'a> {
    /// Splits one segment's text (without terminator). `header` marks MSH/FHS/BHS, whose
    /// first field is the field separator itself.
    pub(crate) fn split(text: &'a str, position: usize, delimiters: Delimiters) -> Self {
        let sep = delimiters.field;
        let header = is_header_id(text.get(..3).unwrap_or(""));
        let mut fields: Vec<&'a str> = Vec::with_capacity(24);
        if header && text.len() > 3 {
            let sep_len = sep.len_utf8();
            fields.push(&text[..3]);
            fields.push(&text[3..3 + sep_len]);
            fields.extend(text[3 + sep_len..].split(sep));
        } else {
            fields.extend(text.split(sep));
        }
        Segment {
            fields,
            position,
            delimiters,
            header,
        }
    }

    /// The three-character segment id, e.g. `PID`.
    pub fn id(&self) -> &'a str {
        self.fields.first().copied().unwrap_or("")
    }

    /// The ordinal of this segment in the input (1-based).
    pub fn position(&self) -> usize {
        self.position
    }

    /// The highest field number present.
    pub fn field_count(&self) -> usize {
        self.fields.len().saturating_sub(1)
    }

    /// The separators in force for this segment.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// Field `n` (1-based; `MSH-1` is the field separator). Absent fields are empty.
    pub fn field(&self, n: usize) -> Element<'a> {
        let raw = if n == 0 {
            ""
        } else {
            self.fields.get(n).copied().unwrap_or("")
        };
        if self.header && (n == 1 || n == 2) {
            Element::literal(raw, self.delimiters)
        } else {
            Element::new(raw, Level::Field, self.delimiters)
        }
    }

    /// Shorthand for `self.field(n).value()`.
    pub fn value(&self, n: usize) -> Option<Cow<'a, str>> {
        self.field(n).value()
    }

    /// Shorthand for `self.field(n).text()` (trimmed).
    pub fn text(&self, n: usize) -> Option<Cow<'a, str>> {
        self.field(n).text()
    }
}

pub(crate) fn is_header_id(id: &str) -> bool {
    matches!(id, "MSH" | "FHS" | "BHS")
}

/// The three parts of MSH-9: code, trigger event and message structure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageType {
    /// MSH-9.1, e.g. `ADT`.
    pub code: String,
    /// MSH-9.2, e.g. `A01`.
    pub trigger: String,
    /// MSH-9.3, e.g. `ADT_A01` (often absent before v2.4).
    pub structure: String,
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}^{}", self.code, self.trigger)
    }
}

/// One HL7 v2 message: an MSH segment and the segments that follow it.
#[derive(Clone)]
pub struct Message<'a> {
    segments: Vec<Segment<'a>>,
    delimiters: Delimiters,
}

impl std::fmt::Debug for Message<'_> {
    /// Shows the type and the segment ids, never the content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.segments.iter().map(Segment::id).collect();
        f.debug_struct("Message")
            .field("type", &self.message_type().to_string())
            .field("segments", &ids)
            .finish()
    }
}

impl<'a> Message<'a> {
    pub(crate) fn from_segments(segments: Vec<Segment<'a>>, delimiters: Delimiters) -> Self {
        Message {
            segments,
            delimiters,
        }
    }

    /// Parses text holding exactly one message (CR, LF or CRLF terminators; MLLP
    /// framing tolerated). Use [`crate::parse`] for batches, files and diagnostics.
    pub fn parse(text: &'a str) -> Result<Message<'a>, Hl7Error> {
        let Some((_, first)) = crate::reader::split_segments(text).next() else {
            return Err(Hl7Error::NoMessage);
        };
        if !first.starts_with("MSH") {
            return Err(Hl7Error::MissingMsh {
                found: first.chars().take(3).collect(),
            });
        }
        Delimiters::from_header(first)?;
        let mut parsed = crate::parse(text);
        match parsed.messages.len() {
            0 => Err(Hl7Error::NoMessage),
            1 => parsed.messages.pop().ok_or(Hl7Error::NoMessage),
            count => Err(Hl7Error::SeveralMessages { count }),
        }
    }

    /// All segments in order, MSH first.
    pub fn segments(&self) -> &[Segment<'a>] {
        &self.segments
    }

    /// The separators declared by this message's MSH.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// The MSH segment.
    pub fn msh(&self) -> &Segment<'a> {
        // A message is only ever built from an MSH segment and what follows it.
        &self.segments[0]
    }

    /// The segments with id `id`, in order.
    pub fn segments_named<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'s Segment<'a>> {
        self.segments.iter().filter(move |s| s.id() == id)
    }

    /// Occurrence `n` (1-based) of segment `id`.
    pub fn segment(&self, id: &str, n: usize) -> Option<&Segment<'a>> {
        self.segments
            .iter()
            .filter(|s| s.id() == id)
            .nth(n.checked_sub(1)?)
    }

    /// The value at a path such as `PID-5-1`, `PID-3[2]-4` or `OBX[2]-5` (see
    /// [`Path`]). `None` when absent, empty, the explicit null `""`, or when the path
    /// itself is malformed (use [`Path::parse`] to tell the cases apart).
    pub fn get(&self, path: &str) -> Option<Cow<'a, str>> {
        let path = Path::parse(path).ok()?;
        self.element(&path)?.value()
    }

    /// The element a parsed path points to (an empty element when the segment exists
    /// but the field is absent; `None` when the segment occurrence does not exist).
    pub fn element(&self, path: &Path) -> Option<Element<'a>> {
        let segment = self.segment(&path.segment, path.occurrence)?;
        let mut element = segment.field(path.field).repetition(path.repetition);
        if let Some(c) = path.component {
            element = element.component(c);
            if let Some(s) = path.subcomponent {
                element = element.subcomponent(s);
            }
        }
        Some(element)
    }

    /// MSH-9 split into code, trigger and structure.
    pub fn message_type(&self) -> MessageType {
        let f = self.msh().field(9);
        let part = |n| {
            f.component(n)
                .text()
                .map(|s| s.into_owned())
                .unwrap_or_default()
        };
        MessageType {
            code: part(1),
            trigger: part(2),
            structure: part(3),
        }
    }

    /// MSH-10, the message control id.
    pub fn control_id(&self) -> Option<Cow<'a, str>> {
        self.msh().text(10)
    }

    /// MSH-12.1, the version id (e.g. `2.5.1`).
    pub fn version(&self) -> Option<Cow<'a, str>> {
        self.msh().field(12).component(1).text()
    }
}
