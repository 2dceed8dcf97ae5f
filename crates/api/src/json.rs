//! Small helpers to read a [`Value`] with errors that carry the field's path.

use serde_json::{Map, Value};

use crate::{ApiError, Result};

/// `parent.name`, or `name` at the top.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn expected(path: &str, what: &str, got: &Value) -> ApiError {
    ApiError::new(path, format!("expected {what}, got {}", type_name(got)))
}

/// The member `name` of `obj`, treating JSON `null` as absent.
pub(crate) fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

pub(crate) fn as_object<'a>(path: &str, v: &'a Value) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| expected(path, "an object", v))
}

pub(crate) fn opt_string(
    obj: &Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Option<String>> {
    match get(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(expected(&join(parent, name), "a string", other)),
    }
}

pub(crate) fn opt_bool(obj: &Map<String, Value>, parent: &str, name: &str) -> Result<Option<bool>> {
    match get(obj, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(expected(&join(parent, name), "true or false", other)),
    }
}

/// An integer; a string holding an integer is accepted too (GET parameters and lenient clients send those).
pub(crate) fn opt_int(obj: &Map<String, Value>, parent: &str, name: &str) -> Result<Option<i64>> {
    match get(obj, name) {
        None => Ok(None),
        Some(v) => int_value(&join(parent, name), v).map(Some),
    }
}

pub(crate) fn int_value(path: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| ApiError::new(path, format!("expected an integer, got {n}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| ApiError::new(path, format!("expected an integer, got {s:?}"))),
        other => Err(expected(path, "an integer", other)),
    }
}

pub(crate) fn string_list(
    obj: &Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Vec<String>> {
    let path = join(parent, name);
    match get(obj, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(expected(&index(&path, i), "a string", other)),
            })
            .collect(),
        Some(other) => Err(expected(&path, "a list of strings", other)),
    }
}
