//! Loading and checking a SQL on FHIR v2 ViewDefinition: every path is compiled,
//! constants converted, column names checked (unique, `unionAll` branches alike)
//! before any resource is read, so a bad view fails at once with its location.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::ColumnInfo;
use crate::error::{FhirError, Result};
use crate::fhirpath::{FhirPath, Item, Temporal};

/// How a `select` iterates over its focus.
#[derive(Debug, Clone)]
pub(crate) enum Iterate {
    /// No iteration: the select's focus is its parent's.
    Once,
    /// `forEach`: one focus per item; none when empty.
    ForEach(FhirPath),
    /// `forEachOrNull`: like `forEach`, but one all-null row when empty.
    ForEachOrNull(FhirPath),
    /// `repeat`: the items reached by applying the paths recursively, depth first.
    Repeat(Vec<FhirPath>),
}

/// A compiled column.
#[derive(Debug, Clone)]
pub(crate) struct ColumnDef {
    pub info: ColumnInfo,
    pub path: FhirPath,
}

/// A compiled `select` element.
#[derive(Debug, Clone)]
pub(crate) struct Select {
    pub iterate: Iterate,
    pub columns: Vec<ColumnDef>,
    pub selects: Vec<Select>,
    pub union_all: Vec<Select>,
    /// Number of output columns this select produces (own, nested, union).
    pub width: usize,
}

/// The compiled parts of a view.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub name: Option<String>,
    pub resource: String,
    pub constants: Arc<HashMap<String, Item<'static>>>,
    pub wheres: Vec<FhirPath>,
    pub root: Select,
    pub columns: Vec<ColumnInfo>,
}

const BUILTIN_EXTERNALS: &[&str] = &[
    "rowIndex",
    "resource",
    "rootResource",
    "context",
    "ucum",
    "sct",
    "loinc",
];

/// Compiles a ViewDefinition from its JSON.
pub(crate) fn compile(view: &Value) -> Result<Compiled> {
    let obj = view
        .as_object()
        .ok_or_else(|| FhirError::view("(root)", "a ViewDefinition must be a JSON object"))?;
    if let Some(rt) = obj.get("resourceType").and_then(Value::as_str)
        && rt != "ViewDefinition"
    {
        return Err(FhirError::view(
            "resourceType",
            format!("expected ViewDefinition, found {rt}"),
        ));
    }
    let resource = match obj.get("resource") {
        Some(Value::String(r)) if !r.is_empty() => r.clone(),
        Some(_) => {
            return Err(FhirError::view(
                "resource",
                "must be a resource type name such as \"Patient\"",
            ));
        }
        None => {
            return Err(FhirError::view(
                "resource",
                "missing; name the FHIR resource type the view reads",
            ));
        }
    };
    let name = match obj.get("name") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(FhirError::view("name", "must be a string")),
    };
    let constants = constants(obj)?;
    let wheres = wheres(obj)?;
    let selects = match obj.get("select") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, s)| select(s, &format!("select[{i}]")))
            .collect::<Result<Vec<_>>>()?,
        _ => {
            return Err(FhirError::view(
                "select",
                "missing or empty; list at least one select with columns",
            ));
        }
    };
    let width = selects.iter().map(|s| s.width).sum();
    let root = Select {
        iterate: Iterate::Once,
        columns: Vec::new(),
        selects,
        union_all: Vec::new(),
        width,
    };
    let mut columns = Vec::new();
    collect_columns(&root, &mut columns);
    check_unique(&columns)?;
    let compiled = Compiled {
        name,
        resource,
        constants: Arc::new(constants),
        wheres,
        root,
        columns,
    };
    check_externals(&compiled)?;
    Ok(compiled)
}

fn path(value: Option<&Value>, location: &str) -> Result<FhirPath> {
    match value {
        Some(Value::String(p)) => {
            FhirPath::compile(p).map_err(|e| FhirError::view(location, e.to_string()))
        }
        Some(_) => Err(FhirError::view(
            location,
            "must be a FHIRPath expression in a string",
        )),
        None => Err(FhirError::view(location, "missing FHIRPath expression")),
    }
}

fn constants(obj: &Map<String, Value>) -> Result<HashMap<String, Item<'static>>> {
    let mut out = HashMap::new();
    let Some(list) = obj.get("constant") else {
        return Ok(out);
    };
    let list = list
        .as_array()
        .ok_or_else(|| FhirError::view("constant", "must be a list"))?;
    for (i, c) in list.iter().enumerate() {
        let loc = format!("constant[{i}]");
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| FhirError::view(&loc, "missing `name`"))?;
        let values: Vec<(&String, &Value)> = c
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("value"))
            .collect();
        let [(key, value)] = values.as_slice() else {
            return Err(FhirError::view(
                &loc,
                "needs exactly one value[x], e.g. \"valueString\"",
            ));
        };
        out.insert(name.to_string(), constant_value(key, value, &loc)?);
    }
    Ok(out)
}

fn constant_value(key: &str, value: &Value, loc: &str) -> Result<Item<'static>> {
    let ty = &key["value".len()..];
    let bad = || FhirError::view(loc, format!("`{key}` has a value of the wrong JSON type"));
    let text = || value.as_str().map(str::to_string).ok_or_else(bad);
    let temporal = |parsed: Option<Temporal>| -> Result<Item<'static>> {
        parsed
            .map(Item::Temporal)
            .ok_or_else(|| FhirError::view(loc, format!("`{key}` is not a valid {ty}")))
    };
    Ok(match ty {
        "Boolean" => Item::Boolean(value.as_bool().ok_or_else(bad)?),
        "Integer" | "PositiveInt" | "UnsignedInt" | "Integer64" => {
            Item::Integer(value.as_i64().ok_or_else(bad)?)
        }
        "Decimal" => Item::Decimal(value.as_f64().ok_or_else(bad)?),
        "Date" => temporal(Temporal::parse_date(&text()?))?,
        "DateTime" | "Instant" => temporal(Temporal::parse_datetime(&text()?))?,
        "Time" => temporal(Temporal::parse_time(&text()?))?,
        "String" | "Code" | "Id" | "Uri" | "Url" | "Canonical" | "Oid" | "Uuid"
        | "Base64Binary" | "Markdown" => Item::String(std::borrow::Cow::Owned(text()?)),
        _ => {
            return Err(FhirError::view(
                loc,
                format!("constants of type {ty} are not supported; use a primitive type"),
            ));
        }
    })
}

fn wheres(obj: &Map<String, Value>) -> Result<Vec<FhirPath>> {
    let Some(list) = obj.get("where") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| FhirError::view("where", "must be a list"))?;
    list.iter()
        .enumerate()
        .map(|(i, w)| path(w.get("path"), &format!("where[{i}].path")))
        .collect()
}

fn select(value: &Value, loc: &str) -> Result<Select> {
    let obj = value
        .as_object()
        .ok_or_else(|| FhirError::view(loc, "a select must be an object"))?;
    let iterate = iterate(obj, loc)?;
    let columns = match obj.get("column") {
        None => Vec::new(),
        Some(Value::Array(cols)) => cols
            .iter()
            .enumerate()
            .map(|(i, c)| column(c, &format!("{loc}.column[{i}]")))
            .collect::<Result<Vec<_>>>()?,
        Some(_) => return Err(FhirError::view(format!("{loc}.column"), "must be a list")),
    };
    let selects = sub_selects(obj.get("select"), &format!("{loc}.select"))?;
    let union_all = sub_selects(obj.get("unionAll"), &format!("{loc}.unionAll"))?;
    check_union(&union_all, loc)?;
    let width = columns.len()
        + selects.iter().map(|s| s.width).sum::<usize>()
        + union_all.first().map_or(0, |u| u.width);
    Ok(Select {
        iterate,
        columns,
        selects,
        union_all,
        width,
    })
}

fn sub_selects(value: Option<&Value>, loc: &str) -> Result<Vec<Select>> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| select(s, &format!("{loc}[{i}]")))
            .collect(),
        Some(_) => Err(FhirError::view(loc, "must be a list of selects")),
    }
}

fn iterate(obj: &Map<String, Value>, loc: &str) -> Result<Iterate> {
    let given: Vec<&str> = ["forEach", "forEachOrNull", "repeat"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    match given.as_slice() {
        [] => Ok(Iterate::Once),
        ["forEach"] => Ok(Iterate::ForEach(path(
            obj.get("forEach"),
            &format!("{loc}.forEach"),
        )?)),
        ["forEachOrNull"] => Ok(Iterate::ForEachOrNull(path(
            obj.get("forEachOrNull"),
            &format!("{loc}.forEachOrNull"),
        )?)),
        ["repeat"] => {
            let items = obj
                .get("repeat")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    FhirError::view(
                        format!("{loc}.repeat"),
                        "must be a non-empty list of FHIRPath expressions",
                    )
                })?;
            let paths = items
                .iter()
                .enumerate()
                .map(|(i, p)| path(Some(p), &format!("{loc}.repeat[{i}]")))
                .collect::<Result<Vec<_>>>()?;
            Ok(Iterate::Repeat(paths))
        }
        _ => Err(FhirError::view(
            loc,
            "use only one of forEach, forEachOrNull and repeat",
        )),
    }
}

fn column(value: &Value, loc: &str) -> Result<ColumnDef> {
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| FhirError::view(loc, "missing column `name`"))?;
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(FhirError::view(
            loc,
            "column names must start with a letter and use only letters, digits and _",
        ));
    }
    let collection = match value.get("collection") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(FhirError::view(loc, "`collection` must be true or false")),
    };
    let fhir_type = match value.get("type") {
        None => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(FhirError::view(loc, "`type` must be a FHIR type name")),
    };
    Ok(ColumnDef {
        info: ColumnInfo {
            name: name.to_string(),
            fhir_type,
            collection,
        },
        path: path(value.get("path"), &format!("{loc}.path"))?,
    })
}

/// Output columns of a select in order: own columns, nested selects, then the
/// first `unionAll` branch (all branches have the same columns).
pub(crate) fn collect_columns(select: &Select, out: &mut Vec<ColumnInfo>) {
    out.extend(select.columns.iter().map(|c| c.info.clone()));
    for s in &select.selects {
        collect_columns(s, out);
    }
    if let Some(first) = select.union_all.first() {
        collect_columns(first, out);
    }
}

fn check_union(branches: &[Select], loc: &str) -> Result<()> {
    let names = |s: &Select| {
        let mut cols = Vec::new();
        collect_columns(s, &mut cols);
        cols.into_iter().map(|c| c.name).collect::<Vec<_>>()
    };
    let Some(first) = branches.first().map(names) else {
        return Ok(());
    };
    for (i, b) in branches.iter().enumerate().skip(1) {
        if names(b) != first {
            return Err(FhirError::view(
                format!("{loc}.unionAll[{i}]"),
                format!("every unionAll branch must have the columns {first:?}, in that order"),
            ));
        }
    }
    Ok(())
}

fn check_unique(columns: &[ColumnInfo]) -> Result<()> {
    let mut seen = HashSet::new();
    for c in columns {
        if !seen.insert(c.name.as_str()) {
            return Err(FhirError::view(
                "select",
                format!("column name `{}` is used twice", c.name),
            ));
        }
    }
    Ok(())
}

fn check_externals(view: &Compiled) -> Result<()> {
    let mut paths: Vec<&FhirPath> = view.wheres.iter().collect();
    select_paths(&view.root, &mut paths);
    for p in paths {
        for name in p.external_names() {
            if !BUILTIN_EXTERNALS.contains(&name.as_str()) && !view.constants.contains_key(&name) {
                return Err(FhirError::view(
                    "constant",
                    format!(
                        "`{}` uses %{name}, which is not declared as a constant",
                        p.source()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn select_paths<'v>(select: &'v Select, out: &mut Vec<&'v FhirPath>) {
    match &select.iterate {
        Iterate::Once => {}
        Iterate::ForEach(p) | Iterate::ForEachOrNull(p) => out.push(p),
        Iterate::Repeat(ps) => out.extend(ps.iter()),
    }
    out.extend(select.columns.iter().map(|c| &c.path));
    for s in select.selects.iter().chain(&select.union_all) {
        select_paths(s, out);
    }
}
