"""Python side of benches/sklearn.ts: the seed's scikit-learn pipeline and shap.TreeExplainer's time.

    .venv/bin/python benches/sklearn_peer.py OUT_DIR --train-rows N --rows N --peer-rows K --trees N --depth N

Trains the seed pipeline (examples/bikes/train_pipeline.py: one-hot + passthrough →
RandomForestRegressor) on bike-sharing-like rows, writes OUT_DIR/model.skops (skops, as
MLflow logs it) and OUT_DIR/inputs.parquet (the raw rows to explain), times
`shap.TreeExplainer(forest).shap_values(pipeline[:-1].transform(inputs[:K]))` — what the
seed job runs — on the first K rows (shap's time is linear in rows; at the seed's size a
full 10k-row run takes hours) and writes its values to OUT_DIR/shap.f64 (K rows ×
features, float64 LE) and OUT_DIR/peer.json {seconds, peer_rows, rows, features, leaves, versions}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "bikes"))
from train_pipeline import bikes, seed_pipeline  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--train-rows", type=int, default=10000)
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--peer-rows", type=int, default=0, help="rows shap explains (default: all)")
    p.add_argument("--trees", type=int, default=200)
    p.add_argument("--depth", type=int, default=20)
    a = p.parse_args()
    import shap
    import sklearn
    import skops
    import skops.io as sio

    X, y = bikes(a.train_rows, np.random.default_rng(1))
    inputs, _ = bikes(a.rows, np.random.default_rng(2))
    model = seed_pipeline(n_estimators=a.trees, max_depth=a.depth).fit(X, y)
    os.makedirs(a.out_dir, exist_ok=True)
    sio.dump(model, os.path.join(a.out_dir, "model.skops"))
    inputs.to_parquet(os.path.join(a.out_dir, "inputs.parquet"), index=False)
    pre, forest = model[:-1], model[-1]
    peer_rows = a.peer_rows or len(inputs)
    t0 = time.perf_counter()
    transformed = pre.transform(inputs.iloc[:peer_rows])
    values = shap.TreeExplainer(forest).shap_values(transformed, check_additivity=False)
    seconds = time.perf_counter() - t0
    np.ascontiguousarray(values, dtype="<f8").tofile(os.path.join(a.out_dir, "shap.f64"))
    info = {
        "seconds": seconds,
        "rows": len(inputs),
        "peer_rows": peer_rows,
        "features": int(values.shape[1]),
        "leaves": int(sum(t.get_n_leaves() for t in forest.estimators_)),
        "max_depth": int(max(t.get_depth() for t in forest.estimators_)),
        "versions": {"shap": shap.__version__, "sklearn": sklearn.__version__, "skops": skops.__version__},
    }
    with open(os.path.join(a.out_dir, "peer.json"), "w") as f:
        json.dump(info, f)


if __name__ == "__main__":
    main()
