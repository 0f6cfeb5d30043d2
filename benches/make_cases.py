"""Generates the benchmark cases: seeded data, and models trained by the real
libraries (XGBoost, LightGBM), written so both peers and arrowshap read the
same bytes.

Each case folder holds:
  model.json | model.txt   the model
  X.f64                    samples, float64, column-major (feature after feature)
  bg.f64                   background samples (interventional cases), column-major
  meta.json                rows, features, bg_rows, library, params

Usage: python benches/make_cases.py OUT_DIR [--quick] [CASE ...] (only these cases; default all)
Cases are cached: a case whose meta.json matches the requested parameters is kept.
"""

import json
import sys
from pathlib import Path

import numpy as np


def cases(quick: bool):
    """The comparisons of the benchmark issue; --quick shrinks every size."""
    q = quick
    return [
        dict(name="xgb_d8", library="xgboost", trees=40 if q else 500, depth=8, features=32, rows=1000 if q else 20000),
        dict(name="xgb_d4", library="xgboost", trees=20 if q else 100, depth=4, features=32, rows=1000 if q else 20000),
        dict(name="xgb_d12", library="xgboost", trees=20 if q else 200, depth=12, features=32, rows=500 if q else 20000),
        dict(name="xgb_interactions", library="xgboost", trees=20 if q else 100, depth=6, features=32, rows=100 if q else 1000),
        dict(name="xgb_interventional", library="xgboost", trees=20 if q else 100, depth=6, features=32,
             rows=100 if q else 1000, bg_rows=100),
        # background SHAP at growing background sizes (same model as xgb_interventional)
        dict(name="xgb_bg10k", library="xgboost", trees=20 if q else 100, depth=6, features=32,
             rows=100 if q else 1000, bg_rows=1000 if q else 10_000),
        dict(name="xgb_bg100k", library="xgboost", trees=20 if q else 100, depth=6, features=32,
             rows=100 if q else 1000, bg_rows=2000 if q else 100_000),
        dict(name="xgb_bg1m", library="xgboost", trees=20 if q else 100, depth=6, features=32,
             rows=100 if q else 1000, bg_rows=5000 if q else 1_000_000),
        dict(name="xgb_bg_interactions", library="xgboost", trees=20 if q else 100, depth=6, features=32,
             rows=20 if q else 200, bg_rows=500 if q else 10_000),
        dict(name="xgb_kernel", library="xgboost", trees=20 if q else 100, depth=4, features=10,
             rows=10 if q else 100, bg_rows=50, nsamples=300 if q else 1000),
        dict(name="lgb_500", library="lightgbm", trees=40 if q else 500, leaves=63, features=32, rows=1000 if q else 20000),
        # deep leaf-wise trees (LightGBM, up to max_depth levels): path-dependent and background
        # SHAP against depth; meta.json records the depth the trees reached
        *(dict(name=f"lgb_deep{d}", library="lightgbm", trees=10 if q else 100, leaves=63 if q else 255, max_depth=d,
               features=32, rows=200 if q else 2000, bg_rows=200 if q else 10_000) for d in (10, 20, 40)),
    ]


def make_data(n: int, m: int, seed: int):
    """A regression problem with interactions and 5% missing values."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, m))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.5 * X[:, 3] ** 2 + X[:, 4:8].sum(axis=1) + rng.normal(scale=0.1, size=n)
    X[rng.random(size=X.shape) < 0.05] = np.nan
    return X, y


def tree_depth(node: dict) -> int:
    """Levels of splits below a LightGBM dump node (0 for a leaf)."""
    if "left_child" not in node:
        return 0
    return 1 + max(tree_depth(node["left_child"]), tree_depth(node["right_child"]))


def write_cols(path: Path, X: np.ndarray):
    np.asfortranarray(X, dtype=np.float64).T.tofile(path)  # .T of Fortran = C-contiguous columns


def build(case: dict, out: Path):
    d = out / case["name"]
    meta_path = d / "meta.json"
    if meta_path.exists() and json.loads(meta_path.read_text()).get("params") == case:
        return
    d.mkdir(parents=True, exist_ok=True)
    m = case["features"]
    train_rows = max(case["rows"], 20000)
    Xtr, ytr = make_data(train_rows, m, seed=1)
    X, _ = make_data(case["rows"], m, seed=2)
    if case["library"] == "xgboost":
        import xgboost as xgb

        booster = xgb.train(
            {"max_depth": case["depth"], "eta": 0.1, "nthread": 2, "tree_method": "hist", "max_bin": 256,
             "seed": 0, "min_child_weight": 0},
            xgb.DMatrix(Xtr, label=ytr), num_boost_round=case["trees"])
        booster.save_model(str(d / "model.json"))
    else:
        import lightgbm as lgb

        model = lgb.train(
            {"num_leaves": case["leaves"], "learning_rate": 0.1, "num_threads": 2, "verbose": -1, "seed": 0,
             "min_data_in_leaf": 5, "max_depth": case.get("max_depth", -1)},
            lgb.Dataset(Xtr, label=ytr), num_boost_round=case["trees"])
        model.save_model(str(d / "model.txt"))
        depth = max(tree_depth(t["tree_structure"]) for t in model.dump_model()["tree_info"])
    write_cols(d / "X.f64", X)
    meta = {"rows": case["rows"], "features": m, "library": case["library"], "params": case}
    if case["library"] == "lightgbm":
        meta["depth"] = depth
    if "bg_rows" in case:
        bg, _ = make_data(case["bg_rows"], m, seed=3)
        write_cols(d / "bg.f64", bg)
        meta["bg_rows"] = case["bg_rows"]
    meta_path.write_text(json.dumps(meta, indent=1))


def main():
    out = Path(sys.argv[1])
    quick = "--quick" in sys.argv
    only = [a for a in sys.argv[2:] if not a.startswith("--")]
    for case in cases(quick):
        if only and case["name"] not in only:
            continue
        print(f"  preparing {case['name']} …", file=sys.stderr, flush=True)
        build(case, out)
    print(json.dumps([c["name"] for c in cases(quick)]))


if __name__ == "__main__":
    main()
