//! Shared helpers for integration tests that read the reference fixtures in
//! `tests/fixtures/<case>/` (made by `tests/fixtures/make_fixtures.py`).
#![allow(dead_code)]

use arrowshap_core::{model, Ensemble, RunControl};
use serde_json::Value;
use std::path::PathBuf;

/// The `tests/fixtures` folder at the repository root.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Names of every fixture case (each folder holding an `expected.json`), sorted.
pub fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures is missing")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Path of the model file of a case (`model.json`, `model.ubj` or `model.txt`).
pub fn model_path(name: &str) -> PathBuf {
    let dir = fixtures_dir().join(name);
    for f in ["model.json", "model.ubj", "model.txt"] {
        if dir.join(f).is_file() {
            return dir.join(f);
        }
    }
    panic!("fixture {name} has no model file")
}

/// Reads `inputs.csv` of a case into one column per feature (empty cell = NaN),
/// with the header's names.
pub fn read_inputs(name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text =
        std::fs::read_to_string(fixtures_dir().join(name).join("inputs.csv")).expect("inputs.csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols = vec![Vec::new(); header.len()];
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(
            cells.len(),
            header.len(),
            "{name}/inputs.csv line {}",
            i + 2
        );
        for (j, c) in cells.iter().enumerate() {
            cols[j].push(if c.is_empty() {
                f64::NAN
            } else {
                c.parse().expect("a number")
            });
        }
    }
    (header, cols)
}

/// Loads a fixture case: the model, the input columns (feature order) and `expected.json`.
pub fn load_case(name: &str) -> (Ensemble, Vec<Vec<f64>>, Value) {
    let dir = fixtures_dir().join(name);
    let ensemble = model::load_file(&model_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (_, columns) = read_inputs(name);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).expect("expected.json"))
            .expect("JSON");
    (ensemble, columns, expected)
}

/// A float array field of `expected.json` (`raw`, `contribs`, `interactions`, `expected_value`).
pub fn floats(expected: &Value, key: &str) -> Vec<f64> {
    expected[key]
        .as_array()
        .unwrap_or_else(|| panic!("expected.json has no `{key}`"))
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// True when `a` is within `tol * max(1, |b|)` of `b`.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

/// Panics with the first mismatch (index and values) when `got` and `want` differ beyond `tol`.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} values, expected {}",
        got.len(),
        want.len()
    );
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(close(*a, *b, tol), "{what}[{i}]: got {a}, expected {b}");
    }
}

/// Column-major copy of `rows` (row-major, `m` values each), as `Matrix::from_columns_f64` takes it.
pub fn columns(rows: &[Vec<f64>], m: usize) -> Vec<Vec<f64>> {
    (0..m)
        .map(|j| rows.iter().map(|r| r[j]).collect())
        .collect()
}

/// A [`RunControl`] on `threads` threads: no cancel flag, no progress callback.
pub fn ctl(threads: usize) -> RunControl<'static> {
    RunControl {
        threads,
        ..Default::default()
    }
}
