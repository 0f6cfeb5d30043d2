"""Makes the demo data and model under examples/ (seeded, no download).

Run from the repository root:  .venv/bin/python examples/train_model.py

Writes
  examples/data/diabetes.parquet         scikit-learn's bundled diabetes data: 442 rows,
                                         `id` (int64), the 10 features (float64), `target`
  examples/models/diabetes.ubj           an XGBoost regressor (100 trees, depth 4) in UBJSON
  examples/models/diabetes-contribs.json XGBoost's own numbers for the first 20 rows, as a
                                         reference: inputs [20*10], raw margins [20],
                                         pred_contribs [20*11] ([row][features..., bias]),
                                         expected_value [1]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.datasets import load_diabetes

HERE = Path(__file__).resolve().parent
ROWS_IN_REFERENCE = 20


def main() -> None:
    bunch = load_diabetes(as_frame=True)
    features: pd.DataFrame = bunch.data.astype("float64")
    target = bunch.target.astype("float64")
    names = list(features.columns)

    table = pd.concat(
        [pd.Series(np.arange(len(features), dtype="int64"), name="id"), features, target.rename("target")],
        axis=1,
    )
    (HERE / "data").mkdir(exist_ok=True)
    table.to_parquet(HERE / "data" / "diabetes.parquet", index=False)

    model = xgb.XGBRegressor(
        n_estimators=100,
        max_depth=4,
        learning_rate=0.1,
        subsample=0.9,
        random_state=0,
        n_jobs=1,
        objective="reg:squarederror",
    )
    model.fit(features, target)
    (HERE / "models").mkdir(exist_ok=True)
    model_path = HERE / "models" / "diabetes.ubj"
    model.get_booster().save_model(str(model_path))

    booster = xgb.Booster(model_file=str(model_path))
    head = features.iloc[:ROWS_IN_REFERENCE]
    dm = xgb.DMatrix(head)
    raw = booster.predict(dm, output_margin=True)
    contribs = booster.predict(dm, pred_contribs=True)
    assert np.allclose(contribs.sum(axis=1), raw, atol=1e-3)
    reference = {
        "library": "xgboost",
        "version": xgb.__version__,
        "objective": "reg:squarederror",
        "model": "diabetes.ubj",
        "feature_names": names,
        "num_outputs": 1,
        "rows": ROWS_IN_REFERENCE,
        "inputs": [float(x) for x in head.to_numpy().ravel()],
        "raw": [float(x) for x in raw.ravel()],
        "contribs": [float(x) for x in contribs.ravel()],
        "expected_value": [float(contribs[0, -1])],
    }
    (HERE / "models" / "diabetes-contribs.json").write_text(json.dumps(reference, separators=(",", ":")) + "\n")
    print(f"wrote {len(table)} rows, a {len(booster.get_dump())}-tree model (xgboost {xgb.__version__})")


if __name__ == "__main__":
    main()
