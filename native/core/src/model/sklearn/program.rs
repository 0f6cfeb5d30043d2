//! The preprocessing of a scikit-learn pipeline, compiled into per-column programs.
//!
//! Every transformer arrowshap supports maps each input column on its own (one-hot
//! and ordinal encoding, scaling, imputation), so a whole `Pipeline` /
//! `ColumnTransformer` tree compiles into one [`Column`] per model feature: the raw
//! input column it reads and the operations applied to it, in scikit-learn's order
//! and arithmetic. The TypeScript side evaluates the program over Arrow columns
//! (strings or numbers); the roll-up to raw columns groups features by `source`.
//! [`Program::to_json`] is the exchange format.

use serde_json::{json, Value as J};

/// A category or a value to match: missing (NaN / None / null), a number or a string.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// NaN, None, or an Arrow null.
    Missing,
    /// A number (ints widen to f64).
    Num(f64),
    /// A string.
    Str(String),
}

impl Value {
    fn to_json(&self) -> J {
        match self {
            Value::Missing => J::Null,
            Value::Num(x) => json!(x),
            Value::Str(s) => json!(s),
        }
    }
}

/// What an encoding does with a value outside its categories.
#[derive(Clone, Debug, PartialEq)]
pub enum Unknown {
    /// Fail, naming the encoder (`OneHotEncoder(handle_unknown='error')`).
    Error(String),
    /// Encode as this code (NaN allowed).
    Code(f64),
}

/// A category → code table shared by the columns of one encoded input.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoding {
    /// Who encodes (for messages), e.g. `OneHotEncoder \`cat\``.
    pub who: String,
    /// The categories as fitted (`categories_[i]`).
    pub categories: Vec<Value>,
    /// Code per category (NaN allowed: OrdinalEncoder's `encoded_missing_value`).
    pub codes: Vec<f64>,
    /// Code of an unseen value.
    pub unknown: Unknown,
}

/// One step applied to a column's values, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Replace each value by its code in `encodings[i]` (strings or numbers in, numbers out).
    Code(usize),
    /// 1.0 where the value equals the code, else 0.0 (one-hot column of a group).
    Eq(f64),
    /// SimpleImputer: values equal to `missing` (NaN matches missing) become `fill`.
    Impute {
        /// The `missing_values` marker.
        missing: Value,
        /// The fitted statistic.
        fill: Value,
    },
    /// x - v
    Sub(f64),
    /// x / v
    Div(f64),
    /// x * v
    Mul(f64),
    /// x + v
    Add(f64),
    /// clamp to [lo, hi] (MinMaxScaler(clip=True)).
    Clip(f64, f64),
}

impl Op {
    fn to_json(&self) -> J {
        let num = |x: f64| if x.is_nan() { J::Null } else { json!(x) };
        match self {
            Op::Code(e) => json!({"op": "code", "encoding": e}),
            Op::Eq(c) => json!({"op": "eq", "value": num(*c)}),
            Op::Impute { missing, fill } => {
                json!({"op": "impute", "missing": missing.to_json(), "fill": fill.to_json()})
            }
            Op::Sub(v) => json!({"op": "sub", "value": v}),
            Op::Div(v) => json!({"op": "div", "value": v}),
            Op::Mul(v) => json!({"op": "mul", "value": v}),
            Op::Add(v) => json!({"op": "add", "value": v}),
            Op::Clip(a, b) => json!({"op": "clip", "lo": a, "hi": b}),
        }
    }
}

/// One model feature: which raw input column it reads and what is done to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Index of the raw input column.
    pub source: usize,
    /// The feature's name (`get_feature_names_out()`).
    pub name: String,
    /// Operations, in order.
    pub ops: Vec<Op>,
}

/// The compiled preprocessing: raw inputs → model features.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Program {
    /// Raw input column names (`feature_names_in_`, else `x0`, `x1`, …).
    pub inputs: Vec<String>,
    /// One entry per model feature, in model order.
    pub columns: Vec<Column>,
    /// Encodings referenced by [`Op::Code`].
    pub encodings: Vec<Encoding>,
}

impl Program {
    /// The identity program over `inputs`.
    pub fn identity(inputs: Vec<String>) -> Program {
        let columns = inputs
            .iter()
            .enumerate()
            .map(|(i, n)| Column {
                source: i,
                name: n.clone(),
                ops: Vec::new(),
            })
            .collect();
        Program {
            inputs,
            columns,
            encodings: Vec::new(),
        }
    }

    /// True when every feature is a raw column unchanged, in order.
    pub fn is_identity(&self) -> bool {
        self.columns.len() == self.inputs.len()
            && self
                .columns
                .iter()
                .enumerate()
                .all(|(i, c)| c.source == i && c.ops.is_empty() && c.name == self.inputs[i])
    }

    /// The program as JSON: `{inputs, columns: [{source, name, ops}], encodings: [{who, categories, codes, unknown}]}`;
    /// NaN codes and missing categories are `null`; `unknown` is `{error: who}` or `{code}`.
    pub fn to_json(&self) -> J {
        json!({
            "inputs": self.inputs,
            "columns": self.columns.iter().map(|c| json!({
                "source": c.source,
                "name": c.name,
                "ops": c.ops.iter().map(Op::to_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "encodings": self.encodings.iter().map(|e| json!({
                "who": e.who,
                "categories": e.categories.iter().map(Value::to_json).collect::<Vec<_>>(),
                "codes": e.codes.iter().map(|&c| if c.is_nan() { J::Null } else { json!(c) }).collect::<Vec<_>>(),
                "unknown": match &e.unknown {
                    Unknown::Error(w) => json!({"error": w}),
                    Unknown::Code(c) => json!({"code": if c.is_nan() { J::Null } else { json!(c) }}),
                },
            })).collect::<Vec<_>>(),
        })
    }
}

/// Python's `repr(float)` / `str(float)`: shortest round-trip digits, exponent form
/// below 1e-4 and from 1e16 (`1e-05`, `1.5e+16`), `nan`, `inf`.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let e = format!("{:e}", x); // shortest digits: "-1.2345e-5"
    let (mant, exp) = e.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits.clone()
        };
        let es = if exp < 0 { "-" } else { "+" };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    let n = digits.len() as i32;
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        format!("{sign}0.{zeros}{digits}")
    } else if exp + 1 >= n {
        let zeros = "0".repeat((exp + 1 - n) as usize);
        format!("{sign}{digits}{zeros}.0")
    } else {
        let p = (exp + 1) as usize;
        format!("{sign}{}.{}", &digits[..p], &digits[p..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_does() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.0, "123456789012345.0"),
            (3.0e-10, "3e-10"),
            (0.30000000000000004, "0.30000000000000004"),
            (f64::NAN, "nan"),
            (100.0, "100.0"),
            (12.25, "12.25"),
        ];
        for (x, want) in cases {
            assert_eq!(python_float(x), want, "{x}");
        }
    }
}
