//! Compiles fitted scikit-learn transformers into a [`Program`]: `Pipeline`,
//! `ColumnTransformer` (passthrough, drop, remainder, verbose feature names),
//! `OneHotEncoder` (drop, infrequent categories, handle_unknown), `OrdinalEncoder`,
//! `StandardScaler`, `MinMaxScaler`, `SimpleImputer`. Output names follow
//! `get_feature_names_out()`. `FunctionTransformer` and anything else is refused.

use super::attrs::Node;
use super::program::{python_float, Column, Encoding, Op, Program, Unknown, Value};
use super::skops::Sk;
use crate::Result;

/// Applies the fitted transformer `t` to the columns `input`, appending encodings to `prog`.
pub fn transform(t: &Node, input: Vec<Column>, prog: &mut Program) -> Result<Vec<Column>> {
    match t.v() {
        Sk::Str(s) if s == "passthrough" => return Ok(input),
        Sk::None => return Ok(input),
        Sk::Str(s) if s == "drop" => return Ok(Vec::new()),
        Sk::Object { .. } => {}
        other => {
            return Err(t.err(format!(
                "expected a transformer, \"passthrough\" or \"drop\", found {}",
                other.describe()
            )))
        }
    }
    let class = t.class();
    if class != "Pipeline" {
        if let Some(n) = t.opt("n_features_in_") {
            if n.usize()? != input.len() {
                return Err(n.err(format!(
                    "{class} was fitted on {} columns but receives {}",
                    n.usize()?,
                    input.len()
                )));
            }
        }
    }
    match class {
        "Pipeline" => {
            let mut cols = input;
            for step in t.attr("steps")?.items()? {
                let parts = step.items()?;
                let est = parts
                    .get(1)
                    .ok_or_else(|| step.err("a step must be a (name, estimator) pair"))?;
                cols = transform(est, cols, prog)?;
            }
            Ok(cols)
        }
        "ColumnTransformer" => column_transformer(t, input, prog),
        "OneHotEncoder" => one_hot(t, input, prog),
        "OrdinalEncoder" => ordinal(t, input, prog),
        "StandardScaler" => {
            let mean = t.opt("mean_").map(|m| m.floats()).transpose()?;
            let scale = t.opt("scale_").map(|m| m.floats()).transpose()?;
            map_each(t, input, |i, c| {
                if t.opt("with_mean").map(|w| w.bool()).transpose()? != Some(false) {
                    if let Some(m) = &mean {
                        c.ops.push(Op::Sub(*m.get(i).ok_or_else(|| t.err("mean_ too short"))?));
                    }
                }
                if t.opt("with_std").map(|w| w.bool()).transpose()? != Some(false) {
                    if let Some(s) = &scale {
                        c.ops.push(Op::Div(*s.get(i).ok_or_else(|| t.err("scale_ too short"))?));
                    }
                }
                Ok(())
            })
        }
        "MinMaxScaler" => {
            let scale = t.attr("scale_")?.floats()?;
            let min = t.attr("min_")?.floats()?;
            let clip = t.opt("clip").map(|c| c.bool()).transpose()?.unwrap_or(false);
            let range = t.attr("feature_range")?.floats()?;
            if range.len() != 2 {
                return Err(t.err("feature_range must hold two numbers"));
            }
            map_each(t, input, |i, c| {
                let (s, m) = match (scale.get(i), min.get(i)) {
                    (Some(s), Some(m)) => (*s, *m),
                    _ => return Err(t.err("scale_ / min_ shorter than the inputs")),
                };
                c.ops.push(Op::Mul(s));
                c.ops.push(Op::Add(m));
                if clip {
                    c.ops.push(Op::Clip(range[0], range[1]));
                }
                Ok(())
            })
        }
        "SimpleImputer" => imputer(t, input),
        // `"passthrough"` is stored as FunctionTransformer(func=None): the identity
        "FunctionTransformer" if t.opt("func").is_none() => Ok(input),
        "FunctionTransformer" => Err(t.unsupported(
            "FunctionTransformer runs arbitrary Python code, which arrowshap never does; \
             express the step with the supported transformers or apply it to the inputs before the job",
        )),
        _ => Err(t.unsupported(format!(
            "transformer `{}` is not supported (supported: Pipeline, ColumnTransformer, OneHotEncoder, \
             OrdinalEncoder, StandardScaler, MinMaxScaler, SimpleImputer, \"passthrough\", \"drop\")",
            t.qualified()
        ))),
    }
}

fn map_each(
    t: &Node,
    mut input: Vec<Column>,
    mut f: impl FnMut(usize, &mut Column) -> Result<()>,
) -> Result<Vec<Column>> {
    let _ = t;
    for (i, c) in input.iter_mut().enumerate() {
        f(i, c)?;
    }
    Ok(input)
}

fn column_transformer(t: &Node, input: Vec<Column>, prog: &mut Program) -> Result<Vec<Column>> {
    let verbose = match t.opt("verbose_feature_names_out") {
        None => Names::Prefix,
        Some(v) => match v.v() {
            Sk::Bool(true) => Names::Prefix,
            Sk::Bool(false) => Names::Plain,
            Sk::Str(s) => Names::Format(s.clone()),
            other => {
                return Err(v.err(format!(
                    "expected a bool or a format string, found {}",
                    other.describe()
                )))
            }
        },
    };
    let index_map = t.opt("_transformer_to_input_indices");
    let mut out = Vec::new();
    for tr in t.attr("transformers_")?.items()? {
        let parts = tr.items()?;
        if parts.len() < 3 {
            return Err(tr.err("expected (name, transformer, columns)"));
        }
        let name = parts[0].str()?.to_string();
        let indices: Vec<usize> = match index_map.as_ref().and_then(|m| m.opt(&name)) {
            Some(ix) => ix.floats()?.iter().map(|&x| x as usize).collect(),
            None => column_indices(&parts[2], &prog.inputs, &input)?,
        };
        if matches!(parts[1].v(), Sk::Str(s) if s == "drop") || indices.is_empty() {
            continue;
        }
        let mut sub = Vec::with_capacity(indices.len());
        for &i in &indices {
            sub.push(
                input
                    .get(i)
                    .ok_or_else(|| tr.err(format!("column index {i} out of range")))?
                    .clone(),
            );
        }
        for mut c in transform(&parts[1], sub, prog)? {
            c.name = match &verbose {
                Names::Prefix => format!("{name}__{}", c.name),
                Names::Plain => c.name,
                Names::Format(f) => f
                    .replace("{transformer_name}", &name)
                    .replace("{feature_name}", &c.name),
            };
            out.push(c);
        }
    }
    if matches!(verbose, Names::Plain) {
        let mut seen = std::collections::HashSet::new();
        for c in &out {
            if !seen.insert(c.name.clone()) {
                return Err(t.err(format!(
                    "output feature name `{}` is not unique (verbose_feature_names_out=False)",
                    c.name
                )));
            }
        }
    }
    Ok(out)
}

enum Names {
    Prefix,
    Plain,
    Format(String),
}

/// Column selection of a `transformers_` entry, for files without `_transformer_to_input_indices`.
fn column_indices(spec: &Node, _raw: &[String], input: &[Column]) -> Result<Vec<usize>> {
    let one = |v: &Sk| -> Result<usize> {
        match v {
            Sk::Int(i) if *i >= 0 => Ok(*i as usize),
            Sk::Str(s) => input
                .iter()
                .position(|c| &c.name == s)
                .ok_or_else(|| spec.err(format!("column `{s}` is not among the inputs"))),
            other => Err(spec.err(format!("unsupported column selector {}", other.describe()))),
        }
    };
    match spec.v() {
        Sk::Int(_) | Sk::Str(_) => Ok(vec![one(spec.v())?]),
        Sk::List(items) | Sk::ObjArray(items, _) => items.iter().map(one).collect(),
        Sk::Array(a) if a.prim == Some(super::npy::Prim::Bool) => Ok(spec
            .floats()?
            .iter()
            .enumerate()
            .filter(|(_, &b)| b != 0.0)
            .map(|(i, _)| i)
            .collect()),
        Sk::Array(_) => Ok(spec.floats()?.iter().map(|&x| x as usize).collect()),
        Sk::Slice(start, stop, step) => {
            let n = input.len() as i64;
            let norm = |x: i64| if x < 0 { (x + n).max(0) } else { x.min(n) };
            let (a, b, s) = (
                norm(start.unwrap_or(0)),
                norm(stop.unwrap_or(n)),
                step.unwrap_or(1),
            );
            if s <= 0 {
                return Err(spec.err("slice steps must be positive"));
            }
            Ok((a..b).step_by(s as usize).map(|x| x as usize).collect())
        }
        other => Err(spec.err(format!("unsupported column selector {}", other.describe()))),
    }
}

/// The fitted categories of one input: values to match and their names (`str(category)`).
pub fn categories(node: &Node) -> Result<(Vec<Value>, Vec<String>)> {
    match node.v() {
        Sk::Array(a) if matches!(a.prim, Some(super::npy::Prim::Unicode(_))) => {
            let names = a.to_strings().map_err(|m| node.err(m))?;
            Ok((names.iter().map(|s| Value::Str(s.clone())).collect(), names))
        }
        Sk::Array(a) => {
            let prim = a
                .prim
                .ok_or_else(|| node.err("categories must be a plain array"))?;
            let vals = node.floats()?;
            let names = vals
                .iter()
                .map(|&x| match prim {
                    super::npy::Prim::Float(_) => python_float(x),
                    super::npy::Prim::Bool => (if x != 0.0 { "True" } else { "False" }).into(),
                    _ => format!("{}", x as i64),
                })
                .collect();
            let values = vals
                .into_iter()
                .map(|x| {
                    if x.is_nan() {
                        Value::Missing
                    } else {
                        Value::Num(x)
                    }
                })
                .collect();
            Ok((values, names))
        }
        Sk::ObjArray(items, _) | Sk::List(items) => {
            let mut values = Vec::with_capacity(items.len());
            let mut names = Vec::with_capacity(items.len());
            for it in items {
                let (v, n) = match it {
                    Sk::Str(s) => (Value::Str(s.clone()), s.clone()),
                    Sk::Int(i) => (Value::Num(*i as f64), i.to_string()),
                    Sk::Float(f) if f.is_nan() => (Value::Missing, "nan".into()),
                    Sk::Float(f) => (Value::Num(*f), python_float(*f)),
                    Sk::Bool(b) => (
                        Value::Num(*b as u8 as f64),
                        (if *b { "True" } else { "False" }).into(),
                    ),
                    Sk::None => (Value::Missing, "None".into()),
                    other => {
                        return Err(
                            node.err(format!("unsupported category value {}", other.describe()))
                        )
                    }
                };
                values.push(v);
                names.push(n);
            }
            Ok((values, names))
        }
        other => Err(node.err(format!(
            "expected an array of categories, found {}",
            other.describe()
        ))),
    }
}

/// Per-input optional integer arrays (`_default_to_infrequent_mappings`, `_infrequent_indices`).
fn per_input(node: Option<Node>, n: usize) -> Result<Vec<Option<Vec<f64>>>> {
    match node {
        None => Ok(vec![None; n]),
        Some(list) => match list.v() {
            Sk::Array(_) => Ok(list.floats()?.into_iter().map(|x| Some(vec![x])).collect()),
            _ => list
                .items()?
                .iter()
                .map(|it| match it.v() {
                    Sk::None => Ok(None),
                    Sk::Float(f) if f.is_nan() => Ok(None),
                    Sk::Int(_) | Sk::Float(_) => it.f64().map(|x| Some(vec![x])),
                    _ => it.floats().map(Some),
                })
                .collect(),
        },
    }
}

fn one_hot(t: &Node, input: Vec<Column>, prog: &mut Program) -> Result<Vec<Column>> {
    let cats = t.attr("categories_")?.items()?;
    if cats.len() != input.len() {
        return Err(t.err(format!(
            "{} category lists for {} inputs",
            cats.len(),
            input.len()
        )));
    }
    if let Some(c) = t.opt("feature_name_combiner") {
        if !matches!(c.v(), Sk::Str(s) if s == "concat") {
            return Err(
                c.unsupported("a custom feature_name_combiner (Python code) is not supported")
            );
        }
    }
    let handle = t.attr("handle_unknown")?.str()?.to_string();
    let infrequent = t
        .opt("_infrequent_enabled")
        .map(|b| b.bool())
        .transpose()?
        .unwrap_or(false);
    let n = input.len();
    let (mappings, infreq) = if infrequent {
        (
            per_input(t.opt("_default_to_infrequent_mappings"), n)?,
            per_input(t.opt("_infrequent_indices"), n)?,
        )
    } else {
        (vec![None; n], vec![None; n])
    };
    let drops = per_input(
        t.opt("_drop_idx_after_grouping")
            .or_else(|| t.opt("drop_idx_")),
        n,
    )?;
    let mut out = Vec::new();
    for (i, col) in input.into_iter().enumerate() {
        let (values, names) = categories(&cats[i])?;
        let groups: Vec<f64> = match &mappings[i] {
            Some(m) if m.len() == values.len() => m.clone(),
            Some(_) => {
                return Err(t.err("_default_to_infrequent_mappings does not match categories_"))
            }
            None => (0..values.len()).map(|c| c as f64).collect(),
        };
        let g_count = groups.iter().fold(0.0f64, |a, &b| a.max(b)) as usize + 1;
        let has_infrequent = mappings[i].is_some() && infreq[i].is_some();
        let unknown = match handle.as_str() {
            "error" => Unknown::Error(format!(
                "OneHotEncoder(handle_unknown='error') over `{}`",
                col.name
            )),
            "infrequent_if_exist" | "warn" if has_infrequent => Unknown::Code((g_count - 1) as f64),
            _ => Unknown::Code(-1.0),
        };
        let drop = drops[i].as_ref().and_then(|d| d.first().copied());
        let e = prog.encodings.len();
        prog.encodings.push(Encoding {
            who: format!("OneHotEncoder over `{}`", col.name),
            categories: values,
            codes: groups.clone(),
            unknown,
        });
        for g in 0..g_count {
            if drop == Some(g as f64) {
                continue;
            }
            let gname = if has_infrequent && g == g_count - 1 {
                "infrequent_sklearn".to_string()
            } else {
                match groups.iter().position(|&x| x == g as f64) {
                    Some(c) => names[c].clone(),
                    None => return Err(t.err(format!("category group {g} has no category"))),
                }
            };
            let mut ops = col.ops.clone();
            ops.push(Op::Code(e));
            ops.push(Op::Eq(g as f64));
            out.push(Column {
                source: col.source,
                name: format!("{}_{gname}", col.name),
                ops,
            });
        }
    }
    Ok(out)
}

fn ordinal(t: &Node, input: Vec<Column>, prog: &mut Program) -> Result<Vec<Column>> {
    let cats = t.attr("categories_")?.items()?;
    if cats.len() != input.len() {
        return Err(t.err(format!(
            "{} category lists for {} inputs",
            cats.len(),
            input.len()
        )));
    }
    let n = input.len();
    let handle = t.attr("handle_unknown")?.str()?.to_string();
    let unknown_value = t.opt("unknown_value").map(|u| u.f64()).transpose()?;
    let missing_code = t
        .opt("encoded_missing_value")
        .map(|u| u.f64())
        .transpose()?
        .unwrap_or(f64::NAN);
    let infrequent = t
        .opt("_infrequent_enabled")
        .map(|b| b.bool())
        .transpose()?
        .unwrap_or(false);
    let mappings = if infrequent {
        per_input(t.opt("_default_to_infrequent_mappings"), n)?
    } else {
        vec![None; n]
    };
    let missing_idx: Vec<Option<usize>> = (0..n)
        .map(|i| {
            match t
                .opt("_missing_indices")
                .and_then(|m| m.opt(&i.to_string()))
            {
                Some(x) => x.usize().map(Some),
                None => Ok(None),
            }
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(n);
    for (i, mut col) in input.into_iter().enumerate() {
        let (values, _) = categories(&cats[i])?;
        let mut codes: Vec<f64> = match &mappings[i] {
            Some(m) if m.len() == values.len() => m.clone(),
            Some(_) => {
                return Err(t.err("_default_to_infrequent_mappings does not match categories_"))
            }
            None => (0..values.len()).map(|c| c as f64).collect(),
        };
        if let Some(m) = missing_idx[i] {
            if m < codes.len() {
                codes[m] = missing_code;
            }
        }
        let unknown = match handle.as_str() {
            "use_encoded_value" => Unknown::Code(
                unknown_value.ok_or_else(|| t.err("use_encoded_value without unknown_value"))?,
            ),
            _ => Unknown::Error(format!(
                "OrdinalEncoder(handle_unknown='error') over `{}`",
                col.name
            )),
        };
        let e = prog.encodings.len();
        prog.encodings.push(Encoding {
            who: format!("OrdinalEncoder over `{}`", col.name),
            categories: values,
            codes,
            unknown,
        });
        col.ops.push(Op::Code(e));
        out.push(col);
    }
    Ok(out)
}

fn imputer(t: &Node, input: Vec<Column>) -> Result<Vec<Column>> {
    if t.opt("add_indicator").map(|b| b.bool()).transpose()? == Some(true) {
        return Err(t.unsupported("SimpleImputer(add_indicator=True) is not supported"));
    }
    let keep_empty = t
        .opt("keep_empty_features")
        .map(|b| b.bool())
        .transpose()?
        .unwrap_or(false);
    let missing = match t.opt("missing_values") {
        None => Value::Missing,
        Some(m) => match m.v() {
            Sk::Float(f) if f.is_nan() => Value::Missing,
            Sk::Str(s) => Value::Str(s.clone()),
            _ => Value::Num(m.f64()?),
        },
    };
    let (fills, _) = categories(&t.attr("statistics_")?)?;
    if fills.len() != input.len() {
        return Err(t.err(format!(
            "{} statistics for {} inputs",
            fills.len(),
            input.len()
        )));
    }
    let mut out = Vec::new();
    for (mut col, fill) in input.into_iter().zip(fills) {
        if fill == Value::Missing && !keep_empty {
            continue; // an all-missing column at fit time is dropped, as scikit-learn does
        }
        col.ops.push(Op::Impute {
            missing: missing.clone(),
            fill,
        });
        out.push(col);
    }
    Ok(out)
}
