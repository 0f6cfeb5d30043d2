"""The peers' side of the latency benchmark (benches/latency.ts): a worker that reads one
JSON command per line on stdin and answers one JSON line.

Commands:
  {"method": "case", "out": DIR, "case": {...}}   train/cache a case with make_cases.build
  {"method": "versions"}                          peer versions
  {"method": M, "case_dir": DIR, "start": S, "count": N, "threads": T}
      explains rows S..S+N one call per row and answers the per-call seconds; the
      results (row-major, the library's layout, float64) go to DIR/M.rows.f64 at row S.
      M is "xgb_contribs" (XGBoost Booster.predict(DMatrix(row), pred_contribs=True),
      the DMatrix built per call as a service would) or "treeshap" (the `treeshap`
      package's ShapExplainer.explain on one row).

Imports and model loading happen once per case, outside the timed calls.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from make_cases import build  # noqa: E402

_loaded = {}


def treeshap_copy(case_dir: Path) -> Path:
    """The model file as treeshap 0.1 parses it: the same model, `default_left` written as
    booleans and `base_score` as one number (XGBoost 3 writes 0/1 integers and a
    bracketed vector, which treeshap's parser rejects)."""
    out = case_dir / "model.treeshap.json"
    if not out.exists():
        d = json.loads((case_dir / "model.json").read_text())
        for t in d["learner"]["gradient_booster"]["model"]["trees"]:
            t["default_left"] = [bool(v) for v in t["default_left"]]
        param = d["learner"]["learner_model_param"]
        scores = param["base_score"].strip("[]").split(",")
        if len(scores) != 1:
            raise ValueError("treeshap takes one base_score (single-output models)")
        param["base_score"] = scores[0]
        out.write_text(json.dumps(d))
    return out


def load(case_dir: Path, method: str, threads: int):
    key = (case_dir, method)
    if key in _loaded:
        return _loaded[key]
    meta = json.loads((case_dir / "meta.json").read_text())
    X = np.fromfile(case_dir / "X.f64", dtype=np.float64).reshape(meta["features"], meta["rows"]).T.copy()
    if method == "xgb_contribs":
        import xgboost as xgb

        booster = xgb.Booster(model_file=str(case_dir / "model.json"))
        booster.set_param({"nthread": threads})

        def explain(row):
            return booster.predict(xgb.DMatrix(row, nthread=threads), pred_contribs=True)

    elif method == "treeshap":
        from treeshap import ShapExplainer, TreeEnsemble

        explainer = ShapExplainer(TreeEnsemble.from_file(str(treeshap_copy(case_dir)), "xgboost"))

        def explain(row):
            e = explainer.explain(row)
            base = np.full((row.shape[0], 1), float(np.asarray(e.base_value).reshape(-1)[0]))
            return np.concatenate([np.asarray(e.shap_values, dtype=np.float64).reshape(row.shape[0], -1), base], axis=1)

    else:
        raise ValueError(f"unknown method {method}")
    explain(X[:1])  # load-time work (parsing, JIT-free warm-up) stays out of the timings
    _loaded[key] = (meta, X, explain)
    return _loaded[key]


def run(cmd: dict) -> dict:
    method = cmd["method"]
    if method == "versions":
        import treeshap
        import xgboost

        return {"xgboost": xgboost.__version__, "treeshap": treeshap.__version__}
    if method == "case":
        build(cmd["case"], Path(cmd["out"]))
        return {"ok": True}
    case_dir = Path(cmd["case_dir"])
    meta, X, explain = load(case_dir, method, int(cmd["threads"]))
    start, count = int(cmd["start"]), int(cmd["count"])
    out_path = case_dir / f"{method}.rows.f64"
    m = meta["features"] + 1
    if not out_path.exists() or out_path.stat().st_size != meta["rows"] * m * 8:
        np.zeros(meta["rows"] * m).tofile(out_path)
    out = np.memmap(out_path, dtype=np.float64, mode="r+", shape=(meta["rows"], m))
    secs = []
    for r in range(start, start + count):
        row = X[r : r + 1]
        t = time.perf_counter()
        v = explain(row)
        secs.append(time.perf_counter() - t)
        out[r] = np.asarray(v, dtype=np.float64).reshape(-1)[:m]
    out.flush()
    return {"seconds": secs, "out": str(out_path)}


def main():
    for line in sys.stdin:
        try:
            res = run(json.loads(line))
        except Exception as e:  # answered, so the bench can report which peer failed
            res = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
