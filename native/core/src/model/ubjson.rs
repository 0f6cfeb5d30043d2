//! A small, strict reader of Universal Binary JSON (UBJSON, draft 12) into a
//! [`serde_json::Value`], enough for XGBoost's `*.ubj` models.
//!
//! Supported: `Z` null, `N` no-op, `T`/`F`, integers `i` (int8), `U` (uint8),
//! `I` (int16), `l` (int32), `L` (int64), floats `d` (float32) and `D`
//! (float64), `C` (char), `S` (string), arrays and objects, including the
//! optimized forms with a count (`#`) and with a type and count (`$x#n`).
//! High-precision numbers (`H`) are rejected with a clear message. All
//! multi-byte numbers are big-endian, as the specification says.
//!
//! The reader never panics on bad input and never allocates more than the
//! input could describe: every count is checked against the bytes left before
//! anything is reserved, and nesting is limited to [`MAX_DEPTH`].
//!
//! Non-finite floats (which JSON numbers cannot hold) become the strings
//! `"NaN"`, `"inf"` and `"-inf"`; the model loaders parse those back.

use serde_json::{Map, Number, Value};

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 256;

/// Why a UBJSON document could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UbjError {
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    /// Path of the value being read, like `learner.gradient_booster.model.trees[3].split_conditions[17]`
    /// (empty for the top-level value).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for UbjError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for UbjError {}

/// Parses one UBJSON value that spans the whole input (trailing no-ops allowed).
pub fn parse(bytes: &[u8]) -> Result<Value, UbjError> {
    let mut r = Reader { b: bytes, pos: 0 };
    let v = r.value(0).map_err(|e| e.finish())?;
    while r.pos < r.b.len() && r.b[r.pos] == b'N' {
        r.pos += 1;
    }
    if r.pos != r.b.len() {
        return Err(UbjError {
            offset: r.pos,
            path: String::new(),
            message: format!(
                "{} unexpected bytes after the end of the document",
                r.b.len() - r.pos
            ),
        });
    }
    Ok(v)
}

/// One path segment, collected while an error travels up (no cost on success).
enum Seg {
    Key(String),
    Index(usize),
}

struct PErr {
    offset: usize,
    message: String,
    /// Innermost segment first.
    segs: Vec<Seg>,
}

impl PErr {
    fn at(self, seg: Seg) -> Self {
        let mut s = self;
        s.segs.push(seg);
        s
    }
    fn finish(self) -> UbjError {
        let mut path = String::new();
        for seg in self.segs.iter().rev() {
            match seg {
                Seg::Key(k) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                }
                Seg::Index(i) => {
                    path.push_str(&format!("[{i}]"));
                }
            }
        }
        UbjError {
            offset: self.offset,
            path,
            message: self.message,
        }
    }
}

type R<T> = Result<T, PErr>;

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

fn marker_name(m: u8) -> String {
    if m.is_ascii_graphic() {
        format!("`{}`", m as char)
    } else {
        format!("0x{m:02x}")
    }
}

impl<'a> Reader<'a> {
    fn err<T>(&self, message: impl Into<String>) -> R<T> {
        Err(PErr {
            offset: self.pos,
            message: message.into(),
            segs: Vec::new(),
        })
    }

    fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if self.left() < n {
            return self.err(format!(
                "truncated: {n} more bytes needed, {} left",
                self.left()
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> R<u8> {
        if self.pos >= self.b.len() {
            return self.err("truncated: unexpected end of data");
        }
        let c = self.b[self.pos];
        self.pos += 1;
        Ok(c)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn arr<const N: usize>(&mut self) -> R<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads an integer of the given marker type (for counts and string lengths).
    fn int_of(&mut self, m: u8) -> R<i64> {
        Ok(match m {
            b'i' => i8::from_be_bytes(self.arr()?) as i64,
            b'U' => u8::from_be_bytes(self.arr()?) as i64,
            b'I' => i16::from_be_bytes(self.arr()?) as i64,
            b'l' => i32::from_be_bytes(self.arr()?) as i64,
            b'L' => i64::from_be_bytes(self.arr()?),
            _ => {
                self.pos -= 1;
                return self.err(format!(
                    "expected an integer type marker (i, U, I, l, L), found {}",
                    marker_name(m)
                ));
            }
        })
    }

    /// Reads a length (marker + integer), checked to be non-negative and such that
    /// `min_bytes_each` × length bytes are left in the input.
    fn length(&mut self, what: &str, min_bytes_each: usize) -> R<usize> {
        let start = self.pos;
        let m = self.byte()?;
        let n = self.int_of(m)?;
        if n < 0 {
            self.pos = start;
            return self.err(format!("negative {what} {n}"));
        }
        let n = n as u64;
        let need = n.saturating_mul(min_bytes_each as u64);
        if need > self.left() as u64 || n > usize::MAX as u64 {
            self.pos = start;
            return self.err(format!(
                "{what} {n} is larger than the data left ({} bytes): the file is truncated or corrupt",
                self.left()
            ));
        }
        Ok(n as usize)
    }

    fn string_body(&mut self) -> R<String> {
        let n = self.length("string length", 1)?;
        let start = self.pos;
        let s = self.take(n)?;
        match std::str::from_utf8(s) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => {
                self.pos = start;
                self.err("string is not valid UTF-8")
            }
        }
    }

    fn float(x: f64) -> Value {
        match Number::from_f64(x) {
            Some(n) => Value::Number(n),
            None => Value::String(if x.is_nan() {
                "NaN".into()
            } else if x > 0.0 {
                "inf".into()
            } else {
                "-inf".into()
            }),
        }
    }

    /// Reads the payload of a value whose marker `m` was just read.
    fn payload(&mut self, m: u8, depth: usize) -> R<Value> {
        Ok(match m {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::from(self.int_of(m)?),
            b'd' => Self::float(f32::from_be_bytes(self.arr()?) as f64),
            b'D' => Self::float(f64::from_be_bytes(self.arr()?)),
            b'C' => {
                let c = self.byte()?;
                if !c.is_ascii() {
                    self.pos -= 1;
                    return self.err("char value is not ASCII");
                }
                Value::String((c as char).to_string())
            }
            b'S' => Value::String(self.string_body()?),
            b'H' => {
                self.pos -= 1;
                return self.err("high-precision numbers (`H`) are not supported");
            }
            b'[' => self.array(depth + 1)?,
            b'{' => self.object(depth + 1)?,
            _ => {
                self.pos -= 1;
                return self.err(format!(
                    "unknown or unexpected type marker {}",
                    marker_name(m)
                ));
            }
        })
    }

    /// Minimum bytes one element of type `m` takes (0 for valueless types).
    fn elem_size(m: u8) -> usize {
        match m {
            b'Z' | b'T' | b'F' | b'N' => 0,
            b'i' | b'U' | b'C' => 1,
            b'I' => 2,
            b'l' | b'd' => 4,
            b'L' | b'D' => 8,
            // strings, containers: at least a length / end marker
            _ => 1,
        }
    }

    fn value(&mut self, depth: usize) -> R<Value> {
        loop {
            let m = self.byte()?;
            if m == b'N' {
                continue;
            }
            return self.payload(m, depth);
        }
    }

    /// Parses the optional `$type#count` header of a container.
    fn container_header(&mut self) -> R<(Option<u8>, Option<usize>)> {
        match self.peek() {
            Some(b'$') => {
                self.pos += 1;
                let t = self.byte()?;
                if t == b'N' || t == b'H' {
                    self.pos -= 1;
                    return self.err(format!(
                        "type {} is not allowed in an optimized container",
                        marker_name(t)
                    ));
                }
                match self.peek() {
                    Some(b'#') => self.pos += 1,
                    _ => {
                        return self
                            .err("an optimized container with a type (`$`) needs a count (`#`)")
                    }
                }
                let n = self.length("container count", Self::elem_size(t))?;
                // A count of valueless elements (`Z`, `T`, `F`) costs no input bytes; bound it anyway.
                if Self::elem_size(t) == 0 && n > self.left().saturating_add(1 << 16) {
                    return self.err(format!("container count {n} is implausibly large"));
                }
                Ok((Some(t), Some(n)))
            }
            Some(b'#') => {
                self.pos += 1;
                let n = self.length("container count", 1)?;
                Ok((None, Some(n)))
            }
            _ => Ok((None, None)),
        }
    }

    fn array(&mut self, depth: usize) -> R<Value> {
        if depth > MAX_DEPTH {
            return self.err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let (ty, count) = self.container_header()?;
        match count {
            Some(n) => {
                let mut v = Vec::with_capacity(n.min(self.left()));
                for i in 0..n {
                    let x = match ty {
                        Some(t) => self.payload(t, depth),
                        None => self.value(depth),
                    };
                    v.push(x.map_err(|e| e.at(Seg::Index(i)))?);
                }
                Ok(Value::Array(v))
            }
            None => {
                let mut v = Vec::new();
                loop {
                    match self.peek() {
                        None => {
                            return self
                                .err("truncated: array not closed")
                                .map_err(|e: PErr| e.at(Seg::Index(v.len())))
                        }
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Array(v));
                        }
                        Some(b'N') => self.pos += 1,
                        Some(_) => {
                            let i = v.len();
                            let x = self.value(depth).map_err(|e| e.at(Seg::Index(i)))?;
                            v.push(x);
                        }
                    }
                }
            }
        }
    }

    fn key(&mut self) -> R<String> {
        self.string_body()
    }

    fn object(&mut self, depth: usize) -> R<Value> {
        if depth > MAX_DEPTH {
            return self.err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let (ty, count) = self.container_header()?;
        let mut map = Map::new();
        let mut last_key: Option<String> = None;
        let read_entry =
            |r: &mut Self, map: &mut Map<String, Value>, last: &mut Option<String>| -> R<()> {
                let k = r.key().map_err(|e| match last.take() {
                    // a bad key is reported after the last good one
                    Some(l) => e.at(Seg::Key(format!("(key after `{l}`)"))),
                    None => e,
                })?;
                let x = match ty {
                    Some(t) => r.payload(t, depth),
                    None => r.value(depth),
                }
                .map_err(|e| e.at(Seg::Key(k.clone())))?;
                *last = Some(k.clone());
                map.insert(k, x);
                Ok(())
            };
        match count {
            Some(n) => {
                for _ in 0..n {
                    read_entry(self, &mut map, &mut last_key)?;
                }
            }
            None => loop {
                match self.peek() {
                    None => {
                        let e = self.err::<()>("truncated: object not closed").unwrap_err();
                        return Err(match last_key {
                            Some(l) => e.at(Seg::Key(l)),
                            None => e,
                        });
                    }
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'N') => self.pos += 1,
                    Some(_) => read_entry(self, &mut map, &mut last_key)?,
                }
            },
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(s: &str) -> Vec<u8> {
        let mut v = vec![b'i', s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    #[test]
    fn scalars() {
        assert_eq!(parse(b"Z").unwrap(), Value::Null);
        assert_eq!(parse(b"T").unwrap(), json!(true));
        assert_eq!(parse(b"F").unwrap(), json!(false));
        assert_eq!(parse(&[b'i', 0xff]).unwrap(), json!(-1));
        assert_eq!(parse(&[b'U', 0xff]).unwrap(), json!(255));
        assert_eq!(parse(&[b'I', 0x01, 0x00]).unwrap(), json!(256));
        assert_eq!(parse(&[b'l', 0xff, 0xff, 0xff, 0xfe]).unwrap(), json!(-2));
        let mut l = vec![b'L'];
        l.extend_from_slice(&(-5_000_000_000i64).to_be_bytes());
        assert_eq!(parse(&l).unwrap(), json!(-5_000_000_000i64));
        let mut d = vec![b'd'];
        d.extend_from_slice(&0.1f32.to_be_bytes());
        assert_eq!(parse(&d).unwrap().as_f64().unwrap(), 0.1f32 as f64);
        let mut dd = vec![b'D'];
        dd.extend_from_slice(&0.1f64.to_be_bytes());
        assert_eq!(parse(&dd).unwrap().as_f64().unwrap(), 0.1);
        assert_eq!(parse(b"Ca").unwrap(), json!("a"));
        assert_eq!(parse(b"Si\x03abc").unwrap(), json!("abc"));
        assert_eq!(parse(b"NNZN").unwrap(), Value::Null);
    }

    #[test]
    fn non_finite_floats_become_strings() {
        let mut d = vec![b'd'];
        d.extend_from_slice(&f32::NAN.to_be_bytes());
        assert_eq!(parse(&d).unwrap(), json!("NaN"));
        let mut d = vec![b'D'];
        d.extend_from_slice(&f64::NEG_INFINITY.to_be_bytes());
        assert_eq!(parse(&d).unwrap(), json!("-inf"));
    }

    #[test]
    fn containers() {
        // plain array and object
        let mut b = vec![b'{'];
        b.extend(key("a"));
        b.extend_from_slice(b"[i\x01i\x02]");
        b.extend(key("b"));
        b.extend_from_slice(b"{}");
        b.push(b'}');
        assert_eq!(parse(&b).unwrap(), json!({"a": [1, 2], "b": {}}));
        // counted array of mixed values
        assert_eq!(parse(b"[#i\x02TZ").unwrap(), json!([true, null]));
        // typed counted arrays
        let mut t = b"[$d#i\x02".to_vec();
        t.extend_from_slice(&1.5f32.to_be_bytes());
        t.extend_from_slice(&(-2.0f32).to_be_bytes());
        assert_eq!(parse(&t).unwrap(), json!([1.5, -2.0]));
        let mut t = b"[$l#U\x02".to_vec();
        t.extend_from_slice(&(-1i32).to_be_bytes());
        t.extend_from_slice(&7i32.to_be_bytes());
        assert_eq!(parse(&t).unwrap(), json!([-1, 7]));
        assert_eq!(parse(b"[$U#i\x03\x00\x01\xff").unwrap(), json!([0, 1, 255]));
        assert_eq!(parse(b"[$T#i\x02").unwrap(), json!([true, true]));
        // typed counted object
        let mut o = b"{$i#i\x02".to_vec();
        o.extend(key("x")[..].iter());
        o.push(5);
        o.extend(key("y"));
        o.push(0xfe);
        assert_eq!(parse(&o).unwrap(), json!({"x": 5, "y": -2}));
        // counted object of mixed values
        let mut o = b"{#i\x01".to_vec();
        o.extend(key("k"));
        o.extend_from_slice(b"Si\x01v");
        assert_eq!(parse(&o).unwrap(), json!({"k": "v"}));
        // empty typed array
        assert_eq!(parse(b"[$d#i\x00").unwrap(), json!([]));
    }

    #[test]
    fn truncation_is_an_error_with_a_path() {
        let mut b = vec![b'{'];
        b.extend(key("learner"));
        b.push(b'{');
        b.extend(key("trees"));
        b.extend_from_slice(b"[$d#i\x03");
        b.extend_from_slice(&1.0f32.to_be_bytes());
        b.extend_from_slice(&2.0f32.to_be_bytes());
        // claims 3 floats, has 2: rejected before allocating
        let e = parse(&b).unwrap_err();
        assert_eq!(e.path, "learner.trees");
        assert!(e.message.contains("larger than the data left"), "{e}");
        // now truncate inside a float
        b.extend_from_slice(&[0x40, 0x40]);
        let e = parse(&b).unwrap_err();
        assert!(e.message.contains("larger than the data left"), "{e}");
        // every prefix of a valid document is an error, never a panic
        let mut full = vec![b'{'];
        full.extend(key("a"));
        full.extend_from_slice(b"[$l#i\x02\x00\x00\x00\x01\x00\x00\x00\x02");
        full.extend(key("b"));
        full.extend_from_slice(b"Si\x02hi");
        full.push(b'}');
        assert!(parse(&full).is_ok());
        for n in 0..full.len() {
            assert!(parse(&full[..n]).is_err(), "prefix {n} parsed");
        }
    }

    #[test]
    fn absurd_counts_are_rejected_without_allocating() {
        let mut b = b"[$d#L".to_vec();
        b.extend_from_slice(&(1i64 << 60).to_be_bytes());
        let e = parse(&b).unwrap_err();
        assert!(e.message.contains("larger than the data left"), "{e}");
        let mut b = b"[$Z#L".to_vec();
        b.extend_from_slice(&(1i64 << 60).to_be_bytes());
        assert!(parse(&b).is_err());
        let mut b = b"Si\xff".to_vec();
        b.extend_from_slice(b"abc");
        assert!(parse(&b).is_err());
        // negative count
        let e = parse(b"[#i\xff").unwrap_err();
        assert!(e.message.contains("negative"), "{e}");
        let mut b = b"[#L".to_vec();
        b.extend_from_slice(&i64::MIN.to_be_bytes());
        assert!(parse(&b).is_err());
    }

    #[test]
    fn high_precision_and_unknown_markers() {
        let e = parse(b"Hi\x031.5").unwrap_err();
        assert!(e.message.contains("high-precision"), "{e}");
        let e = parse(b"[i\x01H]").unwrap_err();
        assert_eq!(e.path, "[1]");
        assert!(parse(b"x").unwrap_err().message.contains("unknown"));
        assert!(parse(b"[$d]").is_err());
        assert!(parse(b"{i\x01a").is_err());
        assert!(parse(b"Si\x02\xff\xfe")
            .unwrap_err()
            .message
            .contains("UTF-8"));
        assert!(parse(b"ZZ").unwrap_err().message.contains("after the end"));
        assert!(parse(b"").is_err());
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let b = vec![b'['; 100_000];
        let e = parse(&b).unwrap_err();
        assert!(e.message.contains("nesting"), "{e}");
    }
}
