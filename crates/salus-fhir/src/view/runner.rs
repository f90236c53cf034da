//! Running a compiled view over one resource: `where` filters, then each
//! `select` produces rows that are combined as a cross product (columns, nested
//! selects, `unionAll`), exactly as the SQL on FHIR v2 specification describes.

use super::cell::Cell;
use super::definition::{Compiled, Iterate, Select};
use crate::error::{FhirError, Result};
use crate::fhirpath::{Environment, FhirPath, Item, resource_item};

/// Most rows one resource may produce in one view (guards against a cross
/// product exploding on hostile input).
const MAX_ROWS_PER_RESOURCE: usize = 1_000_000;

/// Rows (each in the view's column order) that `resource` produces.
pub(crate) fn resource_rows<'a>(
    view: &Compiled,
    resource: &'a serde_json::Value,
    env: &mut Environment<'a>,
) -> Result<Vec<Vec<Cell>>> {
    let root = resource_item(resource);
    env.resource = Some(resource);
    env.row_index = 0;
    for w in &view.wheres {
        if !where_holds(w, &root, env)? {
            return Ok(Vec::new());
        }
    }
    select_rows(&view.root, &root, env)
}

fn where_holds<'a>(path: &FhirPath, root: &Item<'a>, env: &Environment<'a>) -> Result<bool> {
    let out = path.evaluate_on(std::slice::from_ref(root), env)?;
    match out.as_slice() {
        [] => Ok(false),
        [one] => one.as_bool().ok_or_else(|| {
            FhirError::eval(format!(
                "where path `{}` returned {}, not a boolean",
                path.source(),
                one.type_name()
            ))
        }),
        many => Err(FhirError::eval(format!(
            "where path `{}` returned {} values, not one boolean",
            path.source(),
            many.len()
        ))),
    }
}

/// The foci of a select, each with its `%rowIndex`.
fn foci<'a>(
    select: &Select,
    focus: &Item<'a>,
    env: &Environment<'a>,
) -> Result<Vec<(Item<'a>, i64)>> {
    let one = std::slice::from_ref(focus);
    let numbered = |items: Vec<Item<'a>>| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, x)| (x, i as i64))
            .collect()
    };
    Ok(match &select.iterate {
        Iterate::Once => vec![(focus.clone(), env.row_index)],
        Iterate::ForEach(p) | Iterate::ForEachOrNull(p) => numbered(p.evaluate_on(one, env)?),
        Iterate::Repeat(paths) => {
            let mut out = Vec::new();
            repeat_into(paths, focus, env, &mut out, 0)?;
            numbered(out)
        }
    })
}

/// Depth-first, pre-order traversal for `repeat`.
fn repeat_into<'a>(
    paths: &[FhirPath],
    focus: &Item<'a>,
    env: &Environment<'a>,
    out: &mut Vec<Item<'a>>,
    depth: usize,
) -> Result<()> {
    if depth > 256 {
        return Err(FhirError::eval("repeat nests deeper than 256 levels"));
    }
    for p in paths {
        for item in p.evaluate_on(std::slice::from_ref(focus), env)? {
            out.push(item.clone());
            repeat_into(paths, &item, env, out, depth + 1)?;
        }
    }
    Ok(())
}

fn select_rows<'a>(
    select: &Select,
    focus: &Item<'a>,
    env: &mut Environment<'a>,
) -> Result<Vec<Vec<Cell>>> {
    let foci = foci(select, focus, env)?;
    if foci.is_empty() {
        return match select.iterate {
            Iterate::ForEachOrNull(_) => null_row(select, env).map(|r| vec![r]),
            _ => Ok(Vec::new()),
        };
    }
    let saved_index = env.row_index;
    let mut rows = Vec::new();
    for (item, index) in foci {
        env.row_index = index;
        let mut parts: Vec<Vec<Vec<Cell>>> = Vec::with_capacity(2 + select.selects.len());
        parts.push(vec![column_cells(
            select,
            std::slice::from_ref(&item),
            env,
        )?]);
        for s in &select.selects {
            parts.push(select_rows(s, &item, env)?);
        }
        if !select.union_all.is_empty() {
            let mut union = Vec::new();
            for u in &select.union_all {
                union.extend(select_rows(u, &item, env)?);
            }
            parts.push(union);
        }
        cross_product(&parts, &mut rows)?;
    }
    env.row_index = saved_index;
    Ok(rows)
}

/// The row of a `forEachOrNull` over nothing: its own columns see an empty focus
/// (so `%rowIndex` is 0 and paths are null), nested columns are null.
fn null_row<'a>(select: &Select, env: &mut Environment<'a>) -> Result<Vec<Cell>> {
    let saved_index = env.row_index;
    env.row_index = 0;
    let mut row = column_cells(select, &[], env);
    env.row_index = saved_index;
    if let Ok(cells) = &mut row {
        cells.resize(select.width, Cell::Null);
    }
    row
}

fn column_cells<'a>(
    select: &Select,
    focus: &[Item<'a>],
    env: &Environment<'a>,
) -> Result<Vec<Cell>> {
    let mut cells = Vec::with_capacity(select.columns.len());
    for c in &select.columns {
        let out = c.path.evaluate_on(focus, env)?;
        let ty = c.info.fhir_type.as_deref();
        let cell = if c.info.collection {
            Cell::List(out.iter().map(|i| Cell::from_item(i, ty)).collect())
        } else {
            match out.as_slice() {
                [] => Cell::Null,
                [one] => Cell::from_item(one, ty),
                many => {
                    return Err(FhirError::eval(format!(
                        "column `{}` (`{}`) returned {} values; add first() or set \"collection\": true",
                        c.info.name,
                        c.path.source(),
                        many.len()
                    )));
                }
            }
        };
        cells.push(cell);
    }
    Ok(cells)
}

/// Appends every combination of one row from each part (concatenated in order).
fn cross_product(parts: &[Vec<Vec<Cell>>], out: &mut Vec<Vec<Cell>>) -> Result<()> {
    let total: usize = parts
        .iter()
        .map(Vec::len)
        .try_fold(1usize, usize::checked_mul)
        .unwrap_or(usize::MAX);
    if total == 0 {
        return Ok(());
    }
    if total.saturating_add(out.len()) > MAX_ROWS_PER_RESOURCE {
        return Err(FhirError::eval(
            "a resource produced more than a million rows in one view",
        ));
    }
    let mut combos: Vec<Vec<Cell>> = vec![Vec::new()];
    for part in parts {
        let mut next = Vec::with_capacity(combos.len() * part.len());
        for prefix in &combos {
            for row in part {
                let mut r = prefix.clone();
                r.extend(row.iter().cloned());
                next.push(r);
            }
        }
        combos = next;
    }
    out.extend(combos);
    Ok(())
}
