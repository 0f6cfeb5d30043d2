//! CatBoost's `features_info`: the flat feature layout, names, float features' NaN
//! treatment and the one-hot hashes of categorical features.

use super::number;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::HashMap;

/// Most features (flat feature indices) a CatBoost model may declare.
pub const MAX_FEATURES: usize = 1 << 20;

/// Largest integer category matched to CatBoost's one-hot hashes (categories are
/// matched over `0..=MAX_CATEGORY`; other values match no one-hot split).
pub const MAX_CATEGORY: u32 = (1 << 16) - 1;

/// One float feature (`features_info.float_features[i]`).
#[derive(Clone, Debug)]
pub struct FloatFeature {
    /// Column of the feature in the model's input (`flat_feature_index`).
    pub flat: u32,
    /// True when NaN passes every border (`nan_value_treatment: AsTrue`).
    pub nan_true: bool,
}

/// One categorical feature (`features_info.categorical_features[i]`).
#[derive(Clone, Debug)]
pub struct CatFeature {
    /// Column of the feature in the model's input (`flat_feature_index`).
    pub flat: u32,
}

/// The feature layout of a model.
#[derive(Clone, Debug)]
pub struct Features {
    /// Input columns: one past the largest `flat_feature_index`.
    pub num_features: usize,
    /// Name per column (`feature_id`, or `f<i>` when empty).
    pub names: Vec<String>,
    /// Float features by `feature_index` (what `float_feature_index` in splits refers to).
    pub float: Vec<Option<FloatFeature>>,
    /// Categorical features by `feature_index` (what `cat_feature_index` refers to).
    pub cat: Vec<Option<CatFeature>>,
    /// Integer categories per 32-bit CatBoost hash, filled on first use.
    hashes: std::cell::OnceCell<HashMap<i64, Vec<u32>>>,
}

impl Features {
    /// The integer categories in `0..=MAX_CATEGORY` whose decimal text CatBoost hashes to `h`.
    pub fn categories_of(&self, h: i64) -> &[u32] {
        self.hashes
            .get_or_init(|| {
                let mut m: HashMap<i64, Vec<u32>> = HashMap::new();
                for c in 0..=MAX_CATEGORY {
                    m.entry(cat_hash(c.to_string().as_bytes()))
                        .or_default()
                        .push(c);
                }
                m
            })
            .get(&h)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// CatBoost's hash of a categorical value's text (`CalcCatFeatureHash`: the low 32 bits
/// of CityHash64 v1.0.2), as the signed 32-bit number its JSON export writes.
pub fn cat_hash(text: &[u8]) -> i64 {
    cityhash_102_rs::city_hash_64(text) as u32 as i32 as i64
}

/// Reads `features_info`; every index is checked against [`MAX_FEATURES`].
pub fn read(v: &Value, file: &str) -> Result<Features> {
    let info = super::at(v, "features_info", file)?;
    if !info.is_object() {
        return Err(Error::model(file, "features_info", "expected an object"));
    }
    let list = |key: &str| -> Result<&[Value]> {
        match info.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a.as_slice()),
            Some(_) => Err(Error::model(
                file,
                format!("features_info.{key}"),
                "expected an array",
            )),
        }
    };
    let mut names: Vec<Option<String>> = Vec::new();
    let mut float = Vec::new();
    let mut cat = Vec::new();
    for key in [
        "float_features",
        "categorical_features",
        "text_features",
        "embedding_features",
    ] {
        for (i, f) in list(key)?.iter().enumerate() {
            let field = |k: &str| format!("features_info.{key}[{i}].{k}");
            let index = |k: &str| -> Result<usize> {
                let x = f.get(k).and_then(Value::as_u64).ok_or_else(|| {
                    Error::model(file, field(k), "expected a non-negative integer")
                })?;
                if x as usize >= MAX_FEATURES {
                    return Err(Error::model(
                        file,
                        field(k),
                        format!("{x} is beyond the {MAX_FEATURES} features accepted"),
                    ));
                }
                Ok(x as usize)
            };
            let flat = index("flat_feature_index")?;
            let fi = index("feature_index")?;
            if names.len() <= flat {
                names.resize(flat + 1, None);
            }
            if names[flat].is_some() {
                return Err(Error::model(
                    file,
                    field("flat_feature_index"),
                    format!("column {flat} is declared twice"),
                ));
            }
            names[flat] = Some(
                f.get("feature_id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            );
            let twice = || {
                Error::model(
                    file,
                    field("feature_index"),
                    format!("{key} index {fi} is declared twice"),
                )
            };
            match key {
                "float_features" => {
                    let nan_true = match f.get("nan_value_treatment").and_then(Value::as_str) {
                        None | Some("AsIs") | Some("AsFalse") => false,
                        Some("AsTrue") => true,
                        Some(o) => {
                            return Err(Error::model(
                                file,
                                field("nan_value_treatment"),
                                format!(
                                    "unknown treatment {o:?} (expected AsIs, AsFalse or AsTrue)"
                                ),
                            ))
                        }
                    };
                    put(
                        &mut float,
                        fi,
                        FloatFeature {
                            flat: flat as u32,
                            nan_true,
                        },
                    )
                    .ok_or_else(twice)?;
                    if let Some(b) = f.get("borders").and_then(Value::as_array) {
                        for (j, x) in b.iter().enumerate() {
                            number(x, &field(&format!("borders[{j}]")), file)?;
                        }
                    }
                }
                "categorical_features" => {
                    put(&mut cat, fi, CatFeature { flat: flat as u32 }).ok_or_else(twice)?
                }
                _ => {}
            }
        }
    }
    let names = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| match n {
            Some(s) if !s.is_empty() => s,
            _ => format!("f{i}"),
        })
        .collect::<Vec<_>>();
    Ok(Features {
        num_features: names.len(),
        names,
        float,
        cat,
        hashes: std::cell::OnceCell::new(),
    })
}

/// Puts `item` at `v[i]`, growing `v`; `None` when the slot is already taken.
fn put<T: Clone>(v: &mut Vec<Option<T>>, i: usize, item: T) -> Option<()> {
    if v.len() <= i {
        v.resize(i + 1, None);
    }
    if v[i].is_some() {
        return None;
    }
    v[i] = Some(item);
    Some(())
}
