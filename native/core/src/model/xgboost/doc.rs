//! Typed access to an XGBoost model document ([`serde_json::Value`] from JSON
//! or UBJSON), every error naming the file and the field.

use crate::{Error, Result};
use serde_json::Value;

pub(super) struct Doc<'f> {
    pub(super) file: &'f str,
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'f> Doc<'f> {
    pub(super) fn err(&self, field: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::model(self.file, field, msg)
    }

    pub(super) fn opt<'v>(&self, v: &'v Value, path: &str, key: &str) -> Result<Option<&'v Value>> {
        match v {
            Value::Object(m) => Ok(m.get(key)),
            other => Err(self.err(
                path,
                format!("expected an object, found {}", type_name(other)),
            )),
        }
    }

    pub(super) fn req<'v>(&self, v: &'v Value, path: &str, key: &str) -> Result<&'v Value> {
        self.opt(v, path, key)?
            .ok_or_else(|| self.err(join(path, key), "missing"))
    }

    pub(super) fn str<'v>(&self, v: &'v Value, path: &str) -> Result<&'v str> {
        v.as_str()
            .ok_or_else(|| self.err(path, format!("expected a string, found {}", type_name(v))))
    }

    pub(super) fn arr<'v>(&self, v: &'v Value, path: &str) -> Result<&'v [Value]> {
        v.as_array()
            .map(|a| a.as_slice())
            .ok_or_else(|| self.err(path, format!("expected an array, found {}", type_name(v))))
    }

    /// An unsigned parameter, written by XGBoost as a string ("3") or a number.
    pub(super) fn param_u64(&self, v: &Value, path: &str) -> Result<u64> {
        let bad = || self.err(path, format!("expected a non-negative integer, found {v}"));
        match v {
            Value::String(s) => s.trim().parse::<u64>().map_err(|_| bad()),
            Value::Number(n) => n.as_u64().ok_or_else(bad),
            _ => Err(bad()),
        }
    }

    pub(super) fn num(&self, v: &Value, path: &str) -> Result<f64> {
        match v {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| self.err(path, "number out of range")),
            Value::String(s) => parse_float(s).ok_or_else(|| {
                self.err(path, format!("expected a number, found the string {s:?}"))
            }),
            other => Err(self.err(
                path,
                format!("expected a number, found {}", type_name(other)),
            )),
        }
    }

    pub(super) fn int(&self, v: &Value, path: &str) -> Result<i64> {
        match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(i)
                } else {
                    Err(self.err(path, format!("expected an integer, found {n}")))
                }
            }
            other => Err(self.err(
                path,
                format!("expected an integer, found {}", type_name(other)),
            )),
        }
    }

    pub(super) fn f64_vec(&self, v: &Value, path: &str) -> Result<Vec<f64>> {
        let a = self.arr(v, path)?;
        a.iter()
            .enumerate()
            .map(|(i, x)| self.num(x, &format!("{path}[{i}]")))
            .collect()
    }

    pub(super) fn i64_vec(&self, v: &Value, path: &str) -> Result<Vec<i64>> {
        let a = self.arr(v, path)?;
        a.iter()
            .enumerate()
            .map(|(i, x)| self.int(x, &format!("{path}[{i}]")))
            .collect()
    }

    pub(super) fn bool_vec(&self, v: &Value, path: &str) -> Result<Vec<bool>> {
        let a = self.arr(v, path)?;
        a.iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::Bool(b) => Ok(*b),
                Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
                Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
                other => Err(self.err(
                    format!("{path}[{i}]"),
                    format!("expected 0 or 1, found {other}"),
                )),
            })
            .collect()
    }

    pub(super) fn check_len<T>(&self, v: &[T], n: usize, path: &str, what: &str) -> Result<()> {
        if v.len() != n {
            return Err(self.err(path, format!("{} values, expected {n} ({what})", v.len())));
        }
        Ok(())
    }
}

pub(super) fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t {
        "NaN" | "nan" => Some(f64::NAN),
        "inf" | "Infinity" | "+inf" => Some(f64::INFINITY),
        "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse::<f64>().ok().filter(|x| x.is_finite()),
    }
}
