//! Splits a FHIRPath expression into tokens.

use crate::error::{FhirError, Result};

/// One token with its character offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A plain or backtick-delimited identifier (`delimited` = written in backticks,
    /// so never a keyword).
    Ident {
        name: String,
        delimited: bool,
    },
    Str(String),
    /// Number text as written.
    Number(String),
    /// `@...` literal text without the `@`.
    DateTime(String),
    /// `%name`.
    External(String),
    /// `$this`, `$index`, `$total`.
    Special(String),
    Punct(&'static str),
    End,
}

const PUNCTS: [&str; 21] = [
    "!=", "!~", "<=", ">=", ".", ",", "(", ")", "[", "]", "{", "}", "+", "-", "*", "/", "&", "|",
    "=", "~", "<",
];

/// Tokenizes `src`; errors carry the character offset.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = src.chars().collect();
    let mut lexer = Lexer {
        src,
        chars,
        pos: 0,
        out: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.out)
}

struct Lexer<'s> {
    src: &'s str,
    chars: Vec<char>,
    pos: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T> {
        Err(FhirError::FhirPathSyntax {
            expression: self.src.to_string(),
            position: pos,
            message: message.into(),
        })
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn push(&mut self, kind: Tok, pos: usize) {
        self.out.push(Token { kind, pos });
    }

    fn run(&mut self) -> Result<()> {
        while let Some(c) = self.peek(0) {
            let start = self.pos;
            if c.is_whitespace() {
                self.pos += 1;
            } else if c == '/' && self.peek(1) == Some('/') {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
            } else if c == '/' && self.peek(1) == Some('*') {
                self.block_comment(start)?;
            } else if c == '\'' {
                let s = self.quoted('\'')?;
                self.push(Tok::Str(s), start);
            } else if c == '`' {
                let name = self.quoted('`')?;
                self.push(
                    Tok::Ident {
                        name,
                        delimited: true,
                    },
                    start,
                );
            } else if c.is_ascii_digit() {
                let n = self.number();
                self.push(Tok::Number(n), start);
            } else if c == '@' {
                self.pos += 1;
                let mut text = self.take_while(|c| c.is_ascii_digit() || "-:.+TZ".contains(c));
                // `@2020-01-01.toString()`: the dot belongs to the invocation.
                if text.ends_with('.') {
                    text.pop();
                    self.pos -= 1;
                }
                if text.is_empty() {
                    return self.err(start, "`@` must be followed by a date, dateTime or time");
                }
                self.push(Tok::DateTime(text), start);
            } else if c == '%' {
                self.pos += 1;
                let name = match self.peek(0) {
                    Some('`') => self.quoted('`')?,
                    Some('\'') => self.quoted('\'')?,
                    _ => self.take_while(is_ident_char),
                };
                if name.is_empty() {
                    return self.err(start, "`%` must be followed by a name");
                }
                self.push(Tok::External(name), start);
            } else if c == '$' {
                self.pos += 1;
                let name = self.take_while(is_ident_char);
                if !matches!(name.as_str(), "this" | "index" | "total") {
                    return self.err(start, "only $this, $index and $total exist");
                }
                self.push(Tok::Special(name), start);
            } else if c.is_alphabetic() || c == '_' {
                let name = self.take_while(is_ident_char);
                self.push(
                    Tok::Ident {
                        name,
                        delimited: false,
                    },
                    start,
                );
            } else {
                self.punct(start)?;
            }
        }
        let end = self.chars.len();
        self.push(Tok::End, end);
        Ok(())
    }

    fn punct(&mut self, start: usize) -> Result<()> {
        for p in PUNCTS.iter().copied().chain([">"]) {
            let matches = p
                .chars()
                .enumerate()
                .all(|(i, pc)| self.peek(i) == Some(pc));
            if matches {
                self.pos += p.chars().count();
                self.push(Tok::Punct(p), start);
                return Ok(());
            }
        }
        self.err(start, "unexpected character")
    }

    fn block_comment(&mut self, start: usize) -> Result<()> {
        self.pos += 2;
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some('*'), Some('/')) => {
                    self.pos += 2;
                    return Ok(());
                }
                (Some(_), _) => self.pos += 1,
                (None, _) => return self.err(start, "unterminated comment"),
            }
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0).filter(|&c| keep(c)) {
            s.push(c);
            self.pos += 1;
        }
        s
    }

    fn number(&mut self) -> String {
        let mut s = self.take_while(|c| c.is_ascii_digit());
        // A fraction needs a digit after the dot: `1.exists()` is a call on 1.
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            s.push('.');
            s.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        if self.peek(0) == Some('L') {
            self.pos += 1;
        }
        s
    }

    fn quoted(&mut self, quote: char) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return self.err(start, "unterminated quoted text");
            };
            self.pos += 1;
            if c == quote {
                return Ok(s);
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            let Some(e) = self.peek(0) else {
                return self.err(start, "unterminated escape");
            };
            self.pos += 1;
            match e {
                'n' => s.push('\n'),
                'r' => s.push('\r'),
                't' => s.push('\t'),
                'f' => s.push('\u{c}'),
                'u' => s.push(self.unicode_escape()?),
                other => s.push(other),
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char> {
        let start = self.pos;
        let hex: String = (0..4).filter_map(|i| self.peek(i)).collect();
        let code = u32::from_str_radix(&hex, 16)
            .ok()
            .filter(|_| hex.len() == 4);
        match code.and_then(char::from_u32) {
            Some(c) => {
                self.pos += 4;
                Ok(c)
            }
            None => self.err(start, "\\u must be followed by 4 hex digits"),
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}
