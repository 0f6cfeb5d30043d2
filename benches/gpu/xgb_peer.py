"""XGBoost's GPUTreeShap (`pred_contribs` with `device="cuda"`) on the bench data: prints one
JSON line with rows/s (DMatrix built from host memory included, as arrowshap's timing includes
its upload; predict-only also given) and writes the first `--check-rows` rows of contributions
(row-major [row][feature..., bias], f64) for the comparison with arrowshap.
"""
import argparse
import json
import time

import numpy as np
import xgboost as xgb


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--check-rows", type=int, default=10_000)
    p.add_argument("--values-out")
    a = p.parse_args()
    cols = np.fromfile(a.data, dtype="<f8").reshape(a.features, -1)
    x = np.ascontiguousarray(cols.T)
    rows = x.shape[0]
    booster = xgb.Booster(model_file=a.model)
    booster.set_param({"device": "cuda"})
    booster.predict(xgb.DMatrix(x[:10_000]), pred_contribs=True)  # warm-up
    total, predict_only, out = [], [], None
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        d = xgb.DMatrix(x)
        t1 = time.perf_counter()
        out = booster.predict(d, pred_contribs=True)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        predict_only.append(t2 - t1)
    total.sort()
    predict_only.sort()
    if a.values_out:
        np.asarray(out[: a.check_rows], dtype="<f8").tofile(a.values_out)
    print(json.dumps({
        "xgboost": xgb.__version__,
        "rows": rows,
        "rows_per_s": rows / total[len(total) // 2],
        "predict_only_rows_per_s": rows / predict_only[len(predict_only) // 2],
        "times_s": total,
    }))


if __name__ == "__main__":
    main()
