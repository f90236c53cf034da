//! Arithmetic operators: numbers, string `+`, and calendar arithmetic on dates
//! (`birthDate + 18 years`).

use std::borrow::Cow;

use super::ast::BinaryOp;
use super::eval::Collection;
use super::temporal::{
    Precision, Temporal, TemporalKind, civil_from_days, days_from_civil, days_in_month,
};
use super::value::Item;
use crate::error::{FhirError, Result};

/// `a op b` for single items; an empty result where FHIRPath says so (division by
/// zero, integer overflow).
pub(crate) fn apply<'a>(op: BinaryOp, a: &Item<'a>, b: &Item<'a>) -> Result<Collection<'a>> {
    let (pa, pb) = (a.primitive(), b.primitive());
    match (&pa, &pb) {
        (Item::Integer(x), Item::Integer(y)) => Ok(integer_op(op, *x, *y).into_iter().collect()),
        (Item::Integer(_) | Item::Decimal(_), Item::Integer(_) | Item::Decimal(_)) => {
            let (x, y) = (pa.as_number().unwrap_or(0.0), pb.as_number().unwrap_or(0.0));
            Ok(decimal_op(op, x, y).into_iter().collect())
        }
        (Item::String(x), Item::String(y)) if op == BinaryOp::Add => {
            Ok(vec![Item::String(Cow::Owned(format!("{x}{y}")))])
        }
        (Item::Temporal(t), Item::Quantity(q, unit))
            if matches!(op, BinaryOp::Add | BinaryOp::Sub) =>
        {
            let sign = if op == BinaryOp::Add { 1.0 } else { -1.0 };
            Ok(add_duration(t, sign * q, unit)?
                .map(Item::Temporal)
                .into_iter()
                .collect())
        }
        (Item::String(s), Item::Quantity(q, unit))
            if matches!(op, BinaryOp::Add | BinaryOp::Sub) =>
        {
            // An untyped date string (`birthDate`): parse it as date or dateTime.
            let t = Temporal::parse_date(s).or_else(|| Temporal::parse_datetime(s));
            let Some(t) = t else {
                return Err(FhirError::eval("cannot add a quantity to a string"));
            };
            let sign = if op == BinaryOp::Add { 1.0 } else { -1.0 };
            Ok(add_duration(&t, sign * q, unit)?
                .map(Item::Temporal)
                .into_iter()
                .collect())
        }
        _ => Err(FhirError::eval(format!(
            "cannot apply {op:?} to {} and {}",
            pa.type_name(),
            pb.type_name()
        ))),
    }
}

fn integer_op<'a>(op: BinaryOp, x: i64, y: i64) -> Option<Item<'a>> {
    Some(match op {
        BinaryOp::Add => Item::Integer(x.checked_add(y)?),
        BinaryOp::Sub => Item::Integer(x.checked_sub(y)?),
        BinaryOp::Mul => Item::Integer(x.checked_mul(y)?),
        BinaryOp::Div => return decimal_op(op, x as f64, y as f64),
        BinaryOp::IntDiv => Item::Integer(x.checked_div_euclid(y)?),
        _ => Item::Integer(x.checked_rem_euclid(y)?),
    })
}

fn decimal_op<'a>(op: BinaryOp, x: f64, y: f64) -> Option<Item<'a>> {
    let v = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div if y == 0.0 => return None,
        BinaryOp::Div => x / y,
        BinaryOp::IntDiv if y == 0.0 => return None,
        BinaryOp::IntDiv => return Some(Item::Integer((x / y).trunc() as i64)),
        _ if y == 0.0 => return None,
        _ => x % y,
    };
    v.is_finite().then_some(Item::Decimal(v))
}

/// Adds a calendar duration (`3 months`, `2 'd'`) to a date or dateTime.
fn add_duration(t: &Temporal, amount: f64, unit: &str) -> Result<Option<Temporal>> {
    let whole = amount.trunc() as i64;
    let mut out = *t;
    match unit.trim_end_matches('s') {
        "year" | "a" => out.year = out.year.saturating_add(whole as i32),
        "month" | "mo" => {
            let months = i64::from(t.year) * 12 + i64::from(t.month) - 1 + whole;
            out.year = months.div_euclid(12) as i32;
            out.month = (months.rem_euclid(12) + 1) as u8;
        }
        "week" | "wk" => shift_days(&mut out, whole * 7),
        "day" | "d" => shift_days(&mut out, whole),
        "hour" | "h" | "minute" | "min" | "second" | "millisecond" | "m" => {
            return add_clock(t, amount, unit).map(Some);
        }
        _ => {
            return Err(FhirError::eval(format!(
                "cannot add a quantity in `{unit}` to a date; use years, months, weeks or days"
            )));
        }
    }
    clamp_day(&mut out);
    Ok(Some(out))
}

fn shift_days(t: &mut Temporal, days: i64) {
    let (y, m, d) = civil_from_days(days_from_civil(t.year, t.month, t.day) + days);
    t.year = y;
    t.month = m;
    t.day = d;
}

fn clamp_day(t: &mut Temporal) {
    t.day = t.day.min(days_in_month(t.year, t.month));
}

fn add_clock(t: &Temporal, amount: f64, unit: &str) -> Result<Temporal> {
    if t.kind == TemporalKind::Date {
        return Err(FhirError::eval(
            "cannot add hours, minutes or seconds to a date",
        ));
    }
    let ms_per = match unit.trim_end_matches('s') {
        "hour" | "h" => 3_600_000.0,
        "minute" | "min" => 60_000.0,
        "second" => 1000.0,
        _ => 1.0,
    };
    let delta = (amount * ms_per).round() as i64;
    let day_ms = 86_400_000i64;
    let base = i64::from(t.hour) * 3_600_000
        + i64::from(t.minute) * 60_000
        + i64::from(t.second) * 1000
        + i64::from(t.millis);
    let total = base + delta;
    let mut out = *t;
    if t.kind == TemporalKind::DateTime {
        shift_days(&mut out, total.div_euclid(day_ms));
    }
    let ms = total.rem_euclid(day_ms);
    out.hour = (ms / 3_600_000) as u8;
    out.minute = (ms / 60_000 % 60) as u8;
    out.second = (ms / 1000 % 60) as u8;
    out.millis = (ms % 1000) as u16;
    out.precision = out.precision.max(Precision::Hour);
    Ok(out)
}
