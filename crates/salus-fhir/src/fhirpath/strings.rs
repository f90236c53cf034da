//! Single-value FHIRPath functions: conversions (`toString()`, `toInteger()`...),
//! string functions (`substring()`, `matches()`...) and maths (`round()`...).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use super::ast::Expr;
use super::eval::{Collection, Evaluator, Frame, singleton};
use super::temporal::{Temporal, TemporalKind};
use super::value::Item;
use crate::error::{FhirError, Result};

/// Text form of a primitive item, as FHIRPath `toString()` writes it.
pub fn to_text(item: &Item<'_>) -> Option<String> {
    Some(match item.primitive() {
        Item::Boolean(b) => b.to_string(),
        Item::Integer(i) => i.to_string(),
        Item::Decimal(d) => format_decimal(item, d),
        Item::String(s) => s.into_owned(),
        Item::Temporal(t) => match item {
            Item::Node(n) => n.json.as_str().map_or_else(|| t.format(), str::to_string),
            _ => t.format(),
        },
        Item::Quantity(q, unit) => format!("{q} '{unit}'"),
        Item::Node(_) => return None,
    })
}

/// Decimals keep the precision written in the JSON (`1.50` stays `1.50`
/// only as far as serde_json keeps it; `1.0` stays `1.0`).
fn format_decimal(item: &Item<'_>, d: f64) -> String {
    match item {
        Item::Node(n) if n.json.is_number() => n.json.to_string(),
        _ => format!("{d}"),
    }
}

fn to_integer(item: &Item<'_>) -> Option<i64> {
    match item.primitive() {
        Item::Integer(i) => Some(i),
        Item::Boolean(b) => Some(i64::from(b)),
        Item::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn to_decimal(item: &Item<'_>) -> Option<f64> {
    match item.primitive() {
        Item::Integer(i) => Some(i as f64),
        Item::Decimal(d) => Some(d),
        Item::Boolean(b) => Some(if b { 1.0 } else { 0.0 }),
        Item::String(s) => s.trim().parse::<f64>().ok().filter(|d| d.is_finite()),
        _ => None,
    }
}

fn to_boolean_value(item: &Item<'_>) -> Option<bool> {
    match item.primitive() {
        Item::Boolean(b) => Some(b),
        Item::Integer(1) => Some(true),
        Item::Integer(0) => Some(false),
        Item::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(true),
            "false" | "f" | "no" | "n" | "0" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn to_temporal(item: &Item<'_>, kind: TemporalKind) -> Option<Temporal> {
    match item.primitive() {
        Item::Temporal(t) if t.kind == kind => Some(t),
        Item::Temporal(t) if kind != TemporalKind::Time && t.kind != TemporalKind::Time => {
            Some(Temporal { kind, ..t })
        }
        Item::String(s) => Temporal::parse(kind, &s),
        _ => None,
    }
}

thread_local! {
    // Compiled regular expressions by pattern: views evaluate the same few
    // patterns for every resource.
    static REGEX_CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

fn with_regex<T>(pattern: &str, f: impl FnOnce(&Regex) -> T) -> Result<T> {
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            let re = regex::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|_| {
                    FhirError::eval("invalid regular expression in matches()/replaceMatches()")
                })?;
            if cache.len() > 64 {
                cache.clear();
            }
            cache.insert(pattern.to_string(), re);
        }
        Ok(f(&cache[pattern]))
    })
}

/// Calls a single-value function; the input must hold at most one item.
pub(crate) fn call<'a>(
    ev: &Evaluator<'_, 'a>,
    name: &str,
    input: Collection<'a>,
    args: &[Expr],
    focus: &[Item<'a>],
    frame: &Frame<'a>,
) -> Result<Collection<'a>> {
    let converts = name.strip_prefix("convertsTo");
    let Some(item) = singleton(&input, name)? else {
        return Ok(Vec::new());
    };
    if let Some(target) = converts {
        let ok = match target {
            "String" => to_text(item).is_some(),
            "Integer" => to_integer(item).is_some(),
            "Decimal" => to_decimal(item).is_some(),
            "Boolean" => to_boolean_value(item).is_some(),
            "Date" => to_temporal(item, TemporalKind::Date).is_some(),
            "DateTime" => to_temporal(item, TemporalKind::DateTime).is_some(),
            _ => to_temporal(item, TemporalKind::Time).is_some(),
        };
        return Ok(vec![Item::Boolean(ok)]);
    }
    if matches!(name, "split" | "toChars") {
        return split(ev, name, item, args, focus, frame);
    }
    let out = match name {
        "toString" => to_text(item).map(|s| Item::String(Cow::Owned(s))),
        "toInteger" => to_integer(item).map(Item::Integer),
        "toDecimal" => to_decimal(item).map(Item::Decimal),
        "toBoolean" => to_boolean_value(item).map(Item::Boolean),
        "toDate" => to_temporal(item, TemporalKind::Date).map(Item::Temporal),
        "toDateTime" => to_temporal(item, TemporalKind::DateTime).map(Item::Temporal),
        "toTime" => to_temporal(item, TemporalKind::Time).map(Item::Temporal),
        "abs" | "ceiling" | "floor" | "round" | "truncate" | "sqrt" | "ln" | "exp" | "log"
        | "power" => math(ev, name, item, args, focus, frame)?,
        _ => string_function(ev, name, item, args, focus, frame)?,
    };
    Ok(out.into_iter().collect())
}

fn math<'a>(
    ev: &Evaluator<'_, 'a>,
    name: &str,
    item: &Item<'a>,
    args: &[Expr],
    focus: &[Item<'a>],
    frame: &Frame<'a>,
) -> Result<Option<Item<'a>>> {
    let p = item.primitive();
    if let (Item::Integer(i), "abs" | "ceiling" | "floor" | "truncate") = (&p, name) {
        return Ok(Some(Item::Integer(if name == "abs" {
            i.checked_abs().unwrap_or(*i)
        } else {
            *i
        })));
    }
    let Some(x) = p.as_number() else {
        return Err(FhirError::eval(format!(
            "{name}() needs a number, not {}",
            p.type_name()
        )));
    };
    let arg = |i: usize| -> Result<Option<f64>> {
        let v = ev.eval(&args[i], focus, frame)?;
        Ok(singleton(&v, "a number argument")?.and_then(Item::as_number))
    };
    let v = match name {
        "abs" => x.abs(),
        "ceiling" => return Ok(Some(Item::Integer(x.ceil() as i64))),
        "floor" => return Ok(Some(Item::Integer(x.floor() as i64))),
        "truncate" => return Ok(Some(Item::Integer(x.trunc() as i64))),
        "round" => {
            let digits = if args.is_empty() {
                0.0
            } else {
                arg(0)?.unwrap_or(0.0)
            };
            let scale = 10f64.powi(digits as i32);
            (x * scale).round() / scale
        }
        "sqrt" => x.sqrt(),
        "ln" => x.ln(),
        "exp" => x.exp(),
        "log" => match arg(0)? {
            Some(base) => x.ln() / base.ln(),
            None => return Ok(None),
        },
        _ => match arg(0)? {
            Some(e) => x.powf(e),
            None => return Ok(None),
        },
    };
    Ok(v.is_finite().then_some(Item::Decimal(v)))
}

fn string_function<'a>(
    ev: &Evaluator<'_, 'a>,
    name: &str,
    item: &Item<'a>,
    args: &[Expr],
    focus: &[Item<'a>],
    frame: &Frame<'a>,
) -> Result<Option<Item<'a>>> {
    let Some(s) = item.as_str() else {
        return Err(FhirError::eval(format!(
            "{name}() needs a string, not {}",
            item.type_name()
        )));
    };
    let text_arg = |i: usize| -> Result<Option<String>> {
        let v = ev.eval(&args[i], focus, frame)?;
        Ok(singleton(&v, "a string argument")?
            .and_then(Item::as_str)
            .map(Cow::into_owned))
    };
    let int_arg = |i: usize| -> Result<Option<i64>> {
        let v = ev.eval(&args[i], focus, frame)?;
        Ok(singleton(&v, "an integer argument")?.and_then(Item::as_integer))
    };
    let owned = |t: String| Some(Item::String(Cow::Owned(t)));
    Ok(match name {
        "startsWith" => text_arg(0)?.map(|p| Item::Boolean(s.starts_with(p.as_str()))),
        "endsWith" => text_arg(0)?.map(|p| Item::Boolean(s.ends_with(p.as_str()))),
        "contains" => text_arg(0)?.map(|p| Item::Boolean(s.contains(p.as_str()))),
        "length" => Some(Item::Integer(s.chars().count() as i64)),
        "upper" => owned(s.to_uppercase()),
        "lower" => owned(s.to_lowercase()),
        "trim" => owned(s.trim().to_string()),
        "indexOf" => text_arg(0)?.map(|p| {
            Item::Integer(
                s.find(p.as_str())
                    .map_or(-1, |b| s[..b].chars().count() as i64),
            )
        }),
        "substring" => {
            let start = int_arg(0)?;
            let len = if args.len() > 1 { int_arg(1)? } else { None };
            substring(&s, start, len).and_then(owned)
        }
        "replace" => match (text_arg(0)?, text_arg(1)?) {
            (Some(from), Some(to)) => owned(s.replace(from.as_str(), &to)),
            _ => None,
        },
        "matches" => match text_arg(0)? {
            Some(p) => Some(Item::Boolean(with_regex(&p, |re| re.is_match(&s))?)),
            None => None,
        },
        "replaceMatches" => match (text_arg(0)?, text_arg(1)?) {
            (Some(p), Some(to)) => owned(with_regex(&p, |re| {
                re.replace_all(&s, to.as_str()).into_owned()
            })?),
            _ => None,
        },
        _ => return Err(FhirError::eval(format!("unsupported function `{name}()`"))),
    })
}

/// `split(separator)` and `toChars()`: one string in, several out.
fn split<'a>(
    ev: &Evaluator<'_, 'a>,
    name: &str,
    item: &Item<'a>,
    args: &[Expr],
    focus: &[Item<'a>],
    frame: &Frame<'a>,
) -> Result<Collection<'a>> {
    let Some(s) = item.as_str() else {
        return Err(FhirError::eval(format!(
            "{name}() needs a string, not {}",
            item.type_name()
        )));
    };
    let owned = |t: &str| Item::String(Cow::Owned(t.to_string()));
    if name == "toChars" {
        return Ok(s
            .chars()
            .map(|c| owned(c.encode_utf8(&mut [0; 4])))
            .collect());
    }
    let sep = ev.eval(&args[0], focus, frame)?;
    let Some(sep) = singleton(&sep, "a separator")?.and_then(Item::as_str) else {
        return Ok(Vec::new());
    };
    if sep.is_empty() {
        return Ok(vec![owned(&s)]);
    }
    Ok(s.split(sep.as_ref()).map(owned).collect())
}

fn substring(s: &str, start: Option<i64>, len: Option<i64>) -> Option<String> {
    let start = usize::try_from(start?).ok()?;
    let count = s.chars().count();
    if start >= count {
        return None;
    }
    let take = len.map_or(count, |l| usize::try_from(l).unwrap_or(0));
    Some(s.chars().skip(start).take(take).collect())
}
