//! The weighted least squares step of KernelSHAP, in f64, with the efficiency
//! constraint eliminated exactly, and the optional L1 (LAR) feature selection.
//!
//! For coalitions `z_c ∈ {0,1}^m` with kernel weights `w_c` and adjusted values
//! `y_c = link(E[f | z_c]) − link(E[f])`, KernelSHAP solves
//! `min Σ w_c (y_c − z_c·φ)²` subject to `Σ φ = t`, `t = link(f(x)) − link(E[f])`.
//! Substituting `φ_last = t − Σ_{k<last} φ_k` gives an unconstrained problem in the
//! other players with design `x_ck = z_ck − z_c,last` and target `y_c − z_c,last t`,
//! so `Σ φ = t` holds by construction (sum + base = prediction).

use super::sampling::Plan;

/// Cholesky factorization in place (lower triangle of `a`, `p × p` row-major).
/// Returns false when `a` is not numerically positive definite.
fn cholesky(a: &mut [f64], p: usize) -> bool {
    let max_diag = (0..p).map(|i| a[i * p + i]).fold(0.0f64, f64::max);
    let tol = max_diag * 1e-13;
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= a[j * p + k] * a[j * p + k];
        }
        if !(d > tol) {
            return false;
        }
        let d = d.sqrt();
        a[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = s / d;
        }
    }
    true
}

/// Solves `L Lᵀ x = b` in place with the factor from [`cholesky`].
fn cholesky_solve(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}

/// Symmetric eigendecomposition by cyclic Jacobi rotations: returns (eigenvalues, V row-major,
/// columns are eigenvectors). Only used as the fallback for singular systems.
fn jacobi_eigen(a: &[f64], p: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; p * p];
    for i in 0..p {
        v[i * p + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..p)
            .flat_map(|i| (0..p).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * p + j].powi(2))
            .sum();
        let scale: f64 = (0..p)
            .map(|i| a[i * p + i].powi(2))
            .sum::<f64>()
            .max(f64::MIN_POSITIVE);
        if off <= 1e-30 * scale {
            break;
        }
        for i in 0..p {
            for j in i + 1..p {
                let aij = a[i * p + j];
                if aij == 0.0 {
                    continue;
                }
                let theta = (a[j * p + j] - a[i * p + i]) / (2.0 * aij);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..p {
                    let (aki, akj) = (a[k * p + i], a[k * p + j]);
                    a[k * p + i] = c * aki - s * akj;
                    a[k * p + j] = s * aki + c * akj;
                }
                for k in 0..p {
                    let (aik, ajk) = (a[i * p + k], a[j * p + k]);
                    a[i * p + k] = c * aik - s * ajk;
                    a[j * p + k] = s * aik + c * ajk;
                }
                for k in 0..p {
                    let (vki, vkj) = (v[k * p + i], v[k * p + j]);
                    v[k * p + i] = c * vki - s * vkj;
                    v[k * p + j] = s * vki + c * vkj;
                }
            }
        }
    }
    ((0..p).map(|i| a[i * p + i]).collect(), v)
}

/// A symmetric positive semi-definite system `A x = b_o` for several right-hand sides:
/// Cholesky when `A` is positive definite, else the minimum-norm least squares solution
/// through the pseudo-inverse (what `numpy.linalg.lstsq` would give).
struct SpdSolver {
    p: usize,
    chol: Option<Vec<f64>>,
    eig: Option<(Vec<f64>, Vec<f64>)>,
}

impl SpdSolver {
    fn new(a: Vec<f64>, p: usize) -> Self {
        let mut l = a.clone();
        if cholesky(&mut l, p) {
            return SpdSolver {
                p,
                chol: Some(l),
                eig: None,
            };
        }
        SpdSolver {
            p,
            chol: None,
            eig: Some(jacobi_eigen(&a, p)),
        }
    }

    fn solve(&self, b: &mut [f64]) {
        let p = self.p;
        if let Some(l) = &self.chol {
            cholesky_solve(l, p, b);
            return;
        }
        let (lam, v) = self.eig.as_ref().expect("one factorization exists");
        let lmax = lam.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
        let tol = lmax * 1e-12 * p as f64;
        let mut coef = vec![0.0; p];
        for (k, c) in coef.iter_mut().enumerate() {
            if lam[k] > tol {
                let proj: f64 = (0..p).map(|i| v[i * p + k] * b[i]).sum();
                *c = proj / lam[k];
            }
        }
        for (i, bi) in b.iter_mut().enumerate() {
            *bi = (0..p).map(|k| v[i * p + k] * coef[k]).sum();
        }
    }
}

/// Constrained weighted least squares over the players `cols` (others get 0).
///
/// `y` is `n × k` row-major (adjusted coalition values), `totals[o]` the value the
/// solution of output `o` must sum to; for each `o` in `outputs`, writes φ of
/// player `cols[i]` into `phi[o * m + cols[i]]`.
pub fn wls(
    plan: &Plan,
    cols: &[usize],
    y: &[f64],
    k: usize,
    totals: &[f64],
    outputs: &[usize],
    phi: &mut [f64],
) {
    wls_with(plan, cols, y, k, totals, outputs, phi, true)
}

/// [`wls`], with the single-word fast accumulation allowed or not (tests compare them).
#[allow(clippy::too_many_arguments)]
fn wls_with(
    plan: &Plan,
    cols: &[usize],
    y: &[f64],
    k: usize,
    totals: &[f64],
    outputs: &[usize],
    phi: &mut [f64],
    fast: bool,
) {
    let m = plan.m;
    let n = plan.len();
    match cols.len() {
        0 => return,
        1 => {
            for &o in outputs {
                phi[o * m + cols[0]] = totals[o];
            }
            return;
        }
        _ => {}
    }
    let last = *cols.last().expect("non-empty");
    let rest = &cols[..cols.len() - 1];
    let p = rest.len();
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p * outputs.len()];
    let mut x = vec![0.0; p];
    let all_players = cols.len() == m && cols.iter().enumerate().all(|(i, &j)| i == j);
    if fast && plan.words == 1 && all_players {
        // one mask word, every player: the design row of coalition S is 1 on S (when
        // the last player is out of S) or −1 off S (when it is in), so each coalition
        // adds its weight to the pairs of one set T, and ±w·t to b on T
        let rest_bits = if p == 63 {
            u64::MAX >> 1
        } else {
            (1u64 << p) - 1
        };
        for c in 0..n {
            let w = plan.weights[c];
            if w == 0.0 {
                continue;
            }
            let s = plan.masks[c];
            let l_in = (s >> last) & 1 == 1;
            let t_set = if l_in { !s & rest_bits } else { s & rest_bits };
            if t_set == 0 {
                continue;
            }
            let mut ti = t_set;
            while ti != 0 {
                let i = ti.trailing_zeros() as usize;
                ti &= ti - 1;
                let row = &mut a[i * p..i * p + i + 1];
                let mut tj = t_set & ((2u64 << i) - 1); // j ≤ i
                while tj != 0 {
                    row[tj.trailing_zeros() as usize] += w;
                    tj &= tj - 1;
                }
            }
            for (q, &o) in outputs.iter().enumerate() {
                let (sign, zl) = if l_in { (-1.0, 1.0) } else { (1.0, 0.0) };
                let v = sign * w * (y[c * k + o] - zl * totals[o]);
                let bq = &mut b[q * p..(q + 1) * p];
                let mut ti = t_set;
                while ti != 0 {
                    bq[ti.trailing_zeros() as usize] += v;
                    ti &= ti - 1;
                }
            }
        }
    } else {
        wls_accumulate(
            plan, rest, last, y, k, totals, outputs, &mut a, &mut b, &mut x,
        );
    }
    for i in 0..p {
        for j in 0..i {
            a[j * p + i] = a[i * p + j];
        }
    }
    let solver = SpdSolver::new(a, p);
    for (q, &o) in outputs.iter().enumerate() {
        let bq = &mut b[q * p..(q + 1) * p];
        solver.solve(bq);
        let mut sum = 0.0;
        for (i, &j) in rest.iter().enumerate() {
            phi[o * m + j] = bq[i];
            sum += bq[i];
        }
        phi[o * m + last] = totals[o] - sum;
    }
}

/// The normal equations of [`wls`] for any players and mask width.
#[allow(clippy::too_many_arguments)]
fn wls_accumulate(
    plan: &Plan,
    rest: &[usize],
    last: usize,
    y: &[f64],
    k: usize,
    totals: &[f64],
    outputs: &[usize],
    a: &mut [f64],
    b: &mut [f64],
    x: &mut [f64],
) {
    let n = plan.len();
    let p = rest.len();
    for c in 0..n {
        let w = plan.weights[c];
        if w == 0.0 {
            continue;
        }
        let zl = plan.has(c, last) as u8 as f64;
        let mut any = false;
        for (i, &j) in rest.iter().enumerate() {
            x[i] = plan.has(c, j) as u8 as f64 - zl;
            any |= x[i] != 0.0;
        }
        if !any {
            continue;
        }
        for i in 0..p {
            let wi = w * x[i];
            if wi == 0.0 {
                continue;
            }
            let row = &mut a[i * p..i * p + i + 1];
            for (j, r) in row.iter_mut().enumerate() {
                *r += wi * x[j];
            }
        }
        for (q, &o) in outputs.iter().enumerate() {
            let t = y[c * k + o] - zl * totals[o];
            let bq = &mut b[q * p..(q + 1) * p];
            for i in 0..p {
                bq[i] += w * x[i] * t;
            }
        }
    }
}

/// Least angle regression (sklearn `lars_path(method="lar", max_iter=kmax)`) on shap's
/// augmented problem for L1 selection: returns the first `kmax` players to enter, sorted.
///
/// shap augments each coalition with its complement view so that the selection
/// respects the efficiency constraint: rows `√(w(m−s)) z` with target `√(w(m−s)) y` and
/// rows `√(w s) (z−1)` with target `√(w s) (y − t)`.
pub fn lar_select(
    plan: &Plan,
    y: &[f64],
    k: usize,
    o: usize,
    total: f64,
    kmax: usize,
) -> Vec<usize> {
    let m = plan.m;
    let n = plan.len();
    let mut g = vec![0.0; m * m];
    let mut c = vec![0.0; m];
    let mut z = vec![0.0; m];
    for cc in 0..n {
        let w = plan.weights[cc];
        let mut s = 0usize;
        for (j, zj) in z.iter_mut().enumerate() {
            *zj = plan.has(cc, j) as u8 as f64;
            s += *zj as usize;
        }
        let w1 = w * (m - s) as f64;
        let w2 = w * s as f64;
        let yc = y[cc * k + o];
        for i in 0..m {
            let (z1, z2) = (z[i], z[i] - 1.0);
            c[i] += w1 * z1 * yc + w2 * z2 * (yc - total);
            for j in 0..=i {
                g[i * m + j] += w1 * z1 * z[j] + w2 * z2 * (z[j] - 1.0);
            }
        }
    }
    for i in 0..m {
        for j in 0..i {
            g[j * m + i] = g[i * m + j];
        }
    }
    let kmax = kmax.min(m);
    let mut active: Vec<usize> = Vec::with_capacity(kmax);
    let mut in_active = vec![false; m];
    let tiny = 1e-14
        * c.iter()
            .fold(0.0f64, |a, &x| a.max(x.abs()))
            .max(f64::MIN_POSITIVE);
    // first variable: largest absolute correlation
    let first = (0..m)
        .max_by(|&a, &b| c[a].abs().total_cmp(&c[b].abs()))
        .expect("m > 0");
    if c[first].abs() <= tiny {
        return Vec::new();
    }
    active.push(first);
    in_active[first] = true;
    while active.len() < kmax {
        let cmax = c[active[0]].abs();
        let p = active.len();
        let sign: Vec<f64> = active.iter().map(|&j| c[j].signum()).collect();
        let mut ga: Vec<f64> = (0..p * p)
            .map(|q| g[active[q / p] * m + active[q % p]])
            .collect();
        if !cholesky(&mut ga, p) {
            break;
        }
        let mut wv = sign.clone();
        cholesky_solve(&ga, p, &mut wv);
        let ss: f64 = sign.iter().zip(&wv).map(|(s, w)| s * w).sum();
        if !(ss > 0.0) {
            break;
        }
        let aa = 1.0 / ss.sqrt();
        wv.iter_mut().for_each(|w| *w *= aa);
        let a: Vec<f64> = (0..m)
            .map(|i| active.iter().zip(&wv).map(|(&j, w)| g[i * m + j] * w).sum())
            .collect();
        let mut best: Option<(f64, usize)> = None;
        for j in 0..m {
            if in_active[j] {
                continue;
            }
            for gamma in [(cmax - c[j]) / (aa - a[j]), (cmax + c[j]) / (aa + a[j])] {
                if gamma.is_finite() && gamma > 1e-15 && best.is_none_or(|(b, _)| gamma < b) {
                    best = Some((gamma, j));
                }
            }
        }
        let Some((gamma, j)) = best else { break };
        for i in 0..m {
            c[i] -= gamma * a[i];
        }
        active.push(j);
        in_active[j] = true;
    }
    active.sort_unstable();
    active
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_and_pseudo_inverse_agree_on_spd() {
        let a = vec![4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0];
        let b = [1.0, 2.0, 3.0];
        let mut x1 = b;
        SpdSolver::new(a.clone(), 3).solve(&mut x1);
        let s = SpdSolver {
            p: 3,
            chol: None,
            eig: Some(jacobi_eigen(&a, 3)),
        };
        let mut x2 = b;
        s.solve(&mut x2);
        for i in 0..3 {
            let r: f64 = (0..3).map(|j| a[i * 3 + j] * x1[j]).sum();
            assert!((r - b[i]).abs() < 1e-12);
            assert!((x1[i] - x2[i]).abs() < 1e-10);
        }
    }

    #[test]
    fn fast_accumulation_equals_the_general_one() {
        use super::super::sampling;
        use crate::rng::Rng;
        let mut rng = Rng::new(4);
        for m in [2, 3, 7, 12, 40, 64] {
            for budget in [5, 60, 700] {
                let plan = sampling::plan(m, budget, &mut rng);
                let k = 2;
                let y: Vec<f64> = (0..plan.len() * k).map(|_| rng.next_f64() - 0.5).collect();
                let totals = [0.7, -1.3];
                let cols: Vec<usize> = (0..m).collect();
                let (mut fast, mut slow) = (vec![0.0; k * m], vec![0.0; k * m]);
                wls_with(&plan, &cols, &y, k, &totals, &[0, 1], &mut fast, true);
                wls_with(&plan, &cols, &y, k, &totals, &[0, 1], &mut slow, false);
                for (a, b) in fast.iter().zip(&slow) {
                    assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                        "m {m} budget {budget}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn singular_system_gets_min_norm_solution() {
        // rank-1: [1 1; 1 1] x = [2 2] -> min-norm x = [1 1]
        let s = SpdSolver::new(vec![1.0, 1.0, 1.0, 1.0], 2);
        let mut b = [2.0, 2.0];
        s.solve(&mut b);
        assert!(
            (b[0] - 1.0).abs() < 1e-10 && (b[1] - 1.0).abs() < 1e-10,
            "{b:?}"
        );
    }
}
