//! Interventional SHAP values in probability space (`model_output: probability`), as
//! shap's `TreeExplainer(model, data=background, model_output="probability")` computes them.
//!
//! For one explained row `x` and one background row `z`, the single-reference game
//! `v_z(S) = f(x_S, z_notS)` on the raw margin `f` has Shapley values `φ(x, z)` that add up
//! to `f(x) − f(z)` (the leaf game of [`super::interventional_bitset`]: for a leaf of value
//! `v` that `x` reaches with the features `X` and `z` with `Zs`, `a = |X|`, `b = |Zs|`,
//! each feature of `X` receives `v (a−1)! b! / (a+b)!` and each of `Zs` `−v a! (b−1)! / (a+b)!`).
//! In probability space each pair's values are rescaled by the slope of the link between
//! the two margins,
//!
//! `c(x, z) = (σ(f(x)) − σ(f(z))) / (f(x) − f(z))` (`σ'(f(x))` when the margins are equal),
//!
//! and averaged over the background: `φ_prob(x) = mean_z c(x, z) φ(x, z)`. The values then add
//! up to `σ(f(x)) − mean_z σ(f(z))`, and the base value is `mean_z σ(f(z))`. Rescaling per
//! reference is what makes the values additive in probability space; it is *not* the
//! Shapley value of the game `mean_z σ(f(x_S, z_notS))` (neither is shap's).
//!
//! Where equal margins meet, shap multiplies by 1 (the raw slope); here the limit of `c`,
//! `σ'(f(x))`, keeps every value in probability units. The two differ only for pairs whose
//! margins are exactly equal, whose values then sum to zero.
//!
//! Which models have a probability space is decided by [`probability_link`]: logistic links
//! (XGBoost `binary:logistic`/`reg:logistic`, LightGBM `binary`/`cross_entropy`/one-vs-rest,
//! scikit-learn binary gradient boosting with log loss) map each output through `σ`;
//! scikit-learn's exponential-loss classifier through `σ(2·margin)`; models already in
//! probability (scikit-learn forest and tree classifiers) or identity-link regressors are
//! explained as raw. Softmax (multiclass) and log links, and classifier margins without a
//! probability (`binary:hinge`, `cross_entropy_lambda`), are refused with the objective named.
//!
//! The walk is one per (row, background row) pair and tree, branching where the two rows
//! disagree (`O(rows × background rows × nodes)`): each pair needs its own scale, so the
//! background cannot be pooled per leaf as the raw explainers do. Background sizes are bounded
//! by [`crate::limits::MAX_PROBABILITY_BACKGROUND`].

use super::{block_rows, fill_base, for_row_blocks, DisjointOut, ShapValues};
use crate::ensemble::Link;
use crate::{Ensemble, Error, Matrix, Result, RunControl, Tree};

/// How `model_output: probability` maps a model's raw output to the explained output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ProbabilityLink {
    /// Probability = `1 / (1 + exp(−scale · margin))`, per output.
    Logistic {
        /// Factor on the margin (1 for log loss, 2 for scikit-learn's exponential loss).
        scale: f64,
    },
    /// The raw output is explained as is: it is already a probability (forest classifiers)
    /// or the model is an identity-link regressor (no other output space exists).
    Raw,
}

impl ProbabilityLink {
    /// One line saying which space the values are in, for logs.
    pub fn describe(&self, model: &Ensemble) -> String {
        match *self {
            ProbabilityLink::Logistic { scale } if scale == 1.0 => format!(
                "probability: σ(margin) of the logistic link of objective `{}`",
                model.objective
            ),
            ProbabilityLink::Logistic { scale } => format!(
                "probability: σ({scale}·margin) of objective `{}`",
                model.objective
            ),
            ProbabilityLink::Raw if is_probability_forest(model) => format!(
                "probability: objective `{}` already outputs class probabilities, so the values equal the raw ones",
                model.objective
            ),
            ProbabilityLink::Raw => format!(
                "raw output: objective `{}` has an identity link (no probability), so the values equal the raw ones",
                model.objective
            ),
        }
    }
}

/// A scikit-learn forest or tree classifier: its outputs are class probabilities.
fn is_probability_forest(model: &Ensemble) -> bool {
    let o = &model.objective;
    model.link == Link::Identity
        && o.starts_with("sklearn:")
        && o.ends_with("Classifier")
        && !o.contains("GradientBoosting")
}

/// The probability space of `model`, or [`Error::Input`] naming its objective when it has
/// none that shap's per-reference rescaling supports (softmax, log links, classifier margins
/// without a probability).
pub fn probability_link(model: &Ensemble) -> Result<ProbabilityLink> {
    let o = model.objective.as_str();
    let refuse = |why: String| {
        Err(Error::Input(format!(
            "model_output probability is not available for objective `{o}`: {why}; use model_output raw"
        )))
    };
    match model.link {
        Link::Logit => Ok(ProbabilityLink::Logistic { scale: 1.0 }),
        Link::Softmax => refuse(format!(
            "its {} class probabilities are a softmax over every output's margin, which no per-output rescaling \
             makes additive (shap.TreeExplainer refuses it too)",
            model.num_outputs
        )),
        Link::Log => refuse("its log link gives exp(margin), a mean or rate, not a probability".into()),
        Link::Identity => {
            if o == "sklearn:GradientBoostingClassifier" && model.num_outputs == 1 {
                // exponential loss: predict_proba = expit(2 · decision_function)
                Ok(ProbabilityLink::Logistic { scale: 2.0 })
            } else if matches!(o, "binary:hinge" | "cross_entropy_lambda" | "xentlambda") {
                refuse("its prediction is not a logistic function of the margin".into())
            } else {
                Ok(ProbabilityLink::Raw)
            }
        }
    }
}

/// `1 / (1 + exp(−t))` without overflow.
#[inline]
fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// Slope of `σ(s·m)` between margins `fx` and `fz` (its derivative at `fx` when equal).
#[inline]
fn slope(scale: f64, fx: f64, fz: f64) -> f64 {
    let (px, pz) = (sigmoid(scale * fx), sigmoid(scale * fz));
    if fx == fz {
        scale * px * (1.0 - px)
    } else {
        (px - pz) / (fx - fz)
    }
}

/// Shapley weights of the leaf game, `(a−1)! b! / (a+b)!` and `a! (b−1)! / (a+b)!`: a table
/// for the sizes of real trees, computed on the fly beyond it.
struct LeafWeights {
    stride: usize,
    pos: Vec<f64>,
    neg: Vec<f64>,
}

/// Largest `a + b` the table covers (a 257 × 257 table, half a megabyte each).
const TABLE_MAX: usize = 256;

impl LeafWeights {
    fn new(max_size: usize) -> Self {
        let stride = max_size.min(TABLE_MAX) + 1;
        let mut pos = vec![0.0; stride * stride];
        let mut neg = vec![0.0; stride * stride];
        for a in 0..stride {
            for b in 0..stride {
                pos[a * stride + b] = Self::compute(a, b);
                neg[a * stride + b] = Self::compute(b, a);
            }
        }
        LeafWeights { stride, pos, neg }
    }
    /// `(a−1)! b! / (a+b)! = 1 / (a C(a+b, a))`, 0 when `a == 0`.
    fn compute(a: usize, b: usize) -> f64 {
        if a == 0 {
            return 0.0;
        }
        let n = a + b;
        let k = a.min(b);
        let mut c = 1.0f64;
        for i in 0..k {
            c = c * (n - i) as f64 / (i + 1) as f64;
        }
        1.0 / (a as f64 * c)
    }
    #[inline]
    fn pos(&self, a: usize, b: usize) -> f64 {
        if a < self.stride && b < self.stride {
            self.pos[a * self.stride + b]
        } else {
            Self::compute(a, b)
        }
    }
    #[inline]
    fn neg(&self, a: usize, b: usize) -> f64 {
        if a < self.stride && b < self.stride {
            self.neg[a * self.stride + b]
        } else {
            Self::compute(b, a)
        }
    }
}

/// The single-reference game of one tree for the pair `(x, z)`, from `node` with `a`/`b`
/// features already taken from `x`/`z` (`marks[g]` is 1 / −1 for them). Adds each feature's
/// value to `phi` where it was marked; returns the sums over the subtree's leaf states of
/// `v·w₊(a, b)` and `v·w₋(a, b)`.
#[allow(clippy::too_many_arguments)]
fn pair_walk(
    t: &Tree,
    node: usize,
    x: &[f64],
    z: &[f64],
    a: usize,
    b: usize,
    marks: &mut [i8],
    w: &LeafWeights,
    phi: &mut [f64],
) -> (f64, f64) {
    let n = &t.nodes[node];
    if n.is_leaf() {
        if a + b == 0 {
            return (0.0, 0.0); // reached by x and z alike: no attribution
        }
        return (n.value * w.pos(a, b), n.value * w.neg(a, b));
    }
    let g = n.feature as usize;
    let child = |left: bool| {
        if left {
            n.left as usize
        } else {
            n.right as usize
        }
    };
    let xl = t.goes_left(n, x[g]);
    match marks[g] {
        1 => return pair_walk(t, child(xl), x, z, a, b, marks, w, phi),
        -1 => {
            let zl = t.goes_left(n, z[g]);
            return pair_walk(t, child(zl), x, z, a, b, marks, w, phi);
        }
        _ => {}
    }
    let zl = t.goes_left(n, z[g]);
    if xl == zl {
        return pair_walk(t, child(xl), x, z, a, b, marks, w, phi);
    }
    marks[g] = 1;
    let tx = pair_walk(t, child(xl), x, z, a + 1, b, marks, w, phi);
    phi[g] += tx.0;
    marks[g] = -1;
    let tz = pair_walk(t, child(zl), x, z, a, b + 1, marks, w, phi);
    phi[g] -= tz.1;
    marks[g] = 0;
    (tx.0 + tz.0, tx.1 + tz.1)
}

/// Per-thread buffers.
struct Scratch {
    x: Vec<f64>,
    marks: Vec<i8>,
    /// One pair's values, `[output * m + feature]`.
    pair: Vec<f64>,
    /// The row's rescaled sum over the background, same layout.
    acc: Vec<f64>,
}

/// Interventional SHAP values of the model's probability output against `background` (see the
/// module documentation). Column-major [`ShapValues`] with the base value
/// `mean_z σ(f(z))` per output last; for [`ProbabilityLink::Raw`] models, the raw values of
/// [`super::interventional`].
///
/// Multi-threaded over rows inside `ctl`'s pool, cancellable between rows, progress in rows.
/// Errors: [`Error::Input`] when `x` or `background` do not fit the model, the background is
/// empty or larger than [`crate::limits::MAX_PROBABILITY_BACKGROUND`], or the model has no
/// probability space ([`probability_link`]); [`Error::Cancelled`].
pub fn interventional_probability(
    model: &Ensemble,
    x: &Matrix,
    background: &Matrix,
    ctl: &RunControl,
) -> Result<ShapValues> {
    let link = probability_link(model)?;
    model.check_input(x)?;
    model.check_input(background)?;
    let nb = background.rows();
    if nb == 0 {
        return Err(Error::Input("background has no rows".into()));
    }
    let scale = match link {
        ProbabilityLink::Raw => return super::interventional(model, x, background, ctl),
        ProbabilityLink::Logistic { scale } => scale,
    };
    crate::limits::check_probability_background(nb)?;
    let (rows, m, k) = (x.rows(), model.num_features, model.num_outputs);
    let quiet = RunControl {
        progress: None,
        ..*ctl
    }; // progress counts explained rows only
    let fz = model.predict_raw(background, &quiet)?;
    let fx = model.predict_raw(x, &quiet)?;
    let mut bg = crate::limits::zeroed("the background rows", &[nb, m])?;
    background.gather_rows(0, &mut bg);

    let mut base = vec![0.0; k];
    for r in 0..nb {
        for kk in 0..k {
            base[kk] += sigmoid(scale * fz[r * k + kk]);
        }
    }
    base.iter_mut().for_each(|b| *b /= nb as f64);

    let weights = LeafWeights::new(model.max_depth().min(m));
    let mut values = crate::limits::zeroed("the SHAP values", &[m + 1, rows, k])?;
    fill_base(&mut values, rows, m, &base);
    let out = DisjointOut::new(&mut values);
    let (bg, fz, fx, weights) = (&bg, &fz, &fx, &weights);
    let block = block_rows(rows, ctl, 1, 16);
    for_row_blocks(
        rows,
        block,
        ctl,
        || Scratch {
            x: vec![0.0; m],
            marks: vec![0; m],
            pair: vec![0.0; k * m],
            acc: vec![0.0; k * m],
        },
        |s, start, n| {
            for r in start..start + n {
                if ctl.is_cancelled() {
                    return; // the caller reports the cancellation
                }
                x.gather_rows(r, &mut s.x);
                s.acc.iter_mut().for_each(|v| *v = 0.0);
                for zi in 0..nb {
                    let z = &bg[zi * m..(zi + 1) * m];
                    s.pair.iter_mut().for_each(|v| *v = 0.0);
                    for (t, &o) in model.trees.iter().zip(&model.tree_output) {
                        let o = o as usize;
                        let phi = &mut s.pair[o * m..(o + 1) * m];
                        pair_walk(t, 0, &s.x, z, 0, 0, &mut s.marks, weights, phi);
                    }
                    for kk in 0..k {
                        let c = slope(scale, fx[r * k + kk], fz[zi * k + kk]);
                        let (acc, pair) = (
                            &mut s.acc[kk * m..(kk + 1) * m],
                            &s.pair[kk * m..(kk + 1) * m],
                        );
                        for (a, p) in acc.iter_mut().zip(pair) {
                            *a += c * p;
                        }
                    }
                }
                for kk in 0..k {
                    for j in 0..m {
                        // SAFETY: row r belongs to this block only; index < (m+1)·rows·k.
                        unsafe {
                            out.write(j * rows * k + r * k + kk, s.acc[kk * m + j] / nb as f64)
                        }
                    }
                }
            }
        },
    )?;
    if ctl.is_cancelled() {
        return Err(Error::Cancelled);
    }
    Ok(ShapValues {
        rows,
        outputs: k,
        features: m,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_stable_and_slope_continuous() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-800.0) >= 0.0 && sigmoid(800.0) <= 1.0);
        let d = slope(1.0, 0.3, 0.3);
        let near = slope(1.0, 0.3, 0.3 + 1e-7);
        assert!((d - near).abs() < 1e-7, "{d} vs {near}");
        assert!((slope(2.0, 0.1, 0.1) - slope(2.0, 0.1, 0.1 + 1e-7)).abs() < 1e-6);
    }

    #[test]
    fn leaf_weights_match_factorials_inside_and_beyond_the_table() {
        let fact = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
        let w = LeafWeights::new(8);
        for a in 0..8 {
            for b in 0..8 {
                let p = if a == 0 {
                    0.0
                } else {
                    fact(a - 1) * fact(b) / fact(a + b)
                };
                let q = if b == 0 {
                    0.0
                } else {
                    fact(a) * fact(b - 1) / fact(a + b)
                };
                assert!((w.pos(a, b) - p).abs() <= 1e-15 * p.max(1.0), "{a},{b}");
                assert!((w.neg(a, b) - q).abs() <= 1e-15 * q.max(1.0), "{a},{b}");
            }
        }
        // beyond the table: same closed form
        assert_eq!(w.pos(300, 2), LeafWeights::compute(300, 2));
    }
}
