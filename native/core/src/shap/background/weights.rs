//! Values and interaction indices of the one game every (leaf, x, z) triple plays.
//!
//! For a leaf, a sample `x` and a background row `z`, let `A` be the path features `x`
//! satisfies and `z` fails, `B` those `z` satisfies and `x` fails (`a = |A|`, `b = |B|`,
//! `n = a + b`); when some feature is failed by both, the hybrid never reaches the leaf.
//! The hybrid `(x_S, z_notS)` reaches the leaf iff `A ⊆ S` and `S ∩ B = ∅`: a unanimity
//! game on `A` times an "anti-unanimity" game on `B`. Other features are dummies, so each
//! index is that of the reduced game on `A ∪ B`:
//!
//! | index | `i ∈ A` | `i ∈ B` |
//! |---|---|---|
//! | Shapley value | `(a-1)! b! / n!` | `-a! (b-1)! / n!` |
//! | Banzhaf value | `1 / 2^(n-1)` | `-1 / 2^(n-1)` |
//!
//! and for a pair `i ≠ j` the interaction index (`Σ_S w(S) Δ_ij v(S)`, where only one `S`
//! has a non-zero second difference, `+1` for two features of `A` or two of `B`, `-1` for
//! one of each):
//!
//! | index | `i, j ∈ A` | `i, j ∈ B` | `i ∈ A, j ∈ B` |
//! |---|---|---|---|
//! | Shapley interaction | `(a-2)! b! / (n-1)!` | `a! (b-2)! / (n-1)!` | `-(a-1)! (b-1)! / (n-1)!` |
//! | Banzhaf interaction | `1 / 2^(n-2)` | `1 / 2^(n-2)` | `-1 / 2^(n-2)` |
//!
//! The interaction tables hold half the index off the diagonal (shap's and XGBoost's
//! convention), so that each row of a matrix sums to the value once the diagonal is set
//! to `value_i - Σ_{j≠i} φ_ij`.

/// Which attribution the background explainer computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Values {
    /// Shapley values (interventional SHAP); with the base value they add up to the prediction.
    #[default]
    Shapley,
    /// Banzhaf values: every coalition weighs the same (`1/2^(M-1)`); they do not add up
    /// to the prediction minus the base value in general.
    Banzhaf,
}

/// The indices of the leaf game for every `(a, b)` with `a, b ≤ max` (path features).
pub(crate) struct Weights {
    stride: usize,
    /// Value of a feature of `A`, `[a * stride + b]`.
    pub(crate) pos: Vec<f64>,
    /// Value of a feature of `B` (positive; subtracted), `[a * stride + b]`.
    pub(crate) neg: Vec<f64>,
    /// Half the interaction index of two features of `A`.
    pub(crate) aa: Vec<f64>,
    /// Half the interaction index of two features of `B`.
    pub(crate) bb: Vec<f64>,
    /// Half the interaction index of one feature of `A` and one of `B` (negative).
    pub(crate) ab: Vec<f64>,
}

/// `C(n, k)` as f64 (exact below 2^53, correctly rounded products beyond).
fn binom(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    let mut c = 1.0f64;
    for i in 0..k {
        c = c * (n - i) as f64 / (i + 1) as f64;
    }
    c
}

impl Weights {
    /// The tables for leaves with at most `max` distinct path features.
    pub(crate) fn new(values: Values, max: usize) -> Weights {
        let stride = max + 1;
        let mut w = Weights {
            stride,
            pos: vec![0.0; stride * stride],
            neg: vec![0.0; stride * stride],
            aa: vec![0.0; stride * stride],
            bb: vec![0.0; stride * stride],
            ab: vec![0.0; stride * stride],
        };
        for a in 0..stride {
            for b in 0..stride {
                let n = a + b;
                let i = a * stride + b;
                match values {
                    Values::Shapley => {
                        if a >= 1 {
                            // (a-1)! b! / n! = 1 / (a C(n, a))
                            w.pos[i] = 1.0 / (a as f64 * binom(n, a));
                        }
                        if b >= 1 {
                            w.neg[i] = 1.0 / (b as f64 * binom(n, b));
                        }
                        if n >= 2 {
                            // (a-2)! b! / (n-1)! = 1 / ((n-1) C(n-2, b)), and so on
                            let h = 0.5 / (n - 1) as f64;
                            if a >= 2 {
                                w.aa[i] = h / binom(n - 2, b);
                            }
                            if b >= 2 {
                                w.bb[i] = h / binom(n - 2, a);
                            }
                            if a >= 1 && b >= 1 {
                                w.ab[i] = -h / binom(n - 2, a - 1);
                            }
                        }
                    }
                    Values::Banzhaf => {
                        let p = if n >= 1 {
                            0.5f64.powi(n as i32 - 1)
                        } else {
                            0.0
                        };
                        if a >= 1 {
                            w.pos[i] = p;
                        }
                        if b >= 1 {
                            w.neg[i] = p;
                        }
                        if n >= 2 {
                            // half of 1 / 2^(n-2)
                            let h = 0.5f64.powi(n as i32 - 1);
                            if a >= 2 {
                                w.aa[i] = h;
                            }
                            if b >= 2 {
                                w.bb[i] = h;
                            }
                            if a >= 1 && b >= 1 {
                                w.ab[i] = -h;
                            }
                        }
                    }
                }
            }
        }
        w
    }

    /// Index of `(a, b)` into the tables.
    #[inline(always)]
    pub(crate) fn at(&self, a: usize, b: usize) -> usize {
        a * self.stride + b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed forms equal the factorial definitions for small sizes.
    #[test]
    fn shapley_weights_match_factorials() {
        let f = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
        let w = Weights::new(Values::Shapley, 8);
        for a in 0..=8usize {
            for b in 0..=8usize {
                let n = a + b;
                let i = w.at(a, b);
                if a >= 1 {
                    let e = f(a - 1) * f(b) / f(n);
                    assert!((w.pos[i] - e).abs() <= 1e-15 * e);
                }
                if b >= 1 {
                    let e = f(a) * f(b - 1) / f(n);
                    assert!((w.neg[i] - e).abs() <= 1e-15 * e);
                }
                if a >= 2 {
                    let e = f(a - 2) * f(b) / f(n - 1) / 2.0;
                    assert!((w.aa[i] - e).abs() <= 1e-15 * e);
                }
                if b >= 2 {
                    let e = f(a) * f(b - 2) / f(n - 1) / 2.0;
                    assert!((w.bb[i] - e).abs() <= 1e-15 * e);
                }
                if a >= 1 && b >= 1 {
                    let e = -f(a - 1) * f(b - 1) / f(n - 1) / 2.0;
                    assert!((w.ab[i] - e).abs() <= 1e-15 * e.abs());
                }
            }
        }
    }
}
