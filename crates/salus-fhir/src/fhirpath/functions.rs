//! FHIRPath functions: existence, filtering, subsetting, conversion, strings,
//! maths, tree navigation, boundaries and the SQL on FHIR additions
//! (`getResourceKey()`, `getReferenceKey()`).

use std::borrow::Cow;

use serde_json::Value;

use super::ast::Expr;
use super::eval::{Collection, Evaluator, Frame, child, push_json, singleton, to_boolean};
use super::strings;
use super::temporal::{Temporal, TemporalKind};
use super::value::{Item, equals};
use crate::error::{FhirError, Result};

/// Every supported function with its minimum and maximum number of arguments.
const SIGNATURES: &[(&str, usize, usize)] = &[
    ("empty", 0, 0),
    ("exists", 0, 1),
    ("all", 1, 1),
    ("allTrue", 0, 0),
    ("anyTrue", 0, 0),
    ("allFalse", 0, 0),
    ("anyFalse", 0, 0),
    ("count", 0, 0),
    ("distinct", 0, 0),
    ("isDistinct", 0, 0),
    ("where", 1, 1),
    ("select", 1, 1),
    ("repeat", 1, 1),
    ("ofType", 1, 1),
    ("is", 1, 1),
    ("as", 1, 1),
    ("first", 0, 0),
    ("last", 0, 0),
    ("tail", 0, 0),
    ("skip", 1, 1),
    ("take", 1, 1),
    ("single", 0, 0),
    ("not", 0, 0),
    ("iif", 2, 3),
    ("join", 0, 1),
    ("combine", 1, 1),
    ("union", 1, 1),
    ("intersect", 1, 1),
    ("exclude", 1, 1),
    ("subsetOf", 1, 1),
    ("supersetOf", 1, 1),
    ("toString", 0, 0),
    ("toInteger", 0, 0),
    ("toDecimal", 0, 0),
    ("toBoolean", 0, 0),
    ("toDate", 0, 0),
    ("toDateTime", 0, 0),
    ("toTime", 0, 0),
    ("convertsToString", 0, 0),
    ("convertsToInteger", 0, 0),
    ("convertsToDecimal", 0, 0),
    ("convertsToBoolean", 0, 0),
    ("convertsToDate", 0, 0),
    ("convertsToDateTime", 0, 0),
    ("convertsToTime", 0, 0),
    ("startsWith", 1, 1),
    ("endsWith", 1, 1),
    ("contains", 1, 1),
    ("substring", 1, 2),
    ("length", 0, 0),
    ("upper", 0, 0),
    ("lower", 0, 0),
    ("replace", 2, 2),
    ("matches", 1, 1),
    ("replaceMatches", 2, 2),
    ("indexOf", 1, 1),
    ("trim", 0, 0),
    ("split", 1, 1),
    ("toChars", 0, 0),
    ("abs", 0, 0),
    ("ceiling", 0, 0),
    ("floor", 0, 0),
    ("round", 0, 1),
    ("truncate", 0, 0),
    ("sqrt", 0, 0),
    ("ln", 0, 0),
    ("exp", 0, 0),
    ("log", 1, 1),
    ("power", 1, 1),
    ("children", 0, 0),
    ("descendants", 0, 0),
    ("extension", 1, 1),
    ("hasValue", 0, 0),
    ("getResourceKey", 0, 0),
    ("getReferenceKey", 0, 1),
    ("lowBoundary", 0, 1),
    ("highBoundary", 0, 1),
    ("trace", 1, 2),
    ("now", 0, 0),
    ("today", 0, 0),
    ("timeOfDay", 0, 0),
];

/// Checks that `name` is a supported function taking `argc` arguments.
pub(crate) fn check_call(name: &str, argc: usize) -> std::result::Result<(), String> {
    match SIGNATURES.iter().find(|(n, _, _)| *n == name) {
        None => Err(format!("unknown or unsupported function `{name}()`")),
        Some((_, min, max)) if argc < *min || argc > *max => Err(format!(
            "`{name}()` takes {} argument(s), not {argc}",
            if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            }
        )),
        Some(_) => Ok(()),
    }
}

/// Most items a `repeat()`/`descendants()` may produce (guards against cycles
/// and hostile input).
const MAX_REPEAT_ITEMS: usize = 100_000;

fn one<'a>(item: Item<'a>) -> Collection<'a> {
    vec![item]
}

fn boolean<'a>(b: bool) -> Collection<'a> {
    vec![Item::Boolean(b)]
}

fn string<'a>(s: String) -> Item<'a> {
    Item::String(Cow::Owned(s))
}

impl<'a> Evaluator<'_, 'a> {
    /// Evaluates a plain argument (not a lambda) in the caller's context.
    fn arg(
        &self,
        args: &[Expr],
        i: usize,
        focus: &[Item<'a>],
        frame: &Frame<'a>,
    ) -> Result<Collection<'a>> {
        match args.get(i) {
            Some(e) => self.eval(e, focus, frame),
            None => Ok(Vec::new()),
        }
    }

    /// Evaluates a lambda argument with `$this` = `item`.
    fn lambda(&self, expr: &Expr, item: &Item<'a>, index: usize) -> Result<Collection<'a>> {
        let frame = Frame {
            this: Some(item.clone()),
            index: Some(index),
            total: None,
        };
        self.eval(expr, std::slice::from_ref(item), &frame)
    }

    fn lambda_true(&self, expr: &Expr, item: &Item<'a>, index: usize) -> Result<bool> {
        Ok(to_boolean(&self.lambda(expr, item, index)?)? == Some(true))
    }

    fn int_arg(
        &self,
        args: &[Expr],
        i: usize,
        focus: &[Item<'a>],
        frame: &Frame<'a>,
    ) -> Result<Option<i64>> {
        let v = self.arg(args, i, focus, frame)?;
        Ok(singleton(&v, "an integer argument")?.and_then(Item::as_integer))
    }

    fn str_arg(
        &self,
        args: &[Expr],
        i: usize,
        focus: &[Item<'a>],
        frame: &Frame<'a>,
    ) -> Result<Option<String>> {
        let v = self.arg(args, i, focus, frame)?;
        Ok(singleton(&v, "a string argument")?
            .and_then(Item::as_str)
            .map(Cow::into_owned))
    }
}

fn type_arg(args: &[Expr]) -> Result<&str> {
    args.first()
        .and_then(Expr::as_type_name)
        .ok_or_else(|| FhirError::eval("expected a type name such as `Quantity` or `string`"))
}

/// Calls function `name` on `input`.
pub(crate) fn call<'a>(
    ev: &Evaluator<'_, 'a>,
    name: &str,
    input: Collection<'a>,
    args: &[Expr],
    focus: &[Item<'a>],
    frame: &Frame<'a>,
) -> Result<Collection<'a>> {
    check_call(name, args.len()).map_err(FhirError::eval)?;
    match name {
        "empty" => Ok(boolean(input.is_empty())),
        "exists" => match args.first() {
            None => Ok(boolean(!input.is_empty())),
            Some(crit) => {
                for (i, item) in input.iter().enumerate() {
                    if ev.lambda_true(crit, item, i)? {
                        return Ok(boolean(true));
                    }
                }
                Ok(boolean(false))
            }
        },
        "all" => {
            for (i, item) in input.iter().enumerate() {
                if !ev.lambda_true(&args[0], item, i)? {
                    return Ok(boolean(false));
                }
            }
            Ok(boolean(true))
        }
        "allTrue" => Ok(boolean(input.iter().all(|i| i.as_bool() == Some(true)))),
        "anyTrue" => Ok(boolean(input.iter().any(|i| i.as_bool() == Some(true)))),
        "allFalse" => Ok(boolean(input.iter().all(|i| i.as_bool() == Some(false)))),
        "anyFalse" => Ok(boolean(input.iter().any(|i| i.as_bool() == Some(false)))),
        "count" => Ok(one(Item::Integer(input.len() as i64))),
        "distinct" => Ok(distinct(input)),
        "isDistinct" => {
            let n = input.len();
            Ok(boolean(distinct(input).len() == n))
        }
        "where" => {
            let mut out = Vec::new();
            for (i, item) in input.into_iter().enumerate() {
                if ev.lambda_true(&args[0], &item, i)? {
                    out.push(item);
                }
            }
            Ok(out)
        }
        "select" => {
            let mut out = Vec::new();
            for (i, item) in input.iter().enumerate() {
                out.extend(ev.lambda(&args[0], item, i)?);
            }
            Ok(out)
        }
        "repeat" => repeat(ev, input, &args[0]),
        "ofType" => {
            let ty = type_arg(args)?;
            Ok(input.into_iter().filter(|i| i.is_type(ty)).collect())
        }
        "is" => {
            let ty = type_arg(args)?;
            Ok(singleton(&input, "is()")?
                .map(|i| Item::Boolean(i.is_type(ty)))
                .into_iter()
                .collect())
        }
        "as" => {
            let ty = type_arg(args)?;
            Ok(singleton(&input, "as()")?
                .filter(|i| i.is_type(ty))
                .cloned()
                .into_iter()
                .collect())
        }
        "first" => Ok(input.into_iter().take(1).collect()),
        "last" => Ok(input.into_iter().last().into_iter().collect()),
        "tail" => Ok(input.into_iter().skip(1).collect()),
        "skip" => {
            let n = ev.int_arg(args, 0, focus, frame)?.unwrap_or(0).max(0) as usize;
            Ok(input.into_iter().skip(n).collect())
        }
        "take" => {
            let n = ev.int_arg(args, 0, focus, frame)?.unwrap_or(0).max(0) as usize;
            Ok(input.into_iter().take(n).collect())
        }
        "single" => Ok(singleton(&input, "single()")?
            .cloned()
            .into_iter()
            .collect()),
        "not" => Ok(to_boolean(&input)?
            .map(|b| Item::Boolean(!b))
            .into_iter()
            .collect()),
        "iif" => iif(ev, input, args),
        "join" => {
            let sep = ev.str_arg(args, 0, focus, frame)?.unwrap_or_default();
            let parts: Vec<String> = input
                .iter()
                .filter_map(|i| i.as_str().map(Cow::into_owned))
                .collect();
            Ok(one(string(parts.join(&sep))))
        }
        "combine" => {
            let mut out = input;
            out.extend(ev.arg(args, 0, focus, frame)?);
            Ok(out)
        }
        "union" => {
            let mut all = input;
            all.extend(ev.arg(args, 0, focus, frame)?);
            Ok(distinct(all))
        }
        "intersect" => {
            let other = ev.arg(args, 0, focus, frame)?;
            Ok(distinct(
                input.into_iter().filter(|i| contains(&other, i)).collect(),
            ))
        }
        "exclude" => {
            let other = ev.arg(args, 0, focus, frame)?;
            Ok(input.into_iter().filter(|i| !contains(&other, i)).collect())
        }
        "subsetOf" => {
            let other = ev.arg(args, 0, focus, frame)?;
            Ok(boolean(input.iter().all(|i| contains(&other, i))))
        }
        "supersetOf" => {
            let other = ev.arg(args, 0, focus, frame)?;
            Ok(boolean(other.iter().all(|i| contains(&input, i))))
        }
        "children" => Ok(children(&input)),
        "descendants" => descendants(input),
        "extension" => {
            let url = ev.str_arg(args, 0, focus, frame)?.unwrap_or_default();
            let mut exts = Vec::new();
            for item in &input {
                child(item, "extension", &mut exts);
            }
            Ok(exts
                .into_iter()
                .filter(|e| {
                    e.as_object()
                        .and_then(|o| o.get("url"))
                        .and_then(Value::as_str)
                        == Some(url.as_str())
                })
                .collect())
        }
        "hasValue" => Ok(boolean(matches!(
            singleton(&input, "hasValue()")?,
            Some(Item::Node(n)) if !n.json.is_object() && !n.json.is_array()
        ))),
        "getResourceKey" => Ok(input
            .iter()
            .filter_map(|i| i.as_object()?.get("id")?.as_str())
            .map(|id| Item::String(Cow::Borrowed(id)))
            .collect()),
        "getReferenceKey" => {
            let wanted = match args.first() {
                Some(_) => Some(type_arg(args)?),
                None => None,
            };
            Ok(input
                .iter()
                .filter_map(|i| i.as_object()?.get("reference")?.as_str())
                .filter_map(|r| reference_key(r, wanted))
                .map(|k| Item::String(Cow::Borrowed(k)))
                .collect())
        }
        "lowBoundary" | "highBoundary" => {
            let high = name == "highBoundary";
            Ok(input.iter().filter_map(|i| boundary(i, high)).collect())
        }
        "trace" => Ok(input),
        "now" | "today" | "timeOfDay" => now(ev, name),
        _ => strings::call(ev, name, input, args, focus, frame),
    }
}

fn contains(hay: &[Item<'_>], x: &Item<'_>) -> bool {
    hay.iter().any(|h| equals(h, x) == Some(true))
}

fn distinct(input: Collection<'_>) -> Collection<'_> {
    let mut out: Collection<'_> = Vec::new();
    for item in input {
        if !contains(&out, &item) {
            out.push(item);
        }
    }
    out
}

fn repeat<'a>(
    ev: &Evaluator<'_, 'a>,
    input: Collection<'a>,
    expr: &Expr,
) -> Result<Collection<'a>> {
    let mut out: Collection<'a> = Vec::new();
    let mut queue = input;
    while !queue.is_empty() {
        let mut next = Vec::new();
        for (i, item) in queue.iter().enumerate() {
            for found in ev.lambda(expr, item, i)? {
                if !contains(&out, &found) {
                    out.push(found.clone());
                    next.push(found);
                }
            }
            if out.len() > MAX_REPEAT_ITEMS {
                return Err(FhirError::eval("repeat() produced too many items"));
            }
        }
        queue = next;
    }
    Ok(out)
}

fn iif<'a>(ev: &Evaluator<'_, 'a>, input: Collection<'a>, args: &[Expr]) -> Result<Collection<'a>> {
    if input.len() > 1 {
        return Err(FhirError::eval("iif() needs an input of at most one item"));
    }
    // The arguments see the function's input (the focus when called without one).
    let frame = Frame {
        this: input.first().cloned(),
        index: None,
        total: None,
    };
    let cond = ev.eval(&args[0], &input, &frame)?;
    if to_boolean(&cond)? == Some(true) {
        ev.eval(&args[1], &input, &frame)
    } else if let Some(otherwise) = args.get(2) {
        ev.eval(otherwise, &input, &frame)
    } else {
        Ok(Vec::new())
    }
}

fn children<'a>(input: &[Item<'a>]) -> Collection<'a> {
    let mut out = Vec::new();
    for item in input {
        if let Some(obj) = item.as_object() {
            for (key, v) in obj {
                if key != "resourceType" {
                    push_json(v, None, &mut out);
                }
            }
        }
    }
    out
}

fn descendants(input: Collection<'_>) -> Result<Collection<'_>> {
    let mut out = Vec::new();
    let mut level = children(&input);
    while !level.is_empty() {
        let next = children(&level);
        out.extend(level);
        if out.len() > MAX_REPEAT_ITEMS {
            return Err(FhirError::eval("descendants() produced too many items"));
        }
        level = next;
    }
    Ok(out)
}

/// The key of a reference (`Patient/123` -> `123`), or `None` when its type is
/// not `wanted`. `urn:uuid:` references (type unknown) always match.
pub fn reference_key<'r>(reference: &'r str, wanted: Option<&str>) -> Option<&'r str> {
    if reference.starts_with('#') {
        return None;
    }
    if let Some(id) = reference
        .strip_prefix("urn:uuid:")
        .or_else(|| reference.strip_prefix("urn:oid:"))
    {
        return Some(id);
    }
    let path = reference.split(['?', '#']).next().unwrap_or(reference);
    let path = match path.find("/_history/") {
        Some(i) => &path[..i],
        None => path,
    };
    let mut segments = path.rsplit('/');
    let id = segments.next().filter(|s| !s.is_empty())?;
    let ty = segments
        .next()
        .filter(|t| t.starts_with(|c: char| c.is_ascii_uppercase()));
    match (wanted, ty) {
        (Some(w), Some(t)) if w != t => None,
        _ => Some(id),
    }
}

/// `lowBoundary()` / `highBoundary()` of a decimal, date, dateTime or time.
fn boundary<'a>(item: &Item<'a>, high: bool) -> Option<Item<'a>> {
    let pick = |t: Temporal| {
        Item::Temporal(if high {
            t.high_boundary()
        } else {
            t.low_boundary()
        })
    };
    match item {
        Item::Node(n) => match n.json {
            Value::Number(num) => {
                let text = num.to_string();
                let value = num.as_f64()?;
                Some(Item::Decimal(decimal_boundary(value, &text, high)))
            }
            Value::String(s) => {
                let kind = match n.ty {
                    Some("date") => Some(TemporalKind::Date),
                    Some("dateTime" | "instant") => Some(TemporalKind::DateTime),
                    Some("time") => Some(TemporalKind::Time),
                    Some(_) => None,
                    None => Some(guess_kind(s)),
                };
                kind.and_then(|k| Temporal::parse(k, s)).map(pick)
            }
            _ => None,
        },
        Item::Temporal(t) => Some(pick(*t)),
        Item::Decimal(d) => Some(Item::Decimal(decimal_boundary(*d, &format!("{d:?}"), high))),
        Item::Integer(i) => Some(Item::Decimal(decimal_boundary(
            *i as f64,
            &i.to_string(),
            high,
        ))),
        _ => None,
    }
}

fn guess_kind(s: &str) -> TemporalKind {
    if s.len() >= 3 && s.as_bytes()[2] == b':' {
        TemporalKind::Time
    } else if s.contains('T') {
        TemporalKind::DateTime
    } else {
        TemporalKind::Date
    }
}

/// Half a unit of the last written digit below/above `value` (`1.0` -> 0.95/1.05).
fn decimal_boundary(value: f64, text: &str, high: bool) -> f64 {
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    let digits = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
    let half = 0.5 * 10f64.powi(-digits);
    let v = if high { value + half } else { value - half };
    // Round away binary noise at one digit beyond the input's precision.
    let scale = 10f64.powi(digits + 1);
    (v * scale).round() / scale
}

fn now<'a>(ev: &Evaluator<'_, 'a>, name: &str) -> Result<Collection<'a>> {
    let Some(now) = ev.env.now else {
        return Err(FhirError::eval(format!(
            "{name}() needs a reference time; pass one in the import options"
        )));
    };
    let mut t = now;
    match name {
        "today" => {
            t.kind = TemporalKind::Date;
            t.precision = super::temporal::Precision::Day;
            t.offset = None;
        }
        "timeOfDay" => {
            t.kind = TemporalKind::Time;
            t.offset = None;
        }
        _ => {}
    }
    Ok(one(Item::Temporal(t)))
}
