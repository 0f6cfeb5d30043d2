//! LightGBM text models (`Booster.save_model("model.txt")`, `model_to_string()`).
//!
//! Each `Tree=` block becomes one [`Tree`]: internal node `i` keeps index `i`
//! (the root is internal node 0), leaf `j` gets index `num_leaves - 1 + j`; a
//! single-leaf tree is one leaf node. Covers are LightGBM's data counts
//! (`internal_count`, `leaf_count`), which is what its TreeSHAP weighs by.
//! Leaf values are used as written: LightGBM has already applied the tree's
//! `shrinkage` to them, and folds the initial score (`boost_from_average`)
//! into the first trees, so the base margin is 0.
//!
//! Decisions follow LightGBM's `Tree::NumericalDecision` and
//! `Tree::CategoricalDecision` (tree.h): `decision_type` bit 0 marks a
//! categorical split, bit 1 "default left", bits 2–3 the missing type
//! (0 None, 1 Zero, 2 NaN). Categorical splits send categories in the bitset
//! left, and NaN or negative values right (LightGBM ≥ 3 sends NaN right
//! whatever the missing type; checked against LightGBM 4.7).
//!
//! Links: `binary`, `cross_entropy` and `multiclassova` are logistic,
//! `multiclass` softmax, `poisson`, `gamma` and `tweedie` log, the rest
//! identity. The raw score is what `pred_contrib` explains. For `binary` with
//! a `sigmoid:` parameter other than 1, LightGBM's probability is
//! `1 / (1 + exp(-sigmoid · raw))`; [`Link::Logit`] does not carry that scale.
//!
//! Random-forest mode (`boosting=rf`, flag `average_output`) loads as is: LightGBM's
//! raw score (`predict(raw_score=True)`) and `pred_contrib` are the plain sum of
//! the trees, which is what arrowshap explains; only its final prediction divides
//! that sum by the number of iterations before the objective's transform
//! (`GBDT::Predict`; checked against LightGBM 4.7, fixture `rel_lgb47_rf`).
//! `cross_entropy_lambda` explains the raw score (its prediction is
//! `log(1 + exp(raw))`; [`Link::Identity`] stands for "the raw score").
//!
//! `kZeroThreshold`: LightGBM's dense-row reader replaces every input with
//! `|x| ≤ 1e-35f` (the float, 1.0000000180025095e-35) by 0 before any tree sees
//! it. Zero-as-missing splits compare against [`LGB_ZERO_THRESHOLD`]; other
//! numeric splits get their threshold moved out of `[-Z, Z)` on load
//! (`zero_folded`), so that `x <= t` on the raw input takes LightGBM's path.
//!
//! Not supported (clear errors): linear trees (`is_linear=1`).

use crate::ensemble::{Ensemble, Link, ModelSource, Node, SplitKind, Tree, LGB_ZERO_THRESHOLD};
use crate::{Error, Result};
use std::collections::HashMap;

/// Most outputs (trees per iteration) accepted.
const MAX_OUTPUTS: usize = 1 << 20;

const SUPPORTED_OBJECTIVES: &str =
    "regression, regression_l1, huber, fair, quantile, mape, poisson, gamma, \
tweedie, binary, cross_entropy, cross_entropy_lambda, multiclass, multiclassova, lambdarank, rank_xendcg, custom";

fn objective_link(name: &str) -> Option<Link> {
    Some(match name {
        "regression"
        | "regression_l2"
        | "l2"
        | "mean_squared_error"
        | "mse"
        | "l2_root"
        | "root_mean_squared_error"
        | "rmse"
        | "regression_l1"
        | "l1"
        | "mean_absolute_error"
        | "mae"
        | "huber"
        | "fair"
        | "quantile"
        | "mape"
        | "mean_absolute_percentage_error"
        | "lambdarank"
        | "rank_xendcg"
        | "xendcg"
        | "xe_ndcg"
        | "xe_ndcg_mart"
        | "xendcg_mart"
        | "custom"
        | "none"
        | "null"
        | "na" => Link::Identity,
        "poisson" | "gamma" | "tweedie" => Link::Log,
        // cross_entropy_lambda: prediction log(1 + exp(raw)); the raw score is explained
        "cross_entropy_lambda" | "xentlambda" => Link::Identity,
        "binary" | "cross_entropy" | "xentropy" | "multiclassova" | "multiclass_ova" | "ova"
        | "ovr" => Link::Logit,
        "multiclass" | "softmax" => Link::Softmax,
        _ => return None,
    })
}

/// One `key=value` section (the header or a tree block), with line numbers for errors.
struct Section<'a> {
    /// Field path prefix for errors: `""` for the header, `Tree=3` for a tree.
    name: String,
    fields: HashMap<&'a str, (&'a str, usize)>,
    flags: Vec<&'a str>,
}

struct Ctx<'f> {
    file: &'f str,
}

impl<'f> Ctx<'f> {
    fn field(&self, s: &Section, key: &str) -> String {
        if s.name.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", s.name)
        }
    }

    fn err(&self, s: &Section, key: &str, msg: impl Into<String>) -> Error {
        Error::model(self.file, self.field(s, key), msg)
    }

    fn get<'a>(&self, s: &Section<'a>, key: &str) -> Option<(&'a str, usize)> {
        s.fields.get(key).copied()
    }

    fn req<'a>(&self, s: &Section<'a>, key: &str) -> Result<(&'a str, usize)> {
        self.get(s, key).ok_or_else(|| self.err(s, key, "missing"))
    }

    fn usize(&self, s: &Section, key: &str) -> Result<usize> {
        let (v, line) = self.req(s, key)?;
        v.trim().parse::<usize>().map_err(|_| {
            self.err(
                s,
                key,
                format!("line {line}: expected a non-negative integer, found {v:?}"),
            )
        })
    }

    fn list<T: std::str::FromStr>(
        &self,
        s: &Section,
        key: &str,
        n: usize,
        what: &str,
    ) -> Result<Vec<T>> {
        let (v, line) = self.req(s, key)?;
        let mut out = Vec::with_capacity(n.min(v.len() / 2 + 1));
        for (i, tok) in v.split_whitespace().enumerate() {
            let x = tok.parse::<T>().map_err(|_| {
                self.err(
                    s,
                    key,
                    format!("line {line}: value {i} is {tok:?}, expected {what}"),
                )
            })?;
            out.push(x);
        }
        if out.len() != n {
            return Err(self.err(
                s,
                key,
                format!("line {line}: {} values, expected {n}", out.len()),
            ));
        }
        Ok(out)
    }

    fn floats(&self, s: &Section, key: &str, n: usize) -> Result<Vec<f64>> {
        self.list::<f64>(s, key, n, "a number")
    }

    fn ints(&self, s: &Section, key: &str, n: usize) -> Result<Vec<i64>> {
        self.list::<i64>(s, key, n, "an integer")
    }
}

fn parse_line(line: &str) -> (&str, Option<&str>) {
    match line.find('=') {
        Some(p) => (line[..p].trim(), Some(&line[p + 1..])),
        None => (line.trim(), None),
    }
}

/// Reads a LightGBM text model. `file` names the model in errors.
pub fn load_text(bytes: &[u8], file: &str) -> Result<Ensemble> {
    let cx = Ctx { file };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::model(
            file,
            "(document)",
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, "tree")) => {}
        _ => {
            return Err(Error::model(
                file,
                "(document)",
                "a LightGBM text model starts with a `tree` line",
            ))
        }
    }

    // Split into the header and tree blocks, up to `end of trees`.
    let mut header = Section {
        name: String::new(),
        fields: HashMap::new(),
        flags: Vec::new(),
    };
    let mut trees: Vec<Section> = Vec::new();
    let mut ended = false;
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        if line.trim() == "end of trees" {
            ended = true;
            break;
        }
        let (k, v) = parse_line(line);
        if k == "Tree" {
            let id = v.unwrap_or("").trim();
            if id
                .parse::<usize>()
                .map(|x| x != trees.len())
                .unwrap_or(true)
            {
                return Err(Error::model(
                    file,
                    format!("Tree={id}"),
                    format!(
                        "line {ln}: tree blocks must be numbered 0, 1, …; expected Tree={}",
                        trees.len()
                    ),
                ));
            }
            trees.push(Section {
                name: format!("Tree={id}"),
                fields: HashMap::new(),
                flags: Vec::new(),
            });
            continue;
        }
        let sec = trees.last_mut().unwrap_or(&mut header);
        match v {
            Some(v) => {
                if sec.fields.insert(k, (v, ln)).is_some() {
                    let name = sec.name.clone();
                    let field = if name.is_empty() {
                        k.to_string()
                    } else {
                        format!("{name}.{k}")
                    };
                    return Err(Error::model(
                        file,
                        field,
                        format!("line {ln}: appears twice"),
                    ));
                }
            }
            None => sec.flags.push(k),
        }
    }
    if !ended {
        let field = trees
            .last()
            .map(|t| t.name.clone())
            .unwrap_or_else(|| "(document)".to_string());
        return Err(Error::model(
            file,
            field,
            "truncated: the `end of trees` line is missing",
        ));
    }

    // --- header
    let h = &header;
    let (objective_line, obj_ln) = cx.get(h, "objective").unwrap_or(("custom", 0));
    let objective = objective_line
        .split_whitespace()
        .next()
        .unwrap_or("custom")
        .to_string();
    let link = objective_link(&objective).ok_or_else(|| {
        Error::unsupported(file, format!("unknown objective `{objective}` (line {obj_ln}); supported: {SUPPORTED_OBJECTIVES}"))
    })?;
    let num_class = cx.usize(h, "num_class")?;
    let per_iter = match cx.get(h, "num_tree_per_iteration") {
        Some(_) => cx.usize(h, "num_tree_per_iteration")?,
        None => num_class,
    };
    if per_iter == 0 || per_iter > MAX_OUTPUTS {
        return Err(cx.err(
            h,
            "num_tree_per_iteration",
            format!("{per_iter} is out of range 1..{MAX_OUTPUTS}"),
        ));
    }
    if link == Link::Softmax && per_iter != num_class {
        return Err(cx.err(
            h,
            "num_tree_per_iteration",
            format!("{per_iter}, but num_class is {num_class}"),
        ));
    }
    let max_feature_idx: i64 = {
        let (v, ln) = cx.req(h, "max_feature_idx")?;
        v.trim()
            .parse::<i64>()
            .ok()
            .filter(|x| *x >= -1)
            .ok_or_else(|| {
                cx.err(
                    h,
                    "max_feature_idx",
                    format!("line {ln}: expected an integer ≥ -1, found {v:?}"),
                )
            })?
    };
    let (names_line, names_ln) = cx.req(h, "feature_names")?;
    let feature_names: Vec<String> = names_line.split_whitespace().map(str::to_string).collect();
    if feature_names.len() as i64 != max_feature_idx + 1 {
        return Err(cx.err(
            h,
            "feature_names",
            format!(
                "line {names_ln}: {} names, but max_feature_idx is {max_feature_idx}",
                feature_names.len()
            ),
        ));
    }
    let num_features = feature_names.len();
    if let Some((sizes, ln)) = cx.get(h, "tree_sizes") {
        let n = sizes.split_whitespace().count();
        if n != trees.len() {
            return Err(cx.err(
                h,
                "tree_sizes",
                format!(
                    "line {ln}: lists {n} trees, the file holds {}: it is truncated or corrupt",
                    trees.len()
                ),
            ));
        }
    }

    // --- trees
    let mut out = Vec::with_capacity(trees.len());
    for s in &trees {
        out.push(parse_tree(&cx, s, num_features)?);
    }
    let tree_output = (0..out.len()).map(|i| (i % per_iter) as u32).collect();
    let e = Ensemble {
        trees: out,
        tree_output,
        num_outputs: per_iter,
        num_features,
        feature_names,
        base_margin: vec![0.0; per_iter],
        objective,
        link,
        source: ModelSource::LightgbmText,
    };
    e.validate(file)?;
    Ok(e)
}

fn parse_tree(cx: &Ctx, s: &Section, num_features: usize) -> Result<Tree> {
    if let Some((v, ln)) = cx.get(s, "is_linear") {
        if v.trim() != "0" {
            return Err(Error::unsupported(
                cx.file,
                format!("{}.is_linear={} (line {ln}): linear trees (linear_tree=true) are not supported", s.name, v.trim()),
            ));
        }
    }
    let num_leaves = cx.usize(s, "num_leaves")?;
    if num_leaves == 0 {
        return Err(cx.err(s, "num_leaves", "a tree needs at least one leaf"));
    }
    if num_leaves == 1 {
        let value = cx.floats(s, "leaf_value", 1)?[0];
        let cover = match cx.get(s, "leaf_count") {
            Some((v, _)) if !v.trim().is_empty() => cx.floats(s, "leaf_count", 1)?[0],
            _ => 0.0,
        };
        return Ok(Tree {
            nodes: vec![Node::leaf(value, cover)],
            cat_bits: Vec::new(),
        });
    }
    let ni = num_leaves - 1;
    let split_feature = cx.ints(s, "split_feature", ni)?;
    let split_gain = match cx.get(s, "split_gain") {
        Some(_) => cx.floats(s, "split_gain", ni)?,
        None => vec![0.0; ni],
    };
    let threshold = cx.floats(s, "threshold", ni)?;
    let decision_type = match cx.get(s, "decision_type") {
        Some(_) => cx.ints(s, "decision_type", ni)?,
        None => vec![0; ni],
    };
    let left = cx.ints(s, "left_child", ni)?;
    let right = cx.ints(s, "right_child", ni)?;
    let leaf_value = cx.floats(s, "leaf_value", num_leaves)?;
    let leaf_count = cx.floats(s, "leaf_count", num_leaves)?;
    let internal_count = cx.floats(s, "internal_count", ni)?;
    let num_cat = match cx.get(s, "num_cat") {
        Some(_) => cx.usize(s, "num_cat")?,
        None => 0,
    };
    let (cat_boundaries, cat_threshold) = if num_cat > 0 {
        let b = cx.ints(s, "cat_boundaries", num_cat + 1)?;
        let (tv, _) = cx.req(s, "cat_threshold")?;
        let nt = tv.split_whitespace().count();
        let t = cx.list::<u32>(s, "cat_threshold", nt, "an unsigned 32-bit integer")?;
        for (i, w) in b.windows(2).enumerate() {
            if w[0] < 0 || w[1] < w[0] || w[1] as u64 > t.len() as u64 {
                return Err(cx.err(
                    s,
                    "cat_boundaries",
                    format!("boundaries {i}..{} = {}..{} are not increasing within the {} cat_threshold words", i + 1, w[0], w[1], t.len()),
                ));
            }
        }
        (b, t)
    } else {
        (Vec::new(), Vec::new())
    };

    let child = |c: i64, key: &str, i: usize| -> Result<u32> {
        if c >= 0 {
            if c as u64 >= ni as u64 || c == 0 {
                return Err(cx.err(
                    s,
                    key,
                    format!("value {i}: internal node {c} is out of range 1..{ni}"),
                ));
            }
            Ok(c as u32)
        } else {
            let l = !c;
            if l as u64 >= num_leaves as u64 {
                return Err(cx.err(
                    s,
                    key,
                    format!("value {i}: leaf {l} (written {c}) is out of range 0..{num_leaves}"),
                ));
            }
            Ok((ni as i64 + l) as u32)
        }
    };

    let mut tree = Tree {
        nodes: Vec::with_capacity(ni + num_leaves),
        cat_bits: Vec::new(),
    };
    for i in 0..ni {
        let dt = decision_type[i];
        if !(0..=15).contains(&dt) {
            return Err(cx.err(
                s,
                "decision_type",
                format!("value {i} is {dt}, expected 0..15"),
            ));
        }
        let f = split_feature[i];
        if f < 0 || f as u64 >= num_features as u64 {
            return Err(cx.err(
                s,
                "split_feature",
                format!("value {i}: feature {f} is out of range 0..{num_features}"),
            ));
        }
        let default_left = dt & 2 != 0;
        let missing = (dt >> 2) & 3;
        let (kind, cat_offset, cat_words) = if dt & 1 != 0 {
            let t = threshold[i];
            if !(t >= 0.0 && t.fract() == 0.0 && (t as usize) < num_cat) {
                return Err(cx.err(
                    s,
                    "threshold",
                    format!("value {i}: category set index {t} is out of range 0..{num_cat}"),
                ));
            }
            let ci = t as usize;
            let (a, b) = (cat_boundaries[ci] as usize, cat_boundaries[ci + 1] as usize);
            let off = tree.cat_bits.len();
            tree.cat_bits.extend_from_slice(&cat_threshold[a..b]);
            (
                SplitKind::LgbCategorical {
                    nan_goes_right: true,
                },
                off as u32,
                (b - a) as u32,
            )
        } else {
            let kind = match missing {
                0 => SplitKind::LgbNumericNone,
                1 => SplitKind::LgbNumericZero,
                2 => SplitKind::LgbNumericNan,
                _ => {
                    return Err(cx.err(
                        s,
                        "decision_type",
                        format!("value {i}: missing type 3 is not defined"),
                    ))
                }
            };
            (kind, 0, 0)
        };
        let threshold = match kind {
            SplitKind::LgbNumericNone | SplitKind::LgbNumericNan => zero_folded(threshold[i]),
            _ => threshold[i],
        };
        tree.nodes.push(Node {
            left: child(left[i], "left_child", i)?,
            right: child(right[i], "right_child", i)?,
            feature: f as u32,
            kind,
            default_left,
            threshold,
            cat_offset,
            cat_words,
            value: 0.0,
            cover: internal_count[i],
            gain: split_gain[i],
        });
    }
    for j in 0..num_leaves {
        tree.nodes.push(Node::leaf(leaf_value[j], leaf_count[j]));
    }
    Ok(tree)
}

/// The threshold that makes `x <= t` on the raw input decide as LightGBM does after it
/// has replaced every input of magnitude ≤ `kZeroThreshold` by 0 (its dense-row
/// reader keeps only `|x| > kZeroThreshold`, see [`LGB_ZERO_THRESHOLD`]): only a
/// threshold inside `[-Z, Z)` can tell a tiny input from 0, and moving it just
/// outside that interval, on the side 0 falls, gives every input LightGBM's path.
fn zero_folded(t: f64) -> f64 {
    let z = LGB_ZERO_THRESHOLD;
    if (-z..0.0).contains(&t) {
        // 0 goes right: so must every tiny input; the largest double below -Z
        f64::from_bits((-z).to_bits() + 1)
    } else if (0.0..z).contains(&t) {
        // 0 goes left: so must every tiny input
        z
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const MODEL: &str = "tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=2
objective=regression
feature_names=a b c
feature_infos=[-3:3] [-3:3] -1:2:5:1:4:0:3
tree_sizes=10 10

Tree=0
num_leaves=4
num_cat=1
split_feature=2 0 0
split_gain=193.173 98.7088 39.6127
threshold=0 -0.10574500599537349 -0.16511389781574662
decision_type=1 2 2
left_child=2 -2 -1
right_child=1 -3 -4
leaf_value=0.62810638336581182 0.3779842754330538 0.53844366302103286 0.81387803518160418
leaf_weight=24 72 82 22
leaf_count=24 72 82 22
internal_value=0.521736 0.466979 0.682093
internal_weight=200 154 46
internal_count=200 154 46
cat_boundaries=0 1
cat_threshold=9
is_linear=0
shrinkage=1


Tree=1
num_leaves=1
num_cat=0
split_feature=
split_gain=
threshold=
decision_type=
left_child=
right_child=
leaf_value=0.5
leaf_weight=
leaf_count=
internal_value=
internal_weight=
internal_count=
is_linear=0
shrinkage=1


end of trees

feature_importances:
a=2

parameters:
[boosting: gbdt]
end of parameters

pandas_categorical:null
";

    fn load(s: &str) -> Result<Ensemble> {
        load_text(s.as_bytes(), "model.txt")
    }

    fn err_of(s: &str) -> String {
        load(s).unwrap_err().to_string()
    }

    #[test]
    fn loads_a_valid_model() {
        let e = load(MODEL).unwrap();
        assert_eq!(e.feature_names, ["a", "b", "c"]);
        assert_eq!(e.num_outputs, 1);
        assert_eq!(e.trees.len(), 2);
        assert_eq!(e.trees[1].nodes.len(), 1);
        let t = &e.trees[0];
        assert_eq!(t.nodes.len(), 7);
        assert_eq!(t.nodes[0].cover, 200.0);
        // categories {0, 3} go left (to internal node 2), others right (node 1)
        assert_eq!(t.nodes[0].left, 2);
        assert!(t.goes_left(&t.nodes[0], 0.0));
        assert!(t.goes_left(&t.nodes[0], 3.9));
        assert!(!t.goes_left(&t.nodes[0], 2.7));
        assert!(!t.goes_left(&t.nodes[0], -1.0));
        assert!(!t.goes_left(&t.nodes[0], f64::NAN));
        assert!(!t.goes_left(&t.nodes[0], 40.0));
        // LightGBM 4.7 predicts these (raw_score) for the first tree
        assert_eq!(t.predict_row(&[0.0, 0.0, 0.0]), 0.8138780351816042);
        assert_eq!(t.predict_row(&[0.0, 0.0, f64::NAN]), 0.5384436630210329);
        assert_eq!(e.base_margin, vec![0.0]);
    }

    #[test]
    fn crlf_is_accepted() {
        let crlf = MODEL.replace('\n', "\r\n");
        assert!(load(&crlf).is_ok());
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let cases: Vec<(String, &str)> = vec![
            (
                MODEL.replace("leaf_count=24 72 82 22", "leaf_count=24 72 82"),
                "Tree=0.leaf_count",
            ),
            (
                MODEL.replace("threshold=0 -0.105", "threshold=0 x0.105"),
                "Tree=0.threshold",
            ),
            (
                MODEL.replace("left_child=2 -2 -1", "left_child=7 -2 -1"),
                "Tree=0.left_child",
            ),
            (
                MODEL.replace("right_child=1 -3 -4", "right_child=1 -3 -9"),
                "Tree=0.right_child",
            ),
            (
                MODEL.replace("cat_boundaries=0 1", "cat_boundaries=0 4"),
                "Tree=0.cat_boundaries",
            ),
            (
                MODEL.replace("threshold=0 -0.105", "threshold=3 -0.105"),
                "Tree=0.threshold",
            ),
            (
                MODEL.replace("decision_type=1 2 2", "decision_type=1 14 2"),
                "Tree=0.decision_type",
            ),
            (
                MODEL.replace("split_feature=2 0 0", "split_feature=2 0 9"),
                "Tree=0.split_feature",
            ),
            (
                MODEL.replace("feature_names=a b c", "feature_names=a b"),
                "feature_names",
            ),
            (MODEL.replace("max_feature_idx=2\n", ""), "max_feature_idx"),
            (
                MODEL.replace("num_leaves=4", "num_leaves=four"),
                "Tree=0.num_leaves",
            ),
            (MODEL.replace("Tree=1\n", "Tree=5\n"), "Tree=5"),
            (
                MODEL.replace("tree_sizes=10 10", "tree_sizes=10 10 10"),
                "tree_sizes",
            ),
            (
                MODEL.replace("internal_count=200 154 46\n", ""),
                "Tree=0.internal_count",
            ),
        ];
        for (m, field) in cases {
            let e = err_of(&m);
            assert!(e.starts_with("model.txt: "), "{e}");
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn truncation_is_an_error() {
        let cut = &MODEL[..MODEL.find("end of trees").unwrap()];
        let e = err_of(cut);
        assert!(
            e.contains("model.txt") && e.contains("end of trees") && e.contains("Tree=1"),
            "{e}"
        );
        for n in (0..MODEL.len()).step_by(7) {
            let _ = load(&MODEL[..n]);
        }
    }

    #[test]
    fn unsupported_models() {
        let e = err_of(&MODEL.replacen("is_linear=0", "is_linear=1", 1));
        assert!(
            e.contains("model.txt") && e.contains("Tree=0.is_linear") && e.contains("linear trees"),
            "{e}"
        );
        let e = err_of(&MODEL.replace("objective=regression", "objective=foo"));
        assert!(
            e.contains("model.txt") && e.contains("unknown objective `foo`"),
            "{e}"
        );
    }

    #[test]
    fn random_forest_and_xentlambda_load() {
        let plain = load(MODEL).unwrap();
        let rf = load(&MODEL.replace(
            "objective=regression",
            "objective=regression\naverage_output",
        ))
        .unwrap();
        // the raw score LightGBM explains is the plain sum of the trees
        assert_eq!(plain.trees, rf.trees);
        let e = load(&MODEL.replace("objective=regression", "objective=cross_entropy_lambda"));
        assert_eq!(e.unwrap().link, Link::Identity);
    }

    #[test]
    fn thresholds_near_zero_are_folded_as_lightgbm_zeroes_tiny_inputs() {
        let z = LGB_ZERO_THRESHOLD;
        assert_eq!(z, 1.0000000180025095e-35);
        // a threshold in [-Z, 0): 0, hence every tiny input, goes right
        let t = zero_folded(-z);
        assert!(t < -z && -z <= 0.0);
        assert!(!(-z <= t) && !(0.0 <= t) && (f64::from_bits((-z).to_bits() + 1) <= t));
        // a threshold in [0, Z): every tiny input goes left
        assert_eq!(zero_folded(0.0), z);
        assert_eq!(zero_folded(5e-36), z);
        // elsewhere unchanged
        assert_eq!(zero_folded(0.5), 0.5);
        assert_eq!(zero_folded(-2.0 * z), -2.0 * z);
        assert_eq!(zero_folded(z), z);
    }

    #[test]
    fn objectives_and_outputs() {
        let m = MODEL.replace("objective=regression", "objective=binary sigmoid:1");
        assert_eq!(load(&m).unwrap().link, Link::Logit);
        let m = MODEL
            .replace("objective=regression", "objective=multiclass num_class:2")
            .replace("num_class=1", "num_class=2")
            .replace("num_tree_per_iteration=1", "num_tree_per_iteration=2");
        let e = load(&m).unwrap();
        assert_eq!(e.num_outputs, 2);
        assert_eq!(e.tree_output, vec![0, 1]);
        assert_eq!(e.link, Link::Softmax);
        let m = MODEL.replace("objective=regression\n", "");
        assert_eq!(load(&m).unwrap().objective, "custom");
    }
}
