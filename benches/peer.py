"""The peers' side of the benchmark: a worker that reads one JSON command per
line on stdin, runs one peer method on one case, writes the result next to the
case as float64 (row-major, the library's own layout) and answers one JSON line
{seconds, rows, out}. Imports happen once, so only the work itself is timed.

Methods:
  xgb_contribs        XGBoost Booster.predict(pred_contribs=True)
  xgb_interactions    XGBoost Booster.predict(pred_interactions=True)
  shap_tree           shap.TreeExplainer(model).shap_values (path-dependent)
  shap_interventional shap.TreeExplainer(model, bg, feature_perturbation="interventional", model_output="raw")
  lgb_contrib         LightGBM Booster.predict(pred_contrib=True)
  shap_kernel         shap.KernelExplainer(raw margin function, bg).shap_values(X, nsamples=N)
  woodelf_interventional  woodelf.WoodelfExplainer(model, bg).shap_values (background SHAP)
  woodelf_interactions    woodelf.WoodelfExplainer(model, bg).shap_interaction_values
  woodelf_banzhaf     woodelf.WoodelfExplainer(model, bg).banzhaf_values
  woodelf_path        woodelf.WoodelfExplainer(model, feature_perturbation="tree_path_dependent").shap_values
"""

import json
import sys
import time
from pathlib import Path

import numpy as np


def read_cols(path: Path, rows: int, features: int) -> np.ndarray:
    return np.fromfile(path, dtype=np.float64).reshape(features, rows).T.copy()


_cache = {}


def load(case_dir: Path):
    if case_dir in _cache:
        return _cache[case_dir]
    meta = json.loads((case_dir / "meta.json").read_text())
    X = read_cols(case_dir / "X.f64", meta["rows"], meta["features"])
    bg = read_cols(case_dir / "bg.f64", meta["bg_rows"], meta["features"]) if "bg_rows" in meta else None
    if meta["library"] == "xgboost":
        import xgboost as xgb

        model = xgb.Booster(model_file=str(case_dir / "model.json"))
    else:
        import lightgbm as lgb

        model = lgb.Booster(model_file=str(case_dir / "model.txt"))
    _cache[case_dir] = (meta, X, bg, model)
    return _cache[case_dir]


def run(cmd: dict) -> dict:
    import xgboost as xgb

    case_dir = Path(cmd["case_dir"])
    meta, X, bg, model = load(case_dir)
    X = X[: int(cmd.get("rows") or X.shape[0])]
    threads = int(cmd["threads"])
    method = cmd["method"]
    if method == "shap_kernel":
        import shap

        model.set_param({"nthread": threads})
        f = lambda A: model.predict(xgb.DMatrix(A, nthread=threads), output_margin=True)
        t = time.perf_counter()
        ex = shap.KernelExplainer(f, bg)
        sv = np.asarray(ex.shap_values(X, nsamples=int(cmd["nsamples"]), silent=True))
        secs = time.perf_counter() - t
        base = np.full((sv.shape[0], 1), float(np.asarray(ex.expected_value).reshape(-1)[0]))
        out = np.concatenate([sv, base], axis=1)
    elif method.startswith("xgb"):
        model.set_param({"nthread": threads})
        dm = xgb.DMatrix(X, nthread=threads)
        t = time.perf_counter()
        out = model.predict(dm, pred_contribs=method == "xgb_contribs", pred_interactions=method == "xgb_interactions")
        secs = time.perf_counter() - t
    elif method == "lgb_contrib":
        t = time.perf_counter()
        out = model.predict(X, pred_contrib=True, num_threads=threads)
        secs = time.perf_counter() - t
    elif method in ("shap_tree", "shap_interventional"):
        import shap

        if meta["library"] == "xgboost":
            model.set_param({"nthread": threads})
        t = time.perf_counter()
        if method == "shap_tree":
            ex = shap.TreeExplainer(model)
        else:
            # shap subsamples a plain array background to 100 rows (maskers.Independent's
            # default max_samples): pass the masker so that the whole background is used
            masker = shap.maskers.Independent(bg, max_samples=bg.shape[0])
            ex = shap.TreeExplainer(model, masker, feature_perturbation="interventional", model_output="raw")
        sv = np.asarray(ex.shap_values(X, check_additivity=False))
        secs = time.perf_counter() - t
        base = np.broadcast_to(np.asarray(ex.expected_value, dtype=np.float64).reshape(-1)[:1], (sv.shape[0], 1))
        out = np.concatenate([sv, base], axis=1)
    elif method.startswith("woodelf"):
        import pandas as pd
        from woodelf import WoodelfExplainer

        cols = [f"f{j}" for j in range(X.shape[1])]
        Xd = pd.DataFrame(X, columns=cols)
        if method == "woodelf_path":
            # the base value (not timed): the library's own bias column
            if meta["library"] == "xgboost":
                base_value = float(model.predict(xgb.DMatrix(X[:1]), pred_contribs=True)[0, -1])
            else:
                base_value = float(model.predict(X[:1], pred_contrib=True)[0, -1])
        else:
            # the base value (not timed): the mean raw prediction over the background
            base_value = float(np.mean(model.predict(xgb.DMatrix(bg), output_margin=True)))
        t = time.perf_counter()
        if method == "woodelf_path":
            ex = WoodelfExplainer(model, feature_perturbation="tree_path_dependent")
        else:
            ex = WoodelfExplainer(model, pd.DataFrame(bg, columns=cols))
        if method == "woodelf_interactions":
            iv = np.asarray(ex.shap_interaction_values(Xd, verbose=False), dtype=np.float64)
        elif method == "woodelf_banzhaf":
            sv = np.asarray(ex.banzhaf_values(Xd, verbose=False), dtype=np.float64)
        else:
            sv = np.asarray(ex.shap_values(Xd, verbose=False), dtype=np.float64)
        secs = time.perf_counter() - t
        if method == "woodelf_interactions":
            # XGBoost's layout: (M+1) × (M+1) per row, bias row and column last
            m = X.shape[1]
            out = np.zeros((X.shape[0], m + 1, m + 1))
            out[:, :m, :m] = iv
            out[:, m, m] = base_value
        else:
            out = np.concatenate([sv, np.full((sv.shape[0], 1), base_value)], axis=1)
    else:
        raise ValueError(f"unknown method {method}")
    out = np.ascontiguousarray(out, dtype=np.float64)
    dest = case_dir / f"peer_{method}.f64"
    out.tofile(dest)
    return {"seconds": secs, "rows": int(X.shape[0]), "out": str(dest), "shape": list(out.shape)}


def versions() -> dict:
    import lightgbm
    import shap
    import xgboost

    out = {"xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__, "shap": shap.__version__,
           "numpy": np.__version__, "python": sys.version.split()[0]}
    try:
        from importlib.metadata import version

        out["woodelf"] = version("woodelf_explainer")
    except Exception:  # not installed: the WOODELF comparisons report it
        pass
    return out


def main():
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            res = versions() if cmd.get("method") == "versions" else run(cmd)
        except Exception as e:  # report, keep serving
            res = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
