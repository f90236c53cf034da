//! Paths into a message such as `PID-5-1`, `PID-3[2]-4` or `OBX[2]-5`.
//!
//! Grammar (all indices 1-based, brackets optional and defaulting to 1):
//! `SEG[occurrence]-FIELD[repetition]-COMPONENT-SUBCOMPONENT`. A `.` may be used
//! instead of `-` (`PID.5.1`). Parentheses are *not* accepted, to avoid confusion with
//! HAPI's 0-based Terser repetitions.

use crate::Hl7Error;

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Segment id, e.g. `PID`.
    pub segment: String,
    /// Which occurrence of the segment (1-based).
    pub occurrence: usize,
    /// Field number (1-based; `MSH-1` is the field separator).
    pub field: usize,
    /// Which repetition of the field (1-based).
    pub repetition: usize,
    /// Component number, if the path goes that deep.
    pub component: Option<usize>,
    /// Subcomponent number, if the path goes that deep.
    pub subcomponent: Option<usize>,
}

impl Path {
    /// Parses a path; see the module documentation for the grammar.
    pub fn parse(text: &str) -> Result<Path, Hl7Error> {
        let bad = || Hl7Error::BadPath {
            path: text.to_owned(),
        };
        let mut parts = text.split(['-', '.']);
        let (segment, occurrence) = split_index(parts.next().ok_or_else(bad)?).ok_or_else(bad)?;
        let valid_id = segment.len() == 3
            && segment
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !valid_id {
            return Err(bad());
        }
        let (field, repetition) = split_index(parts.next().ok_or_else(bad)?).ok_or_else(bad)?;
        let field = positive(field).ok_or_else(bad)?;
        let component = parts
            .next()
            .map(|c| positive(c).ok_or_else(bad))
            .transpose()?;
        let subcomponent = parts
            .next()
            .map(|c| positive(c).ok_or_else(bad))
            .transpose()?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Path {
            segment: segment.to_owned(),
            occurrence,
            field,
            repetition,
            component,
            subcomponent,
        })
    }
}

/// Splits `NAME[3]` into `("NAME", 3)`; no brackets means index 1.
fn split_index(part: &str) -> Option<(&str, usize)> {
    match part.find('[') {
        None => Some((part, 1)),
        Some(open) => {
            let inner = part[open + 1..].strip_suffix(']')?;
            Some((&part[..open], positive(inner)?))
        }
    }
}

fn positive(text: &str) -> Option<usize> {
    let n: usize = text.parse().ok()?;
    (n >= 1 && text.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

impl std::str::FromStr for Path {
    type Err = Hl7Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Path::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, usize, usize, usize, Option<usize>, Option<usize>) {
        let p = Path::parse(s).unwrap();
        (
            p.segment,
            p.occurrence,
            p.field,
            p.repetition,
            p.component,
            p.subcomponent,
        )
    }

    #[test]
    fn parses_the_forms() {
        assert_eq!(p("PID-5"), ("PID".into(), 1, 5, 1, None, None));
        assert_eq!(p("PID-5-1"), ("PID".into(), 1, 5, 1, Some(1), None));
        assert_eq!(p("PID-3[2]-4-2"), ("PID".into(), 1, 3, 2, Some(4), Some(2)));
        assert_eq!(p("OBX[3]-5"), ("OBX".into(), 3, 5, 1, None, None));
        assert_eq!(p("PID.5.2"), ("PID".into(), 1, 5, 1, Some(2), None));
        assert_eq!(p("ZB1-1"), ("ZB1".into(), 1, 1, 1, None, None));
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "",
            "PID",
            "pid-5",
            "PID-0",
            "PID-x",
            "PID-5-1-1-1",
            "PID[0]-1",
            "PID-3(1)",
            "PID-3[2",
            "PIDX-1",
            "PID--1",
            "PID-+5",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }
}
