//! Typed access to a node's attributes and tensors; every error names the attribute
//! (`graph.node[3](TreeEnsembleRegressor).nodes_modes`).

use super::proto::{AttributeProto, NodeProto, TensorProto};
use crate::{Error, Result};

/// One operator node with the file name and its position, for errors.
pub struct Attrs<'a> {
    pub(super) node: &'a NodeProto,
    pub(super) file: &'a str,
    pub(super) at: String,
}

impl<'a> Attrs<'a> {
    /// The error for attribute `name`.
    pub fn err(&self, name: &str, msg: impl Into<String>) -> Error {
        Error::model(self.file, format!("{}.{name}", self.at), msg)
    }

    fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node
            .attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
    }

    /// True when the node has attribute `name`.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// An `ints` attribute (empty when absent).
    pub fn ints(&self, name: &str) -> &'a [i64] {
        self.get(name).map_or(&[], |a| a.ints.as_slice())
    }

    /// An `int` attribute, or `default`.
    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.get(name).and_then(|a| a.i).unwrap_or(default)
    }

    /// A `string` attribute, or `default`.
    pub fn string(&self, name: &str, default: &str) -> String {
        self.get(name)
            .and_then(|a| a.s.as_ref())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_else(|| default.to_string())
    }

    /// A `strings` attribute as text.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.get(name).map_or_else(Vec::new, |a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
    }

    /// Numbers from `name` (a `floats` attribute) or `name_as_tensor` (a tensor
    /// attribute, opset 3: double or float); empty when neither is present.
    pub fn numbers(&self, name: &str) -> Result<Vec<f64>> {
        let tensor = format!("{name}_as_tensor");
        if let Some(t) = self.get(&tensor).and_then(|a| a.t.as_ref()) {
            return tensor_f64(t).map_err(|m| self.err(&tensor, m));
        }
        if let Some(t) = self.get(name).and_then(|a| a.t.as_ref()) {
            return tensor_f64(t).map_err(|m| self.err(name, m));
        }
        Ok(self
            .get(name)
            .map_or_else(Vec::new, |a| a.floats.iter().map(|&f| f as f64).collect()))
    }

    /// A tensor attribute of small integers (`nodes_modes` of `TreeEnsemble`: uint8).
    pub fn small_ints(&self, name: &str) -> Result<Vec<i64>> {
        let Some(t) = self.get(name).and_then(|a| a.t.as_ref()) else {
            return Ok(Vec::new());
        };
        check_inline(t).map_err(|m| self.err(name, m))?;
        if let Some(raw) = &t.raw_data {
            return Ok(match t.data_type.unwrap_or(0) {
                2 | 3 => raw.iter().map(|&b| b as i64).collect(),
                _ => return Err(self.err(name, "expected a uint8 tensor")),
            });
        }
        Ok(t.int32_data.iter().map(|&v| v as i64).collect())
    }
}

fn check_inline(t: &TensorProto) -> std::result::Result<(), String> {
    if t.data_location == Some(1) {
        return Err(
            "tensor data stored outside the model file (external data) is not read; \
                    save the model with onnx.save(model, path, save_as_external_data=False)"
                .into(),
        );
    }
    Ok(())
}

/// A float or double tensor's values.
pub fn tensor_f64(t: &TensorProto) -> std::result::Result<Vec<f64>, String> {
    check_inline(t)?;
    let ty = t.data_type.unwrap_or(0);
    if let Some(raw) = &t.raw_data {
        return match ty {
            1 if raw.len() % 4 == 0 => Ok(raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect()),
            11 if raw.len() % 8 == 0 => Ok(raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect()),
            1 | 11 => Err(format!(
                "raw_data of {} bytes is not whole values",
                raw.len()
            )),
            _ => Err(format!("data_type {ty}: expected float (1) or double (11)")),
        };
    }
    match ty {
        1 => Ok(t.float_data.iter().map(|&f| f as f64).collect()),
        11 => Ok(t.double_data.clone()),
        _ => Err(format!("data_type {ty}: expected float (1) or double (11)")),
    }
}
