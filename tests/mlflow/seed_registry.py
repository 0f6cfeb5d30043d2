"""Seeds an MLflow server for tests/mlflow: real models, logged and registered by MLflow itself.

    .venv/bin/python tests/mlflow/seed_registry.py URI OUT_DIR [--prefix PREFIX]

Trains small models on a seeded synthetic dataset and, on the server at URI:

- `<prefix>-xgb`     XGBoost Booster, `mlflow.xgboost.log_model` with its default
                     `model_format` (ubj); two versions (10 and 30 rounds), aliases
                     `Champion` -> 2, `Challenger` -> 1.
- `<prefix>-xgbcls`  xgboost.XGBClassifier (sklearn API) logged with `model_format="json"`;
                     `Champion` -> 1.
- `<prefix>-lgb`     LightGBM Booster (binary), `mlflow.lightgbm.log_model`; `Champion` -> 1.
- `<prefix>-sklearn` a scikit-learn LinearRegression (`mlflow.sklearn.log_model`: flavors
                     python_function + sklearn) — a flavor BuiltinLoader must refuse.
- `<prefix>-pipeline` the seed's scikit-learn pipeline (one-hot + passthrough → random
                     forest, examples/bikes/train_pipeline.py) logged with
                     `mlflow.sklearn.log_model` in its default format (skops); `Champion` -> 1;
                     its inputs in `pipeline_inputs.parquet` (raw strings and numbers), its
                     contribs shap.TreeExplainer's on the transformed rows, raw = predict.
- `<prefix>-raw`     arrowshap's own packaging: a bare `model.json` logged as a run
                     artifact and registered from `runs:/…/model` (no MLmodel).
- `<prefix>-legacy`  an MLmodel whose xgboost flavor says `model_format: xgb` over a file in
                     the legacy binary layout (a hand-made stand-in: XGBoost 3 cannot write
                     that format any more).

Then writes to OUT_DIR: `inputs.parquet` (the samples, ~10% missing) and
`manifest.json` = {uri, prefix, versions of the libraries, models: {key: {name, aliases,
versions: {N: {model_format?, contribs: [[...features, bias] per row], raw: [margin per
row]}}}}}, where contribs and raw margins are the library's own (`pred_contribs` /
`pred_contrib`, `output_margin` / `raw_score`) for the model as MLflow loads it back from
the registry. The manifest is written last (atomically): its presence
means the seed is complete.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import struct
import tempfile
import time

import numpy as np
import pandas as pd

FEATURES = ["age", "bmi", "bp", "s1", "s2", "s3"]


def dataset(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    X = rng.normal(size=(n, len(FEATURES)))
    y = 2.0 * X[:, 0] - X[:, 1] * X[:, 2] + np.sin(3 * X[:, 3]) + 0.5 * (X[:, 4] > 0.3) + 0.1 * rng.normal(size=n)
    X[rng.random(X.shape) < 0.1] = np.nan
    return pd.DataFrame(X, columns=FEATURES), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("out_dir")
    parser.add_argument("--prefix", default=f"seed-{secrets.token_hex(3)}")
    args = parser.parse_args()

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import lightgbm as lgb
    import mlflow
    import mlflow.lightgbm
    import mlflow.sklearn
    import mlflow.xgboost
    import sklearn
    import xgboost as xgb
    from mlflow import MlflowClient
    from sklearn.linear_model import LinearRegression

    t0 = time.time()
    mlflow.set_tracking_uri(args.uri)
    mlflow.set_registry_uri(args.uri)
    client = MlflowClient(args.uri, args.uri)
    mlflow.set_experiment(f"arrowshap-{args.prefix}")
    os.makedirs(args.out_dir, exist_ok=True)

    rng = np.random.default_rng(20240611)
    X_train, y_train = dataset(600, rng)
    X_test, _ = dataset(64, rng)
    y_cls = (y_train > np.median(y_train)).astype(int)
    X_test.to_parquet(os.path.join(args.out_dir, "inputs.parquet"), index=False)
    pip = ["xgboost", "lightgbm", "scikit-learn"]  # given: skips MLflow's slow requirement inference
    models: dict[str, dict] = {}

    def register(key: str, name: str, run_model_uri: str, info: dict) -> int:
        mv = mlflow.register_model(run_model_uri, name)
        return record(key, name, mv, info)

    def register_dir(key: str, name: str, run, artifact_path: str, info: dict) -> int:
        """A version whose source is a run's artifact folder (`mlflow-artifacts:/…`), not a logged model."""
        if key not in models:
            client.create_registered_model(name)
        mv = client.create_model_version(name, f"{run.info.artifact_uri}/{artifact_path}", run_id=run.info.run_id)
        return record(key, name, mv, info)

    def record(key: str, name: str, mv, info: dict) -> int:
        version = int(mv.version)
        models.setdefault(key, {"name": name, "aliases": {}, "versions": {}})["versions"][str(version)] = info
        return version

    def alias(key: str, alias_name: str, version: int) -> None:
        client.set_registered_model_alias(models[key]["name"], alias_name, str(version))
        models[key]["aliases"][alias_name] = version

    def loaded_back(flavor, name: str, version: int):
        """The model as MLflow itself loads it from the registry (what arrowshap must match)."""
        return flavor.load_model(f"models:/{name}/{version}")

    # XGBoost Booster: default model_format (ubj), two versions
    dtrain = xgb.DMatrix(X_train, label=y_train)
    name = f"{args.prefix}-xgb"
    for rounds in (10, 30):
        booster = xgb.train({"max_depth": 4, "eta": 0.3, "objective": "reg:squarederror", "seed": 1}, dtrain, rounds)
        with mlflow.start_run():
            info = mlflow.xgboost.log_model(booster, name="model", pip_requirements=pip)
        version = register("xgb", name, info.model_uri, {"model_format": "ubj", "rounds": rounds})
        back = loaded_back(mlflow.xgboost, name, version)
        models["xgb"]["versions"][str(version)]["contribs"] = back.predict(xgb.DMatrix(X_test), pred_contribs=True).tolist()
        models["xgb"]["versions"][str(version)]["raw"] = back.predict(xgb.DMatrix(X_test), output_margin=True).tolist()
    alias("xgb", "Champion", 2)
    alias("xgb", "Challenger", 1)

    # XGBClassifier (sklearn API) as JSON
    clf = xgb.XGBClassifier(n_estimators=20, max_depth=3, learning_rate=0.3, random_state=1)
    clf.fit(X_train, y_cls)
    name = f"{args.prefix}-xgbcls"
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(clf, name="model", model_format="json", pip_requirements=pip)
    version = register("xgbcls", name, info.model_uri, {"model_format": "json"})
    back = loaded_back(mlflow.xgboost, name, version)
    models["xgbcls"]["versions"][str(version)]["contribs"] = back.get_booster().predict(xgb.DMatrix(X_test), pred_contribs=True).tolist()
    models["xgbcls"]["versions"][str(version)]["raw"] = back.get_booster().predict(xgb.DMatrix(X_test), output_margin=True).tolist()
    alias("xgbcls", "Champion", version)

    # LightGBM Booster (binary)
    gbm = lgb.train(
        {"objective": "binary", "num_leaves": 15, "learning_rate": 0.2, "verbose": -1, "seed": 1, "deterministic": True},
        lgb.Dataset(X_train, label=y_cls),
        num_boost_round=25,
    )
    name = f"{args.prefix}-lgb"
    with mlflow.start_run():
        info = mlflow.lightgbm.log_model(gbm, name="model", pip_requirements=pip)
    version = register("lgb", name, info.model_uri, {})
    back = loaded_back(mlflow.lightgbm, name, version)
    models["lgb"]["versions"][str(version)]["contribs"] = back.predict(X_test, pred_contrib=True).tolist()
    models["lgb"]["versions"][str(version)]["raw"] = back.predict(X_test, raw_score=True).tolist()
    alias("lgb", "Champion", version)

    # scikit-learn: flavors python_function + sklearn only
    name = f"{args.prefix}-sklearn"
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(LinearRegression().fit(X_train.fillna(0), y_train), name="model", pip_requirements=pip)
    alias("sklearn", "Champion", register("sklearn", name, info.model_uri, {}))

    # the seed's pipeline, logged as MLflow logs scikit-learn by default (skops)
    import shap
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "bikes"))
    from train_pipeline import bikes, seed_pipeline

    bikes_X, bikes_y = bikes(400, rng)
    bikes_in, _ = bikes(40, rng)
    bikes_in.loc[[3], "weathersit"] = "snow"  # unseen at training
    bikes_in.to_parquet(os.path.join(args.out_dir, "pipeline_inputs.parquet"), index=False)
    pipeline = seed_pipeline(n_estimators=10, max_depth=8).fit(bikes_X, bikes_y)
    name = f"{args.prefix}-pipeline"
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(pipeline, name="model", pip_requirements=pip, skops_trusted_types=["sklearn.tree._tree.Tree"])
    version = register("pipeline", name, info.model_uri, {"inputs": "pipeline_inputs.parquet"})
    back = loaded_back(mlflow.sklearn, name, version)
    pre, forest = back[:-1], back[-1]
    explainer = shap.TreeExplainer(forest)
    values = np.asarray(explainer.shap_values(pre.transform(bikes_in)))
    base = float(np.ravel(explainer.expected_value)[0])
    entry = models["pipeline"]["versions"][str(version)]
    entry["contribs"] = np.hstack([values, np.full((len(bikes_in), 1), base)]).tolist()
    entry["raw"] = back.predict(bikes_in).tolist()
    entry["feature_names"] = [str(s) for s in pre.get_feature_names_out()]
    alias("pipeline", "Champion", version)

    with tempfile.TemporaryDirectory() as tmp:
        # arrowshap's own packaging: one bare model file, registered from a run's artifacts
        raw_dir = os.path.join(tmp, "raw")
        os.makedirs(raw_dir)
        booster = xgb.train({"max_depth": 3, "objective": "reg:squarederror", "seed": 1}, dtrain, 8)
        booster.save_model(os.path.join(raw_dir, "model.json"))
        name = f"{args.prefix}-raw"
        with mlflow.start_run() as run:
            mlflow.log_artifacts(raw_dir, artifact_path="model")
        version = register_dir("raw", name, run, "model", {})
        models["raw"]["versions"][str(version)]["contribs"] = booster.predict(xgb.DMatrix(X_test), pred_contribs=True).tolist()
        models["raw"]["versions"][str(version)]["raw"] = booster.predict(xgb.DMatrix(X_test), output_margin=True).tolist()
        alias("raw", "Champion", version)

        # legacy binary xgboost flavor (stand-in bytes: base_score, num_feature, num_class, … as XGBoost < 1.0 wrote them)
        legacy_dir = os.path.join(tmp, "legacy")
        os.makedirs(legacy_dir)
        with open(os.path.join(legacy_dir, "MLmodel"), "w") as f:
            f.write(
                "artifact_path: model\nflavors:\n"
                "  python_function: {data: model.xgb, loader_module: mlflow.xgboost}\n"
                "  xgboost: {data: model.xgb, model_class: xgboost.core.Booster, model_format: xgb, xgb_version: 1.7.6}\n"
            )
        with open(os.path.join(legacy_dir, "model.xgb"), "wb") as f:
            f.write(struct.pack("<fII", 0.5, len(FEATURES), 0) + bytes(116) + b"\x10\x00\x00\x00\x00\x00\x00\x00reg:squarederror")
        name = f"{args.prefix}-legacy"
        with mlflow.start_run() as run:
            mlflow.log_artifacts(legacy_dir, artifact_path="model")
        alias("legacy", "Champion", register_dir("legacy", name, run, "model", {"model_format": "xgb"}))

    manifest = {
        "uri": args.uri,
        "prefix": args.prefix,
        "features": FEATURES,
        "inputs": "inputs.parquet",
        "versions": {"mlflow": mlflow.__version__, "xgboost": xgb.__version__, "lightgbm": lgb.__version__, "sklearn": sklearn.__version__},
        "seconds": round(time.time() - t0, 1),
        "models": models,
    }
    path = os.path.join(args.out_dir, "manifest.json")
    with open(path + ".tmp", "w") as f:
        json.dump(manifest, f)
    os.replace(path + ".tmp", path)
    print(f"seeded {args.uri} with {', '.join(m['name'] for m in models.values())} in {manifest['seconds']}s -> {path}")


if __name__ == "__main__":
    main()
