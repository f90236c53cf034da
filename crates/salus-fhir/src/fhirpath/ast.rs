//! The syntax tree of a FHIRPath expression.

/// A literal written in the expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `{}`: the empty collection.
    Empty,
    /// `true` / `false`.
    Boolean(bool),
    /// `'text'`.
    String(String),
    /// `42`.
    Integer(i64),
    /// `4.5` (the text keeps the written precision for boundary functions).
    Decimal(f64, String),
    /// `@2020-01-02`.
    Date(String),
    /// `@2020-01-02T10:00:00Z`.
    DateTime(String),
    /// `@T10:00`.
    Time(String),
    /// `4 'mg'`, `3 days`.
    Quantity(f64, String),
}

/// Binary operators, by FHIRPath name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Mul,
    Div,
    IntDiv,
    Mod,
    Add,
    Sub,
    Concat,
    Union,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Equiv,
    NotEq,
    NotEquiv,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
}

/// `is` and `as` written as operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeOp {
    Is,
    As,
}

/// A FHIRPath expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Literal(Literal),
    /// A name at the start of a path: a member of the focus, or the focus's type name.
    Identifier(String),
    /// `$this`.
    This,
    /// `$index`.
    Index,
    /// `$total`.
    Total,
    /// `%name`: a constant, `%resource`, `%rowIndex`...
    External(String),
    /// `base.name`.
    Member(Box<Expr>, String),
    /// `base.name(args)` or `name(args)` (base `None` = the focus).
    Call {
        target: Option<Box<Expr>>,
        name: String,
        args: Vec<Expr>,
    },
    /// `base[index]`.
    Indexer(Box<Expr>, Box<Expr>),
    /// Unary minus (unary plus is dropped by the parser).
    Negate(Box<Expr>),
    /// `left op right`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `expr is Type` / `expr as Type`.
    Type(TypeOp, Box<Expr>, String),
}

impl Expr {
    /// The type name written as a function argument (`ofType(Quantity)`,
    /// `ofType(FHIR.string)`), without its namespace.
    pub fn as_type_name(&self) -> Option<&str> {
        match self {
            Expr::Identifier(name) => Some(name),
            Expr::Member(base, name) => match base.as_ref() {
                Expr::Identifier(ns) if ns == "FHIR" || ns == "System" => Some(name),
                _ => None,
            },
            _ => None,
        }
    }

    /// Calls `visit` on this expression and every sub-expression.
    pub fn walk(&self, visit: &mut dyn FnMut(&Expr)) {
        visit(self);
        match self {
            Expr::Member(base, _) | Expr::Negate(base) | Expr::Type(_, base, _) => base.walk(visit),
            Expr::Call { target, args, .. } => {
                if let Some(t) = target {
                    t.walk(visit);
                }
                for a in args {
                    a.walk(visit);
                }
            }
            Expr::Indexer(a, b) | Expr::Binary(_, a, b) => {
                a.walk(visit);
                b.walk(visit);
            }
            _ => {}
        }
    }
}
