//! Gauss–Legendre quadrature on [0, 1].

/// Nodes `t` and weights `w` of the `n`-point Gauss–Legendre rule on [0, 1]:
/// `Σ w_q p(t_q) = ∫₀¹ p(t) dt` exactly for every polynomial of degree ≤ 2n-1.
/// Nodes are strictly inside (0, 1). Computed by Newton iteration on the Legendre
/// polynomial (to f64 precision), nodes in increasing order.
pub(crate) fn gauss_legendre01(n: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(n >= 1);
    let mut t = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..n {
        // initial guess for the i-th root of P_n on [-1, 1] (descending)
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (p, d) = legendre(n, x);
            dp = d;
            let dx = p / d;
            x -= dx;
            if dx.abs() <= 1e-16 * x.abs().max(1e-300) {
                break;
            }
        }
        let (_, d) = legendre(n, x);
        if d != 0.0 {
            dp = d;
        }
        // roots come in descending order: map x -> (1 - x) / 2 gives ascending nodes
        t[i] = 0.5 * (1.0 - x);
        w[i] = 1.0 / ((1.0 - x * x) * dp * dp); // (2 / ((1-x²) P'²)) / 2
    }
    (t, w)
}

/// `(P_n(x), P_n'(x))`.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let mut p0 = 1.0;
    let mut p1 = x;
    for k in 2..=n {
        let kf = k as f64;
        let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
        p0 = p1;
        p1 = p2;
    }
    if n == 0 {
        return (1.0, 0.0);
    }
    let d = n as f64 * (x * p1 - p0) / (x * x - 1.0);
    (p1, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_monomials_exactly() {
        for n in 1..=40 {
            let (t, w) = gauss_legendre01(n);
            for p in 0..2 * n {
                let s: f64 = t.iter().zip(&w).map(|(t, w)| w * t.powi(p as i32)).sum();
                let exact = 1.0 / (p as f64 + 1.0);
                assert!((s - exact).abs() < 1e-13, "n={n} p={p}: {s} vs {exact}");
            }
            assert!(t.iter().all(|&x| x > 0.0 && x < 1.0));
            assert!(t.windows(2).all(|p| p[0] < p[1]));
        }
    }
}
