//! KernelSHAP against brute-force interventional Shapley values, and its sampling behaviour.

use arrowshap_core::kernel::{
    self, kernel_shap, kernel_shap_report, BackgroundSummary, BatchModel, KernelLink,
    KernelOptions, L1Reg, Rng, ShapValues,
};
use arrowshap_core::shap::synth::{self, Family, RandomSpec};
use arrowshap_core::{Ensemble, Error, Matrix, RunControl};
use std::sync::atomic::AtomicBool;

// ---------------------------------------------------------------- fixtures

/// A seeded random ensemble (`shap::synth`, XGBoost split kinds): `trees` trees per output of
/// depth ≤ `depth`, base margins `0.1·k`, identity link.
fn ensemble(seed: u64, m: usize, outputs: usize, trees: usize, depth: usize) -> Ensemble {
    let spec = RandomSpec {
        features: m,
        outputs,
        trees: trees * outputs,
        max_depth: depth,
        family: Family::Xgboost,
        categorical: false,
        zero_covers: false,
    };
    let mut e = synth::random_ensemble(&mut Rng::new(seed), &spec);
    e.base_margin = (0..outputs).map(|k| 0.1 * k as f64).collect();
    e.objective = "reg:squarederror".into();
    e.validate("synthetic").unwrap();
    e
}

/// Columns of `rows` random values on a 0.1 grid (so some values repeat the background's).
fn data(seed: u64, rows: usize, m: usize) -> Vec<Vec<f64>> {
    let mut rng = Rng::new(seed);
    (0..m)
        .map(|_| (0..rows).map(|_| rng.below(10) as f64 / 10.0).collect())
        .collect()
}

fn matrix(cols: &[Vec<f64>]) -> Matrix<'_> {
    Matrix::from_columns_f64(cols).unwrap()
}

fn row(cols: &[Vec<f64>], r: usize) -> Vec<f64> {
    cols.iter().map(|c| c[r]).collect()
}

fn predict(model: &dyn BatchModel, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; model.num_outputs()];
    model.predict(x, &mut out).unwrap();
    out
}

/// Exact Shapley values of the game `v(S) = link(Σ_b w_b f(x_S, b_¬S))`, layout `[k * (M + 1) + j]`.
fn brute(
    model: &dyn BatchModel,
    x: &[f64],
    bg: &[Vec<f64>],
    w: &[f64],
    link: KernelLink,
) -> Vec<f64> {
    let m = model.num_features();
    let k = model.num_outputs();
    let wsum: f64 = w.iter().sum();
    let mut v = vec![0.0; (1usize << m) * k];
    let mut z = vec![0.0; m];
    for s in 0..1usize << m {
        for (b, wb) in bg.iter().zip(w) {
            for j in 0..m {
                z[j] = if s >> j & 1 == 1 { x[j] } else { b[j] };
            }
            let f = predict(model, &z);
            for o in 0..k {
                v[s * k + o] += wb / wsum * f[o];
            }
        }
        for o in 0..k {
            v[s * k + o] = link.apply(v[s * k + o]);
        }
    }
    let fact = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
    let mut phi = vec![0.0; k * (m + 1)];
    for o in 0..k {
        for j in 0..m {
            for s in 0..1usize << m {
                if s >> j & 1 == 1 {
                    continue;
                }
                let size = s.count_ones() as usize;
                let wt = fact(size) * fact(m - size - 1) / fact(m);
                phi[o * (m + 1) + j] += wt * (v[(s | 1 << j) * k + o] - v[s * k + o]);
            }
        }
        phi[o * (m + 1) + m] = v[o];
    }
    phi
}

fn max_abs_diff(kern: &ShapValues, r: usize, expect: &[f64]) -> f64 {
    let (m, k) = (kern.features, kern.outputs);
    let mut d = 0.0f64;
    for o in 0..k {
        for j in 0..=m {
            d = d.max((kern.get(r, o, j) - expect[o * (m + 1) + j]).abs());
        }
    }
    d
}

/// Asserts Σφ + base = link(f(x)) on every row and output.
fn assert_additive(
    model: &dyn BatchModel,
    x: &[Vec<f64>],
    s: &ShapValues,
    link: KernelLink,
    tol: f64,
) {
    for r in 0..s.rows {
        let f = predict(model, &row(x, r));
        for o in 0..s.outputs {
            let sum: f64 = (0..=s.features).map(|j| s.get(r, o, j)).sum();
            let want = link.apply(f[o]);
            assert!(
                (sum - want).abs() <= tol,
                "row {r} output {o}: sum {sum} vs prediction {want}"
            );
        }
    }
}

/// A probability model: sigmoid of an ensemble's margin (for the logit link).
struct Sigmoid(Ensemble);
impl BatchModel for Sigmoid {
    fn num_features(&self) -> usize {
        self.0.num_features
    }
    fn num_outputs(&self) -> usize {
        self.0.num_outputs
    }
    fn predict(&self, rows: &[f64], out: &mut [f64]) -> arrowshap_core::Result<()> {
        self.0.predict(rows, out)?;
        out.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
        Ok(())
    }
}

/// The same model, but one call at a time with big blocks (how a JS callback is driven).
struct Serial<'a>(&'a dyn BatchModel, std::sync::atomic::AtomicUsize);
impl BatchModel for Serial<'_> {
    fn num_features(&self) -> usize {
        self.0.num_features()
    }
    fn num_outputs(&self) -> usize {
        self.0.num_outputs()
    }
    fn predict(&self, rows: &[f64], out: &mut [f64]) -> arrowshap_core::Result<()> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.predict(rows, out)
    }
    fn concurrent(&self) -> bool {
        false
    }
    fn batch_rows(&self) -> usize {
        50_000
    }
}

/// f(x) = w·x + c: interventional SHAP is w_j (x_j − E_b[b_j]) in closed form.
struct Linear(Vec<f64>, f64);
impl BatchModel for Linear {
    fn num_features(&self) -> usize {
        self.0.len()
    }
    fn num_outputs(&self) -> usize {
        1
    }
    fn predict(&self, rows: &[f64], out: &mut [f64]) -> arrowshap_core::Result<()> {
        for (r, o) in rows.chunks_exact(self.0.len()).zip(out.iter_mut()) {
            *o = self.1 + r.iter().zip(&self.0).map(|(a, b)| a * b).sum::<f64>();
        }
        Ok(())
    }
}

fn ctl() -> RunControl<'static> {
    RunControl::default()
}

// ---------------------------------------------------------------- exactness

#[test]
fn kernel_full_enumeration_equals_brute_force_and_interventional_treeshap() {
    let m = 6;
    let model = ensemble(11, m, 2, 12, 4);
    let x = data(1, 12, m);
    let bgc = data(2, 9, m);
    let bg_rows: Vec<Vec<f64>> = (0..9).map(|r| row(&bgc, r)).collect();
    let ones = vec![1.0; 9];
    // default nsamples = 2M + 2048 ≥ 2^6 − 2: full enumeration
    let (s, rep) = kernel_shap_report(
        &model,
        &matrix(&x),
        &matrix(&bgc),
        None,
        &KernelOptions::default(),
        &ctl(),
    )
    .unwrap();
    assert_eq!(rep.exact_rows, 12);
    assert!(rep.max_coalitions <= 62);
    let tree =
        arrowshap_core::shap::interventional(&model, &matrix(&x), &matrix(&bgc), &ctl()).unwrap();
    for r in 0..12 {
        let xr = row(&x, r);
        let b = brute(&model, &xr, &bg_rows, &ones, KernelLink::Identity);
        assert!(
            max_abs_diff(&s, r, &b) < 1e-9,
            "row {r}: {}",
            max_abs_diff(&s, r, &b)
        );
        let b2 = arrowshap_core::shap::brute::interventional_row(&model, &xr, &bg_rows);
        assert!(max_abs_diff(&s, r, &b2) < 1e-9, "row {r} vs shap::brute");
    }
    assert_eq!(
        (tree.rows, tree.outputs, tree.features),
        (s.rows, s.outputs, s.features)
    );
    for (a, b) in s.values.iter().zip(&tree.values) {
        assert!(
            (a - b).abs() < 1e-9,
            "kernel {a} vs interventional TreeSHAP {b}"
        );
    }
    // the explicit threshold 2^M − 2 is full enumeration too
    let opts = KernelOptions {
        nsamples: Some((1 << m) - 2),
        seed: 99,
        ..Default::default()
    };
    let s2 = kernel_shap(&model, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    for (a, b) in s.values.iter().zip(&s2.values) {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn kernel_weighted_background_and_logit_link_are_exact() {
    let m = 5;
    let model = Sigmoid(ensemble(5, m, 1, 10, 3));
    let x = data(3, 6, m);
    let bgc = data(4, 7, m);
    let bg_rows: Vec<Vec<f64>> = (0..7).map(|r| row(&bgc, r)).collect();
    let w = vec![1.0, 2.0, 0.5, 3.0, 1.0, 0.25, 4.0];
    for link in [KernelLink::Identity, KernelLink::Logit] {
        let opts = KernelOptions {
            link,
            ..Default::default()
        };
        let s = kernel_shap(&model, &matrix(&x), &matrix(&bgc), Some(&w), &opts, &ctl()).unwrap();
        for r in 0..6 {
            let b = brute(&model, &row(&x, r), &bg_rows, &w, link);
            assert!(
                max_abs_diff(&s, r, &b) < 1e-9,
                "{link:?} row {r}: {}",
                max_abs_diff(&s, r, &b)
            );
        }
        assert_additive(&model, &x, &s, link, 1e-9);
    }
}

#[test]
fn kernel_linear_model_is_exact_even_when_sampling() {
    // 40 features: far from enumerable, but an additive game is fitted exactly
    let m = 40;
    let mut rng = Rng::new(8);
    let w: Vec<f64> = (0..m).map(|_| rng.next_f64() * 4.0 - 2.0).collect();
    let model = Linear(w.clone(), 0.7);
    let x = data(5, 5, m);
    let bgc = data(6, 20, m);
    let opts = KernelOptions {
        nsamples: Some(600),
        ..Default::default()
    };
    let (s, rep) =
        kernel_shap_report(&model, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    assert_eq!(rep.exact_rows, 0);
    for r in 0..5 {
        for j in 0..m {
            let mean = bgc[j].iter().sum::<f64>() / 20.0;
            let want = w[j] * (x[j][r] - mean);
            assert!(
                (s.get(r, 0, j) - want).abs() < 1e-9,
                "row {r} feature {j}: {} vs {want}",
                s.get(r, 0, j)
            );
        }
    }
}

// ---------------------------------------------------------------- sampling

#[test]
fn kernel_sampling_is_additive_on_every_row() {
    let m = 14; // 2^14 − 2 > 2·14 + 2048: sampled
    let model = ensemble(21, m, 3, 8, 5);
    let x = data(7, 25, m);
    let bgc = data(8, 12, m);
    let opts = KernelOptions {
        nsamples: Some(300),
        ..Default::default()
    };
    let (s, rep) =
        kernel_shap_report(&model, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    assert!(rep.exact_rows < 25);
    assert!(rep.max_coalitions <= 300);
    assert_additive(&model, &x, &s, KernelLink::Identity, 1e-9);
    // the base value is the background mean prediction
    let mut mean = vec![0.0; 3];
    for r in 0..12 {
        let f = predict(&model, &row(&bgc, r));
        for o in 0..3 {
            mean[o] += f[o] / 12.0;
        }
    }
    for r in 0..25 {
        for o in 0..3 {
            assert!((s.get(r, o, m) - mean[o]).abs() < 1e-12);
        }
    }
}

#[test]
fn kernel_error_decreases_with_nsamples() {
    let m = 11;
    let model = ensemble(31, m, 1, 30, 4);
    let x = data(9, 12, m);
    let bgc = data(10, 8, m);
    let bg_rows: Vec<Vec<f64>> = (0..8).map(|r| row(&bgc, r)).collect();
    let exact: Vec<Vec<f64>> = (0..12)
        .map(|r| {
            brute(
                &model,
                &row(&x, r),
                &bg_rows,
                &[1.0; 8],
                KernelLink::Identity,
            )
        })
        .collect();
    let mut errs = Vec::new();
    for budget in [60, 300, 1500] {
        let opts = KernelOptions {
            nsamples: Some(budget),
            seed: 3,
            ..Default::default()
        };
        let s = kernel_shap(&model, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
        let mut e = 0.0;
        for (r, ex) in exact.iter().enumerate() {
            for j in 0..m {
                e += (s.get(r, 0, j) - ex[j]).abs();
            }
        }
        errs.push(e / (12 * m) as f64);
        assert_additive(&model, &x, &s, KernelLink::Identity, 1e-9);
    }
    eprintln!("mean abs error at 60 / 300 / 1500 coalitions: {errs:?}");
    assert!(
        errs[1] < errs[0] * 1.1 && errs[2] < errs[1] * 1.1,
        "{errs:?}"
    );
    assert!(errs[2] < errs[0] * 0.5, "{errs:?}");
    // and the full budget is exact
    let opts = KernelOptions {
        nsamples: Some(1 << m),
        ..Default::default()
    };
    let s = kernel_shap(&model, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    for (r, ex) in exact.iter().enumerate() {
        assert!(max_abs_diff(&s, r, ex) < 1e-9);
    }
}

#[test]
fn kernel_is_deterministic_across_threads_batches_and_serial_models() {
    let m = 13;
    let model = ensemble(41, m, 2, 6, 4);
    let x = data(11, 40, m);
    let bgc = data(12, 10, m);
    let opts = KernelOptions {
        nsamples: Some(200),
        seed: 17,
        ..Default::default()
    };
    let a = kernel_shap(&model, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    let one = RunControl {
        threads: 1,
        ..Default::default()
    };
    let b = kernel_shap(&model, &matrix(&x), &matrix(&bgc), None, &opts, &one).unwrap();
    assert_eq!(a.values, b.values, "thread count changed the result");
    let small = KernelOptions {
        batch_rows: Some(7),
        ..opts
    };
    let c = kernel_shap(&model, &matrix(&x), &matrix(&bgc), None, &small, &ctl()).unwrap();
    assert_eq!(a.values, c.values, "batch size changed the result");
    let serial = Serial(&model, Default::default());
    let d = kernel_shap(&serial, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    // the serial model's masked rows and the tree ensemble's structural evaluation
    // (`kernel::tree`) sum the same terms in different orders
    for (u, v) in a.values.iter().zip(&d.values) {
        assert!(
            (u - v).abs() <= 1e-12 * u.abs().max(1.0),
            "the serial path changed the result: {u} vs {v}"
        );
    }
    // 40 rows × ≤200 coalitions × 10 background rows fit in a handful of 50k-row calls
    let calls = serial.1.load(std::sync::atomic::Ordering::Relaxed);
    assert!(calls <= 6, "{calls} model calls");
    let d2 = kernel_shap(&serial, &matrix(&x), &matrix(&bgc), None, &small, &ctl()).unwrap();
    assert_eq!(d.values, d2.values, "batch size changed the serial result");
    // batches with their row offset give the values of one call
    let (head, tail): (Vec<Vec<f64>>, Vec<Vec<f64>>) = x
        .iter()
        .map(|c| (c[..15].to_vec(), c[15..].to_vec()))
        .unzip();
    let h = kernel_shap(&model, &matrix(&head), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    let t_opts = KernelOptions {
        row_offset: 15,
        ..opts
    };
    let t = kernel_shap(&model, &matrix(&tail), &matrix(&bgc), None, &t_opts, &ctl()).unwrap();
    for j in 0..=m {
        for r in 0..40 {
            for o in 0..2 {
                let v = if r < 15 {
                    h.get(r, o, j)
                } else {
                    t.get(r - 15, o, j)
                };
                assert_eq!(v, a.get(r, o, j), "batch with offset differs at row {r}");
            }
        }
    }
    let other = KernelOptions { seed: 18, ..opts };
    let e = kernel_shap(&model, &matrix(&x), &matrix(&bgc), None, &other, &ctl()).unwrap();
    assert_ne!(a.values, e.values, "the seed has no effect");
}

#[test]
fn kernel_l1_num_features_keeps_k_features_and_additivity() {
    let m = 16;
    let model = ensemble(51, m, 1, 10, 4);
    let x = data(13, 10, m);
    let bgc = data(14, 10, m);
    let opts = KernelOptions {
        nsamples: Some(400),
        l1_reg: L1Reg::NumFeatures(4),
        ..Default::default()
    };
    let s = kernel_shap(&model, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    for r in 0..10 {
        let nz = (0..m).filter(|&j| s.get(r, 0, j) != 0.0).count();
        assert!(nz <= 4, "row {r}: {nz} features kept");
    }
    assert_additive(&model, &x, &s, KernelLink::Identity, 1e-9);
    // the selected features are the strongest: compare with no selection
    let full = kernel_shap(
        &model,
        &matrix(&x),
        &matrix(&bgc),
        None,
        &KernelOptions {
            nsamples: Some(400),
            ..Default::default()
        },
        &ctl(),
    )
    .unwrap();
    let top = (0..m)
        .max_by(|&a, &b| full.get(0, 0, a).abs().total_cmp(&full.get(0, 0, b).abs()))
        .unwrap();
    assert!(
        s.get(0, 0, top) != 0.0,
        "the strongest feature {top} was not selected"
    );
}

// ---------------------------------------------------------------- background

#[test]
fn kernel_kmeans_summary_finds_clusters_and_weights() {
    // three clusters of 50, 30 and 20 rows around (0,0,·), (10,0,·), (0,10,·); feature 2 integer
    let mut rng = Rng::new(3);
    let centres = [(0.0, 0.0, 50), (10.0, 0.0, 30), (0.0, 10.0, 20)];
    let mut cols = vec![Vec::new(), Vec::new(), Vec::new()];
    for &(a, b, n) in &centres {
        for _ in 0..n {
            cols[0].push(a + rng.next_f64() - 0.5);
            cols[1].push(b + rng.next_f64() - 0.5);
            cols[2].push(rng.below(4) as f64);
        }
    }
    let bg = kernel::summarize(&matrix(&cols), None, BackgroundSummary::KMeans(3), 0).unwrap();
    assert_eq!(bg.rows(), 3);
    let mut got: Vec<(f64, f64, f64)> = (0..3)
        .map(|i| (bg.row(i)[0], bg.row(i)[1], bg.weights[i]))
        .collect();
    got.sort_by(|p, q| (p.0 + 2.0 * p.1).total_cmp(&(q.0 + 2.0 * q.1)));
    let want = [(0.0, 0.0, 50.0), (10.0, 0.0, 30.0), (0.0, 10.0, 20.0)];
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g.0 - w.0).abs() < 0.5 && (g.1 - w.1).abs() < 0.5,
            "{got:?}"
        );
        assert_eq!(g.2, w.2);
    }
    for i in 0..3 {
        // snapped to values the data takes
        for j in 0..3 {
            assert!(cols[j].contains(&bg.row(i)[j]));
        }
    }
    let again = kernel::summarize(&matrix(&cols), None, BackgroundSummary::KMeans(3), 0).unwrap();
    assert_eq!(bg, again, "k-means is not deterministic");
    // sample(n): n rows of the data, seeded
    let s = kernel::summarize(&matrix(&cols), None, BackgroundSummary::Sample(10), 5).unwrap();
    assert_eq!(s.rows(), 10);
    assert_eq!(
        s,
        kernel::summarize(&matrix(&cols), None, BackgroundSummary::Sample(10), 5).unwrap()
    );
}

#[test]
fn kernel_with_kmeans_background_explains_against_the_summary() {
    let m = 4;
    let model = ensemble(61, m, 1, 8, 3);
    let x = data(15, 5, m);
    let bgc = data(16, 400, m);
    let opts = KernelOptions {
        background_summary: BackgroundSummary::KMeans(12),
        ..Default::default()
    };
    let (s, rep) =
        kernel_shap_report(&model, &matrix(&x), &matrix(&bgc), None, &opts, &ctl()).unwrap();
    assert!(rep.background_rows <= 12);
    assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
    let bg = kernel::summarize(&matrix(&bgc), None, BackgroundSummary::KMeans(12), 0).unwrap();
    let bg_rows: Vec<Vec<f64>> = (0..bg.rows()).map(|i| bg.row(i).to_vec()).collect();
    for r in 0..5 {
        let b = brute(
            &model,
            &row(&x, r),
            &bg_rows,
            &bg.weights,
            KernelLink::Identity,
        );
        assert!(max_abs_diff(&s, r, &b) < 1e-9);
    }
    // without the summary, 400 rows earn a warning
    let (_, rep) = kernel_shap_report(
        &model,
        &matrix(&x),
        &matrix(&bgc),
        None,
        &KernelOptions::default(),
        &ctl(),
    )
    .unwrap();
    assert_eq!(rep.warnings.len(), 1);
    assert!(rep.warnings[0].contains("400 rows"), "{}", rep.warnings[0]);
}

// ---------------------------------------------------------------- errors

#[test]
fn kernel_rejects_empty_background_bad_shapes_and_honours_cancel() {
    let m = 3;
    let model = ensemble(71, m, 1, 3, 2);
    let x = data(17, 4, m);
    let empty: Vec<Vec<f64>> = vec![Vec::new(); m];
    let err = kernel_shap(
        &model,
        &matrix(&x),
        &matrix(&empty),
        None,
        &KernelOptions::default(),
        &ctl(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Input(msg) if msg.contains("background is empty")),
        "{err}"
    );
    let narrow = data(18, 4, m - 1);
    let err = kernel_shap(
        &model,
        &matrix(&x),
        &matrix(&narrow),
        None,
        &KernelOptions::default(),
        &ctl(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    let bgc = data(19, 4, m);
    let err = kernel_shap(
        &model,
        &matrix(&x),
        &matrix(&bgc),
        Some(&[1.0, -1.0, 1.0, 1.0]),
        &KernelOptions::default(),
        &ctl(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    let cancel = AtomicBool::new(true);
    let c = RunControl {
        cancel: Some(&cancel),
        ..Default::default()
    };
    let err = kernel_shap(
        &model,
        &matrix(&x),
        &matrix(&bgc),
        None,
        &KernelOptions::default(),
        &c,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
}
