//! NumPy `.npy` arrays as skops stores them (`np.save(..., allow_pickle=False)`).
//!
//! Only what skops writes for the estimators arrowshap reads is accepted: format
//! versions 1–3, C order, little-endian (or byte-order-free) booleans, integers and
//! floats, and structured dtypes built from those (the node records of
//! `sklearn.tree._tree.Tree` and of `HistGradientBoosting`'s predictors). Object
//! arrays never reach this reader (skops stores them as JSON), and a header that asks
//! for anything else is refused with the array's name.

use crate::{Error, Result};

/// One primitive element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    /// `|b1`
    Bool,
    /// `|i1`, `<i2`, `<i4`, `<i8`
    Int(u8),
    /// `|u1`, `<u2`, `<u4`, `<u8`
    UInt(u8),
    /// `<f4`, `<f8`
    Float(u8),
    /// `<U{n}`: fixed-width UTF-32 strings of `n` characters (NumPy `str_` arrays).
    Unicode(u32),
}

impl Prim {
    fn size(self) -> usize {
        match self {
            Prim::Bool => 1,
            Prim::Int(n) | Prim::UInt(n) | Prim::Float(n) => n as usize,
            Prim::Unicode(n) => 4 * n as usize,
        }
    }

    /// Parses a NumPy type string (`<f8`, `|u1`, `<i8`, …); big-endian is refused.
    fn parse(s: &str) -> Option<Prim> {
        let (order, rest) = match s.as_bytes().first() {
            Some(b'<' | b'|' | b'=') => s.split_at(1),
            Some(b'>') | None => return None,
            Some(_) => ("", s),
        };
        let (kind, size) = rest.split_at(1.min(rest.len()));
        if kind == "U" {
            let n: u32 = size.parse().ok()?;
            return (n <= 1 << 20 && order != "|").then_some(Prim::Unicode(n));
        }
        let size: u8 = size.parse().ok()?;
        let p = match (kind, size) {
            ("b", 1) => Prim::Bool,
            ("i", 1 | 2 | 4 | 8) => Prim::Int(size),
            ("u", 1 | 2 | 4 | 8) => Prim::UInt(size),
            ("f", 4 | 8) => Prim::Float(size),
            _ => return None,
        };
        // multi-byte types must say little-endian
        if p.size() > 1 && order != "<" && order != "=" {
            return None;
        }
        Some(p)
    }

    /// Reads one value at the start of `b` (which holds at least `size()` bytes) as f64.
    fn read_f64(self, b: &[u8]) -> f64 {
        match self {
            Prim::Unicode(_) => f64::NAN,
            Prim::Bool => (b[0] != 0) as u8 as f64,
            Prim::Int(1) => b[0] as i8 as f64,
            Prim::Int(2) => i16::from_le_bytes([b[0], b[1]]) as f64,
            Prim::Int(4) => i32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            Prim::Int(_) => i64::from_le_bytes(b[..8].try_into().unwrap()) as f64,
            Prim::UInt(1) => b[0] as f64,
            Prim::UInt(2) => u16::from_le_bytes([b[0], b[1]]) as f64,
            Prim::UInt(4) => u32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            Prim::UInt(_) => u64::from_le_bytes(b[..8].try_into().unwrap()) as f64,
            Prim::Float(4) => f32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            Prim::Float(_) => f64::from_le_bytes(b[..8].try_into().unwrap()),
        }
    }

    /// Reads one value as i64 (integers and booleans exactly; floats truncated).
    fn read_i64(self, b: &[u8]) -> i64 {
        match self {
            Prim::Int(8) => i64::from_le_bytes(b[..8].try_into().unwrap()),
            Prim::UInt(8) => u64::from_le_bytes(b[..8].try_into().unwrap()) as i64,
            _ => self.read_f64(b) as i64,
        }
    }
}

/// A field of a structured dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Element type.
    pub prim: Prim,
    /// Byte offset inside a record.
    pub offset: usize,
}

/// A parsed `.npy` array: header facts and the raw little-endian data.
#[derive(Clone, Debug)]
pub struct NdArray {
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The element type for plain arrays; `None` for structured arrays.
    pub prim: Option<Prim>,
    /// The fields of a structured array (empty for plain arrays).
    pub fields: Vec<Field>,
    /// Bytes per element (record size for structured arrays).
    pub itemsize: usize,
    /// `len() * itemsize` bytes of data.
    pub data: Vec<u8>,
}

impl NdArray {
    /// Number of elements (product of the shape; 1 for a scalar).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every element of a `<U` array as a string (trailing NULs removed).
    pub fn to_strings(&self) -> std::result::Result<Vec<String>, String> {
        self.data
            .chunks_exact(self.itemsize.max(1))
            .map(|c| {
                c.chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .take_while(|&u| u != 0)
                    .map(|u| char::from_u32(u).ok_or_else(|| format!("invalid character U+{u:X}")))
                    .collect()
            })
            .collect()
    }

    /// Every element as f64, in C order. Errors for structured and string arrays.
    pub fn to_f64(&self, what: &str) -> std::result::Result<Vec<f64>, String> {
        let p = self
            .prim
            .filter(|p| !matches!(p, Prim::Unicode(_)))
            .ok_or_else(|| format!("{what}: expected a numeric array"))?;
        Ok(self
            .data
            .chunks_exact(self.itemsize)
            .map(|c| p.read_f64(c))
            .collect())
    }

    /// The field `name` of a structured array, as f64 per record.
    pub fn field_f64(&self, name: &str, what: &str) -> std::result::Result<Vec<f64>, String> {
        let f = self.field(name, what)?;
        Ok(self
            .data
            .chunks_exact(self.itemsize)
            .map(|c| f.prim.read_f64(&c[f.offset..]))
            .collect())
    }

    /// The field `name` of a structured array, as i64 per record.
    pub fn field_i64(&self, name: &str, what: &str) -> std::result::Result<Vec<i64>, String> {
        let f = self.field(name, what)?;
        Ok(self
            .data
            .chunks_exact(self.itemsize)
            .map(|c| f.prim.read_i64(&c[f.offset..]))
            .collect())
    }

    fn field(&self, name: &str, what: &str) -> std::result::Result<&Field, String> {
        self.fields.iter().find(|f| f.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
            format!("{what}: the records have no field `{name}` (fields: {names:?})")
        })
    }
}

/// Parses a `.npy` file; `file` and `entry` name it in errors.
pub fn parse(bytes: &[u8], file: &str, entry: &str) -> Result<NdArray> {
    let bad = |m: String| Error::model(file, entry, m);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a NumPy .npy array (bad magic)".into()));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated .npy header".into()));
            }
            (
                u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
                12,
            )
        }
        v => return Err(bad(format!(".npy format version {v} is not supported"))),
    };
    let end = start
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("truncated .npy header".into()))?;
    let header = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| bad(".npy header is not text".into()))?;
    let dict = header::parse_dict(header).map_err(|m| bad(format!(".npy header: {m}")))?;
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (k, v) in dict {
        match k.as_str() {
            "descr" => descr = Some(v),
            "fortran_order" => fortran = Some(v),
            "shape" => shape = Some(v),
            _ => return Err(bad(format!(".npy header has an unknown key `{k}`"))),
        }
    }
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        return Err(bad(
            ".npy header lacks one of descr, fortran_order, shape".into()
        ));
    };
    let header::Lit::Tuple(dims) = shape else {
        return Err(bad(".npy shape is not a tuple".into()));
    };
    let mut shp = Vec::with_capacity(dims.len());
    for d in dims {
        match d {
            header::Lit::Int(n) if n >= 0 => shp.push(n as usize),
            _ => return Err(bad(".npy shape holds a non-integer".into())),
        }
    }
    let fortran = match fortran {
        header::Lit::Bool(b) => b,
        _ => return Err(bad(".npy fortran_order is not a boolean".into())),
    };
    let count = shp.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if fortran && shp.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(bad(
            "Fortran-ordered arrays are not supported (skops writes C order)".into(),
        ));
    }
    let (prim, fields, itemsize) = match descr {
        header::Lit::Str(s) => {
            let p = Prim::parse(&s).ok_or_else(|| bad(format!("dtype {s:?} is not supported")))?;
            (Some(p), Vec::new(), p.size())
        }
        header::Lit::List(items) => {
            let mut fields = Vec::new();
            let mut off = 0usize;
            for it in items {
                let header::Lit::Tuple(parts) = it else {
                    return Err(bad("structured dtype entry is not a tuple".into()));
                };
                match parts.as_slice() {
                    [header::Lit::Str(name), header::Lit::Str(t)] => {
                        if name.is_empty() {
                            // padding field ('', '|V4')
                            let n: usize = t
                                .strip_prefix("|V")
                                .and_then(|n| n.parse().ok())
                                .ok_or_else(|| bad(format!("padding dtype {t:?}")))?;
                            off += n;
                            continue;
                        }
                        let p = Prim::parse(t)
                            .filter(|p| !matches!(p, Prim::Unicode(_)))
                            .ok_or_else(|| {
                                bad(format!("field `{name}` has unsupported dtype {t:?}"))
                            })?;
                        fields.push(Field {
                            name: name.clone(),
                            prim: p,
                            offset: off,
                        });
                        off += p.size();
                    }
                    _ => {
                        return Err(bad(
                            "structured dtype entries must be (name, type) pairs".into()
                        ))
                    }
                }
            }
            (None, fields, off)
        }
        _ => return Err(bad(".npy descr is neither a type string nor a list".into())),
    };
    let need = count
        .and_then(|c| c.checked_mul(itemsize))
        .ok_or_else(|| bad(format!("shape {shp:?} is too large")))?;
    let data = &bytes[end..];
    if data.len() != need {
        return Err(bad(format!(
            "array data has {} bytes, shape {shp:?} needs {need} (truncated or tampered)",
            data.len()
        )));
    }
    Ok(NdArray {
        shape: shp,
        prim,
        fields,
        itemsize,
        data: data.to_vec(),
    })
}

/// The Python-literal subset of `.npy` headers: dicts, tuples, lists, strings, ints, booleans.
mod header {
    /// A literal.
    #[derive(Clone, Debug, PartialEq)]
    pub enum Lit {
        Str(String),
        Int(i64),
        Bool(bool),
        Tuple(Vec<Lit>),
        List(Vec<Lit>),
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
        depth: usize,
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }
        fn string(&mut self) -> Result<String, String> {
            self.ws();
            let q = *self.s.get(self.i).ok_or("unexpected end")?;
            if q != b'\'' && q != b'"' {
                return Err(format!("expected a string at byte {}", self.i));
            }
            self.i += 1;
            let st = self.i;
            while self.i < self.s.len() && self.s[self.i] != q {
                if self.s[self.i] == b'\\' {
                    return Err("escapes in strings are not supported".into());
                }
                self.i += 1;
            }
            if self.i >= self.s.len() {
                return Err("unterminated string".into());
            }
            let out = String::from_utf8_lossy(&self.s[st..self.i]).into_owned();
            self.i += 1;
            Ok(out)
        }
        fn seq(&mut self, close: u8) -> Result<Vec<Lit>, String> {
            let mut v = Vec::new();
            loop {
                if self.eat(close) {
                    return Ok(v);
                }
                v.push(self.lit()?);
                if !self.eat(b',') {
                    if self.eat(close) {
                        return Ok(v);
                    }
                    return Err(format!("expected , or closing bracket at byte {}", self.i));
                }
            }
        }
        fn lit(&mut self) -> Result<Lit, String> {
            self.depth += 1;
            if self.depth > 16 {
                return Err("nested too deeply".into());
            }
            self.ws();
            let r = match self.s.get(self.i) {
                Some(b'\'') | Some(b'"') => Ok(Lit::Str(self.string()?)),
                Some(b'(') => {
                    self.i += 1;
                    Ok(Lit::Tuple(self.seq(b')')?))
                }
                Some(b'[') => {
                    self.i += 1;
                    Ok(Lit::List(self.seq(b']')?))
                }
                Some(c) if c.is_ascii_digit() || *c == b'-' => {
                    let st = self.i;
                    self.i += 1;
                    while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                        self.i += 1;
                    }
                    // numpy writes 3L in Python 2 headers
                    let txt = std::str::from_utf8(&self.s[st..self.i]).unwrap();
                    if self.s.get(self.i) == Some(&b'L') {
                        self.i += 1;
                    }
                    txt.parse()
                        .map(Lit::Int)
                        .map_err(|_| format!("bad integer {txt}"))
                }
                _ if self.s[self.i..].starts_with(b"True") => {
                    self.i += 4;
                    Ok(Lit::Bool(true))
                }
                _ if self.s[self.i..].starts_with(b"False") => {
                    self.i += 5;
                    Ok(Lit::Bool(false))
                }
                _ => Err(format!("unexpected input at byte {}", self.i)),
            };
            self.depth -= 1;
            r
        }
    }

    /// Parses `{'key': literal, ...}`.
    pub fn parse_dict(h: &str) -> Result<Vec<(String, Lit)>, String> {
        let mut p = P {
            s: h.as_bytes(),
            i: 0,
            depth: 0,
        };
        if !p.eat(b'{') {
            return Err("expected a dict".into());
        }
        let mut out = Vec::new();
        loop {
            if p.eat(b'}') {
                break;
            }
            let k = p.string()?;
            if !p.eat(b':') {
                return Err("expected :".into());
            }
            out.push((k, p.lit()?));
            if !p.eat(b',') {
                if p.eat(b'}') {
                    break;
                }
                return Err("expected , or }".into());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn plain_and_structured_arrays() {
        let d: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let a = parse(
            &npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                &d,
            ),
            "m",
            "a.npy",
        )
        .unwrap();
        assert_eq!(a.to_f64("a").unwrap(), vec![1.5, -2.0]);

        let mut rec = Vec::new();
        rec.extend_from_slice(&7i64.to_le_bytes());
        rec.extend_from_slice(&0.25f64.to_le_bytes());
        rec.push(1u8);
        rec.extend_from_slice(&[0; 7]);
        let a = parse(
            &npy(
                "{'descr': [('left_child', '<i8'), ('threshold', '<f8'), ('m', 'u1'), ('', '|V7')], 'fortran_order': False, 'shape': (1,), }",
                &rec,
            ),
            "m",
            "n.npy",
        )
        .unwrap();
        assert_eq!(a.itemsize, 24);
        assert_eq!(a.field_i64("left_child", "n").unwrap(), vec![7]);
        assert_eq!(a.field_f64("threshold", "n").unwrap(), vec![0.25]);
        assert!(a.field_f64("nope", "n").is_err());
    }

    #[test]
    fn refuses_truncated_and_odd_arrays() {
        let d = 1.0f64.to_le_bytes();
        let e = parse(
            &npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                &d,
            ),
            "m.skops",
            "x.npy",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("m.skops") && e.contains("x.npy") && e.contains("truncated"),
            "{e}"
        );
        let e = parse(
            &npy(
                "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                &d,
            ),
            "m",
            "x.npy",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not supported"), "{e}");
        let e = parse(
            &npy(
                "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
                &d,
            ),
            "m",
            "x.npy",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not supported"), "{e}");
        assert!(parse(b"\x93NUMPY\x01\x00\xff\xff{", "m", "x").is_err());
        assert!(parse(b"PK", "m", "x").is_err());
        let big = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
            &d,
        );
        assert!(parse(&big, "m", "x").is_err());
    }
}
