//! Both builders and the choice between them against masked-row evaluation.

use super::*;
use crate::ensemble::{Link, ModelSource};
use crate::kernel::sampling;
use crate::rng::Rng;
use crate::{Node, SplitKind, Tree, LEAF};

fn node(rng: &mut Rng, m: usize) -> Node {
    let kinds = [
        SplitKind::XgbNumeric,
        SplitKind::LgbNumericNan,
        SplitKind::LgbNumericNone,
        SplitKind::LgbNumericZero,
    ];
    Node {
        left: LEAF,
        right: LEAF,
        feature: rng.below(m) as u32,
        kind: kinds[rng.below(kinds.len())],
        default_left: rng.below(2) == 0,
        threshold: (rng.below(9) as f64 + 0.5) / 10.0 - 0.3,
        cat_offset: 0,
        cat_words: 0,
        value: rng.next_f64() * 2.0 - 1.0,
        cover: 1.0,
        gain: 0.0,
    }
}

fn grow(nodes: &mut Vec<Node>, rng: &mut Rng, m: usize, depth: usize) -> u32 {
    let id = nodes.len();
    nodes.push(node(rng, m));
    if depth > 0 && rng.next_f64() > 0.1 {
        let l = grow(nodes, rng, m, depth - 1);
        let r = grow(nodes, rng, m, depth - 1);
        nodes[id].left = l;
        nodes[id].right = r;
        nodes[id].value = 0.0;
    }
    id as u32
}

fn ensemble(rng: &mut Rng, m: usize, k: usize, trees: usize, depth: usize) -> Ensemble {
    let mut ts = Vec::new();
    for _ in 0..trees * k {
        let mut nodes = Vec::new();
        grow(&mut nodes, rng, m, depth);
        ts.push(Tree {
            nodes,
            cat_bits: vec![],
        });
    }
    Ensemble {
        trees: ts,
        tree_output: (0..trees * k).map(|t| (t % k) as u32).collect(),
        num_outputs: k,
        num_features: m,
        feature_names: (0..m).map(|j| format!("f{j}")).collect(),
        base_margin: (0..k).map(|o| 0.25 * o as f64 - 0.1).collect(),
        objective: "reg:squarederror".into(),
        link: Link::Identity,
        source: ModelSource::Synthetic,
    }
}

/// Values on a coarse grid with NaN, so that rows often agree with the background.
fn value(rng: &mut Rng) -> f64 {
    match rng.below(12) {
        0 => f64::NAN,
        1 => -0.0,
        v => (v as f64 - 6.0) / 10.0,
    }
}

/// The coalition-set walk gives the values of the masked rows, for random
/// ensembles (several outputs, every numeric split kind, NaN), weighted
/// backgrounds, sampled and fully enumerated plans.
#[test]
fn tree_walk_equals_masked_rows() {
    let mut rng = Rng::new(5);
    let mut checked = 0;
    for case in 0..24 {
        let m = 2 + case % 9;
        let k = 1 + case % 3;
        let ens = ensemble(&mut rng, m, k, 3 + case % 7, 1 + case % 6);
        let nb = 1 + rng.below(9);
        let bg = Background {
            cols: m,
            data: (0..nb * m).map(|_| value(&mut rng)).collect(),
            weights: (0..nb)
                .map(|i| if i == 1 { 0.0 } else { 0.5 + rng.next_f64() })
                .collect(),
        };
        let total: f64 = bg.weights.iter().sum();
        let bgw: Vec<f64> = bg.weights.iter().map(|w| w / total).collect();
        let games = [
            TreeGame::with_mode(&ens, &bg, bgw.clone(), Some(true)),
            TreeGame::with_mode(&ens, &bg, bgw.clone(), Some(false)),
            TreeGame::new(&ens, &bg, bgw.clone()),
        ];
        for _ in 0..4 {
            let x: Vec<f64> = (0..m).map(|_| value(&mut rng)).collect();
            let varying: Vec<usize> = (0..m)
                .filter(|&j| {
                    (0..nb).any(|b| {
                        let v = bg.data[b * m + j];
                        !(v == x[j] || (v.is_nan() && x[j].is_nan()))
                    })
                })
                .collect();
            let mv = varying.len();
            if mv < 2 {
                continue;
            }
            let budget = if rng.below(2) == 0 {
                1 << mv
            } else {
                3 + rng.below(40)
            };
            let plan = sampling::plan(mv, budget, &mut rng);
            // patterns, walks, the cheaper per tree
            assert!(games[0].leaves.by_pattern.iter().all(|&b| b));
            let eys: Vec<Vec<f64>> = games
                .iter()
                .map(|g| {
                    let mut ey = vec![0.0; plan.len() * k];
                    g.build(&x, &varying)
                        .expect("small")
                        .evaluate(&plan, &mut ey);
                    ey
                })
                .collect();
            let mut row = vec![0.0; m];
            let mut f = vec![0.0; k];
            for c in 0..plan.len() {
                let mut want = vec![0.0; k];
                for b in 0..nb {
                    row.copy_from_slice(bg.row(b));
                    for (p, &j) in varying.iter().enumerate() {
                        if plan.has(c, p) {
                            row[j] = x[j];
                        }
                    }
                    ens.predict_row_into(&row, &mut f);
                    for o in 0..k {
                        want[o] += bgw[b] * f[o];
                    }
                }
                checked += 1;
                for (e, ey) in eys.iter().enumerate() {
                    for o in 0..k {
                        let got = ey[c * k + o];
                        assert!(
                            (got - want[o]).abs() <= 1e-12 * want[o].abs().max(1.0),
                            "case {case} way {e} coalition {c} output {o}: {got} vs {}",
                            want[o]
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} coalitions checked");
}

#[test]
fn pext_and_pdep_invert() {
    let mask = 0b1011_0010u64;
    for q in 0..16u64 {
        let s = pdep(q, mask);
        assert_eq!(s & !mask, 0);
        assert_eq!(pext(s, mask), q as usize);
    }
    assert_eq!(pext(0b1010_0010, mask), 0b1101);
}
