//! Background sets for KernelSHAP: owned row-major rows with weights, and the two
//! summaries that keep them small (the cost of KernelSHAP grows linearly with them).
//!
//! * [`kmeans`]: weighted k-means (k-means++ seeding from a fixed seed, Lloyd
//!   iterations), each centre snapped per feature to the nearest value that feature
//!   takes in the data (as shap's `kmeans(..., round_values=True)` does, so that
//!   integer and categorical features keep valid values), weighted by the total
//!   weight (row count) of its cluster.
//! * [`sample`]: a seeded sample of rows without replacement, keeping their weights.
//!
//! Missing values (NaN) are ignored by the k-means distances and means; a centre
//! whose cluster has only NaN in a feature keeps NaN there.

use crate::rng::Rng;
use crate::{Error, Matrix, Result};

/// Background rows beyond which shap warns that KernelSHAP will be slow.
pub const LARGE_BACKGROUND_ROWS: usize = 300;

/// How to summarize the background before explaining.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackgroundSummary {
    /// Use every background row as given.
    #[default]
    None,
    /// Weighted k-means with this many clusters.
    KMeans(usize),
    /// A seeded sample of this many rows.
    Sample(usize),
}

/// A background set: row-major rows and one weight per row (not normalized).
#[derive(Clone, Debug, PartialEq)]
pub struct Background {
    /// Number of features.
    pub cols: usize,
    /// Row-major values, `rows() × cols`.
    pub data: Vec<f64>,
    /// Weight of each row (≥ 0, positive sum).
    pub weights: Vec<f64>,
}

impl Background {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.weights.len()
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Copies `data` (with optional weights, default 1 each), checking that it is usable.
    pub fn from_matrix(data: &Matrix, weights: Option<&[f64]>) -> Result<Self> {
        let rows = data.rows();
        if rows == 0 {
            return Err(Error::Input(
                "the background is empty: KernelSHAP needs at least one background row".into(),
            ));
        }
        let weights = match weights {
            None => vec![1.0; rows],
            Some(w) => {
                if w.len() != rows {
                    return Err(Error::Input(format!(
                        "background weights: {} weights for {rows} background rows",
                        w.len()
                    )));
                }
                if let Some(i) = w.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
                    return Err(Error::Input(format!(
                        "background weights: weight {i} is {}, weights must be finite and non-negative",
                        w[i]
                    )));
                }
                if !(w.iter().sum::<f64>() > 0.0) {
                    return Err(Error::Input("background weights sum to zero".into()));
                }
                w.to_vec()
            }
        };
        let mut buf = vec![0.0; rows * data.cols()];
        data.gather_rows(0, &mut buf);
        Ok(Background {
            cols: data.cols(),
            data: buf,
            weights,
        })
    }
}

/// The warning KernelSHAP returns for a large background (`None` when small enough).
pub fn background_warning(rows: usize) -> Option<String> {
    (rows > LARGE_BACKGROUND_ROWS).then(|| {
        format!(
            "the KernelSHAP background has {rows} rows (more than {LARGE_BACKGROUND_ROWS}): \
             every explained row costs nsamples × {rows} model evaluations; \
             summarize it with kmeans(k) or sample(n) for speed"
        )
    })
}

/// Applies `how` to `data`.
pub fn summarize(
    data: &Matrix,
    weights: Option<&[f64]>,
    how: BackgroundSummary,
    seed: u64,
) -> Result<Background> {
    let bg = Background::from_matrix(data, weights)?;
    match how {
        BackgroundSummary::None => Ok(bg),
        BackgroundSummary::KMeans(k) => kmeans(&bg, k, seed),
        BackgroundSummary::Sample(n) => sample(&bg, n, seed),
    }
}

/// A seeded sample of `n` rows without replacement (all rows when `n ≥ rows`), in data order.
pub fn sample(bg: &Background, n: usize, seed: u64) -> Result<Background> {
    if n == 0 {
        return Err(Error::Input(
            "background summary sample(n) needs n ≥ 1".into(),
        ));
    }
    let rows = bg.rows();
    if n >= rows {
        return Ok(bg.clone());
    }
    let mut rng = Rng::new(seed);
    let mut idx: Vec<usize> = (0..rows).collect();
    for i in 0..n {
        let j = i + rng.below(rows - i);
        idx.swap(i, j);
    }
    let mut pick = idx[..n].to_vec();
    pick.sort_unstable();
    let mut out = Background {
        cols: bg.cols,
        data: Vec::with_capacity(n * bg.cols),
        weights: Vec::with_capacity(n),
    };
    for i in pick {
        out.data.extend_from_slice(bg.row(i));
        out.weights.push(bg.weights[i]);
    }
    if !(out.weights.iter().sum::<f64>() > 0.0) {
        // every sampled row had weight 0: fall back to equal weights
        out.weights.iter_mut().for_each(|w| *w = 1.0);
    }
    Ok(out)
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    let mut d = 0.0;
    for (x, y) in a.iter().zip(b) {
        let t = x - y;
        if !t.is_nan() {
            d += t * t;
        }
    }
    d
}

/// Weighted k-means summary with `k` centres (see the module docs).
pub fn kmeans(bg: &Background, k: usize, seed: u64) -> Result<Background> {
    if k == 0 {
        return Err(Error::Input(
            "background summary kmeans(k) needs k ≥ 1".into(),
        ));
    }
    let (rows, cols) = (bg.rows(), bg.cols);
    if k >= rows {
        return Ok(bg.clone());
    }
    let w = &bg.weights;
    let mut rng = Rng::new(seed);
    // k-means++ seeding, weighted by row weight × squared distance
    let mut centres: Vec<f64> = Vec::with_capacity(k * cols);
    let total_w: f64 = w.iter().sum();
    let pick = |rng: &mut Rng, p: &[f64], total: f64| -> usize {
        let mut u = rng.next_f64() * total;
        for (i, &pi) in p.iter().enumerate() {
            if u < pi {
                return i;
            }
            u -= pi;
        }
        p.iter().rposition(|&x| x > 0.0).unwrap_or(0)
    };
    let first = pick(&mut rng, w, total_w);
    centres.extend_from_slice(bg.row(first));
    let mut d2: Vec<f64> = (0..rows)
        .map(|i| dist2(bg.row(i), &centres[0..cols]))
        .collect();
    while centres.len() < k * cols {
        let p: Vec<f64> = d2.iter().zip(w).map(|(d, w)| d * w).collect();
        let total: f64 = p.iter().sum();
        if !(total > 0.0) {
            break; // fewer distinct rows than k
        }
        let i = pick(&mut rng, &p, total);
        let c0 = centres.len();
        centres.extend_from_slice(bg.row(i));
        for (r, d) in d2.iter_mut().enumerate() {
            *d = d.min(dist2(bg.row(r), &centres[c0..c0 + cols]));
        }
    }
    let kk = centres.len() / cols;
    // Lloyd iterations
    let mut assign = vec![usize::MAX; rows];
    for _ in 0..300 {
        let mut changed = false;
        for r in 0..rows {
            let row = bg.row(r);
            let mut best = (f64::INFINITY, 0usize);
            for c in 0..kk {
                let d = dist2(row, &centres[c * cols..(c + 1) * cols]);
                if d < best.0 {
                    best = (d, c);
                }
            }
            if assign[r] != best.1 {
                assign[r] = best.1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sum = vec![0.0; kk * cols];
        let mut cnt = vec![0.0; kk * cols];
        for r in 0..rows {
            let c = assign[r];
            for (j, &x) in bg.row(r).iter().enumerate() {
                if !x.is_nan() {
                    sum[c * cols + j] += w[r] * x;
                    cnt[c * cols + j] += w[r];
                }
            }
        }
        let mut cluster_w = vec![0.0; kk];
        for r in 0..rows {
            cluster_w[assign[r]] += w[r];
        }
        for c in 0..kk {
            if !(cluster_w[c] > 0.0) {
                continue; // empty cluster: keep its centre
            }
            for q in c * cols..(c + 1) * cols {
                centres[q] = if cnt[q] > 0.0 {
                    sum[q] / cnt[q]
                } else {
                    f64::NAN
                };
            }
        }
    }
    // weights = total weight of each cluster; empty clusters dropped
    let mut cw = vec![0.0; kk];
    for r in 0..rows {
        cw[assign[r]] += w[r];
    }
    // snap each centre to the nearest value its feature takes in the data
    let sorted: Vec<Vec<f64>> = (0..cols)
        .map(|j| {
            let mut v: Vec<f64> = (0..rows)
                .map(|r| bg.data[r * cols + j])
                .filter(|x| !x.is_nan())
                .collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        })
        .collect();
    let mut out = Background {
        cols,
        data: Vec::with_capacity(kk * cols),
        weights: Vec::with_capacity(kk),
    };
    for c in 0..kk {
        if !(cw[c] > 0.0) {
            continue;
        }
        for (j, vals) in sorted.iter().enumerate() {
            let x = centres[c * cols + j];
            out.data.push(nearest(vals, x));
        }
        out.weights.push(cw[c]);
    }
    Ok(out)
}

fn nearest(sorted: &[f64], x: f64) -> f64 {
    if x.is_nan() || sorted.is_empty() {
        return x;
    }
    let i = sorted.partition_point(|&v| v < x);
    match (i.checked_sub(1).map(|i| sorted[i]), sorted.get(i)) {
        (Some(a), Some(&b)) => {
            if x - a <= b - x {
                a
            } else {
                b
            }
        }
        (Some(a), None) => a,
        (None, Some(&b)) => b,
        (None, None) => x,
    }
}
