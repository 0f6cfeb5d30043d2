//! Fuzzing the model parsers on stable Rust (a proptest harness, run by `cargo test`):
//! every reference model file (XGBoost JSON/UBJSON, LightGBM text), mutated — bytes
//! overwritten, ranges deleted, duplicated or truncated — must either load into a
//! valid ensemble that explains a row, or fail with an error; never panic, hang or
//! allocate beyond what the file's size justifies. Failing inputs shrink to a
//! minimal mutation list (proptest) and are kept in `proptest-regressions/`.
//!
//! `ARROWSHAP_FUZZ_CASES` raises the case count for a longer run (default 256 per
//! target, seconds in release).

mod common;

use arrowshap_core::{model, shap, Matrix, RunControl};
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The seed files: every fixture model, plus the deliberately bad ones.
fn seeds() -> &'static Vec<(String, Vec<u8>)> {
    static SEEDS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut files: Vec<PathBuf> = common::case_names()
            .iter()
            .map(|c| common::model_path(c))
            .collect();
        let bad = common::fixtures_dir().join("bad");
        let mut bad_files: Vec<PathBuf> = std::fs::read_dir(&bad)
            .expect("tests/fixtures/bad")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        bad_files.sort();
        files.extend(bad_files);
        files
            .into_iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).expect("seed file"))
            })
            .collect()
    })
}

/// One edit of a seed file; positions are fractions of the current length.
#[derive(Clone, Debug)]
enum Edit {
    /// Overwrite one byte.
    Set(f64, u8),
    /// Delete `len` bytes.
    Delete(f64, usize),
    /// Copy `len` bytes from one place to another (repeats structure, e.g. nodes or lengths).
    Duplicate(f64, f64, usize),
    /// Cut the file short.
    Truncate(f64),
    /// Replace a run of ASCII digits with a large number (counts, sizes, indices).
    BigNumber(f64, u64),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0.0..1.0f64, any::<u8>()).prop_map(|(p, b)| Edit::Set(p, b)),
        1 => (0.0..1.0f64, 1..64usize).prop_map(|(p, n)| Edit::Delete(p, n)),
        1 => (0.0..1.0f64, 0.0..1.0f64, 1..256usize).prop_map(|(a, b, n)| Edit::Duplicate(a, b, n)),
        1 => (0.0..1.0f64).prop_map(Edit::Truncate),
        2 => (0.0..1.0f64, prop_oneof![Just(u32::MAX as u64), Just(1u64 << 31), Just(65_536), Just(1u64 << 40), 0..1000u64])
            .prop_map(|(p, n)| Edit::BigNumber(p, n)),
    ]
}

fn at(len: usize, f: f64) -> usize {
    ((len as f64) * f) as usize % len.max(1)
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *e {
        Edit::Set(p, b) => bytes[at(n, p)] = b,
        Edit::Delete(p, len) => {
            let i = at(n, p);
            bytes.drain(i..(i + len).min(n));
        }
        Edit::Duplicate(from, to, len) => {
            let i = at(n, from);
            let chunk = bytes[i..(i + len).min(n)].to_vec();
            let j = at(n, to);
            bytes.splice(j..j, chunk);
        }
        Edit::Truncate(p) => bytes.truncate(at(n, p)),
        Edit::BigNumber(p, v) => {
            let i = at(n, p);
            if let Some(start) = (i..n).find(|&k| bytes[k].is_ascii_digit()) {
                let end = (start..n)
                    .find(|&k| !bytes[k].is_ascii_digit())
                    .unwrap_or(n);
                bytes.splice(start..end, v.to_string().into_bytes());
            }
        }
    }
}

/// Loads the mutated bytes; a model that loads must validate and explain a row with NaNs.
fn exercise(name: &str, bytes: &[u8]) -> Result<(), String> {
    let Ok(m) = model::load_bytes(bytes, name) else {
        return Ok(());
    };
    m.validate(name)
        .map_err(|e| format!("loaded but invalid: {e}"))?;
    let cols: Vec<Vec<f64>> = (0..m.num_features)
        .map(|j| vec![0.5 * j as f64, f64::NAN])
        .collect();
    let x = Matrix::from_columns_f64(&cols).map_err(|e| e.to_string())?;
    let ctl = RunControl {
        threads: 1,
        ..Default::default()
    };
    shap::path_dependent(&m, &x, &ctl)
        .map_err(|e| format!("explaining a loaded model failed: {e}"))?;
    Ok(())
}

fn cases() -> u32 {
    std::env::var("ARROWSHAP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Mutated model files never panic the parser or the explainer.
    #[test]
    fn mutated_model_files_load_or_fail_cleanly(seed in 0..64usize, edits in prop::collection::vec(edit(), 1..6)) {
        let seeds = seeds();
        let (name, original) = &seeds[seed % seeds.len()];
        let mut bytes = original.clone();
        for e in &edits {
            apply(&mut bytes, e);
        }
        let outcome = std::panic::catch_unwind(|| exercise(name, &bytes));
        match outcome {
            Err(_) => prop_assert!(false, "{name}: panicked on a mutated file ({edits:?})"),
            Ok(Err(why)) => prop_assert!(false, "{name}: {why} ({edits:?})"),
            Ok(Ok(())) => {}
        }
    }
}
