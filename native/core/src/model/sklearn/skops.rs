//! A safe reader of skops files (`skops.io.dump`, what MLflow 3 writes as `model.skops`).
//!
//! A skops file is a zip archive holding `schema.json` (a tree of nodes, each naming a
//! Python type and the skops loader that rebuilds it) and one `.npy` file per NumPy
//! array. This reader never unpickles and never executes anything: it turns the
//! schema into a plain [`Sk`] value tree, reading the arrays it references, and
//! refuses every type outside [`ALLOWED_TYPES`] (and every skops loader outside the
//! few that describe data) with a message naming the type. The estimator and
//! preprocessing converters then read attributes from that tree.

use super::npy::{self, NdArray};
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

/// Fully qualified Python types whose instances may appear in a skops file read by arrowshap.
pub const ALLOWED_TYPES: &[&str] = &[
    // estimators
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._iforest.IsolationForest",
    "sklearn.ensemble._gb.GradientBoostingRegressor",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.dummy.DummyRegressor",
    "sklearn.dummy.DummyClassifier",
    "sklearn.preprocessing._label.LabelEncoder",
    // losses and links (state only)
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.AbsoluteError",
    "sklearn._loss.loss.PinballLoss",
    "sklearn._loss.loss.HuberLoss",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.loss.HalfGammaLoss",
    "sklearn._loss.loss.HalfTweedieLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.ExponentialLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss._loss.CyAbsoluteError",
    "sklearn._loss._loss.CyPinballLoss",
    "sklearn._loss._loss.CyHuberLoss",
    "sklearn._loss._loss.CyHalfPoissonLoss",
    "sklearn._loss._loss.CyHalfGammaLoss",
    "sklearn._loss._loss.CyHalfTweedieLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyExponentialLoss",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.HalfLogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.Interval",
    // preprocessing
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.impute._base.SimpleImputer",
    // only HistGradientBoosting's own `partial(check_array)`; refused in user pipelines
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.utils._bunch.Bunch",
    // plain values
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.random._generator.Generator",
    "numpy.random.mtrand.RandomState",
];

/// Python functions a skops file may reference (never called).
const ALLOWED_FUNCTIONS: &[&str] = &["sklearn.utils.validation.check_array"];

/// Builtin and NumPy scalar types (as `TypeNode`s: a dtype argument, a dict key type).
fn allowed_type_ref(q: &str) -> bool {
    matches!(
        q,
        "builtins.str"
            | "builtins.int"
            | "builtins.float"
            | "builtins.bool"
            | "builtins.object"
            | "builtins.NoneType"
    ) || (q.starts_with("numpy.")
        && matches!(
            &q[6..],
            "float64"
                | "float32"
                | "float16"
                | "int64"
                | "int32"
                | "int16"
                | "int8"
                | "uint64"
                | "uint32"
                | "uint16"
                | "uint8"
                | "bool"
                | "bool_"
                | "object_"
                | "str_"
                | "intp"
        ))
}

/// One value of the schema tree, with the types already checked.
#[derive(Clone, Debug)]
pub enum Sk {
    /// Python `None`.
    None,
    /// A bool.
    Bool(bool),
    /// An int that fits i64.
    Int(i64),
    /// A float (also NaN, ±inf, and ints beyond i64).
    Float(f64),
    /// A str.
    Str(String),
    /// A list, tuple or set (order kept).
    List(Vec<Sk>),
    /// A dict with its keys as strings.
    Dict(Vec<(String, Sk)>),
    /// A NumPy array (or scalar) read from its `.npy` file.
    Array(Rc<NdArray>),
    /// An object array stored as JSON items (shape given).
    ObjArray(Vec<Sk>, Vec<usize>),
    /// An instance of an allowed class: `class` is `module.Name`, `attrs` its state.
    Object {
        /// `module.Name`.
        class: String,
        /// Its attributes (`__dict__` / `__getstate__`).
        attrs: Rc<Vec<(String, Sk)>>,
        /// For `__reduce__`-built objects (`Tree`): the constructor arguments.
        args: Option<Rc<Sk>>,
    },
    /// A reference to a type (`dtype=np.float64`).
    Type(String),
    /// A reference to an allowed function (never called).
    Function(String),
    /// `functools.partial(func, *args, **kwargs)`.
    Partial(Box<Sk>),
    /// A slice.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// State that is allowed but not needed (random generators, dtypes).
    Opaque(String),
}

impl Sk {
    /// Short description for messages.
    pub fn describe(&self) -> String {
        match self {
            Sk::None => "None".into(),
            Sk::Bool(b) => format!("{b}"),
            Sk::Int(i) => format!("{i}"),
            Sk::Float(f) => format!("{f}"),
            Sk::Str(s) => format!("{s:?}"),
            Sk::List(_) => "a list".into(),
            Sk::Dict(_) => "a dict".into(),
            Sk::Array(_) | Sk::ObjArray(..) => "an array".into(),
            Sk::Object { class, .. } => class.clone(),
            Sk::Type(t) => format!("type {t}"),
            Sk::Function(f) => format!("function {f}"),
            Sk::Partial(_) => "functools.partial".into(),
            Sk::Slice(..) => "a slice".into(),
            Sk::Opaque(t) => t.clone(),
        }
    }

    /// The short class name of an object (`RandomForestRegressor`), or "".
    pub fn class_name(&self) -> &str {
        match self {
            Sk::Object { class, .. } => class.rsplit('.').next().unwrap_or(""),
            _ => "",
        }
    }

    /// Attribute `name` of an object (or key of a dict).
    pub fn get(&self, name: &str) -> Option<&Sk> {
        let items = match self {
            Sk::Object { attrs, .. } => attrs.as_slice(),
            Sk::Dict(d) => d.as_slice(),
            _ => return None,
        };
        items.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// A read skops file: the root value and the file name for messages.
pub struct SkopsFile {
    /// The root object (the estimator or pipeline).
    pub root: Sk,
    /// skops protocol version from the schema.
    pub protocol: i64,
}

/// Largest uncompressed size accepted for one archive entry (1 GiB).
const MAX_ENTRY: u64 = 1 << 30;

/// Most bytes reserved for an entry before reading it (it grows as it is read, up to
/// [`MAX_ENTRY`]): the size in the zip directory is only what the file claims.
const INITIAL_ENTRY_CAPACITY: u64 = 1 << 20;
/// Deepest schema nesting accepted.
const MAX_DEPTH: usize = 200;

/// True when `bytes` start like a zip archive (`PK\x03\x04`).
pub fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads a skops archive from its bytes; `file` names it in errors.
pub fn read(bytes: &[u8], file: &str) -> Result<SkopsFile> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::model(file, "zip", format!("not a readable zip archive: {e}")))?;
    let schema_bytes = read_entry(&mut zip, "schema.json", file)?;
    let schema: serde_json::Value = serde_json::from_slice(&schema_bytes)
        .map_err(|e| Error::model(file, "schema.json", format!("not valid JSON: {e}")))?;
    let protocol = schema
        .get("protocol")
        .and_then(|p| p.as_i64())
        .ok_or_else(|| Error::model(file, "schema.json.protocol", "missing; not a skops file"))?;
    if !(1..=3).contains(&protocol) {
        return Err(Error::unsupported(
            file,
            format!("skops protocol {protocol} is not supported (arrowshap reads protocols 1-3, skops ≤ 0.16)"),
        ));
    }
    let mut r = Reader {
        zip,
        file,
        memo: HashMap::new(),
        arrays: HashMap::new(),
    };
    let root = r.node(&schema, "schema.json", 0)?;
    Ok(SkopsFile { root, protocol })
}

fn read_entry(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    file: &str,
) -> Result<Vec<u8>> {
    let mut f = zip.by_name(name).map_err(|e| {
        Error::model(
            file,
            name,
            format!("cannot read this entry of the zip archive: {e}"),
        )
    })?;
    if f.size() > MAX_ENTRY {
        return Err(Error::model(
            file,
            name,
            format!("entry of {} bytes is larger than the 1 GiB limit", f.size()),
        ));
    }
    // the size is the archive's claim: reserve at most INITIAL_ENTRY_CAPACITY up front
    // (found by tests/fuzz_models.rs: a 3 kB file claiming a 1 GiB entry reserved 1 GiB)
    let mut out = Vec::with_capacity(f.size().min(INITIAL_ENTRY_CAPACITY) as usize);
    f.by_ref()
        .take(MAX_ENTRY + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::model(file, name, format!("cannot decompress: {e}")))?;
    if out.len() as u64 != f.size() {
        return Err(Error::model(
            file,
            name,
            "entry size does not match the archive directory",
        ));
    }
    Ok(out)
}

struct Reader<'a> {
    zip: zip::ZipArchive<std::io::Cursor<&'a [u8]>>,
    file: &'a str,
    memo: HashMap<i64, Sk>,
    arrays: HashMap<String, Rc<NdArray>>,
}

fn qualified(v: &serde_json::Value) -> String {
    let m = v.get("__module__").and_then(|x| x.as_str()).unwrap_or("?");
    let c = v.get("__class__").and_then(|x| x.as_str()).unwrap_or("?");
    format!("{m}.{c}")
}

impl Reader<'_> {
    fn bad(&self, at: &str, msg: impl Into<String>) -> Error {
        Error::model(self.file, at, msg)
    }

    fn refuse(&self, at: &str, what: &str) -> Error {
        Error::unsupported(
            self.file,
            format!(
                "{at}: type `{what}` is not among the types arrowshap reads from skops files \
                 (scikit-learn trees, forests, gradient boosting, HistGradientBoosting, Pipeline, \
                 ColumnTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler, MinMaxScaler, SimpleImputer); \
                 nothing in the file was executed"
            ),
        )
    }

    fn node(&mut self, v: &serde_json::Value, at: &str, depth: usize) -> Result<Sk> {
        if depth > MAX_DEPTH {
            return Err(self.bad(at, "the schema is nested too deeply"));
        }
        let obj = v
            .as_object()
            .ok_or_else(|| self.bad(at, "expected a schema node (a JSON object)"))?;
        let loader = obj
            .get("__loader__")
            .and_then(|l| l.as_str())
            .ok_or_else(|| self.bad(at, "schema node without `__loader__`"))?;
        let q = qualified(v);
        let out = match loader {
            "JsonNode" => self.json_node(v, at)?,
            "ListNode" | "TupleNode" | "SetNode" => Sk::List(self.items(v, at, depth)?),
            "DictNode" | "DefaultDictNode" => self.dict(v.get("content"), at, depth)?,
            "NdArrayNode" => self.ndarray(v, &q, at, depth)?,
            "TypeNode" => {
                if !allowed_type_ref(&q) {
                    return Err(self.refuse(at, &q));
                }
                Sk::Type(q)
            }
            "FunctionNode" => {
                let name = q.clone();
                if !ALLOWED_FUNCTIONS.contains(&name.as_str()) {
                    return Err(Error::unsupported(
                        self.file,
                        format!("{at}: function `{name}` is not allowed in skops files read by arrowshap (it would run Python code)"),
                    ));
                }
                Sk::Function(name)
            }
            "PartialNode" => {
                let c = v
                    .get("content")
                    .ok_or_else(|| self.bad(at, "partial without content"))?;
                let func = c
                    .get("func")
                    .ok_or_else(|| self.bad(at, "partial without func"))?;
                Sk::Partial(Box::new(self.node(
                    func,
                    &format!("{at}.func"),
                    depth + 1,
                )?))
            }
            "SliceNode" => {
                let c = v
                    .get("content")
                    .ok_or_else(|| self.bad(at, "slice without content"))?;
                let g = |k: &str| c.get(k).and_then(|x| x.as_i64());
                Sk::Slice(g("start"), g("stop"), g("step"))
            }
            "ObjectNode" | "ReduceNode" | "TreeNode" | "LossNode" | "ConstructorFromReduceNode" => {
                if !ALLOWED_TYPES.contains(&q.as_str()) {
                    return Err(self.refuse(at, &q));
                }
                if q.ends_with(".FunctionTransformer") {
                    self.check_function_transformer(v, at)?;
                }
                let attrs = match v.get("content") {
                    None => Vec::new(),
                    Some(c) if loader == "ConstructorFromReduceNode" => {
                        vec![(
                            "args".to_string(),
                            self.node(c, &format!("{at}.args"), depth + 1)?,
                        )]
                    }
                    Some(c) => match self.node(c, &format!("{at}.state"), depth + 1)? {
                        Sk::Dict(d) => d,
                        Sk::List(_) | Sk::None => Vec::new(),
                        other => {
                            return Err(self.bad(
                                at,
                                format!("state of {q} is {}, expected a dict", other.describe()),
                            ))
                        }
                    },
                };
                let args = match v.get("__reduce__").and_then(|r| r.get("args")) {
                    Some(a) => Some(Rc::new(self.node(a, &format!("{at}.args"), depth + 1)?)),
                    None => None,
                };
                Sk::Object {
                    class: q,
                    attrs: Rc::new(attrs),
                    args,
                }
            }
            "RandomStateNode" | "RandomGeneratorNode" | "DTypeNode" => Sk::Opaque(q),
            "CachedNode" => {
                let id = v.get("__id__").and_then(|x| x.as_i64());
                match id.and_then(|id| self.memo.get(&id)) {
                    Some(s) => s.clone(),
                    None => {
                        return Err(self.bad(at, "a cached node refers to an unknown object id"))
                    }
                }
            }
            other => {
                return Err(Error::unsupported(
                    self.file,
                    format!(
                        "{at}: skops node kind `{other}` (type `{q}`) is not read by arrowshap"
                    ),
                ))
            }
        };
        if let Some(id) = v.get("__id__").and_then(|x| x.as_i64()) {
            if loader != "CachedNode" && matches!(out, Sk::Object { .. } | Sk::Array(_)) {
                self.memo.insert(id, out.clone());
            }
        }
        Ok(out)
    }

    /// A FunctionTransformer is read only as an identity (`func=None`, what "passthrough"
    /// becomes) or as HistGradientBoosting's own `partial(check_array)`.
    fn check_function_transformer(&self, v: &serde_json::Value, at: &str) -> Result<()> {
        let func = v.pointer("/content/content/func");
        let name = |f: &serde_json::Value| qualified(f);
        let ok = match func {
            None => true,
            Some(f) if f.get("__loader__").and_then(|l| l.as_str()) == Some("JsonNode") => {
                f.get("content").and_then(|c| c.as_str()) == Some("null")
            }
            Some(f) if f.get("__loader__").and_then(|l| l.as_str()) == Some("PartialNode") => f
                .pointer("/content/func")
                .map(|g| ALLOWED_FUNCTIONS.contains(&name(g).as_str()))
                .unwrap_or(false),
            Some(_) => false,
        };
        if ok {
            return Ok(());
        }
        let what = func
            .map(|f| match f.get("__loader__").and_then(|l| l.as_str()) {
                Some("PartialNode") => f
                    .pointer("/content/func")
                    .map(|g| format!("functools.partial({})", name(g)))
                    .unwrap_or_else(|| "functools.partial".into()),
                _ => name(f),
            })
            .unwrap_or_default();
        Err(Error::unsupported(
            self.file,
            format!(
                "{at}: FunctionTransformer(func={what}) runs Python code, which arrowshap never does;                  express the step with the supported transformers or apply it to the inputs before the job"
            ),
        ))
    }

    fn json_node(&self, v: &serde_json::Value, at: &str) -> Result<Sk> {
        let c = v
            .get("content")
            .and_then(|x| x.as_str())
            .ok_or_else(|| self.bad(at, "JsonNode without string content"))?;
        Ok(match c.trim() {
            "NaN" => Sk::Float(f64::NAN),
            "Infinity" => Sk::Float(f64::INFINITY),
            "-Infinity" => Sk::Float(f64::NEG_INFINITY),
            // numbers through Rust's correctly rounded parser (serde_json's may be an ulp off)
            t if t.parse::<i64>().is_ok() => Sk::Int(t.parse().unwrap()),
            t if t.starts_with(|c: char| c == '-' || c.is_ascii_digit())
                && t.parse::<f64>().is_ok() =>
            {
                Sk::Float(t.parse().unwrap())
            }
            t => {
                let j: serde_json::Value = serde_json::from_str(t)
                    .map_err(|e| self.bad(at, format!("JsonNode content is not JSON: {e}")))?;
                json_value(&j).ok_or_else(|| {
                    self.bad(
                        at,
                        "JsonNode content must be a number, string, bool or null",
                    )
                })?
            }
        })
    }

    fn items(&mut self, v: &serde_json::Value, at: &str, depth: usize) -> Result<Vec<Sk>> {
        let c = v
            .get("content")
            .and_then(|x| x.as_array())
            .ok_or_else(|| self.bad(at, "sequence without a content list"))?;
        c.iter()
            .enumerate()
            .map(|(i, x)| self.node(x, &format!("{at}[{i}]"), depth + 1))
            .collect()
    }

    fn dict(&mut self, c: Option<&serde_json::Value>, at: &str, depth: usize) -> Result<Sk> {
        let c = c
            .and_then(|x| x.as_object())
            .ok_or_else(|| self.bad(at, "dict without a content mapping"))?;
        let mut out = Vec::with_capacity(c.len());
        for (k, x) in c {
            out.push((k.clone(), self.node(x, &format!("{at}.{k}"), depth + 1)?));
        }
        Ok(Sk::Dict(out))
    }

    fn ndarray(&mut self, v: &serde_json::Value, q: &str, at: &str, depth: usize) -> Result<Sk> {
        if !(q == "numpy.ndarray" || (q.starts_with("numpy.") && allowed_type_ref(q))) {
            return Err(self.refuse(at, q));
        }
        match v.get("type").and_then(|t| t.as_str()) {
            Some("numpy") => {
                let name = v
                    .get("file")
                    .and_then(|f| f.as_str())
                    .ok_or_else(|| self.bad(at, "array without a file name"))?
                    .to_string();
                if let Some(a) = self.arrays.get(&name) {
                    return Ok(Sk::Array(a.clone()));
                }
                let bytes = read_entry(&mut self.zip, &name, self.file)?;
                let a = Rc::new(npy::parse(&bytes, self.file, &name)?);
                self.arrays.insert(name, a.clone());
                Ok(Sk::Array(a))
            }
            Some("json") => {
                let items = self.items(v, at, depth)?;
                let shape = match v.get("shape") {
                    Some(s) => match self.node(s, &format!("{at}.shape"), depth + 1)? {
                        Sk::List(d) => d
                            .iter()
                            .map(|x| match x {
                                Sk::Int(n) if *n >= 0 => Ok(*n as usize),
                                _ => Err(self.bad(at, "array shape holds a non-integer")),
                            })
                            .collect::<Result<Vec<_>>>()?,
                        _ => return Err(self.bad(at, "array shape is not a tuple")),
                    },
                    None => vec![items.len()],
                };
                // a 2-D object array is stored as a list of rows
                if shape.first().copied().unwrap_or(1) != items.len()
                    && !(shape.is_empty() && items.len() == 1)
                {
                    return Err(self.bad(at, "object array shape does not match its items"));
                }
                Ok(Sk::ObjArray(items, shape))
            }
            other => Err(self.bad(at, format!("array storage {other:?} is not supported"))),
        }
    }
}

fn json_value(j: &serde_json::Value) -> Option<Sk> {
    Some(match j {
        serde_json::Value::Null => Sk::None,
        serde_json::Value::Bool(b) => Sk::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Sk::Int(i),
            None => Sk::Float(n.as_f64()?),
        },
        serde_json::Value::String(s) => Sk::Str(s.clone()),
        _ => return None,
    })
}
