//! XGBoost's JSON dialect: reading it with `serde_json`, and naming the field
//! at fault when a document is truncated or malformed.
//!
//! XGBoost's own JSON writer (`src/common/charconv.cc`, every release with a
//! JSON format) prints non-finite floats as bare `NaN`, `Infinity` and
//! `-Infinity` tokens, which standard JSON has no words for. XGBoost 1.7–2.1
//! write `NaN` in `split_conditions` for every categorical split; its reader
//! also accepts `+Infinity`. [`normalize_tokens`] rewrites those tokens (and the
//! lower-case `nan`/`inf` spellings) outside strings into strings (`"NaN"`,
//! `"Infinity"`, `"-Infinity"`), which the typed reader turns back into floats.

use crate::Error;
use std::borrow::Cow;

/// The non-standard number tokens XGBoost writes or accepts, with the string each becomes.
const TOKENS: &[(&[u8], &[u8])] = &[
    (b"-Infinity", b"\"-Infinity\""),
    (b"+Infinity", b"\"Infinity\""),
    (b"Infinity", b"\"Infinity\""),
    (b"-NaN", b"\"NaN\""),
    (b"NaN", b"\"NaN\""),
    (b"-nan", b"\"NaN\""),
    (b"nan", b"\"NaN\""),
    (b"-inf", b"\"-Infinity\""),
    (b"inf", b"\"Infinity\""),
];

/// Rewrites bare `NaN` / `Infinity` / `-Infinity` tokens (outside strings) into
/// JSON strings; borrows `bytes` unchanged when there are none.
pub(crate) fn normalize_tokens(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0usize;
    let mut in_str = false;
    let mut i = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'N' | b'I' | b'n' | b'i' | b'-' | b'+' => {
                // A token starts a value: the previous non-space byte is `[`, `,` or `:`.
                let starts_value = bytes[..i]
                    .iter()
                    .rev()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| matches!(b, b'[' | b',' | b':'));
                if starts_value {
                    if let Some((tok, rep)) = TOKENS.iter().find(|(t, _)| {
                        bytes[i..].starts_with(t)
                            && !bytes
                                .get(i + t.len())
                                .is_some_and(|b| b.is_ascii_alphanumeric())
                    }) {
                        let o = out.get_or_insert_with(|| Vec::with_capacity(bytes.len() + 64));
                        o.extend_from_slice(&bytes[copied..i]);
                        o.extend_from_slice(rep);
                        i += tok.len();
                        copied = i;
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(bytes),
        Some(mut o) => {
            o.extend_from_slice(&bytes[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Maps a serde_json error to a model error naming the field being read where it failed.
pub(crate) fn json_error(bytes: &[u8], file: &str, e: &serde_json::Error) -> Error {
    let offset = match e.classify() {
        serde_json::error::Category::Eof => bytes.len(),
        _ => line_col_to_offset(bytes, e.line(), e.column()),
    };
    let path = json_path_at(bytes, offset);
    let field = if path.is_empty() {
        "(document)".to_string()
    } else {
        path
    };
    let what = match e.classify() {
        serde_json::error::Category::Eof => "truncated JSON",
        _ => "malformed JSON",
    };
    Error::model(file, field, format!("{what}: {e}"))
}

fn line_col_to_offset(bytes: &[u8], line: usize, col: usize) -> usize {
    let mut off = 0usize;
    let mut l = 1usize;
    while l < line {
        match bytes[off..].iter().position(|&b| b == b'\n') {
            Some(p) => {
                off += p + 1;
                l += 1;
            }
            None => return bytes.len(),
        }
    }
    (off + col.saturating_sub(1)).min(bytes.len())
}

/// The JSON path (`a.b[3].c`) of the value being read at byte `end` of `bytes`,
/// found by a light scan of the prefix (the prefix is known to be well formed).
fn json_path_at(bytes: &[u8], end: usize) -> String {
    enum Frame {
        Obj {
            key: Option<String>,
            expect_key: bool,
        },
        Arr {
            index: usize,
        },
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0usize;
    let end = end.min(bytes.len());
    while i < end {
        let c = bytes[i];
        match c {
            b'"' => {
                let is_key = matches!(
                    stack.last(),
                    Some(Frame::Obj {
                        expect_key: true,
                        ..
                    })
                );
                let start = i + 1;
                i += 1;
                while i < end && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if is_key {
                    let k = String::from_utf8_lossy(&bytes[start..i.min(end)]).into_owned();
                    if let Some(Frame::Obj { key, .. }) = stack.last_mut() {
                        *key = Some(k);
                    }
                }
            }
            b'{' => stack.push(Frame::Obj {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Arr { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Obj { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Obj { key, expect_key }) => {
                    *key = None;
                    *expect_key = true;
                }
                Some(Frame::Arr { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Obj { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Obj { key: None, .. } => {}
            Frame::Arr { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}
