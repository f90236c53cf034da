//! HL7 v2 escape sequences (`\F\`, `\S\`, `\T\`, `\R\`, `\E\`, `\P\`, `\Xhh..\`,
//! `\.br\`, highlighting and character-set switches).
//!
//! Unescaping borrows the input when it holds no escape character, so the common case
//! allocates nothing. Unknown or unterminated sequences are kept literally: a parser of
//! outside data must not lose text because a sender used a private escape.

use std::borrow::Cow;

use crate::Delimiters;

/// Replaces the escape sequences of `raw` by the characters they stand for.
pub fn unescape<'a>(raw: &'a str, delimiters: &Delimiters) -> Cow<'a, str> {
    let Some(esc) = delimiters.escape else {
        return Cow::Borrowed(raw);
    };
    if !raw.contains(esc) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find(esc) {
        out.push_str(&rest[..start]);
        let after = &rest[start + esc.len_utf8()..];
        match after.find(esc) {
            Some(end) if end > 0 => {
                let body = &after[..end];
                if !expand(body, delimiters, &mut out) {
                    // Unknown sequence: keep it exactly as written.
                    out.push(esc);
                    out.push_str(body);
                    out.push(esc);
                }
                rest = &after[end + esc.len_utf8()..];
            }
            _ => {
                // A lone escape character (or `\\`): keep it literally.
                out.push(esc);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Writes the expansion of one escape body (the text between the escape characters)
/// and returns whether it was recognised.
fn expand(body: &str, d: &Delimiters, out: &mut String) -> bool {
    let push = |out: &mut String, c: Option<char>| match c {
        Some(c) => {
            out.push(c);
            true
        }
        None => false,
    };
    match body {
        "F" => push(out, Some(d.field)),
        "S" => push(out, Some(d.component)),
        "R" => push(out, Some(d.repetition)),
        "E" => push(out, d.escape),
        "T" => push(out, d.subcomponent),
        "P" => push(out, d.truncation),
        // Formatting (FT data type): line breaks become newlines, the rest is layout.
        ".br" => push(out, Some('\n')),
        "H" | "N" | ".fi" | ".nf" => true,
        _ => expand_parameterised(body, out),
    }
}

/// Escapes that carry a parameter: hex data, character sets, spacing, locals.
fn expand_parameterised(body: &str, out: &mut String) -> bool {
    let (head, tail) = body.split_at(body.chars().next().map_or(0, char::len_utf8));
    match head {
        "X" => match decode_hex(tail) {
            Some(bytes) => {
                out.push_str(&bytes_to_text(&bytes));
                true
            }
            None => false,
        },
        // Character-set switches and locally defined escapes carry no text.
        "C" | "M" | "Z" => !tail.is_empty(),
        "." => expand_formatting(tail, out),
        _ => false,
    }
}

/// `.sp<n>` (n line breaks), `.in`, `.ti`, `.sk`, `.ce` (layout only).
fn expand_formatting(cmd: &str, out: &mut String) -> bool {
    if let Some(n) = cmd.strip_prefix("sp") {
        let count = if n.trim().is_empty() {
            1
        } else {
            match n.trim().parse::<usize>() {
                Ok(v) => v.min(100),
                Err(_) => return false,
            }
        };
        out.extend(std::iter::repeat_n('\n', count));
        return true;
    }
    if cmd.starts_with("ce") {
        out.push('\n');
        return true;
    }
    ["in", "ti", "sk"].iter().any(|p| cmd.starts_with(p))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// Hex data is UTF-8 when it decodes as such, otherwise ISO 8859-1 (the v2 default).
fn bytes_to_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Escapes the separators in `text` so it can be written into a field.
pub fn escape(text: &str, d: &Delimiters) -> String {
    let Some(esc) = d.escape else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = if c == esc {
            Some('E')
        } else if c == d.field {
            Some('F')
        } else if c == d.component {
            Some('S')
        } else if c == d.repetition {
            Some('R')
        } else if Some(c) == d.subcomponent {
            Some('T')
        } else if Some(c) == d.truncation {
            Some('P')
        } else {
            None
        };
        match (code, c) {
            (Some(code), _) => {
                out.push(esc);
                out.push(code);
                out.push(esc);
            }
            (None, '\n') => {
                out.push(esc);
                out.push_str(".br");
                out.push(esc);
            }
            (None, '\r') => out.push_str(&format!("{esc}X0D{esc}")),
            (None, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(raw: &str) -> String {
        unescape(raw, &Delimiters::default()).into_owned()
    }

    #[test]
    fn separators_come_back() {
        assert_eq!(un(r"a\F\b\S\c\T\d\R\e\E\f"), r"a|b^c&d~e\f");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            unescape("plain", &Delimiters::default()),
            Cow::Borrowed("plain")
        ));
    }

    #[test]
    fn hex_and_line_breaks() {
        assert_eq!(un(r"\X414243\"), "ABC");
        assert_eq!(un(r"caf\XC3A9\"), "café");
        assert_eq!(un(r"caf\XE9\"), "café");
        assert_eq!(un(r"one\.br\two\.sp2\three"), "one\ntwo\n\nthree");
    }

    #[test]
    fn layout_escapes_vanish() {
        assert_eq!(un(r"\H\bold\N\ \C2842\x\.in+4\"), "bold x");
    }

    #[test]
    fn unknown_and_unterminated_are_kept() {
        assert_eq!(un(r"\Q\"), r"\Q\");
        assert_eq!(un(r"tail\"), r"tail\");
        assert_eq!(un(r"a\\b"), r"a\\b");
        assert_eq!(un(r"\XZZ\"), r"\XZZ\");
    }

    #[test]
    fn truncation_needs_v27_set() {
        assert_eq!(un(r"\P\"), r"\P\");
        let d = Delimiters::from_header("MSH|^~\\&#|").unwrap();
        assert_eq!(unescape(r"\P\", &d), "#");
    }

    #[test]
    fn escape_then_unescape_is_identity_on_examples() {
        let d = Delimiters::default();
        for s in ["a|b^c~d&e\\f", "line\nbreak", "x\ry", "plain"] {
            assert_eq!(unescape(&escape(s, &d), &d), s);
        }
    }
}
