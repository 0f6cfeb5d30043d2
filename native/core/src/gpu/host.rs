//! The kernels of `kernel.cu`, run on the host: the same plan, the same per-lane arithmetic
//! in the same order (warp shuffles become array reads), so CI checks the kernel logic
//! against the CPU oracle on machines without a GPU.
//!
//! Each lane's contribution is bit-identical to the device's (the CUDA source is compiled with
//! `--fmad=false`, so no multiply-add is fused); only the order in which contributions are
//! added into an output entry differs (the device adds them with atomics in no fixed order),
//! which moves results by a few units in the last place. This is a reference, not a fast path:
//! it runs one row at a time on one thread.

use super::paths::{edge_holds, rule_offset, Plan, NO_FEATURE, WARP};
use crate::shap::{InteractionValues, ShapValues};
use crate::{Ensemble, Error, Matrix, Result, RunControl};

/// One warp's registers: one value per lane.
type Lanes = [f64; WARP];

/// Segment bounds of each lane of `bin`: `(start, end)`.
fn segments(p: &Plan, bin: usize) -> ([usize; WARP], [usize; WARP]) {
    let mut s = [0; WARP];
    let mut e = [0; WARP];
    for l in 0..WARP {
        let seg = p.lane_seg[bin * WARP + l];
        s[l] = (seg & 0xff) as usize;
        e[l] = (seg >> 8 & 0xff) as usize;
    }
    (s, e)
}

/// Exclusive segmented prefix product, as `seg_prefix_excl` in `kernel.cu`
/// (Hillis–Steele steps 1, 2, 4, 8, 16, then a shift by one lane).
fn prefix_excl(f: &Lanes, start: &[usize; WARP]) -> Lanes {
    let mut v = *f;
    let mut off = 1;
    while off < WARP {
        let prev = v;
        for l in 0..WARP {
            if l >= start[l] + off {
                v[l] *= prev[l - off];
            }
        }
        off <<= 1;
    }
    let mut out = [1.0; WARP];
    for l in 0..WARP {
        if l > start[l] {
            out[l] = v[l - 1];
        }
    }
    out
}

/// Exclusive segmented suffix product, as `seg_suffix_excl` in `kernel.cu`.
fn suffix_excl(f: &Lanes, end: &[usize; WARP]) -> Lanes {
    let mut v = *f;
    let mut off = 1;
    while off < WARP {
        let prev = v;
        for l in 0..WARP {
            if l + off < end[l] {
                v[l] *= prev[l + off];
            }
        }
        off <<= 1;
    }
    let mut out = [1.0; WARP];
    for l in 0..WARP {
        if l + 1 < end[l] {
            out[l] = v[l + 1];
        }
    }
    out
}

/// `o` of every lane of `bin` for sample `r`: 1 when the sample satisfies all the
/// element's splits, else 0 (1 for unused lanes).
fn outcomes(p: &Plan, bin: usize, x: &Matrix, r: usize) -> Lanes {
    let mut o = [1.0; WARP];
    for (l, ol) in o.iter_mut().enumerate() {
        let i = bin * WARP + l;
        let f = p.lane_feature[i];
        if f == NO_FEATURE {
            continue;
        }
        let v = x.get(r, f as usize);
        let e = p.lane_edge_begin[i] as usize..p.lane_edge_end[i] as usize;
        if !e.into_iter().all(|e| edge_holds(p, e, v)) {
            *ol = 0.0;
        }
    }
    o
}

/// The factors `F_g(t) = z + t (o - z)` of every lane at quadrature node `t` (1 when unused).
fn factors(p: &Plan, bin: usize, o: &Lanes, t: f64) -> Lanes {
    let mut f = [1.0; WARP];
    for l in 0..WARP {
        let i = bin * WARP + l;
        if p.lane_feature[i] != NO_FEATURE {
            let z = p.lane_z[i];
            f[l] = z + t * (o[l] - z);
        }
    }
    f
}

fn check(model: &Ensemble, p: &Plan, x: &Matrix) -> Result<()> {
    model.check_input(x)?;
    if p.features != model.num_features || p.outputs != model.num_outputs {
        return Err(Error::Input(
            "the GPU plan was built for another model".into(),
        ));
    }
    Ok(())
}

/// Path-dependent SHAP values by the `treeshap_path` kernel's algorithm (see the module docs).
pub fn path_dependent(
    model: &Ensemble,
    p: &Plan,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<ShapValues> {
    check(model, p, x)?;
    let (rows, m, k) = (x.rows(), model.num_features, model.num_outputs);
    let mut values = vec![0.0; (m + 1) * rows * k];
    for bin in 0..p.bins {
        if ctl.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let (start, end) = segments(p, bin);
        let n = p.bin_points[bin] as usize;
        let q0 = rule_offset(n);
        for r in 0..rows {
            let o = outcomes(p, bin, x, r);
            let mut acc = [0.0; WARP];
            for q in 0..n {
                let f = factors(p, bin, &o, p.quad_t[q0 + q]);
                let pre = prefix_excl(&f, &start);
                let suf = suffix_excl(&f, &end);
                for l in 0..WARP {
                    acc[l] += p.quad_w[q0 + q] * (pre[l] * suf[l]);
                }
            }
            for l in 0..WARP {
                let i = bin * WARP + l;
                let feat = p.lane_feature[i];
                if feat == NO_FEATURE {
                    continue;
                }
                let phi = p.lane_value[i] * (o[l] - p.lane_z[i]) * acc[l];
                values[feat as usize * rows * k + r * k + p.lane_output[i] as usize] += phi;
            }
        }
    }
    crate::shap::fill_base(&mut values, rows, m, &model.expected_value());
    ctl.report(rows);
    Ok(ShapValues {
        rows,
        outputs: k,
        features: m,
        values,
    })
}

/// SHAP interaction values by the `treeshap_interactions` kernel's algorithm: lane `i` pairs
/// with lane `i + s` of its path at step `s`, carrying the running product of the factors
/// between them, so "all factors but two" needs no division.
pub fn interactions(
    model: &Ensemble,
    p: &Plan,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<InteractionValues> {
    check(model, p, x)?;
    let (rows, m, k) = (x.rows(), model.num_features, model.num_outputs);
    let t_len = rows * k * m;
    let mut values = vec![0.0; m * t_len];
    let at = |r: usize, out: usize, i: usize, j: usize| j * t_len + (r * k + out) * m + i;
    for bin in 0..p.bins {
        if ctl.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let (start, end) = segments(p, bin);
        let n = p.bin_points[bin] as usize;
        let q0 = rule_offset(n);
        let steps = p.bin_max_path[bin] as usize;
        for r in 0..rows {
            let o = outcomes(p, bin, x, r);
            let mut f = Vec::with_capacity(n);
            let mut pre = Vec::with_capacity(n);
            let mut suf = Vec::with_capacity(n);
            let mut main = [0.0; WARP];
            for q in 0..n {
                let fq = factors(p, bin, &o, p.quad_t[q0 + q]);
                let pq = prefix_excl(&fq, &start);
                let sq = suffix_excl(&fq, &end);
                for l in 0..WARP {
                    main[l] += p.quad_w[q0 + q] * (pq[l] * sq[l]);
                }
                f.push(fq);
                pre.push(pq);
                suf.push(sq);
            }
            let mut oz = [0.0; WARP];
            for l in 0..WARP {
                let i = bin * WARP + l;
                oz[l] = o[l] - p.lane_z[i];
                let feat = p.lane_feature[i];
                if feat != NO_FEATURE {
                    let phi = p.lane_value[i] * oz[l] * main[l];
                    let (fi, out) = (feat as usize, p.lane_output[i] as usize);
                    values[at(r, out, fi, fi)] += phi;
                }
            }
            let mut mid = vec![[1.0; WARP]; n];
            for s in 1..steps {
                let mut acc = [0.0; WARP];
                for q in 0..n {
                    for l in 0..WARP {
                        // shfl_down by s: lanes past the warp read their own value
                        let j = if l + s < WARP { l + s } else { l };
                        acc[l] += p.quad_w[q0 + q] * (pre[q][l] * mid[q][l] * suf[q][j]);
                        mid[q][l] *= f[q][j];
                    }
                }
                for l in 0..WARP {
                    let i = bin * WARP + l;
                    if p.lane_feature[i] == NO_FEATURE || l + s >= end[l] {
                        continue;
                    }
                    let j = l + s;
                    let pair = 0.5 * p.lane_value[i] * oz[l] * oz[j] * acc[l];
                    let (fi, fj) = (
                        p.lane_feature[i] as usize,
                        p.lane_feature[bin * WARP + j] as usize,
                    );
                    let out = p.lane_output[i] as usize;
                    values[at(r, out, fi, fj)] += pair;
                    values[at(r, out, fj, fi)] += pair;
                    values[at(r, out, fi, fi)] -= pair;
                    values[at(r, out, fj, fj)] -= pair;
                }
            }
        }
    }
    ctl.report(rows);
    Ok(InteractionValues {
        rows,
        outputs: k,
        features: m,
        values,
    })
}
