//! The separators a message declares in MSH-1 and MSH-2 (also FHS/BHS).
//!
//! HL7 v2 lets every message choose its own field, component, repetition, escape and
//! subcomponent characters (plus, from v2.7, a truncation character). They are read
//! from the header segment itself, never assumed.

use crate::Hl7Error;

/// The separator set of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Between fields (MSH-1), usually `|`.
    pub field: char,
    /// Between components, usually `^`.
    pub component: char,
    /// Between repetitions of a field, usually `~`.
    pub repetition: char,
    /// Starts and ends an escape sequence, usually `\`; `None` when MSH-2 omits it.
    pub escape: Option<char>,
    /// Between subcomponents, usually `&`; `None` when MSH-2 omits it.
    pub subcomponent: Option<char>,
    /// Marks a truncated value (v2.7+), usually `#`; `None` before v2.7.
    pub truncation: Option<char>,
}

impl Default for Delimiters {
    /// The separators almost every sender uses: `|^~\&`.
    fn default() -> Self {
        Delimiters {
            field: '|',
            component: '^',
            repetition: '~',
            escape: Some('\\'),
            subcomponent: Some('&'),
            truncation: None,
        }
    }
}

impl Delimiters {
    /// Reads the separators from the start of a header segment (`MSH`, `FHS` or `BHS`):
    /// the fourth character is the field separator and the characters up to the next
    /// field separator are the encoding characters.
    pub fn from_header(segment: &str) -> Result<Self, Hl7Error> {
        let mut chars = segment.chars().skip(3);
        let field = chars.next().ok_or(Hl7Error::BadEncodingCharacters {
            reason: "the header segment ends before its field separator",
        })?;
        let encoding: Vec<char> = chars.take_while(|&c| c != field).collect();
        Self::from_parts(field, &encoding)
    }

    /// Builds the set from a field separator and the MSH-2 characters, in the order
    /// component, repetition, escape, subcomponent, truncation.
    pub fn from_parts(field: char, encoding: &[char]) -> Result<Self, Hl7Error> {
        if encoding.len() < 2 {
            return Err(Hl7Error::BadEncodingCharacters {
                reason: "MSH-2 needs at least the component and repetition characters",
            });
        }
        if encoding.len() > 5 {
            return Err(Hl7Error::BadEncodingCharacters {
                reason: "MSH-2 holds more than five encoding characters",
            });
        }
        let mut all = vec![field];
        all.extend_from_slice(encoding);
        if all.iter().any(|c| c.is_alphanumeric() || c.is_whitespace()) {
            return Err(Hl7Error::BadEncodingCharacters {
                reason: "separators may not be letters, digits or white space",
            });
        }
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != all.len() {
            return Err(Hl7Error::BadEncodingCharacters {
                reason: "two separators use the same character",
            });
        }
        Ok(Delimiters {
            field,
            component: encoding[0],
            repetition: encoding[1],
            escape: encoding.get(2).copied(),
            subcomponent: encoding.get(3).copied(),
            truncation: encoding.get(4).copied(),
        })
    }

    /// The MSH-2 text these delimiters would be written as (e.g. `^~\&`).
    pub fn encoding_characters(&self) -> String {
        let mut out = String::new();
        out.push(self.component);
        out.push(self.repetition);
        out.extend(self.escape);
        out.extend(self.subcomponent);
        out.extend(self.truncation);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_set() {
        let d = Delimiters::from_header("MSH|^~\\&|APP").unwrap();
        assert_eq!(d, Delimiters::default());
        assert_eq!(d.encoding_characters(), "^~\\&");
    }

    #[test]
    fn reads_the_v27_truncation_character() {
        let d = Delimiters::from_header("MSH|^~\\&#|APP").unwrap();
        assert_eq!(d.truncation, Some('#'));
    }

    #[test]
    fn reads_unusual_separators() {
        let d = Delimiters::from_header("MSH*:!/$*APP").unwrap();
        assert_eq!(
            (d.field, d.component, d.repetition, d.escape, d.subcomponent),
            ('*', ':', '!', Some('/'), Some('$'))
        );
    }

    #[test]
    fn short_encoding_keeps_optional_parts_empty() {
        let d = Delimiters::from_header("MSH|^~|X").unwrap();
        assert_eq!((d.escape, d.subcomponent), (None, None));
    }

    #[test]
    fn rejects_bad_sets() {
        for bad in ["MSH", "MSH|^|", "MSH|^^\\&|", "MSH|^~A&|", "MSH|^~\\&#@!|"] {
            assert!(Delimiters::from_header(bad).is_err(), "{bad}");
        }
    }
}
