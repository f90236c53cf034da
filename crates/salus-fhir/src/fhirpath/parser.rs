//! A precedence-climbing parser for the FHIRPath grammar (N1), producing [`Expr`].

use super::ast::{BinaryOp, Expr, Literal, TypeOp};
use super::lexer::{Tok, Token, tokenize};
use crate::error::{FhirError, Result};

/// Deepest nesting of parentheses and unary signs accepted, and the longest
/// expression (in tokens): together they bound the depth of the syntax tree, so a
/// hostile expression cannot overflow the stack when it is evaluated or dropped.
const MAX_DEPTH: usize = 64;
const MAX_TOKENS: usize = 1000;

/// Parses a FHIRPath expression.
pub fn parse(src: &str) -> Result<Expr> {
    let tokens = tokenize(src)?;
    if tokens.len() > MAX_TOKENS {
        return Err(FhirError::FhirPathSyntax {
            expression: src.to_string(),
            position: 0,
            message: format!("expression longer than {MAX_TOKENS} tokens; split it up"),
        });
    }
    let mut p = Parser {
        src,
        tokens,
        at: 0,
        depth: 0,
    };
    let expr = p.expression(0)?;
    match &p.peek().kind {
        Tok::End => Ok(expr),
        _ => p.err("unexpected text after the end of the expression"),
    }
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

/// Binding power of an infix operator (higher binds tighter) and its AST form.
enum Infix {
    Binary(BinaryOp),
    Type(TypeOp),
}

fn infix(tok: &Tok) -> Option<(u8, Infix)> {
    use BinaryOp::*;
    let op = match tok {
        Tok::Punct(p) => match *p {
            "*" => (9, Mul),
            "/" => (9, Div),
            "+" => (8, Add),
            "-" => (8, Sub),
            "&" => (8, Concat),
            "|" => (6, Union),
            "<" => (5, Lt),
            ">" => (5, Gt),
            "<=" => (5, Le),
            ">=" => (5, Ge),
            "=" => (4, Eq),
            "~" => (4, Equiv),
            "!=" => (4, NotEq),
            "!~" => (4, NotEquiv),
            _ => return None,
        },
        Tok::Ident {
            name,
            delimited: false,
        } => match name.as_str() {
            "div" => (9, IntDiv),
            "mod" => (9, Mod),
            "is" => return Some((7, Infix::Type(TypeOp::Is))),
            "as" => return Some((7, Infix::Type(TypeOp::As))),
            "in" => (3, In),
            "contains" => (3, Contains),
            "and" => (2, And),
            "or" => (1, Or),
            "xor" => (1, Xor),
            "implies" => (0, Implies),
            _ => return None,
        },
        _ => return None,
    };
    Some((op.0, Infix::Binary(op.1)))
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(FhirError::FhirPathSyntax {
            expression: self.src.to_string(),
            position: self.peek().pos,
            message: message.into(),
        })
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if matches!(&self.peek().kind, Tok::Punct(q) if *q == p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &str) -> Result<()> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            self.err(format!("expected `{p}`"))
        }
    }

    /// Parses operators binding at least as tightly as `min_power`.
    fn expression(&mut self, min_power: u8) -> Result<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("expression nested too deeply");
        }
        let mut left = self.unary()?;
        while let Some((power, op)) = infix(&self.peek().kind) {
            if power < min_power {
                break;
            }
            self.bump();
            left = match op {
                Infix::Binary(op) => {
                    let right = self.expression(power + 1)?;
                    Expr::Binary(op, Box::new(left), Box::new(right))
                }
                Infix::Type(op) => Expr::Type(op, Box::new(left), self.type_specifier()?),
            };
        }
        self.depth -= 1;
        Ok(left)
    }

    fn type_specifier(&mut self) -> Result<String> {
        let mut name = self.identifier()?;
        // Qualified names (`FHIR.Patient`, `System.String`) keep only the type.
        while self.eat_punct(".") {
            name = self.identifier()?;
        }
        Ok(name)
    }

    fn identifier(&mut self) -> Result<String> {
        match self.bump().kind {
            Tok::Ident { name, .. } => Ok(name),
            _ => {
                self.at = self.at.saturating_sub(1);
                self.err("expected a name")
            }
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("expression nested too deeply");
        }
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr> {
        if self.eat_punct("-") {
            let inner = self.unary()?;
            return Ok(match inner {
                Expr::Literal(Literal::Integer(i)) => Expr::Literal(Literal::Integer(-i)),
                Expr::Literal(Literal::Decimal(d, text)) => {
                    Expr::Literal(Literal::Decimal(-d, format!("-{text}")))
                }
                other => Expr::Negate(Box::new(other)),
            });
        }
        if self.eat_punct("+") {
            return self.unary();
        }
        let term = self.term()?;
        self.postfix(term)
    }

    /// Invocations (`.name`, `.f()`) and indexers after a term.
    fn postfix(&mut self, mut expr: Expr) -> Result<Expr> {
        loop {
            if self.eat_punct(".") {
                let name = self.identifier()?;
                expr = if self.eat_punct("(") {
                    let args = self.arguments()?;
                    Expr::Call {
                        target: Some(Box::new(expr)),
                        name,
                        args,
                    }
                } else {
                    Expr::Member(Box::new(expr), name)
                };
            } else if self.eat_punct("[") {
                let index = self.expression(0)?;
                self.expect_punct("]")?;
                expr = Expr::Indexer(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }

    fn arguments(&mut self) -> Result<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat_punct(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expression(0)?);
            if self.eat_punct(")") {
                return Ok(args);
            }
            self.expect_punct(",")?;
        }
    }

    fn term(&mut self) -> Result<Expr> {
        let token = self.bump();
        let expr = match token.kind {
            Tok::Number(text) => self.number(text)?,
            Tok::Str(s) => Expr::Literal(Literal::String(s)),
            Tok::DateTime(text) => Expr::Literal(datetime_literal(text)),
            Tok::External(name) => Expr::External(name),
            Tok::Special(name) => match name.as_str() {
                "this" => Expr::This,
                "index" => Expr::Index,
                _ => Expr::Total,
            },
            Tok::Punct("(") => {
                let inner = self.expression(0)?;
                self.expect_punct(")")?;
                inner
            }
            Tok::Punct("{") => {
                self.expect_punct("}")?;
                Expr::Literal(Literal::Empty)
            }
            Tok::Ident { name, delimited } => self.identifier_term(name, delimited)?,
            _ => {
                self.at = self.at.saturating_sub(1);
                return self.err("expected a value, a name or `(`");
            }
        };
        Ok(expr)
    }

    fn identifier_term(&mut self, name: String, delimited: bool) -> Result<Expr> {
        if !delimited {
            match name.as_str() {
                "true" => return Ok(Expr::Literal(Literal::Boolean(true))),
                "false" => return Ok(Expr::Literal(Literal::Boolean(false))),
                _ => {}
            }
        }
        if self.eat_punct("(") {
            let args = self.arguments()?;
            return Ok(Expr::Call {
                target: None,
                name,
                args,
            });
        }
        Ok(Expr::Identifier(name))
    }

    fn number(&mut self, text: String) -> Result<Expr> {
        let value = if text.contains('.') {
            match text.parse::<f64>() {
                Ok(d) => Literal::Decimal(d, text),
                Err(_) => return self.err("invalid number"),
            }
        } else {
            match text.parse::<i64>() {
                Ok(i) => Literal::Integer(i),
                Err(_) => return self.err("integer out of range"),
            }
        };
        // A number followed by a unit is a quantity: `4 'mg'`, `3 days`.
        let unit = match &self.peek().kind {
            Tok::Str(unit) => Some(unit.clone()),
            Tok::Ident {
                name,
                delimited: false,
            } if is_calendar_unit(name) => Some(name.clone()),
            _ => None,
        };
        let Some(unit) = unit else {
            return Ok(Expr::Literal(value));
        };
        self.bump();
        let amount = match value {
            Literal::Integer(i) => i as f64,
            Literal::Decimal(d, _) => d,
            _ => 0.0,
        };
        Ok(Expr::Literal(Literal::Quantity(amount, unit)))
    }
}

fn is_calendar_unit(name: &str) -> bool {
    matches!(
        name.trim_end_matches('s'),
        "year" | "month" | "week" | "day" | "hour" | "minute" | "second" | "millisecond"
    )
}

fn datetime_literal(text: String) -> Literal {
    if let Some(time) = text.strip_prefix('T') {
        Literal::Time(time.to_string())
    } else if text.contains('T') {
        Literal::DateTime(text.trim_end_matches('T').to_string())
    } else {
        Literal::Date(text)
    }
}
