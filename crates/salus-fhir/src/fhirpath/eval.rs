//! Evaluation of FHIRPath expressions over `serde_json::Value` resources.
//!
//! The engine works directly on the JSON (no schema): elements are found by name,
//! choice elements (`value[x]`) by their typed names (`valueQuantity`), and the
//! FHIR type is carried along when the name reveals it, which is what `ofType()`,
//! `is` and `as` need. Operators follow FHIRPath's empty-propagation rules.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::ast::{BinaryOp, Expr, Literal, TypeOp};
use super::functions;
use super::temporal::Temporal;
use super::value::{Item, choice_type, compare_values, equals, equivalent};
use crate::error::{FhirError, Result};

/// A collection: FHIRPath's only kind of value.
pub type Collection<'a> = Vec<Item<'a>>;

/// What an expression can see besides its focus: `%resource`, the view's
/// constants, `%rowIndex` and, if given, the reference time for `now()`/`today()`.
#[derive(Debug, Clone, Default)]
pub struct Environment<'a> {
    /// `%resource` / `%rootResource` (the resource the view runs over).
    pub resource: Option<&'a Value>,
    /// Named constants (`%name`), already converted to FHIRPath values (shared:
    /// cloning an environment per resource must stay cheap).
    pub constants: Arc<HashMap<String, Item<'static>>>,
    /// `%rowIndex`: position within the closest `forEach`/`repeat`.
    pub row_index: i64,
    /// Reference instant for `now()`/`today()`/`timeOfDay()` (the library never
    /// reads the clock). Without it those functions are an error.
    pub now: Option<Temporal>,
}

/// `$this`, `$index` and `$total` inside `where()`, `select()`, `all()`...
#[derive(Debug, Clone, Default)]
pub struct Frame<'a> {
    pub this: Option<Item<'a>>,
    pub index: Option<usize>,
    pub total: Option<Item<'a>>,
}

/// Evaluates `expr` with `focus` as the input collection (and `$this` when it
/// holds one item).
pub fn evaluate<'a>(
    expr: &Expr,
    focus: &[Item<'a>],
    env: &Environment<'a>,
) -> Result<Collection<'a>> {
    let frame = Frame {
        this: (focus.len() == 1).then(|| focus[0].clone()),
        index: None,
        total: None,
    };
    Evaluator { env }.eval(expr, focus, &frame)
}

pub(crate) struct Evaluator<'e, 'a> {
    pub env: &'e Environment<'a>,
}

impl<'a> Evaluator<'_, 'a> {
    pub(crate) fn eval(
        &self,
        expr: &Expr,
        focus: &[Item<'a>],
        frame: &Frame<'a>,
    ) -> Result<Collection<'a>> {
        match expr {
            Expr::Literal(lit) => Ok(literal(lit)),
            Expr::Identifier(name) => Ok(identifier(focus, name)),
            Expr::This => Ok(frame.this.iter().cloned().collect()),
            Expr::Index => Ok(frame
                .index
                .map(|i| Item::Integer(i as i64))
                .into_iter()
                .collect()),
            Expr::Total => Ok(frame.total.iter().cloned().collect()),
            Expr::External(name) => self.external(name),
            Expr::Member(base, name) => {
                let input = self.eval(base, focus, frame)?;
                let mut out = Vec::new();
                for item in &input {
                    child(item, name, &mut out);
                }
                Ok(out)
            }
            Expr::Call { target, name, args } => {
                let input = match target {
                    Some(t) => self.eval(t, focus, frame)?,
                    None => focus.to_vec(),
                };
                functions::call(self, name, input, args, focus, frame)
            }
            Expr::Indexer(base, index) => {
                let input = self.eval(base, focus, frame)?;
                let index = self.eval(index, focus, frame)?;
                let i = singleton(&index, "an index")?.and_then(|i| i.as_integer());
                Ok(match i {
                    Some(i) if i >= 0 => input.into_iter().nth(i as usize).into_iter().collect(),
                    _ => Vec::new(),
                })
            }
            Expr::Negate(inner) => {
                let v = self.eval(inner, focus, frame)?;
                negate(&v)
            }
            Expr::Binary(op, left, right) => self.binary(*op, left, right, focus, frame),
            Expr::Type(op, inner, ty) => {
                let v = self.eval(inner, focus, frame)?;
                type_operator(*op, &v, ty)
            }
        }
    }

    fn external(&self, name: &str) -> Result<Collection<'a>> {
        Ok(match name {
            "rowIndex" => vec![Item::Integer(self.env.row_index)],
            "resource" | "rootResource" | "context" => self
                .env
                .resource
                .map(|r| resource_item(r))
                .into_iter()
                .collect(),
            "ucum" => vec![Item::String(Cow::Borrowed("http://unitsofmeasure.org"))],
            "sct" => vec![Item::String(Cow::Borrowed("http://snomed.info/sct"))],
            "loinc" => vec![Item::String(Cow::Borrowed("http://loinc.org"))],
            _ => match self.env.constants.get(name) {
                Some(v) => vec![v.clone()],
                None => {
                    return Err(FhirError::eval(format!(
                        "unknown constant %{name}; declare it in the view's `constant` list"
                    )));
                }
            },
        })
    }

    fn binary(
        &self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        focus: &[Item<'a>],
        frame: &Frame<'a>,
    ) -> Result<Collection<'a>> {
        let l = self.eval(left, focus, frame)?;
        // `and`/`or`/`implies` may skip the right side, as FHIRPath permits.
        match op {
            BinaryOp::And if to_boolean(&l)? == Some(false) => return Ok(boolean(false)),
            BinaryOp::Or if to_boolean(&l)? == Some(true) => return Ok(boolean(true)),
            BinaryOp::Implies if to_boolean(&l)? == Some(false) => return Ok(boolean(true)),
            _ => {}
        }
        let r = self.eval(right, focus, frame)?;
        binary_values(op, l, r)
    }
}

fn boolean<'a>(b: bool) -> Collection<'a> {
    vec![Item::Boolean(b)]
}

fn literal<'a>(lit: &Literal) -> Collection<'a> {
    let item = match lit {
        Literal::Empty => return Vec::new(),
        Literal::Boolean(b) => Item::Boolean(*b),
        Literal::String(s) => Item::String(Cow::Owned(s.clone())),
        Literal::Integer(i) => Item::Integer(*i),
        Literal::Decimal(d, _) => Item::Decimal(*d),
        Literal::Date(s) => match Temporal::parse_date(s) {
            Some(t) => Item::Temporal(t),
            None => Item::String(Cow::Owned(s.clone())),
        },
        Literal::DateTime(s) => match Temporal::parse_datetime(s) {
            Some(t) => Item::Temporal(t),
            None => Item::String(Cow::Owned(s.clone())),
        },
        Literal::Time(s) => match Temporal::parse_time(s) {
            Some(t) => Item::Temporal(t),
            None => Item::String(Cow::Owned(s.clone())),
        },
        Literal::Quantity(v, unit) => Item::Quantity(*v, Cow::Owned(unit.clone())),
    };
    vec![item]
}

/// A resource as a node typed by its `resourceType`.
pub fn resource_item(resource: &Value) -> Item<'_> {
    let ty = resource.get("resourceType").and_then(Value::as_str);
    Item::node(resource, ty)
}

/// A name at the start of a path: the focus itself when the name is its
/// resource type (`Patient.name`), else the member of that name.
fn identifier<'a>(focus: &[Item<'a>], name: &str) -> Collection<'a> {
    let mut out = Vec::new();
    for item in focus {
        let is_own_type = matches!(item, Item::Node(n) if n.ty == Some(name))
            && item.as_object().is_some_and(|o| !o.contains_key(name));
        if is_own_type {
            out.push(item.clone());
        } else {
            child(item, name, &mut out);
        }
    }
    out
}

/// Pushes the children named `name` of `item` (arrays are flattened; a choice
/// element `value` is found as `valueQuantity`, `valueString`...).
pub(crate) fn child<'a>(item: &Item<'a>, name: &str, out: &mut Collection<'a>) {
    let Some(obj) = item.as_object() else {
        return;
    };
    if let Some(v) = obj.get(name) {
        push_json(v, None, out);
        return;
    }
    for (key, v) in obj.iter() {
        if let Some(ty) = key.strip_prefix(name).and_then(choice_type) {
            push_json(v, Some(ty), out);
            return;
        }
    }
}

/// Pushes a JSON value as nodes (array elements one by one; nulls skipped).
pub(crate) fn push_json<'a>(v: &'a Value, ty: Option<&'a str>, out: &mut Collection<'a>) {
    match v {
        Value::Null => {}
        Value::Array(items) => {
            for x in items {
                if !x.is_null() {
                    out.push(typed_node(x, ty));
                }
            }
        }
        _ => out.push(typed_node(v, ty)),
    }
}

fn typed_node<'a>(v: &'a Value, ty: Option<&'a str>) -> Item<'a> {
    match ty {
        Some(_) => Item::node(v, ty),
        None => match v.get("resourceType").and_then(Value::as_str) {
            Some(rt) => Item::node(v, Some(rt)),
            None => Item::node(v, None),
        },
    }
}

/// The single item of a collection, `None` when empty, an error when several.
pub(crate) fn singleton<'c, 'a>(c: &'c [Item<'a>], what: &str) -> Result<Option<&'c Item<'a>>> {
    match c {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(FhirError::eval(format!(
            "expected a single value for {what} but got {} values",
            many.len()
        ))),
    }
}

/// FHIRPath's boolean evaluation of a collection: empty -> unknown, one boolean ->
/// itself, one other item -> true, several -> error.
pub(crate) fn to_boolean(c: &[Item<'_>]) -> Result<Option<bool>> {
    Ok(singleton(c, "a boolean")?.map(|item| item.as_bool().unwrap_or(true)))
}

fn negate<'a>(v: &[Item<'a>]) -> Result<Collection<'a>> {
    let Some(item) = singleton(v, "unary minus")? else {
        return Ok(Vec::new());
    };
    Ok(match item.primitive() {
        Item::Integer(i) => vec![Item::Integer(-i)],
        Item::Decimal(d) => vec![Item::Decimal(-d)],
        Item::Quantity(q, u) => vec![Item::Quantity(-q, u)],
        other => {
            return Err(FhirError::eval(format!(
                "cannot negate {}",
                other.type_name()
            )));
        }
    })
}

fn type_operator<'a>(op: TypeOp, v: &[Item<'a>], ty: &str) -> Result<Collection<'a>> {
    let Some(item) = singleton(v, if op == TypeOp::Is { "`is`" } else { "`as`" })? else {
        return Ok(Vec::new());
    };
    Ok(match op {
        TypeOp::Is => boolean(item.is_type(ty)),
        TypeOp::As => {
            if item.is_type(ty) {
                vec![item.clone()]
            } else {
                Vec::new()
            }
        }
    })
}

fn three_valued(op: BinaryOp, l: Option<bool>, r: Option<bool>) -> Option<bool> {
    match op {
        BinaryOp::And => match (l, r) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        BinaryOp::Or => match (l, r) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        BinaryOp::Xor => Some(l? != r?),
        _ => match (l, r) {
            (Some(false), _) | (_, Some(true)) => Some(true),
            (Some(true), Some(false)) => Some(false),
            _ => None,
        },
    }
}

/// Applies a binary operator to two evaluated operands.
pub(crate) fn binary_values<'a>(
    op: BinaryOp,
    l: Collection<'a>,
    r: Collection<'a>,
) -> Result<Collection<'a>> {
    use BinaryOp::*;
    match op {
        And | Or | Xor | Implies => {
            let v = three_valued(op, to_boolean(&l)?, to_boolean(&r)?);
            Ok(v.map(Item::Boolean).into_iter().collect())
        }
        Union => {
            let mut out: Collection<'a> = Vec::new();
            for item in l.into_iter().chain(r) {
                if !out.iter().any(|o| equals(o, &item) == Some(true)) {
                    out.push(item);
                }
            }
            Ok(out)
        }
        Eq | NotEq => {
            if l.is_empty() || r.is_empty() {
                return Ok(Vec::new());
            }
            let eq = collections_equal(&l, &r);
            Ok(eq
                .map(|e| Item::Boolean(e == (op == Eq)))
                .into_iter()
                .collect())
        }
        Equiv | NotEquiv => {
            let eq = l.len() == r.len() && l.iter().all(|a| r.iter().any(|b| equivalent(a, b)));
            Ok(boolean(eq == (op == Equiv)))
        }
        In | Contains => {
            let (needle, hay) = if op == In { (&l, &r) } else { (&r, &l) };
            let Some(x) = singleton(needle, "the left of `in`")? else {
                return Ok(Vec::new());
            };
            Ok(boolean(hay.iter().any(|h| equals(x, h) == Some(true))))
        }
        Lt | Gt | Le | Ge => compare_operator(op, &l, &r),
        Concat => {
            let a = singleton(&l, "`&`")?
                .and_then(Item::as_str)
                .unwrap_or_default();
            let b = singleton(&r, "`&`")?
                .and_then(Item::as_str)
                .unwrap_or_default();
            Ok(vec![Item::String(Cow::Owned(format!("{a}{b}")))])
        }
        Add | Sub | Mul | Div | IntDiv | Mod => {
            let (Some(a), Some(b)) = (singleton(&l, "arithmetic")?, singleton(&r, "arithmetic")?)
            else {
                return Ok(Vec::new());
            };
            super::arithmetic::apply(op, a, b)
        }
    }
}

fn collections_equal(l: &[Item<'_>], r: &[Item<'_>]) -> Option<bool> {
    if l.len() != r.len() {
        return Some(false);
    }
    let mut all = Some(true);
    for (a, b) in l.iter().zip(r) {
        match equals(a, b) {
            Some(false) => return Some(false),
            None => all = None,
            Some(true) => {}
        }
    }
    all
}

fn compare_operator<'a>(op: BinaryOp, l: &[Item<'a>], r: &[Item<'a>]) -> Result<Collection<'a>> {
    let (Some(a), Some(b)) = (singleton(l, "a comparison")?, singleton(r, "a comparison")?) else {
        return Ok(Vec::new());
    };
    let Some(ord) = compare_values(a, b) else {
        return Err(FhirError::eval(format!(
            "cannot compare {} with {}",
            a.type_name(),
            b.type_name()
        )));
    };
    let result = ord.map(|o| match op {
        BinaryOp::Lt => o.is_lt(),
        BinaryOp::Gt => o.is_gt(),
        BinaryOp::Le => o.is_le(),
        _ => o.is_ge(),
    });
    Ok(result.map(Item::Boolean).into_iter().collect())
}
