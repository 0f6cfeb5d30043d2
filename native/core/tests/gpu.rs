//! The GPU backend (`arrowshap_core::gpu`).
//!
//! Everywhere: the kernels' algorithm run on the host (`gpu::host`, the same plan and per-lane
//! arithmetic as `kernel.cu`) against the Lundberg oracle, brute force, the CPU explainers and
//! the libraries' fixtures; the plan's packing; the `device` choice; NVRTC building the kernel
//! source (skipped with a message when NVRTC is not installed). With a usable GPU only: the
//! device results against the CPU within 1e-6 relative (skipped with a message otherwise).

mod common;
use common::columns;

use arrowshap_core::gpu::{self, host, paths, Device, Used};
use arrowshap_core::shap::synth::{self, Family, RandomSpec, Rng};
use arrowshap_core::shap::{self, brute, oracle};
use arrowshap_core::{Ensemble, Error, Matrix, Node, RunControl, SplitKind, Tree, LEAF};
use std::sync::Arc;

const TOL: f64 = 1e-9;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn ctl() -> RunControl<'static> {
    RunControl {
        threads: 2,
        ..Default::default()
    }
}

/// Random adversarial models of every family, with categorical splits, zero covers and
/// several outputs, and rows hitting thresholds, NaN and zero-like values.
fn random_cases() -> Vec<(Ensemble, Vec<Vec<f64>>)> {
    let mut out = Vec::new();
    let mut rng = Rng::new(16);
    for i in 0..24 {
        let spec = RandomSpec {
            features: 1 + i % 7,
            outputs: 1 + i % 3,
            trees: 1 + i % 5,
            max_depth: 1 + i % 6,
            family: if i % 2 == 0 {
                Family::Xgboost
            } else {
                Family::Lightgbm
            },
            categorical: i % 3 != 0,
            zero_covers: i % 4 == 1,
        };
        let model = synth::random_ensemble(&mut rng, &spec);
        let rows = synth::random_rows(&mut rng, &model, 12);
        out.push((model, rows));
    }
    out
}

#[test]
fn host_kernel_matches_the_oracle_and_brute_force() {
    for (ci, (model, rows)) in random_cases().into_iter().enumerate() {
        let m = model.num_features;
        let cols = columns(&rows, m);
        let x = Matrix::from_columns_f64(&cols).unwrap();
        let plan = paths::plan(&model).unwrap();
        let got = host::path_dependent(&model, &plan, &x, &ctl()).unwrap();
        for (r, row) in rows.iter().enumerate() {
            let want = oracle::path_dependent_row(&model, row);
            let exact = brute::path_dependent_row(&model, row);
            let mut raw = vec![0.0; model.num_outputs];
            model.predict_row_into(row, &mut raw);
            for k in 0..model.num_outputs {
                let mut sum = 0.0;
                for j in 0..=m {
                    let (a, b) = (got.get(r, k, j), want[k * (m + 1) + j]);
                    assert!(
                        close(a, b, TOL),
                        "case {ci} row {r} out {k} col {j}: {a} vs oracle {b}"
                    );
                    let e = exact[k * (m + 1) + j];
                    assert!(
                        close(a, e, TOL),
                        "case {ci} row {r} out {k} col {j}: {a} vs brute {e}"
                    );
                    sum += a;
                }
                assert!(
                    close(sum, raw[k], TOL),
                    "case {ci} row {r}: additivity {sum} vs {}",
                    raw[k]
                );
            }
        }
    }
}

#[test]
fn host_interactions_match_brute_force_and_the_cpu() {
    for (ci, (model, rows)) in random_cases().into_iter().enumerate() {
        let m = model.num_features;
        let cols = columns(&rows, m);
        let x = Matrix::from_columns_f64(&cols).unwrap();
        let plan = paths::plan(&model).unwrap();
        let got = host::interactions(&model, &plan, &x, &ctl()).unwrap();
        let cpu = shap::interactions(&model, &x, &ctl()).unwrap();
        let sv = shap::path_dependent(&model, &x, &ctl()).unwrap();
        for (r, row) in rows.iter().enumerate() {
            let exact = brute::interactions_row(&model, row);
            for k in 0..model.num_outputs {
                for i in 0..m {
                    let mut row_sum = 0.0;
                    for j in 0..m {
                        let a = got.get(r, k, i, j);
                        let e = exact[(k * m + i) * m + j];
                        assert!(
                            close(a, e, TOL),
                            "case {ci} row {r} out {k} ({i},{j}): {a} vs brute {e}"
                        );
                        let c = cpu.get(r, k, i, j);
                        assert!(
                            close(a, c, TOL),
                            "case {ci} row {r} out {k} ({i},{j}): {a} vs cpu {c}"
                        );
                        assert!(
                            close(a, got.get(r, k, j, i), TOL),
                            "case {ci}: not symmetric"
                        );
                        row_sum += a;
                    }
                    let s = sv.get(r, k, i);
                    assert!(
                        close(row_sum, s, TOL),
                        "case {ci} row {r} out {k} feature {i}: row sum {row_sum} vs shap {s}"
                    );
                }
            }
        }
    }
}

#[test]
fn host_kernel_matches_the_libraries_fixtures() {
    let names = common::case_names();
    assert!(!names.is_empty(), "no fixture cases");
    for name in &names {
        let (model, cols, expected) = common::load_case(name);
        let (m, k) = (model.num_features, model.num_outputs);
        let x = Matrix::from_columns_f64(&cols).unwrap();
        let plan = paths::plan(&model).unwrap();
        let got = host::path_dependent(&model, &plan, &x, &ctl()).unwrap();
        let mut flat = Vec::new();
        for r in 0..x.rows() {
            for kk in 0..k {
                for j in 0..=m {
                    flat.push(got.get(r, kk, j));
                }
            }
        }
        // XGBoost / LightGBM compute in f32 or another order: the fixtures' own tolerance
        common::assert_close(
            &format!("{name}: host kernel vs library contribs"),
            &flat,
            &common::floats(&expected, "contribs"),
            1e-5,
        );
        let cpu = shap::path_dependent(&model, &x, &ctl()).unwrap();
        for (i, (a, b)) in got.values.iter().zip(&cpu.values).enumerate() {
            assert!(
                close(*a, *b, TOL),
                "{name}[{i}]: host kernel {a} vs cpu {b}"
            );
        }
    }
}

#[test]
fn plan_packs_whole_paths_into_warps() {
    let (model, _) = synth::realistic(7, 20, 6, 12, 2000);
    let plan = paths::plan(&model).unwrap();
    let mut elems = 0usize;
    let mut leaves_with_path = 0usize;
    for t in &model.trees {
        for n in &t.nodes {
            if n.is_leaf() && t.nodes.len() > 1 {
                leaves_with_path += 1;
            }
        }
    }
    let mut paths_seen = 0usize;
    for b in 0..plan.bins {
        let mut l = 0;
        let mut max = 0;
        while l < paths::WARP {
            let i = b * paths::WARP + l;
            let seg = plan.lane_seg[i];
            let (s, e) = ((seg & 0xff) as usize, (seg >> 8 & 0xff) as usize);
            assert_eq!(s, l, "bin {b}: segment starts at its first lane");
            assert!(e > s && e <= paths::WARP);
            if plan.lane_feature[i] != paths::NO_FEATURE {
                paths_seen += 1;
                let mut feats = Vec::new();
                for li in s..e {
                    let ii = b * paths::WARP + li;
                    assert_eq!(plan.lane_seg[ii], seg, "one path, one segment");
                    assert_eq!(plan.lane_value[ii], plan.lane_value[i]);
                    feats.push(plan.lane_feature[ii]);
                }
                feats.dedup();
                assert_eq!(feats.len(), e - s, "distinct features on a path");
                elems += e - s;
                max = max.max(e - s);
            }
            l = e;
        }
        assert_eq!(plan.bin_max_path[b] as usize, max);
        assert_eq!(plan.bin_points[b] as usize, max.div_ceil(2).max(1));
    }
    assert_eq!(paths_seen, leaves_with_path);
    // best fit decreasing wastes little: fewer than one extra warp per 8 full ones
    let full = elems.div_ceil(paths::WARP);
    assert!(
        plan.bins <= full + full / 8 + 1,
        "{} bins for {elems} elements",
        plan.bins
    );
}

/// A chain of `d` splits on `d` distinct features.
fn chain(d: usize) -> Ensemble {
    let mut nodes = Vec::new();
    for i in 0..d {
        nodes.push(Node {
            left: (2 * i + 1) as u32,
            right: (2 * i + 2) as u32,
            feature: i as u32,
            kind: SplitKind::XgbNumeric,
            default_left: true,
            threshold: 0.5,
            cat_offset: 0,
            cat_words: 0,
            value: 0.0,
            cover: 2.0,
            gain: 1.0,
        });
        nodes.push(Node::leaf(i as f64, 1.0));
    }
    // node 2i+2 continues the chain: renumber so that the right child is the next split
    let mut t = Tree::default();
    let mut order = Vec::new();
    for i in 0..d {
        order.push(2 * i); // split i
        order.push(2 * i + 1); // its left leaf
    }
    let mut remap = vec![0u32; 2 * d];
    for (new, &old) in order.iter().enumerate() {
        remap[old] = new as u32;
    }
    for &old in &order {
        let mut n = nodes[old].clone();
        if !n.is_leaf() {
            let i = old / 2;
            n.left = remap[2 * i + 1];
            n.right = if i + 1 < d {
                remap[2 * i + 2]
            } else {
                (2 * d) as u32
            };
        }
        t.nodes.push(n);
    }
    t.nodes.push(Node {
        left: LEAF,
        right: LEAF,
        value: -1.0,
        ..t.nodes[1].clone()
    });
    let e = Ensemble {
        trees: vec![t],
        tree_output: vec![0],
        num_outputs: 1,
        num_features: d,
        feature_names: (0..d).map(|j| format!("f{j}")).collect(),
        base_margin: vec![0.0],
        objective: "synthetic".into(),
        link: arrowshap_core::ensemble::Link::Identity,
        source: arrowshap_core::ensemble::ModelSource::Synthetic,
    };
    e.validate("chain").unwrap();
    e
}

#[test]
fn a_path_of_32_features_fits_and_33_is_a_device_error() {
    let model = chain(32);
    let plan = paths::plan(&model).unwrap();
    assert_eq!(plan.max_path, 32);
    let mut rng = Rng::new(3);
    let rows: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..32).map(|_| rng.range(0.0, 1.0)).collect())
        .collect();
    let cols = columns(&rows, 32);
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let got = host::path_dependent(&model, &plan, &x, &ctl()).unwrap();
    let cpu = shap::path_dependent(&model, &x, &ctl()).unwrap();
    for (a, b) in got.values.iter().zip(&cpu.values) {
        assert!(close(*a, *b, TOL), "{a} vs {b}");
    }
    match paths::plan(&chain(33)) {
        Err(Error::Device(msg)) => assert!(msg.contains("33 distinct features"), "{msg}"),
        other => panic!("expected a device error, got {:?}", other.map(|p| p.bins)),
    }
}

#[test]
fn device_names_parse_and_cpu_is_the_cpu_explainer() {
    assert_eq!("auto".parse::<Device>().unwrap(), Device::Auto);
    assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
    assert_eq!("gpu".parse::<Device>().unwrap(), Device::Gpu);
    let e = "cuda".parse::<Device>().unwrap_err().to_string();
    assert!(e.contains("auto, cpu or gpu") && e.contains("cuda"), "{e}");

    let (model, data) = synth::realistic(5, 10, 4, 6, 300);
    let model = Arc::new(model);
    let x = Matrix::from_columns_f64(&data).unwrap();
    let (sv, used) = gpu::path_dependent(Device::Cpu, &model, &x, &ctl()).unwrap();
    assert_eq!(used, Used::Cpu);
    assert_eq!(sv, shap::path_dependent(&model, &x, &ctl()).unwrap());
    // a small call stays on the CPU under auto, GPU or not
    assert!(!gpu::large_enough(&model, x.rows()));
    let (sv2, used) = gpu::path_dependent(Device::Auto, &model, &x, &ctl()).unwrap();
    assert_eq!(used, Used::Cpu);
    assert_eq!(sv2, sv);
    let (iv, used) = gpu::interactions(Device::Auto, &model, &x, &ctl()).unwrap();
    assert_eq!(used, Used::Cpu);
    assert_eq!(iv, shap::interactions(&model, &x, &ctl()).unwrap());
    // the width check comes first on every device
    let narrow = Matrix::from_columns_f64(&data[..3]).unwrap();
    for d in [Device::Auto, Device::Cpu, Device::Gpu] {
        assert!(matches!(
            gpu::path_dependent(d, &model, &narrow, &ctl()),
            Err(Error::Input(_))
        ));
    }
}

#[test]
fn gpu_without_a_device_is_one_clear_error_and_auto_falls_back() {
    let (model, data) = synth::realistic(9, 30, 6, 8, 3000);
    let model = Arc::new(model);
    let x = Matrix::from_columns_f64(&data).unwrap();
    match gpu::probe() {
        Ok(info) => {
            eprintln!(
                "skipped: a GPU is usable here ({}), so there is no missing-device error to check",
                info.name
            );
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(matches!(e, Error::Device(_)), "{msg}");
            assert!(msg.starts_with("GPU: "), "{msg}");
            let r = gpu::path_dependent(Device::Gpu, &model, &x, &ctl());
            assert_eq!(r.unwrap_err().to_string(), msg, "device gpu reports why");
            let r = gpu::interactions(Device::Gpu, &model, &x, &ctl());
            assert_eq!(r.unwrap_err().to_string(), msg);
            // auto on a call large enough for the GPU falls back to the CPU; lone leaves make
            // the model count as large without making the CPU work long
            let mut wide = (*model).clone();
            let leaf = Tree {
                nodes: vec![Node {
                    left: LEAF,
                    right: LEAF,
                    value: 0.25,
                    ..model.trees[0].nodes[0].clone()
                }],
                cat_bits: Vec::new(),
            };
            wide.trees.extend(std::iter::repeat_n(leaf, 60_000));
            wide.tree_output.resize(wide.trees.len(), 0);
            let wide = Arc::new(wide);
            let many: Vec<Vec<f64>> = data.iter().map(|c| c.repeat(7)).collect();
            let xb = Matrix::from_columns_f64(&many).unwrap();
            assert!(gpu::large_enough(&wide, xb.rows()));
            let (sv, used) = gpu::path_dependent(Device::Auto, &wide, &xb, &ctl()).unwrap();
            assert_eq!(used, Used::Cpu);
            assert_eq!(sv, shap::path_dependent(&wide, &xb, &ctl()).unwrap());
        }
    }
}

#[test]
fn nvrtc_builds_the_kernels() {
    match gpu::compile_kernels("compute_75") {
        Ok(ptx) => {
            let ptx = String::from_utf8(ptx).expect("PTX is text");
            assert!(
                ptx.contains(".entry treeshap_path"),
                "PTX lacks treeshap_path"
            );
            assert!(
                ptx.contains(".entry treeshap_interactions"),
                "PTX lacks treeshap_interactions"
            );
            assert!(
                !ptx.contains("fma.rn.f64"),
                "the kernels must be built without fused multiply-add"
            );
            // machine code for a Hopper GPU (what the backend loads first on an H100/H200)
            let cubin = gpu::compile_kernels("sm_90").unwrap();
            assert_eq!(&cubin[..4], b"\x7fELF", "a CUBIN is an ELF image");
        }
        Err(Error::Device(msg)) if msg.contains("NVRTC (libnvrtc.so) is not installed") => {
            eprintln!("skipped: {msg} (scripts/test.sh installs it from PyPI for CI)");
        }
        Err(e) => panic!("NVRTC failed on the kernel source: {e}"),
    }
}

/// Device results against the CPU, within 1e-6 relative (the bar; in practice ~1e-12).
#[test]
fn gpu_matches_the_cpu() {
    let info = match gpu::probe() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("skipped: no usable GPU ({e})");
            return;
        }
    };
    eprintln!(
        "GPU: {} (sm_{}{})",
        info.name, info.compute_capability.0, info.compute_capability.1
    );
    let worst = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
            .fold(0.0, f64::max)
    };
    for (ci, (model, rows)) in random_cases().into_iter().enumerate() {
        let model = Arc::new(model);
        let cols = columns(&rows, model.num_features);
        let x = Matrix::from_columns_f64(&cols).unwrap();
        let (g, used) = gpu::path_dependent(Device::Gpu, &model, &x, &ctl()).unwrap();
        assert_eq!(used, Used::Gpu);
        let c = shap::path_dependent(&model, &x, &ctl()).unwrap();
        assert!(
            worst(&g.values, &c.values) <= 1e-6,
            "case {ci}: path-dependent"
        );
        let (gi, _) = gpu::interactions(Device::Gpu, &model, &x, &ctl()).unwrap();
        let ci_ = shap::interactions(&model, &x, &ctl()).unwrap();
        assert!(
            worst(&gi.values, &ci_.values) <= 1e-6,
            "case {ci}: interactions"
        );
    }
    // a realistic model over several chunks and both streams, f32 columns too
    let (model, data) = synth::realistic(11, 100, 8, 32, 20_000);
    let model = Arc::new(model);
    let big: Vec<Vec<f64>> = data.iter().map(|c| c.repeat(20)).collect();
    let x = Matrix::from_columns_f64(&big).unwrap();
    let (g, used) = gpu::path_dependent(Device::Auto, &model, &x, &ctl()).unwrap();
    assert_eq!(used, Used::Gpu);
    let c = shap::path_dependent(&model, &x, &ctl()).unwrap();
    let w = worst(&g.values, &c.values);
    eprintln!(
        "100×d8, {} rows: worst relative difference GPU vs CPU {w:.2e}",
        x.rows()
    );
    assert!(w <= 1e-6);
    let f32s: Vec<Vec<f32>> = data
        .iter()
        .map(|c| c.iter().map(|&v| v as f32).collect())
        .collect();
    let xf = Matrix::new(
        f32s.iter()
            .map(|c| arrowshap_core::Column::F32(c))
            .collect(),
    )
    .unwrap();
    let (g, _) = gpu::path_dependent(Device::Gpu, &model, &xf, &ctl()).unwrap();
    let c = shap::path_dependent(&model, &xf, &ctl()).unwrap();
    assert!(worst(&g.values, &c.values) <= 1e-6, "f32 columns");
}
