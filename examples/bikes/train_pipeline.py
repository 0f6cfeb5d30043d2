"""The seed's scenario as an example: a scikit-learn pipeline on bike-sharing-like data,
logged with MLflow (its default skops format) into an MLflow file store and aliased Champion.

    .venv/bin/python examples/bikes/train_pipeline.py        # (bash scripts/setup-python.sh first)

Writes, beside this script:
- `data/bikes.parquet`: 500 hourly rows of raw inputs (strings and numbers; the `instant`
  column is carried as the id), a few with categories never seen in training;
- `mlruns/`: what MLflow writes without a server (`file:` tracking URI) — the pipeline
  `OneHotEncoder(handle_unknown="ignore")` over season/weathersit + passthrough numericals
  → `RandomForestRegressor`, registered as `bikes`, version 1, alias `Champion`;
- `reference.json`: shap.TreeExplainer's values for the first 20 rows (on the transformed
  inputs, as the seed job computes them) and the pipeline's predictions, which
  tests/jobs/bikes_example.test.ts checks `arrowshap run examples/bikes/explanations.yaml` against.

The seed's forest has 200 trees of depth 20; this one has 25 of depth 8 so that the
committed model stays small (the benchmark, benches/sklearn_peer.py, uses the full size).
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

HERE = os.path.dirname(os.path.abspath(__file__))


def bikes(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Bike-sharing-like hourly rows (the seed's dataset shape)."""
    season = rng.choice(["spring", "summer", "fall", "winter"], size=n)
    weather = rng.choice(["clear", "mist", "light_rain", "heavy_rain"], size=n, p=[0.6, 0.25, 0.12, 0.03])
    hr = rng.integers(0, 24, size=n)
    workingday = rng.integers(0, 2, size=n)
    temp = np.round(rng.uniform(0.02, 1.0, size=n), 2)
    hum = np.round(rng.uniform(0.0, 1.0, size=n), 2)
    wind = np.round(rng.uniform(0.0, 0.85, size=n), 4)
    rush = ((hr >= 7) & (hr <= 9)) | ((hr >= 16) & (hr <= 19))
    y = (
        40
        + 250 * temp
        + 180 * rush * workingday
        - 80 * (weather == "light_rain")
        - 150 * (weather == "heavy_rain")
        + 30 * (season == "summer")
        - 40 * (season == "winter")
        - 60 * hum
        + rng.normal(0, 15, size=n)
    )
    df = pd.DataFrame(
        {
            "instant": np.arange(n),
            "season": season,
            "weathersit": weather,
            "hr": hr,
            "workingday": workingday,
            "temp": temp,
            "hum": hum,
            "windspeed": wind,
        }
    )
    return df, np.maximum(y, 0).round()



def seed_pipeline(n_estimators: int = 200, max_depth: int = 20) -> Pipeline:
    """The seed job's model: one-hot categoricals + passthrough numericals (remainder dropped) → a random forest."""
    return Pipeline(
        [
            (
                "transformer",
                ColumnTransformer(
                    [
                        ("categoricals", OneHotEncoder(handle_unknown="ignore"), ["season", "weathersit"]),
                        ("numericals", "passthrough", ["hr", "workingday", "temp", "hum", "windspeed"]),
                    ],
                    remainder="drop",
                ),
            ),
            ("regressor", RandomForestRegressor(n_estimators=n_estimators, max_depth=max_depth, random_state=42)),
        ]
    )


def main() -> None:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3.17 wants this to write a file store
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import shap
    from mlflow import MlflowClient

    rng = np.random.default_rng(20261203)
    X, y = bikes(3000, rng)
    inputs, _ = bikes(500, np.random.default_rng(11))
    inputs["instant"] = np.arange(100000, 100000 + len(inputs))
    inputs.loc[[4, 77], "weathersit"] = "snow"  # unseen in training: one-hot all zeros
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    inputs.to_parquet(os.path.join(HERE, "data", "bikes.parquet"), index=False)

    model = seed_pipeline(n_estimators=25, max_depth=8).fit(X.drop(columns="instant"), y)

    store = os.path.join(HERE, "mlruns")
    shutil.rmtree(store, ignore_errors=True)
    uri = "file://" + store
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("bikes")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name="bikes",
            skops_trusted_types=["sklearn.tree._tree.Tree"],
            pip_requirements=["scikit-learn"],
            input_example=inputs.drop(columns="instant").head(3),
        )
    MlflowClient(uri, uri).set_registered_model_alias("bikes", "Champion", "1")

    head = inputs.head(20)
    raw = head.drop(columns="instant")
    pre, forest = model[:-1], model[-1]
    explainer = shap.TreeExplainer(forest)
    values = explainer.shap_values(pre.transform(raw))
    reference = {
        "model_uri": info.model_uri,
        "feature_names": [str(s) for s in pre.get_feature_names_out()],
        "rows": head["instant"].tolist(),
        "shap_values": np.asarray(values).tolist(),
        "expected_value": float(np.ravel(explainer.expected_value)[0]),
        "prediction": model.predict(raw).tolist(),
        "feature_importances": forest.feature_importances_.tolist(),
    }
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(store) for f in fs)
    print(f"logged {info.model_uri} as bikes@Champion in {store} ({size / 1e6:.1f} MB); {len(inputs)} input rows", file=sys.stderr)


if __name__ == "__main__":
    main()
