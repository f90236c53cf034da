//! The cohort filter language: a small, safe expression language over columns.
//!
//! ```text
//! expr   := or
//! or     := and ("or" and)*
//! and    := unary ("and" unary)*
//! unary  := "not" unary | "(" expr ")" | test
//! test   := column op value | column "in" "[" value ("," value)* "]"
//!         | column "is" ["not"] "missing"
//! op     := "==" | "!=" | "<" | "<=" | ">" | ">="
//! value  := number | 'text' | "text"
//! ```
//!
//! No functions, no arithmetic, no code: a filter can only compare a column with
//! literals. A comparison with a missing value is false (use `is missing`).
//! Identifier columns cannot be used (they would let a cohort single out a patient).

use salus_core::schema::{ColumnRole, DatasetSchema};
use salus_table::Table;

use crate::StudyError;

/// A parsed cohort filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All,
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Compare {
        column: String,
        op: CompareOp,
        value: Literal,
    },
    In {
        column: String,
        values: Vec<Literal>,
    },
    Missing {
        column: String,
        negated: bool,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Number(f64),
    Text(String),
    Op(CompareOp),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

const MAX_FILTER_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;

impl Filter {
    /// Parses a filter; the empty string selects every row.
    pub fn parse(text: &str) -> Result<Filter, StudyError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(cohort_err(format!(
                "the filter is longer than {MAX_FILTER_LEN} characters"
            )));
        }
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Ok(Filter::All);
        }
        let mut parser = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        let filter = parser.or()?;
        if parser.pos != parser.tokens.len() {
            return Err(cohort_err(format!(
                "unexpected {} after the end of the expression",
                describe(&parser.tokens[parser.pos])
            )));
        }
        Ok(filter)
    }

    /// Columns the filter reads.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Filter::All => {}
            Filter::Or(v) | Filter::And(v) => v.iter().for_each(|f| f.collect_columns(out)),
            Filter::Not(f) => f.collect_columns(out),
            Filter::Compare { column, .. }
            | Filter::In { column, .. }
            | Filter::Missing { column, .. } => out.push(column),
        }
    }

    /// Checks every column exists in the schema and is not an identifier.
    pub fn check_schema(&self, schema: &DatasetSchema) -> Result<(), StudyError> {
        for c in self.columns() {
            let col = schema.column(c).map_err(|e| cohort_err(e.to_string()))?;
            if col.role == ColumnRole::Identifier {
                return Err(cohort_err(format!(
                    "column `{c}` is an identifier; cohorts cannot select on identifiers"
                )));
            }
        }
        Ok(())
    }

    /// Evaluates the filter on every row of a table.
    pub fn evaluate(&self, table: &Table) -> Result<Vec<bool>, StudyError> {
        (0..table.nrows()).map(|r| self.matches(table, r)).collect()
    }

    fn matches(&self, table: &Table, row: usize) -> Result<bool, StudyError> {
        Ok(match self {
            Filter::All => true,
            Filter::Or(v) => {
                for f in v {
                    if f.matches(table, row)? {
                        return Ok(true);
                    }
                }
                false
            }
            Filter::And(v) => {
                for f in v {
                    if !f.matches(table, row)? {
                        return Ok(false);
                    }
                }
                true
            }
            Filter::Not(f) => !f.matches(table, row)?,
            Filter::Missing { column, negated } => {
                let col = table
                    .column(column)
                    .map_err(|e| cohort_err(e.to_string()))?;
                col.is_missing(row) != *negated
            }
            Filter::Compare { column, op, value } => {
                let col = table
                    .column(column)
                    .map_err(|e| cohort_err(e.to_string()))?;
                compare(col, row, *op, value)
            }
            Filter::In { column, values } => {
                let col = table
                    .column(column)
                    .map_err(|e| cohort_err(e.to_string()))?;
                values.iter().any(|v| compare(col, row, CompareOp::Eq, v))
            }
        })
    }
}

fn compare(col: &salus_table::Column, row: usize, op: CompareOp, value: &Literal) -> bool {
    let ordering = match value {
        Literal::Number(x) => match col.number(row) {
            Some(v) => v.partial_cmp(x),
            None => return false,
        },
        Literal::Text(s) => match col.display(row) {
            Some(v) => Some(v.as_ref().cmp(s.as_str())),
            None => return false,
        },
    };
    let Some(o) = ordering else { return false };
    use std::cmp::Ordering::*;
    match op {
        CompareOp::Eq => o == Equal,
        CompareOp::Ne => o != Equal,
        CompareOp::Lt => o == Less,
        CompareOp::Le => o != Greater,
        CompareOp::Gt => o == Greater,
        CompareOp::Ge => o != Less,
    }
}

fn cohort_err(message: impl Into<String>) -> StudyError {
    StudyError::Cohort(message.into())
}

fn describe(t: &Token) -> String {
    match t {
        Token::Ident(s) => format!("word `{s}`"),
        Token::Number(x) => format!("number {x}"),
        Token::Text(_) => "text literal".to_string(),
        Token::Op(_) => "comparison operator".to_string(),
        Token::LParen => "`(`".to_string(),
        Token::RParen => "`)`".to_string(),
        Token::LBracket => "`[`".to_string(),
        Token::RBracket => "`]`".to_string(),
        Token::Comma => "`,`".to_string(),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, StudyError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | '[' | ']' | ',' => {
                tokens.push(match c {
                    '(' => Token::LParen,
                    ')' => Token::RParen,
                    '[' => Token::LBracket,
                    ']' => Token::RBracket,
                    _ => Token::Comma,
                });
                i += 1;
            }
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|&d| d == c).ok_or_else(|| {
                    cohort_err(format!(
                        "unterminated text literal starting at character {}",
                        i + 1
                    ))
                })?;
                tokens.push(Token::Text(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('=', Some('=')) => (CompareOp::Eq, 2),
                    ('!', Some('=')) => (CompareOp::Ne, 2),
                    ('<', Some('=')) => (CompareOp::Le, 2),
                    ('>', Some('=')) => (CompareOp::Ge, 2),
                    ('<', _) => (CompareOp::Lt, 1),
                    ('>', _) => (CompareOp::Gt, 1),
                    _ => {
                        return Err(cohort_err(format!(
                            "unknown operator at character {}; use ==, !=, <, <=, >, >=",
                            i + 1
                        )));
                    }
                };
                tokens.push(Token::Op(op));
                i += len;
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || chars[i] == '.'
                        || ((chars[i] == '-' || chars[i] == '+')
                            && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let x = s
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| cohort_err(format!("`{s}` is not a number")))?;
                tokens.push(Token::Number(x));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '-'))
                {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == '`')
                    .ok_or_else(|| cohort_err("unterminated `quoted column name`"))?;
                tokens.push(Token::Ident(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            other => {
                return Err(cohort_err(format!(
                    "unexpected character `{other}` at position {}",
                    i + 1
                )));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(s)) if s.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Result<Token, StudyError> {
        let t = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| cohort_err("the expression ends too early"))?;
        self.pos += 1;
        Ok(t)
    }

    fn or(&mut self) -> Result<Filter, StudyError> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Filter, StudyError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Filter, StudyError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(cohort_err(format!(
                "the filter nests deeper than {MAX_DEPTH} levels"
            )));
        }
        let result = if self.keyword("not") {
            self.pos += 1;
            self.unary().map(|f| Filter::Not(Box::new(f)))
        } else if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            match self.tokens.get(self.pos) {
                Some(Token::RParen) => {
                    self.pos += 1;
                    Ok(inner)
                }
                Some(t) => Err(cohort_err(format!(
                    "expected `)` but found {}",
                    describe(t)
                ))),
                None => Err(cohort_err("expected `)` before the end of the expression")),
            }
        } else {
            self.test()
        };
        self.depth -= 1;
        result
    }

    fn test(&mut self) -> Result<Filter, StudyError> {
        let column = match self.next()? {
            Token::Ident(s) => s,
            t => {
                return Err(cohort_err(format!(
                    "expected a column name but found {}",
                    describe(&t)
                )));
            }
        };
        if self.keyword("is") {
            self.pos += 1;
            let negated = self.keyword("not");
            if negated {
                self.pos += 1;
            }
            if !self.keyword("missing") {
                return Err(cohort_err("expected `missing` after `is` / `is not`"));
            }
            self.pos += 1;
            return Ok(Filter::Missing { column, negated });
        }
        if self.keyword("in") {
            self.pos += 1;
            if self.next()? != Token::LBracket {
                return Err(cohort_err("expected `[` after `in`"));
            }
            let mut values = vec![self.literal()?];
            loop {
                match self.next()? {
                    Token::Comma => values.push(self.literal()?),
                    Token::RBracket => break,
                    t => {
                        return Err(cohort_err(format!(
                            "expected `,` or `]` but found {}",
                            describe(&t)
                        )));
                    }
                }
            }
            return Ok(Filter::In { column, values });
        }
        let op = match self.next()? {
            Token::Op(op) => op,
            t => {
                return Err(cohort_err(format!(
                    "expected a comparison after `{column}` but found {}",
                    describe(&t)
                )));
            }
        };
        let value = self.literal()?;
        Ok(Filter::Compare { column, op, value })
    }

    fn literal(&mut self) -> Result<Literal, StudyError> {
        match self.next()? {
            Token::Number(x) => Ok(Literal::Number(x)),
            Token::Text(s) => Ok(Literal::Text(s)),
            t => Err(cohort_err(format!(
                "expected a number or a quoted text but found {}",
                describe(&t)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use salus_table::{Column, Table};

    fn table() -> Table {
        Table::new(vec![
            Column::numeric("age", vec![Some(70.0), Some(40.0), None, Some(55.0)]),
            Column::text(
                "sex",
                vec![Some("F".into()), Some("M".into()), Some("F".into()), None],
            ),
        ])
        .unwrap()
    }

    fn eval(expr: &str) -> Vec<bool> {
        Filter::parse(expr).unwrap().evaluate(&table()).unwrap()
    }

    #[test]
    fn comparisons_and_logic() {
        assert_eq!(eval("age >= 55"), [true, false, false, true]);
        assert_eq!(
            eval("age >= 55 and sex == 'F'"),
            [true, false, false, false]
        );
        assert_eq!(eval("age < 50 or sex == \"F\""), [true, true, true, false]);
        assert_eq!(eval("not (age >= 55)"), [false, true, true, false]);
        assert_eq!(eval("sex in ['M', 'X']"), [false, true, false, false]);
        assert_eq!(eval("age is missing"), [false, false, true, false]);
        assert_eq!(eval("sex is not missing"), [true, true, true, false]);
        assert_eq!(eval(""), [true; 4]);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (expr, needle) in [
            ("age >", "ends too early"),
            ("age = 3", "unknown operator"),
            ("age > 3 extra", "unexpected"),
            ("(age > 3", "expected `)`"),
            ("sex == 'F", "unterminated"),
            ("age > 1e999", "not a number"),
            ("system('rm')", "expected a comparison"),
        ] {
            let err = Filter::parse(expr).unwrap_err().to_string();
            assert!(err.contains(needle), "{expr}: {err}");
        }
        let err = Filter::parse("bmi > 3")
            .unwrap()
            .evaluate(&table())
            .unwrap_err();
        assert!(err.to_string().contains("age, sex"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let expr = format!("{}age > 1{}", "(".repeat(100), ")".repeat(100));
        assert!(
            Filter::parse(&expr)
                .unwrap_err()
                .to_string()
                .contains("deeper")
        );
    }
}
