//! Typed access to the attributes of a read skops value, with errors that name the
//! file and the attribute path (`steps[1].estimators_[3].tree_.nodes`).

use super::skops::Sk;
use crate::{Error, Result};

/// A value of the schema tree together with where it sits, for messages.
#[derive(Clone, Copy)]
pub struct At<'a> {
    /// The model file.
    pub file: &'a str,
    /// The value.
    pub v: &'a Sk,
}

/// Path-carrying view (the path is built only when an error is raised).
pub struct Node<'a> {
    /// The value and file.
    pub at: At<'a>,
    /// Attribute path from the root.
    pub path: String,
}

impl<'a> Node<'a> {
    /// The root of a file.
    pub fn root(file: &'a str, v: &'a Sk, path: &str) -> Self {
        Node {
            at: At { file, v },
            path: path.to_string(),
        }
    }

    /// The value.
    pub fn v(&self) -> &'a Sk {
        self.at.v
    }

    /// An error naming this node's path.
    pub fn err(&self, msg: impl Into<String>) -> Error {
        Error::model(self.at.file, &self.path, msg)
    }

    /// An "unsupported" error naming this node's path.
    pub fn unsupported(&self, msg: impl AsRef<str>) -> Error {
        Error::unsupported(self.at.file, format!("{}: {}", self.path, msg.as_ref()))
    }

    fn child(&self, v: &'a Sk, name: &str) -> Node<'a> {
        let path = if self.path.is_empty() {
            name.to_string()
        } else if name.starts_with('[') {
            format!("{}{name}", self.path)
        } else {
            format!("{}.{name}", self.path)
        };
        Node {
            at: At {
                file: self.at.file,
                v,
            },
            path,
        }
    }

    /// Attribute `name`, or an error when missing.
    pub fn attr(&self, name: &str) -> Result<Node<'a>> {
        match self.at.v.get(name) {
            Some(v) => Ok(self.child(v, name)),
            None => Err(self.err(format!(
                "attribute `{name}` is missing (is the {} fitted?)",
                self.at.v.describe()
            ))),
        }
    }

    /// Attribute `name` when present and not None.
    pub fn opt(&self, name: &str) -> Option<Node<'a>> {
        match self.at.v.get(name) {
            None | Some(Sk::None) => None,
            Some(v) => Some(self.child(v, name)),
        }
    }

    /// The items of a list, tuple or object array.
    pub fn items(&self) -> Result<Vec<Node<'a>>> {
        let items: &'a [Sk] = match self.at.v {
            Sk::List(v) => v,
            Sk::ObjArray(v, _) => v,
            other => return Err(self.err(format!("expected a list, found {}", other.describe()))),
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, v)| self.child(v, &format!("[{i}]")))
            .collect())
    }

    /// The leaves of nested lists (a 2-D object array is stored as a list of rows), in C order.
    pub fn flat_items(&self) -> Result<Vec<Node<'a>>> {
        let mut out = Vec::new();
        for it in self.items()? {
            if matches!(it.v(), Sk::List(_)) {
                out.extend(it.flat_items()?);
            } else {
                out.push(it);
            }
        }
        Ok(out)
    }

    /// A float (ints and bools widen; NumPy scalars read).
    pub fn f64(&self) -> Result<f64> {
        match self.at.v {
            Sk::Float(f) => Ok(*f),
            Sk::Int(i) => Ok(*i as f64),
            Sk::Bool(b) => Ok(*b as u8 as f64),
            Sk::Array(a) if a.len() == 1 && a.prim.is_some() => {
                Ok(a.to_f64(&self.path).map_err(|m| self.err(m))?[0])
            }
            other => Err(self.err(format!("expected a number, found {}", other.describe()))),
        }
    }

    /// A non-negative integer.
    pub fn usize(&self) -> Result<usize> {
        let f = self.f64()?;
        if f >= 0.0 && f.fract() == 0.0 && f < 1e15 {
            Ok(f as usize)
        } else {
            Err(self.err(format!("expected a non-negative integer, found {f}")))
        }
    }

    /// A bool.
    pub fn bool(&self) -> Result<bool> {
        match self.at.v {
            Sk::Bool(b) => Ok(*b),
            Sk::Int(i) => Ok(*i != 0),
            Sk::Array(a) if a.len() == 1 => Ok(self.f64()? != 0.0),
            other => Err(self.err(format!("expected a bool, found {}", other.describe()))),
        }
    }

    /// A string.
    pub fn str(&self) -> Result<&'a str> {
        match self.at.v {
            Sk::Str(s) => Ok(s),
            other => Err(self.err(format!("expected a string, found {}", other.describe()))),
        }
    }

    /// A numeric array (or list of numbers), flattened, as f64.
    pub fn floats(&self) -> Result<Vec<f64>> {
        match self.at.v {
            Sk::Array(a) => a.to_f64(&self.path).map_err(|m| self.err(m)),
            Sk::List(_) | Sk::ObjArray(..) => self.items()?.iter().map(|n| n.f64()).collect(),
            other => Err(self.err(format!(
                "expected a numeric array, found {}",
                other.describe()
            ))),
        }
    }

    /// Shape of an array attribute.
    pub fn shape(&self) -> Result<Vec<usize>> {
        match self.at.v {
            Sk::Array(a) => Ok(a.shape.clone()),
            Sk::ObjArray(_, s) => Ok(s.clone()),
            Sk::List(v) => Ok(vec![v.len()]),
            other => Err(self.err(format!("expected an array, found {}", other.describe()))),
        }
    }

    /// The short class name of an object value (`RandomForestRegressor`), or "".
    pub fn class(&self) -> &'a str {
        self.at.v.class_name()
    }

    /// The fully qualified class of an object value, or a description of the value.
    pub fn qualified(&self) -> String {
        match self.at.v {
            Sk::Object { class, .. } => class.clone(),
            other => other.describe(),
        }
    }

    /// Constructor arguments of a `__reduce__`-built object (`Tree`).
    pub fn reduce_args(&self) -> Option<Node<'a>> {
        match self.at.v {
            Sk::Object { args: Some(a), .. } => Some(self.child(a, "__reduce__.args")),
            _ => None,
        }
    }
}
