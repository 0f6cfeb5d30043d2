//! Coalition plans: which feature subsets KernelSHAP evaluates, and their kernel weights.
//!
//! This follows shap's `KernelExplainer.explain` step for step:
//!
//! 1. The Shapley kernel gives subset size `s` (1 ≤ s ≤ m−1) the total weight
//!    `(m−1) / (s (m−s))`; sizes `s` and `m−s` are handled as one pair.
//! 2. Whole subset sizes are enumerated, smallest pair first, while the
//!    remaining budget covers every subset of the size (and its complement)
//!    at least once in expectation.
//! 3. The rest of the budget is sampled: a size is drawn from the remaining
//!    kernel weights, then a uniform subset of that size, plus its complement
//!    for paired sizes. A subset drawn again adds 1 to its weight (and to its
//!    complement's) instead of a new row: duplicates are merged into weights.
//! 4. Sampled weights are rescaled to the kernel weight the unenumerated sizes hold.
//!
//! When the budget covers the whole space (`nsamples ≥ 2^m − 2`) every proper,
//! non-empty subset is enumerated with its exact Shapley kernel weight, and the
//! weighted least squares solution is the exact Shapley value.

use super::rng::Rng;
use std::collections::HashMap;

/// The coalitions one row is explained with, over its `m` varying features.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Number of players (varying features).
    pub m: usize,
    /// `u64` words per mask.
    pub words: usize,
    /// Masks, `len() × words` words; bit `k` set = player `k` takes the explained row's value.
    pub masks: Vec<u64>,
    /// Kernel weight of each mask.
    pub weights: Vec<f64>,
    /// True when every proper, non-empty subset was enumerated (the result is exact).
    pub exact: bool,
}

impl Plan {
    /// Number of coalitions.
    #[inline]
    pub fn len(&self) -> usize {
        self.weights.len()
    }
    /// True when the plan has no coalition.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }
    /// The mask of coalition `c`.
    #[inline]
    pub fn mask(&self, c: usize) -> &[u64] {
        &self.masks[c * self.words..(c + 1) * self.words]
    }
    /// True when player `k` is in coalition `c`.
    #[inline(always)]
    pub fn has(&self, c: usize, k: usize) -> bool {
        (self.masks[c * self.words + k / 64] >> (k % 64)) & 1 == 1
    }

    fn push(&mut self, mask: &[u64], w: f64) {
        self.masks.extend_from_slice(mask);
        self.weights.push(w);
    }
}

/// Number of coalitions that a full enumeration of `m` players needs (`2^m − 2`),
/// saturating at `usize::MAX`.
pub fn full_space(m: usize) -> usize {
    if m >= usize::BITS as usize - 1 {
        usize::MAX
    } else {
        (1usize << m) - 2
    }
}

/// Binomial coefficient as f64 (exact up to 2^53).
pub fn binom(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    let mut r = 1.0f64;
    for i in 0..k {
        r = r * (n - i) as f64 / (i + 1) as f64;
    }
    r.round()
}

fn complement(mask: &[u64], m: usize, out: &mut [u64]) {
    for (w, (o, &x)) in out.iter_mut().zip(mask).enumerate() {
        let bits = if (w + 1) * 64 <= m {
            u64::MAX
        } else {
            (1u64 << (m - w * 64)) - 1
        };
        *o = !x & bits;
    }
}

/// Builds the plan of one row with `m ≥ 2` players and a budget of `nsamples` coalitions.
pub fn plan(m: usize, nsamples: usize, rng: &mut Rng) -> Plan {
    assert!(m >= 2, "a coalition plan needs at least two players");
    let words = m.div_ceil(64);
    let space = full_space(m);
    let exact = nsamples >= space;
    let nsamples = nsamples.min(space);
    let mut p = Plan {
        m,
        words,
        masks: Vec::with_capacity(nsamples * words),
        weights: Vec::with_capacity(nsamples),
        exact,
    };

    // sizes 1..=ceil((m-1)/2); the first floor((m-1)/2) of them come with their complement
    let num_subset_sizes = m / 2;
    let num_paired = (m - 1) / 2;
    // total kernel weight of each size pair, normalized to sum to 1
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|s| (m - 1) as f64 / (s * (m - s)) as f64)
        .collect();
    for w in weight_vector.iter_mut().take(num_paired) {
        *w *= 2.0;
    }
    let total: f64 = weight_vector.iter().sum();
    weight_vector.iter_mut().for_each(|w| *w /= total);

    // 1. enumerate whole sizes while the budget allows
    let mut num_full = 0usize;
    let mut left = nsamples as f64;
    let mut remaining = weight_vector.clone();
    let mut mask = vec![0u64; words];
    let mut comp = vec![0u64; words];
    for s in 1..=num_subset_sizes {
        let paired = s <= num_paired;
        let mut nsubsets = binom(m, s);
        if paired {
            nsubsets *= 2.0;
        }
        if !(exact || left * remaining[s - 1] / nsubsets >= 1.0 - 1e-8) {
            break;
        }
        num_full += 1;
        left -= nsubsets;
        if remaining[s - 1] < 1.0 {
            let r = remaining[s - 1];
            remaining.iter_mut().for_each(|w| *w /= 1.0 - r);
        }
        let mut w = weight_vector[s - 1] / binom(m, s);
        if paired {
            w /= 2.0;
        }
        // lexicographic combinations of s players
        let mut idx: Vec<usize> = (0..s).collect();
        loop {
            mask.iter_mut().for_each(|x| *x = 0);
            for &i in &idx {
                mask[i / 64] |= 1u64 << (i % 64);
            }
            p.push(&mask, w);
            if paired {
                complement(&mask, m, &mut comp);
                p.push(&comp, w);
            }
            // next combination
            let mut i = s;
            while i > 0 && idx[i - 1] == m - s + i - 1 {
                i -= 1;
            }
            if i == 0 {
                break;
            }
            idx[i - 1] += 1;
            for t in i..s {
                idx[t] = idx[t - 1] + 1;
            }
        }
    }
    if exact || num_full == num_subset_sizes {
        return p;
    }

    // 2. sample the remaining sizes in complementary pairs
    let nfixed = p.len();
    let mut samples_left = nsamples.saturating_sub(nfixed);
    if samples_left == 0 {
        return p;
    }
    let mut rest: Vec<f64> = weight_vector.clone();
    for w in rest.iter_mut().take(num_paired) {
        *w /= 2.0; // each draw of a paired size also adds its complement
    }
    let rest = &rest[num_full..];
    let rest_total: f64 = rest.iter().sum();
    let cdf: Vec<f64> = rest
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w / rest_total;
            Some(*acc)
        })
        .collect();
    let mut perm: Vec<usize> = (0..m).collect();
    let mut used: HashMap<Vec<u64>, usize> = HashMap::new();
    let max_draws = 4 * samples_left;
    for _ in 0..max_draws {
        if samples_left == 0 {
            break;
        }
        let u = rng.next_f64();
        let ind = cdf.iter().position(|&c| u < c).unwrap_or(cdf.len() - 1);
        let s = ind + num_full + 1;
        // uniform subset of size s: partial Fisher-Yates
        mask.iter_mut().for_each(|x| *x = 0);
        for i in 0..s {
            let j = i + rng.below(m - i);
            perm.swap(i, j);
            let k = perm[i];
            mask[k / 64] |= 1u64 << (k % 64);
        }
        let paired = s <= num_paired;
        match used.get(&mask) {
            None => {
                let at = p.len();
                used.insert(mask.clone(), at);
                p.push(&mask, 1.0);
                samples_left -= 1;
                if samples_left > 0 && paired {
                    complement(&mask, m, &mut comp);
                    p.push(&comp, 1.0);
                    samples_left -= 1;
                }
            }
            Some(&at) => {
                p.weights[at] += 1.0;
                // its complement follows it, when it was added
                if paired && at + 1 < p.len() {
                    complement(&mask, m, &mut comp);
                    if p.mask(at + 1) == comp.as_slice() {
                        p.weights[at + 1] += 1.0;
                    }
                }
            }
        }
    }
    // 3. the sampled part carries the weight of the sizes not enumerated
    let weight_left: f64 = weight_vector[num_full..].iter().sum();
    let sampled: f64 = p.weights[nfixed..].iter().sum();
    if sampled > 0.0 {
        let scale = weight_left / sampled;
        p.weights[nfixed..].iter_mut().for_each(|w| *w *= scale);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(p: &Plan, c: usize) -> usize {
        p.mask(c).iter().map(|w| w.count_ones() as usize).sum()
    }

    #[test]
    fn full_enumeration_has_every_subset_once_with_shapley_kernel_weights() {
        for m in 2..=9 {
            let p = plan(m, full_space(m), &mut Rng::new(1));
            assert!(p.exact);
            assert_eq!(p.len(), full_space(m));
            let mut seen = std::collections::HashSet::new();
            for c in 0..p.len() {
                assert!(seen.insert(p.mask(c).to_vec()), "duplicate coalition");
                let s = size(&p, c);
                assert!(s >= 1 && s < m);
                // kernel weight ∝ (m-1) / (C(m,s) s (m-s))
                let k = (m - 1) as f64 / (binom(m, s) * (s * (m - s)) as f64);
                let k0 = (m - 1) as f64 / (binom(m, 1) * (m - 1) as f64);
                let w0 = p.weights[0];
                assert!((p.weights[c] / w0 - k / k0).abs() < 1e-12, "m={m} s={s}");
            }
        }
    }

    #[test]
    fn sampling_respects_budget_and_pairs() {
        let m = 20;
        let p = plan(m, 500, &mut Rng::new(7));
        assert!(!p.exact);
        assert!(p.len() <= 500 && p.len() > 400, "{}", p.len());
        let total: f64 = p.weights.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        let mut seen = std::collections::HashSet::new();
        for c in 0..p.len() {
            assert!(seen.insert(p.mask(c).to_vec()), "duplicate coalition");
        }
    }

    #[test]
    fn sizes_counted_right() {
        assert_eq!(binom(10, 3), 120.0);
        assert_eq!(full_space(3), 6);
    }
}
